package respool

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPoolTimeoutErrorDescribesPool exhausts a pool of 2 on a real server,
// with both connections held past LeakThreshold and one Get already
// waiting, and checks that the Get that times out reports the pool's
// state as it was and points at the leak.
func TestPoolTimeoutErrorDescribesPool(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	reports := make(chan LeakReport, 2)
	p := newServerPool(t, &Options{
		Addr:          srv.Addr,
		PoolSize:      2,
		PoolTimeout:   time.Second,
		LeakThreshold: time.Millisecond,
		OnLeak:        func(r LeakReport) { reports <- r },
	})
	a, b := mustGet(t, p), mustGet(t, p)
	for range 2 {
		select {
		case <-reports:
		case <-time.After(10 * time.Second): // a safety net against a hang
			t.Fatal("the held connections were not reported as leaks")
		}
	}

	first := make(chan error, 1)
	go func() {
		cn, err := p.Get(context.Background())
		if err == nil {
			p.Put(cn)
		}
		first <- err
	}()
	eventually(t, "the first Get waiting", func() bool { return p.Stats().Waiting == 1 })
	_, err := p.Get(context.Background())

	var pte *PoolTimeoutError
	if !errors.As(err, &pte) || !errors.Is(err, ErrPoolTimeout) || OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("Get on an exhausted pool: %v (outcome %v), want a *PoolTimeoutError that is ErrPoolTimeout, not sent", err, OutcomeOf(err))
	}
	want := PoolTimeoutError{
		Addr: srv.Addr, PoolSize: 2, PoolTimeout: time.Second, InUse: 2, Idle: 0, Dialing: 0,
		WaitersAhead: 1, Leaked: 2, LeakThreshold: time.Millisecond, Waited: pte.Waited,
	}
	if *pte != want {
		t.Fatalf("the error describes\n%+v\nwant\n%+v", *pte, want)
	}
	if pte.Waited < time.Second {
		t.Fatalf("Waited %v, shorter than PoolTimeout", pte.Waited)
	}
	for _, s := range []string{srv.Addr, "all 2 (PoolSize) in use", "0 idle", "0 dialling", "1 Get waiting ahead", "2 of them were held longer than LeakThreshold (1ms)", "Pool.Put"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not say %q", err.Error(), s)
		}
	}
	if retryable(err, []any{"GET", "k"}) {
		t.Fatal("a pool timeout would be retried by the client")
	}

	ferr := <-first
	var fpte *PoolTimeoutError
	if !errors.As(ferr, &fpte) || fpte.WaitersAhead != 0 || fpte.InUse != 2 || fpte.Leaked != 2 {
		t.Fatalf("the first waiter: %v, want a *PoolTimeoutError with nobody ahead", ferr)
	}
	if s := checkAccounting(t, p); s.Timeouts != 2 || s.Waits != 2 || s.Waiting != 0 || s.InUse != 2 {
		t.Fatalf("stats after both timed out: %+v", s)
	}

	// Once given back, the connections no longer count as leaked.
	p.Put(a)
	p.Put(b)
	p.mu.Lock()
	leaked := p.numLeaked
	p.mu.Unlock()
	if leaked != 0 {
		t.Fatalf("%d connections still counted as leaked after Put", leaked)
	}
}

// TestPoolTimeoutErrorAdvice checks that the message says what to change
// for each shape of exhaustion.
func TestPoolTimeoutErrorAdvice(t *testing.T) {
	base := PoolTimeoutError{Addr: "db:6379", PoolSize: 10, PoolTimeout: 4 * time.Second, InUse: 10, Waited: 4 * time.Second}
	cases := []struct {
		name string
		edit func(e *PoolTimeoutError)
		want []string
		not  []string
	}{
		{"load without leak detection", func(*PoolTimeoutError) {},
			[]string{"all 10 (PoolSize) in use", "raise PoolSize if the load needs more than 10", "raise PoolTimeout", "set LeakThreshold", "0 Gets waiting ahead"},
			[]string{"this is load"}},
		{"load with leak detection on", func(e *PoolTimeoutError) { e.LeakThreshold = time.Minute; e.WaitersAhead = 3 },
			[]string{"none was held longer than LeakThreshold (1m0s), so this is load", "raise PoolSize", "3 Gets waiting ahead"},
			[]string{"set LeakThreshold"}},
		{"a leak", func(e *PoolTimeoutError) { e.LeakThreshold = time.Minute; e.Leaked = 1 },
			[]string{"1 of them was held longer than LeakThreshold (1m0s) without Pool.Put"},
			[]string{"raise PoolSize"}},
		{"slow dials", func(e *PoolTimeoutError) { e.InUse, e.Dialing = 4, 6 },
			[]string{"4 of 10 (PoolSize) in use", "6 dialling", "dialled", "DialTimeout"},
			nil},
	}
	for _, c := range cases {
		e := base
		c.edit(&e)
		msg := e.Error()
		if !strings.HasPrefix(msg, "respool: pool timeout: no connection to db:6379 became free within PoolTimeout (4s); ") {
			t.Errorf("%s: message %q", c.name, msg)
		}
		for _, s := range c.want {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: message %q does not say %q", c.name, msg, s)
			}
		}
		for _, s := range c.not {
			if strings.Contains(msg, s) {
				t.Errorf("%s: message %q says %q", c.name, msg, s)
			}
		}
		if !errors.Is(&e, ErrPoolTimeout) || errors.Is(&e, ErrPoolExhausted) || !e.Timeout() {
			t.Errorf("%s: errors.Is or Timeout wrong", c.name)
		}
	}
}
