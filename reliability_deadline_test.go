package respool

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// lateContext is a context whose deadline has passed while its Err is
// still nil: the state every context.WithTimeout is in between its
// deadline and the moment its timer goroutine runs, which under load
// lasts milliseconds (the desync soak sees it). Freezing that state makes
// the reproductions below deterministic.
type lateContext struct {
	context.Context
	deadline time.Time
}

func newLateContext(parent context.Context) lateContext {
	return lateContext{Context: parent, deadline: time.Now().Add(-time.Millisecond)}
}

func (c lateContext) Deadline() (time.Time, bool) { return c.deadline, true }

// regression asserts that a bug which the test was written to reproduce,
// and which has been fixed, does not show again: it fails the test when
// shows holds, naming the bug and where it was.
func regression(t *testing.T, shows bool, format string, args ...any) {
	t.Helper()
	if shows {
		t.Fatalf("regression: "+format, args...)
	}
}

// A call whose deadline passed fails with an error that matches
// context.DeadlineExceeded, even before the context's timer has run: the
// cause is the caller's deadline, whatever the socket reported.
func TestReliabilityDeadlineErrorIsContext(t *testing.T) {
	srv := faultTest(t)
	p := respooltest.StartFaultProxy(t, srv.Addr)
	ctx := newLateContext(context.Background())

	cn, err := Dial(context.Background(), &Options{Addr: p.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	_, err = cn.Do(ctx, "PING")
	if err == nil {
		t.Fatal("PING with a passed deadline succeeded")
	}
	if o := OutcomeOf(err); o != OutcomeNotSent && o != OutcomeUnknown {
		t.Fatalf("outcome %v: %v", o, err)
	}
	regression(t, !errors.Is(err, context.DeadlineExceeded),
		"conn.go ioError/failWrite: a read or write ended by the context's deadline before its timer ran reports %q, not context.DeadlineExceeded", err)

	_, err = Dial(ctx, &Options{Addr: p.Addr()})
	regression(t, !errors.Is(err, context.DeadlineExceeded),
		"conn.go dialConn: a dial ended by the context's deadline reports %q, not context.DeadlineExceeded", err)
}

// A dial that failed because its caller's deadline passed says nothing
// about the server: it must not open the pool's dial backoff, in which
// other callers, even without a deadline, fail at once with that error.
func TestReliabilityDialBackoffOwnDeadline(t *testing.T) {
	srv := faultTest(t)
	type role struct{}
	entered, release := make(chan struct{}), make(chan struct{})
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		switch ctx.Value(role{}) {
		case "late":
			// The caller's deadline has passed: the socket says timeout.
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.ErrDeadlineExceeded}
		case "probe":
			close(entered)
			<-release
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	// A frozen clock keeps the backoff window open however slow the
	// machine is (deadlines from it stay seconds ahead).
	frozen := time.Now()
	pool := NewPool(&Options{Addr: srv.Addr, Dialer: dialer, PoolSize: 4, now: func() time.Time { return frozen }})
	defer pool.Close()

	late := newLateContext(context.WithValue(context.Background(), role{}, "late"))
	if _, err := pool.Get(late); err == nil {
		t.Fatal("Get with a passed deadline succeeded")
	}

	probed := make(chan error, 1)
	go func() {
		cn, err := pool.Get(context.WithValue(context.Background(), role{}, "probe"))
		if err == nil {
			pool.Put(cn)
		}
		probed <- err
	}()
	select {
	case <-entered:
	case err := <-probed:
		t.Fatalf("the second Get did not dial: %v", err)
	}
	// A Get without a deadline, while the second one dials.
	cn, err := pool.Get(context.Background())
	close(release)
	if perr := <-probed; perr != nil {
		t.Fatalf("probe Get: %v", perr)
	}
	if err == nil {
		pool.Put(cn)
	}
	regression(t, err != nil,
		"pool_dial.go dialSlot: the caller's own deadline (ctx.Err() still nil) opened the dial backoff; a Get without a deadline failed with %q", err)
}

// cancelOnFlushConn cancels its test's context from inside the Write that
// sends a command, and waits until the cancellation has set its deadline:
// the call is cancelled after its request left and before it reads.
type cancelOnFlushConn struct {
	net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	armed  atomic.Bool
	past   chan struct{} // closed when a deadline in the past is set

	mu     sync.Mutex // guards readDL and lost
	readDL time.Time
	lost   bool // a read began with a live deadline after the cancellation
}

func (c *cancelOnFlushConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.armed.CompareAndSwap(true, false) {
		c.cancel()
		<-c.past
	}
	return n, err
}

func (c *cancelOnFlushConn) SetDeadline(t time.Time) error {
	c.setRead(t)
	return c.Conn.SetDeadline(t)
}

func (c *cancelOnFlushConn) SetReadDeadline(t time.Time) error {
	c.setRead(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *cancelOnFlushConn) setRead(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDL = t
	if t.Before(time.Now()) {
		select {
		case <-c.past:
		default:
			close(c.past)
		}
	}
}

func (c *cancelOnFlushConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	if c.ctx.Err() != nil && c.readDL.After(time.Now()) {
		// The read would wait for ReadTimeout: report it and end it now.
		c.lost = true
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	c.mu.Unlock()
	return c.Conn.Read(b)
}

// A cancellation that lands after the request was written and before the
// read deadline is set must still cut the read short: the call returns
// at once, not after ReadTimeout.
func TestReliabilityCancelBetweenWriteAndRead(t *testing.T) {
	srv := faultTest(t)
	p := respooltest.StartFaultProxy(t, srv.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc := &cancelOnFlushConn{ctx: ctx, cancel: cancel, past: make(chan struct{})}
	dialer := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(dctx, network, addr)
		fc.Conn = nc
		return fc, err
	}
	cn, err := Dial(context.Background(), &Options{Addr: p.Addr(), Dialer: dialer})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()

	p.StallReply("ECHO", 0) // the reply never comes until Resume
	defer p.Resume()
	fc.armed.Store(true)
	_, err = cn.Do(ctx, "ECHO", "x")
	if !errors.Is(err, context.Canceled) || OutcomeOf(err) != OutcomeUnknown {
		t.Fatalf("cancelled ECHO: %v (outcome %v), want context.Canceled, unknown", err, OutcomeOf(err))
	}
	fc.mu.Lock()
	lost := fc.lost
	fc.mu.Unlock()
	regression(t, lost,
		"conn.go roundTrip: SetReadDeadline(now+ReadTimeout) after the write overwrites the past deadline the cancellation set; the read waits for ReadTimeout (fix: re-check ctx.Done() after setting each deadline)")
}
