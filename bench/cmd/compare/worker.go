package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// workerResult is what a worker process prints, as one JSON line, for the
// driver to read.
type workerResult struct {
	Client   string  `json:"client"`
	Workload string  `json:"workload"`
	Ops      int64   `json:"ops"`       // commands completed in the measured window
	Seconds  float64 `json:"seconds"`   // length of the measured window
	TotalOps int64   `json:"total_ops"` // commands completed over the whole process, warm-up included
	// TotalAlloc and Mallocs deltas of runtime.MemStats over the window.
	AllocBytes uint64 `json:"alloc_bytes"`
	Mallocs    uint64 `json:"mallocs"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

// paddedCounter keeps each goroutine's count on a cache line of its own.
type paddedCounter struct {
	n atomic.Int64
	_ [56]byte
}

// runWorker is the hidden "worker" subcommand: it runs one client on one
// workload for warm-up plus the measured window and prints a workerResult.
func runWorker(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	clientName := fs.String("client", "", "client to run")
	workloadName := fs.String("workload", "", "workload to run")
	addr := fs.String("addr", "", "server address")
	dur := fs.Duration("dur", 5*time.Second, "measured window")
	warmup := fs.Duration("warmup", time.Second, "warm-up before the window")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := lookupWorkload(*workloadName)
	if err != nil {
		return err
	}
	if w.cpuOnlyRow {
		return fmt.Errorf("compare: workload %s is read from %s, not run on its own", w.name, w.measuredAs)
	}
	r, err := newRunner(*clientName, *addr, w.goroutines)
	if err != nil {
		return err
	}
	defer r.close()

	keys := benchKeys()
	value := benchValue()
	ctx := context.Background()
	// One call proves the client can reach the server before timing starts.
	if err := r.get(ctx, keys[0]); err != nil {
		return fmt.Errorf("compare: %s: first GET: %w", *clientName, err)
	}

	counters := make([]paddedCounter, w.goroutines)
	var (
		stop     atomic.Bool
		errCount atomic.Int64
		errOnce  sync.Once
		firstErr string
		wg       sync.WaitGroup
	)
	record := func(err error) {
		errCount.Add(1)
		errOnce.Do(func() { firstErr = err.Error() })
	}
	for g := 0; g < w.goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := &counters[g].n
			i := g * numKeys / w.goroutines
			for !stop.Load() {
				var err error
				switch w.kind {
				case opGet:
					err = r.get(ctx, keys[i%numKeys])
					i++
				case opSet:
					err = r.set(ctx, keys[i%numKeys], value)
					i++
				case opPipe:
					start := i % (numKeys - pipeDepth + 1)
					err = r.pipeGets(ctx, keys[start:start+pipeDepth])
					i += pipeDepth
				}
				if err != nil {
					record(err)
					continue
				}
				n.Add(int64(w.opsPerCall))
			}
		}()
	}
	sum := func() int64 {
		var t int64
		for i := range counters {
			t += counters[i].n.Load()
		}
		return t
	}

	time.Sleep(*warmup)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ops0, t0 := sum(), time.Now()
	time.Sleep(*dur)
	ops1, t1 := sum(), time.Now()
	runtime.ReadMemStats(&after)
	stop.Store(true)
	wg.Wait()

	res := workerResult{
		Client:     *clientName,
		Workload:   w.name,
		Ops:        ops1 - ops0,
		Seconds:    t1.Sub(t0).Seconds(),
		TotalOps:   sum(),
		AllocBytes: after.TotalAlloc - before.TotalAlloc,
		Mallocs:    after.Mallocs - before.Mallocs,
		Errors:     errCount.Load(),
		FirstError: firstErr,
	}
	return json.NewEncoder(stdout).Encode(res)
}
