package respool

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// A wrong password fails Get with an *AuthError after exactly one dial:
// the pool neither retries it nor backs off (the server is up).
func TestPoolWrongPassword(t *testing.T) {
	srv := respooltest.StartServer(t, respooltest.WithArgs("--requirepass", "secret"))
	checkGoroutines(t)
	d := newNetDialer()
	p := newServerPool(t, &Options{Addr: srv.Addr, Password: "wrong", Dialer: d.Dial})
	for i := range 3 {
		_, err := p.Get(context.Background())
		var ae *AuthError
		if !errors.As(err, &ae) || OutcomeOf(err) != OutcomeNotSent {
			t.Fatalf("Get %d with a wrong password: %v, want an *AuthError", i, err)
		}
		if got := d.dials.Load(); got != int64(i+1) {
			t.Fatalf("after %d Gets: %d dials", i+1, got)
		}
	}
	if s := checkAccounting(t, p); s.Open != 0 || s.Dials != 3 || s.DialErrors != 3 {
		t.Fatalf("stats: %+v", s)
	}
	good := newServerPool(t, &Options{Addr: srv.Addr, Password: "secret"})
	cn := mustGet(t, good)
	do(t, cn, "PING")
	good.Put(cn)
}

// While dials fail, one probe dials and other Gets fail at once with the
// last dial error; a successful dial ends the backoff.
func TestPoolDialBackoff(t *testing.T) {
	checkGoroutines(t)
	clock := newFakeClock()
	p, _, d := newPipePool(t, &Options{PoolSize: 4, DialTimeout: time.Hour, now: clock.Now})
	ctx := context.Background()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	d.setHook(func(context.Context) error { return refused })

	_, err := p.Get(ctx)
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Op != "dial" || ce.Outcome != OutcomeNotSent || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("first Get: %v", err)
	}
	first := err

	// The probe: its dial hangs until released.
	entered, release := make(chan struct{}), make(chan struct{})
	d.setHook(func(context.Context) error {
		close(entered)
		<-release
		return nil
	})
	probe := make(chan error)
	go func() {
		cn, err := p.Get(ctx)
		if err == nil {
			p.Put(cn)
		}
		probe <- err
	}()
	<-entered
	for i := range 3 {
		_, err := p.Get(ctx)
		if err != first {
			t.Fatalf("Get %d during the probe: %v, want the last dial error at once", i, err)
		}
	}
	if got := d.dials.Load(); got != 2 {
		t.Fatalf("%d dials during the backoff, want 2 (the failure and the probe)", got)
	}
	close(release)
	if err := <-probe; err != nil {
		t.Fatalf("probe Get: %v", err)
	}
	d.setHook(nil)
	// The backoff is over: new dials go ahead.
	a, b := mustGet(t, p), mustGet(t, p)
	p.Put(a)
	p.Put(b)
	if s := checkAccounting(t, p); s.Dials != 3 || s.DialErrors != 1 || s.Open != 2 {
		t.Fatalf("stats: %+v", s)
	}
}

// The backoff window grows with each failed probe and ends by itself.
func TestPoolDialBackoffWindow(t *testing.T) {
	var b dialBackoff
	now := time.Now()
	refused := &ConnError{Op: "dial", Outcome: OutcomeNotSent, Err: syscall.ECONNREFUSED}
	if probe, err := b.beginLocked(now); probe || err != nil {
		t.Fatalf("begin with no failure: %v %v", probe, err)
	}
	b.endLocked(false, refused, nil, now)
	wantSteps := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i, want := range wantSteps {
		if b.step != want*time.Millisecond {
			t.Fatalf("window %d: %v, want %v", i, b.step, want*time.Millisecond)
		}
		probe, err := b.beginLocked(now)
		if !probe || err != nil {
			t.Fatalf("window %d: no probe: %v", i, err)
		}
		if _, err := b.beginLocked(now); err != refused {
			t.Fatalf("window %d: second dial during the probe: %v", i, err)
		}
		b.endLocked(true, refused, nil, now)
	}
	// Past the window anyone may dial.
	now = now.Add(3 * time.Second)
	if probe, err := b.beginLocked(now); probe || err != nil {
		t.Fatalf("after the window: %v %v", probe, err)
	}
	// A failure caused by the caller's context or by credentials does not count.
	b = dialBackoff{}
	b.endLocked(false, &ConnError{Op: "dial", Err: context.Canceled}, context.Canceled, now)
	b.endLocked(false, &AuthError{Err: NewError("WRONGPASS invalid")}, nil, now)
	if b.lastErr != nil {
		t.Fatalf("backoff after a cancelled dial or an auth error: %+v", b)
	}
	b.endLocked(false, refused, nil, now)
	b.endLocked(false, nil, nil, now)
	if b.lastErr != nil {
		t.Fatalf("backoff after a successful dial: %+v", b)
	}
}

// At most MaxConcurrentDials dials are in flight.
func TestPoolMaxConcurrentDials(t *testing.T) {
	checkGoroutines(t)
	p, _, d := newPipePool(t, &Options{PoolSize: 4, MaxConcurrentDials: 2})
	ctx := context.Background()
	var (
		mu             sync.Mutex
		inFlight, peak int
		release        = make(chan struct{})
	)
	d.setHook(func(context.Context) error {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	got := make(chan *Conn, 4)
	for range 4 {
		go func() {
			cn, err := p.Get(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- cn
		}()
	}
	eventually(t, "4 Gets dialling, 2 dials in flight", func() bool {
		// Counted by the hook, not by the dialer's own count, which
		// goes up before the hook runs.
		mu.Lock()
		n := inFlight
		mu.Unlock()
		return p.Stats().Dialing == 4 && n == 2 && d.dials.Load() == 2
	})
	for range 4 {
		release <- struct{}{}
	}
	for range 4 {
		p.Put(<-got)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != 2 || d.dials.Load() != 4 {
		t.Fatalf("peak of %d dials in flight (want 2), %d dials", peak, d.dials.Load())
	}
	checkAccounting(t, p)
}
