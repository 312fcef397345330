package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// workerResult is what a worker process prints, as one JSON line, for the
// driver to read. Every figure but TotalOps, Errors and Wrong covers the
// measured window only.
type workerResult struct {
	Client     string  `json:"client"`
	Scenario   string  `json:"scenario"`
	Ops        int64   `json:"ops"`         // operations completed in the window
	Seconds    float64 `json:"seconds"`     // length of the window
	CPUSeconds float64 `json:"cpu"`         // user+system CPU of the process over the window
	P50        int64   `json:"p50_ns"`      // per-call latency, median
	P99        int64   `json:"p99_ns"`      // per-call latency, 99th percentile
	Calls      uint64  `json:"calls"`       // calls behind P50 and P99
	TotalOps   int64   `json:"total_ops"`   // operations over the whole run, warm-up included
	AllocBytes uint64  `json:"alloc_bytes"` // runtime.MemStats TotalAlloc delta
	Mallocs    uint64  `json:"mallocs"`     // runtime.MemStats Mallocs delta
	Errors     int64   `json:"errors"`      // calls that failed, whole run
	Wrong      int64   `json:"wrong"`       // replies that were not the value the key holds, whole run
	FirstError string  `json:"first_error,omitempty"`
	FirstWrong string  `json:"first_wrong,omitempty"`
	// ServerCPUSeconds is the user+system CPU of the redis-server
	// processes named by -server-pids over the window, summed; absent
	// when none were named.
	ServerCPUSeconds *float64 `json:"server_cpu,omitempty"`
	// The timeout scenario's figures, over the window (scenario_timeout.go).
	Timeouts int64 `json:"timeouts,omitempty"`  // calls that failed
	NewConns int64 `json:"new_conns,omitempty"` // connections the server accepted
	Stalls   int64 `json:"stalls,omitempty"`    // DEBUG SLEEPs
	// respool's drains (PoolStats) started and failed in the window.
	Drains        int64 `json:"drains,omitempty"`
	DrainFailures int64 `json:"drain_failures,omitempty"`
}

// epoch is the worker's start. Calls are timed as time.Since(epoch), which
// reads only the monotonic clock; time.Now also reads the wall clock, a
// cost that would be charged to the client under test.
var epoch = time.Now()

// Phases of a worker run, read by every goroutine before each call.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// slot is one goroutine's counters. ops is read by the main goroutine at
// the window's edges; errors and wrong only after the goroutine has ended.
// The padding keeps goroutines from sharing a cache line.
type slot struct {
	ops    atomic.Int64
	errors int64
	wrong  int64
	_      [40]byte
}

// failures keeps the first error and the first wrong reply of a run.
type failures struct {
	errOnce, wrongOnce sync.Once
	firstErr           string
	firstWrong         string
}

func (f *failures) err(err error) { f.errOnce.Do(func() { f.firstErr = err.Error() }) }

func (f *failures) wrong(key, got, want string) {
	f.wrongOnce.Do(func() { f.firstWrong = fmt.Sprintf("%s: got %.40q, want %.40q", key, got, want) })
}

// workerJob is everything a goroutine of the worker needs.
type workerJob struct {
	ctx    context.Context
	r      runner
	s      scenario
	keys   []string
	values []string
	phase  *atomic.Int32
	fail   *failures
	// timeouts counts the failed calls of the timeout scenario; nil in
	// every other.
	timeouts *timeoutRun
}

