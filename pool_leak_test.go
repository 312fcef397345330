package respool

import (
	"bytes"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPoolLeakReportedOnce(t *testing.T) {
	checkGoroutines(t)
	reports := make(chan LeakReport, 4)
	var (
		mu    sync.Mutex
		count int
	)
	p, _, _ := newPipePool(t, &Options{
		LeakThreshold: time.Millisecond,
		OnLeak: func(r LeakReport) {
			mu.Lock()
			count++
			mu.Unlock()
			reports <- r
		},
	})
	cn := mustGet(t, p)
	var r LeakReport
	select {
	case r = <-reports:
	case <-time.After(10 * time.Second): // a safety net against a hang
		t.Fatal("no leak report")
	}
	if !strings.Contains(string(r.Stack), "TestPoolLeakReportedOnce") {
		t.Fatalf("the report's stack does not show the caller of Get:\n%s", r.Stack)
	}
	if r.Addr != "pipe" || r.Held <= 0 {
		t.Fatalf("report: addr %q, held %v", r.Addr, r.Held)
	}
	// The timer fired once and is gone: nothing can report this checkout again.
	p.mu.Lock()
	armed := pooled(cn).leak.timer != nil
	p.mu.Unlock()
	if armed {
		t.Fatal("the leak timer is still armed after its report")
	}
	p.Put(cn)
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	if count != 1 {
		t.Fatalf("%d reports, want 1", count)
	}
}

func TestPoolLeakNotReportedAfterPut(t *testing.T) {
	checkGoroutines(t)
	reported := false
	p, _, _ := newPipePool(t, &Options{
		LeakThreshold: time.Hour,
		OnLeak:        func(LeakReport) { reported = true },
	})
	cn := mustGet(t, p)
	if pooled(cn).leak.timer == nil || len(pooled(cn).leak.stack) == 0 {
		t.Fatal("Get did not arm leak detection")
	}
	p.Put(cn)
	p.mu.Lock()
	armed := pooled(cn).leak.timer != nil || pooled(cn).leak.stack != nil
	p.mu.Unlock()
	if armed {
		t.Fatal("Put did not disarm leak detection")
	}
	// A later checkout is a new one: the earlier timer could not report it.
	again := mustGet(t, p)
	if again != cn || pooled(cn).leak.gen != 2 {
		t.Fatalf("second checkout: generation %d", pooled(cn).leak.gen)
	}
	p.reportLeak(cn, 1) // the first checkout's timer, had it fired late
	p.Put(again)
	if reported {
		t.Fatal("a connection given back in time was reported")
	}
}

func TestPoolLeakOffCostsNothing(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, nil)
	cn := mustGet(t, p)
	defer p.Put(cn)
	if pooled(cn).leak.timer != nil || pooled(cn).leak.stack != nil || pooled(cn).leak.gen != 0 {
		t.Fatal("leak detection ran while LeakThreshold is 0")
	}
}

// TestPoolLeakGoesToLoggerOnly checks that a leak is logged through
// Options.Logger, and never written with the standard log package, with
// or without a Logger.
func TestPoolLeakGoesToLoggerOnly(t *testing.T) {
	checkGoroutines(t)
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(b)
	}))
	log.SetFlags(0)
	defer func() {
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	}()
	rec := new(logRecorder)
	withLogger, _, _ := newPipePool(t, &Options{LeakThreshold: time.Millisecond, Logger: slog.New(rec)})
	silent, _, _ := newPipePool(t, &Options{LeakThreshold: time.Millisecond})
	a, b := mustGet(t, withLogger), mustGet(t, silent)
	eventually(t, "the leak logged", func() bool { return len(rec.events("respool: connection held without Put")) == 1 })
	eventually(t, "the silent pool's leak counted", func() bool {
		silent.mu.Lock()
		defer silent.mu.Unlock()
		return silent.numLeaked == 1
	})
	withLogger.Put(a)
	silent.Put(b)
	ev := rec.events("respool: connection held without Put")[0]
	if ev.attrs["addr"] != "pipe" || !strings.Contains(ev.attrs["stack"], "TestPoolLeakGoesToLoggerOnly") {
		t.Fatalf("leak record: %v", ev.attrs)
	}
	mu.Lock()
	defer mu.Unlock()
	if buf.Len() != 0 {
		t.Fatalf("the standard log package was written to:\n%s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