// runWorker is the hidden "worker" subcommand: it runs one client on one
// scenario for the warm-up plus the measured window and prints a
// workerResult.
func runWorker(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	clientName := fs.String("client", "", "client to run")
	scenarioName := fs.String("scenario", "", "scenario to run")
	addr := fs.String("addr", "", "server address; in a cluster scenario, every node's, comma-separated")
	dur := fs.Duration("dur", 3*time.Second, "measured window")
	warmup := fs.Duration("warmup", time.Second, "warm-up before the window")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured window to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile (warm-up and window) to this file")
	serverPIDs := fs.String("server-pids", "", "process ids of the redis-server processes, comma-separated, whose CPU time over the window is reported (Linux only)")
	tick := fs.Duration("tick", 0, "keep a runtime timer ticking at this period in the worker, whatever the client (to measure what a pending timer alone changes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tick > 0 {
		t := time.NewTicker(*tick)
		defer t.Stop()
		go func() {
			for range t.C {
			}
		}()
	}
	s, err := lookupScenario(*scenarioName)
	if err != nil {
		return err
	}
	pids, err := parsePIDs(*serverPIDs)
	if err != nil {
		return err
	}
	servers, err := newServerProcs(pids)
	if err != nil {
		return err
	}
	opt := runnerOptions{addr: *addr, goroutines: s.goroutines, poolSize: s.poolSize}
	if s.cluster {
		opt.addr, opt.cluster = "", splitList(*addr)
	}
	r, err := newScenarioRunner(*clientName, s, opt)
	if err != nil {
		return err
	}
	defer r.close()

	keys, values := keysAndValues(s)
	var phase atomic.Int32
	job := &workerJob{ctx: context.Background(), r: r, s: s, keys: keys, values: values, phase: &phase, fail: &failures{}}
	// One call proves the client can reach the server before timing starts.
	if err := job.probeScenario(); err != nil {
		return fmt.Errorf("compare: %s: first call: %w", *clientName, err)
	}

	slots := make([]slot, s.goroutines)
	if job.timeouts, err = startTimeoutRun(s, *addr, &phase, slots, r); err != nil {
		return err
	}
	hist := &sharedHistogram{}
	recs := make([]recorder, s.goroutines)
	var wg sync.WaitGroup
	for g := range s.goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[g].shared = hist
			job.loop(g, &slots[g], &recs[g])
		}()
	}
	sum := func() int64 {
		var t int64
		for i := range slots {
			t += slots[i].ops.Load()
		}
		return t
	}

	time.Sleep(*warmup)
	if err := job.timeouts.windowStart(); err != nil {
		return err
	}
	// The servers are read just outside the client's CPU and allocation
	// window, so that reading them is not charged to the client.
	srv0, err := servers.cpu()
	if err != nil {
		return err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	ops0, t0 := sum(), time.Now()
	phase.Store(phaseMeasure)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	time.Sleep(*dur)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	phase.Store(phaseWarmup) // calls started from here on are not sampled
	ops1, t1 := sum(), time.Now()
	cpu1 := processCPU()
	runtime.ReadMemStats(&after)
	if *memProfile != "" {
		if err := writeAllocProfile(*memProfile); err != nil {
			return err
		}
	}
	srv1, err := servers.cpu()
	if err != nil {
		return err
	}
	win, err := job.timeouts.windowEnd()
	if err != nil {
		return err
	}
	phase.Store(phaseStop)
	wg.Wait()
	if err := job.timeouts.close(); err != nil {
		return err
	}

	res := workerResult{
		Client:     *clientName,
		Scenario:   s.name,
		Ops:        ops1 - ops0,
		Seconds:    t1.Sub(t0).Seconds(),
		CPUSeconds: (cpu1 - cpu0).Seconds(),
		TotalOps:   sum(),
		AllocBytes: after.TotalAlloc - before.TotalAlloc,
		Mallocs:    after.Mallocs - before.Mallocs,
		FirstError: job.fail.firstErr,
		FirstWrong: job.fail.firstWrong,
	}
	if servers != nil {
		sec := (srv1 - srv0).Seconds()
		res.ServerCPUSeconds = &sec
	}
	win.fill(&res)
	for g := range slots {
		res.Errors += slots[g].errors
		res.Wrong += slots[g].wrong
		recs[g].flush()
	}
	res.P50, res.P99, res.Calls = int64(hist.h.quantile(0.50)), int64(hist.h.quantile(0.99)), hist.h.total
	return json.NewEncoder(stdout).Encode(res)
}

// processCPU is the process's user plus system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// probe runs one call of the scenario's kind and checks its reply.
func (j *workerJob) probe() error {
	switch j.s.kind {
	case opSet:
		_, err := j.r.set(j.ctx, j.keys[0], j.values[0]) // key 0 belongs to writer 0
		return err
	default:
		v, err := j.r.get(j.ctx, j.keys[0])
		if err == nil && v != j.values[0] {
			err = fmt.Errorf("GET %s returned %.40q, want %.40q", j.keys[0], v, j.values[0])
		}
		return err
	}
}

// loop is goroutine g's work until the phase says stop. A call's latency
// is sampled when the window was open as the call started.
func (j *workerJob) loop(g int, sl *slot, h *recorder) {
	if j.s.cache {
		j.cacheLoop(g, sl, h)
		return
	}
	switch j.s.kind {
	case opGet:
		j.getLoop(g, sl, h)
	case opSet:
		j.setLoop(g, sl, h)
	case opPipe, opMGet:
		j.batchLoop(g, sl, h)
	case opTimeoutGet:
		j.getLoop(g, sl, h)
	}
}

func (j *workerJob) getLoop(g int, sl *slot, h *recorder) {
	n := len(j.keys)
	k := g * n / j.s.goroutines
	for {
		ph := j.phase.Load()
		if ph == phaseStop {
			return
		}
		if k >= n {
			k = 0
		}
		start := time.Since(epoch)
		v, err := j.r.get(j.ctx, j.keys[k])
		d := time.Since(epoch) - start
		if err != nil {
			j.getFailed(sl, ph, err)
		} else {
			if v != j.values[k] {
				sl.wrong++
				j.fail.wrong(j.keys[k], v, j.values[k])
			}
			sl.ops.Add(1)
			if ph == phaseMeasure {
				h.record(d)
			}
		}
		k++
	}
}

// setLoop writes the keys that belong to writer g: g, g+G, g+2G...
func (j *workerJob) setLoop(g int, sl *slot, h *recorder) {
	n, step := len(j.keys), j.s.goroutines
	k := g
	for {
		ph := j.phase.Load()
		if ph == phaseStop {
			return
		}
		start := time.Since(epoch)
		v, err := j.r.set(j.ctx, j.keys[k], j.values[k])
		d := time.Since(epoch) - start
		if err != nil {
			sl.errors++
			j.fail.err(err)
		} else {
			if v != "OK" {
				sl.wrong++
				j.fail.wrong(j.keys[k], v, "OK")
			}
			sl.ops.Add(1)
			if ph == phaseMeasure {
				h.record(d)
			}
		}
		if k += step; k >= n {
			k = g
		}
	}
}

// batchLoop runs explicit pipelines or MGETs of consecutive keys.
func (j *workerJob) batchLoop(g int, sl *slot, h *recorder) {
	n, batch := len(j.keys), j.s.batch
	windows := n - batch + 1
	out := make([]string, batch)
	i := g * n / j.s.goroutines
	for {
		ph := j.phase.Load()
		if ph == phaseStop {
			return
		}
		first := i % windows
		keys := j.keys[first : first+batch]
		start := time.Since(epoch)
		var err error
		if j.s.kind == opPipe {
			err = j.r.pipeGets(j.ctx, keys, out)
		} else {
			err = j.r.mget(j.ctx, keys, out)
		}
		d := time.Since(epoch) - start
		if err != nil {
			sl.errors++
			j.fail.err(err)
		} else {
			for x, v := range out {
				if want := j.values[first+x]; v != want {
					sl.wrong++
					j.fail.wrong(keys[x], v, want)
				}
				out[x] = ""
			}
			sl.ops.Add(int64(batch))
			if ph == phaseMeasure {
				h.record(d)
			}
		}
		i += batch
	}
}

// writeAllocProfile writes the allocations sampled so far to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
