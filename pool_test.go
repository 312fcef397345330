package respool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

func TestPoolReusesMostRecentFirst(t *testing.T) {
	sharedServer(t)
	checkGoroutines(t)
	p := newServerPool(t, &Options{PoolSize: 3})

	a, b, c := mustGet(t, p), mustGet(t, p), mustGet(t, p)
	ids := map[*Conn]int64{a: clientID(t, a), b: clientID(t, b), c: clientID(t, c)}
	if s := checkAccounting(t, p); s.Open != 3 || s.InUse != 3 || s.Misses != 3 || s.Dials != 3 {
		t.Fatalf("after 3 Gets: %+v", s)
	}
	p.Put(a)
	p.Put(b)
	p.Put(c)
	if s := checkAccounting(t, p); s.Idle != 3 || s.InUse != 0 {
		t.Fatalf("after 3 Puts: %+v", s)
	}
	for _, want := range []*Conn{c, b, a} {
		got := mustGet(t, p)
		if got != want || clientID(t, got) != ids[want] {
			t.Fatalf("Get returned client %d, want the most recently returned %d", clientID(t, got), ids[want])
		}
		defer p.Put(got)
	}
	if s := checkAccounting(t, p); s.Hits != 3 || s.Misses != 3 || s.Dials != 3 || s.Waits != 0 {
		t.Fatalf("after reuse: %+v", s)
	}
	if got := p.Options().PoolSize; got != 3 {
		t.Fatalf("Options().PoolSize = %d", got)
	}
}

func TestPoolFailFast(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolFailFast: true})
	cn := mustGet(t, p)
	defer p.Put(cn)
	_, err := p.Get(context.Background())
	if !errors.Is(err, ErrPoolExhausted) || OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("Get on a busy fail-fast pool: %v (outcome %v), want ErrPoolExhausted", err, OutcomeOf(err))
	}
	if s := checkAccounting(t, p); s.Waits != 0 || s.Open != 1 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestPoolWaitTimesOut(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: 5 * time.Millisecond})
	cn := mustGet(t, p)
	_, err := p.Get(context.Background())
	if !errors.Is(err, ErrPoolTimeout) || OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("Get on a busy pool: %v, want ErrPoolTimeout", err)
	}
	s := checkAccounting(t, p)
	if s.Waits != 1 || s.Timeouts != 1 || s.WaitTime <= 0 {
		t.Fatalf("stats: %+v", s)
	}
	p.Put(cn)
	if s := checkAccounting(t, p); s.Idle != 1 || s.Open != 1 {
		t.Fatalf("after Put: %+v", s)
	}
}

// TestPoolWaitTimeoutAfterServedHead: PoolTimeout is one timer of the
// pool, armed for the waiter at the front of the queue. When that waiter
// is served and another joins before the timer fires, the timer finds
// nobody to fail yet; it must arm itself again, so that the later waiter
// times out after its own PoolTimeout instead of waiting for ever. And
// the connection, given back once both are done, is kept.
func TestPoolWaitTimeoutAfterServedHead(t *testing.T) {
	checkGoroutines(t)
	const timeout = 100 * time.Millisecond
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: timeout})
	cn := mustGet(t, p)

	first := make(chan *Conn, 1)
	go func() {
		c, err := p.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		first <- c
	}()
	eventually(t, "the first Get waits", func() bool { return p.Stats().Waits == 1 })
	p.Put(cn) // to the first waiter; the pool's timer stays armed for it
	c := <-first
	if c != cn {
		t.Fatalf("the first waiter got %p, want the connection given back %p", c, cn)
	}
	// Not a synchronisation: the second waiter must join late enough
	// that its deadline is clearly after the one the timer was armed for.
	time.Sleep(timeout / 2)
	// Its context outlives PoolTimeout by far: a Get that ends by it was
	// not timed out by the pool.
	ctx, cancel := context.WithTimeout(context.Background(), 20*timeout)
	defer cancel()
	_, err := p.Get(ctx)
	var pte *PoolTimeoutError
	if !errors.As(err, &pte) {
		t.Fatalf("the second Get: %v, want a *PoolTimeoutError", err)
	}
	if pte.Waited < timeout {
		t.Fatalf("the second Get gave up after %v, before its PoolTimeout of %v", pte.Waited, timeout)
	}
	p.Put(c)
	if s := checkAccounting(t, p); s.Idle != 1 || s.Open != 1 || s.Timeouts != 1 || s.Waits != 2 {
		t.Fatalf("after both: %+v", s)
	}
}

// TestPoolWaitTimeoutsUnderLoad: many Gets on a pool of 2 with a PoolTimeout
// so short that the pool's timer, the Puts and the cancelled contexts race
// for the same waiters. Each Get ends exactly one way (a connection, a pool
// timeout, or its context), and at the end every connection is back and
// counted once: a waiter failed by the timer got nothing else, and nothing
// handed to a waiter that left was lost.
func TestPoolWaitTimeoutsUnderLoad(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 2, PoolTimeout: time.Microsecond})
	const goroutines, gets = 16, 200
	var got, timedOut, cancelled atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range gets {
				ctx, cancel := context.WithCancel(context.Background())
				if (g+i)%7 == 0 {
					cancel() // some Gets give up at once, racing with the rest
				}
				cn, err := p.Get(ctx)
				cancel()
				switch {
				case err == nil:
					got.Add(1)
					if _, err := cn.Do(context.Background(), "PING"); err != nil {
						t.Errorf("PING: %v", err)
					}
					p.Put(cn)
				case errors.Is(err, ErrPoolTimeout):
					timedOut.Add(1)
				case errors.Is(err, context.Canceled):
					cancelled.Add(1)
				default:
					t.Errorf("Get: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := got.Load() + timedOut.Load() + cancelled.Load(); n != goroutines*gets {
		t.Fatalf("%d Gets ended, want %d", n, goroutines*gets)
	}
	s := checkAccounting(t, p)
	t.Logf("%d Gets got a connection, %d timed out, %d were cancelled", got.Load(), timedOut.Load(), cancelled.Load())
	if s.InUse != 0 || s.Idle != s.Open || s.Open == 0 || s.Timeouts != uint64(timedOut.Load()) {
		t.Fatalf("after the load (%d got, %d timed out, %d cancelled): %+v", got.Load(), timedOut.Load(), cancelled.Load(), s)
	}
}

func TestPoolWaitEndsWithContext(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: -1})
	cn := mustGet(t, p)

	// Cancelled while waiting.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := p.Get(ctx)
		errc <- err
	}()
	eventually(t, "the Get waits", func() bool { return p.Stats().Waits == 1 })
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("cancelled Get: %v (outcome %v)", err, OutcomeOf(err))
	}

	// A deadline while waiting.
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err = p.Get(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("Get past its deadline: %v", err)
	}
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		t.Fatalf("Get past its deadline: %v is not a timeout", err)
	}

	// A context that ended before Get.
	_, err = p.Get(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with an ended context: %v", err)
	}
	if s := checkAccounting(t, p); s.Timeouts != 0 || s.Waits != 2 || s.Open != 1 {
		t.Fatalf("stats: %+v", s)
	}
	p.Put(cn)
	if got := mustGet(t, p); got != cn {
		t.Fatalf("the connection was not kept")
	} else {
		p.Put(got)
	}
}

func TestPoolWaitersServedInOrder(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: -1})
	cn := mustGet(t, p)

	const n = 3
	order := make(chan int, n)
	done := make(chan error, n)
	for i := range n {
		go func() {
			c, err := p.Get(context.Background())
			if err == nil {
				order <- i
				p.Put(c)
			}
			done <- err
		}()
		// Waiter i is queued before waiter i+1 starts.
		eventually(t, fmt.Sprintf("waiter %d queued", i), func() bool { return p.Stats().Waits == uint64(i+1) })
	}
	p.Put(cn)
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for want := range n {
		if got := <-order; got != want {
			t.Fatalf("waiter %d was served in place %d", got, want)
		}
	}
	if s := checkAccounting(t, p); s.Open != 1 || s.Idle != 1 || s.Hits != n || s.Dials != 1 {
		t.Fatalf("stats: %+v", s)
	}
}

// A connection handed to a waiter that has just given up goes back to the
// pool: it is neither lost nor counted twice.
func TestPoolDeliveryToDepartedWaiter(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: -1})
	cn := mustGet(t, p)
	// The waiter gives up (its context ends); before it takes the lock
	// again, the connection is given back, which hands it to the waiter.
	p.hookGaveUp = func() { p.Put(cn) }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := p.Get(ctx)
		errc <- err
	}()
	eventually(t, "the Get waits", func() bool { return p.Stats().Waits == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get: %v, want context.Canceled", err)
	}
	p.hookGaveUp = nil
	s := checkAccounting(t, p)
	if s.Open != 1 || s.Idle != 1 || s.InUse != 0 {
		t.Fatalf("after the departed delivery: %+v", s)
	}
	got := mustGet(t, p)
	defer p.Put(got)
	if s2 := p.Stats(); got != cn || s2.Hits != s.Hits+1 || s2.Dials != 1 {
		t.Fatalf("next Get was not a hit on the same connection: %+v", s2)
	}
}

// A slot freed for a waiter that has just given up (the connection it
// waited for was closed) goes back to the pool too.
func TestPoolSlotForDepartedWaiter(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: -1})
	cn := mustGet(t, p)
	_ = cn.Close() // given back unusable: its slot is freed
	p.hookGaveUp = func() { p.Put(cn) }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := p.Get(ctx)
		errc <- err
	}()
	eventually(t, "the Get waits", func() bool { return p.Stats().Waits == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get: %v, want context.Canceled", err)
	}
	p.hookGaveUp = nil
	if s := checkAccounting(t, p); s.Open != 0 || s.Closed.Unusable != 1 {
		t.Fatalf("after the departed slot: %+v", s)
	}
	p.Put(mustGet(t, p)) // the slot is usable: a new dial, no wait
	if s := checkAccounting(t, p); s.Dials != 2 || s.Waits != 1 || s.Idle != 1 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestPoolUnusableConnFreesSlotForWaiter(t *testing.T) {
	checkGoroutines(t)
	p, _, d := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: -1})
	cn := mustGet(t, p)
	got := make(chan *Conn)
	go func() {
		c, err := p.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	eventually(t, "the Get waits", func() bool { return p.Stats().Waits == 1 })
	cn.inMulti = true // as if MULTI were left open
	p.Put(cn)
	c := <-got
	if c == nil {
		t.FailNow()
	}
	defer p.Put(c)
	if c == cn || d.dials.Load() != 2 {
		t.Fatalf("the waiter got the dirty connection or no new one (dials %d)", d.dials.Load())
	}
	if s := checkAccounting(t, p); s.Closed.Unusable != 1 || s.Open != 1 || s.InUse != 1 || s.Misses != 2 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestPoolPutForeignNilAndTwice(t *testing.T) {
	sharedServer(t)
	checkGoroutines(t)
	p := newServerPool(t, &Options{PoolSize: 2})
	other := newServerPool(t, &Options{PoolSize: 2})

	p.Put(nil)
	standalone, err := Dial(context.Background(), &Options{Addr: p.opt.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer standalone.Close()
	p.Put(standalone)
	oc := mustGet(t, other)
	p.Put(oc)
	if err := standalone.Err(); err != nil {
		t.Fatalf("Put closed a connection of Dial: %v", err)
	}
	if _, err := oc.Do(context.Background(), "PING"); err != nil {
		t.Fatalf("Put spoiled another pool's connection: %v", err)
	}
	other.Put(oc)

	cn := mustGet(t, p)
	p.Put(cn)
	p.Put(cn)
	s := checkAccounting(t, p)
	if s.ForeignPuts != 2 || s.DoublePuts != 1 || s.Open != 1 || s.Idle != 1 {
		t.Fatalf("stats: %+v", s)
	}
	if os := checkAccounting(t, other); os.Open != 1 || os.Idle != 1 {
		t.Fatalf("other pool: %+v", os)
	}
	// The connection is still there, once.
	a, b := mustGet(t, p), mustGet(t, p)
	if a != cn || b == cn {
		t.Fatalf("a connection put twice was queued twice")
	}
	p.Put(a)
	p.Put(b)
}

// Connections left dirty are closed, never handed to the next caller.
func TestPoolDirtyConnsNotReused(t *testing.T) {
	sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		dirty func(t *testing.T, cn *Conn)
	}{
		{"MULTI", func(t *testing.T, cn *Conn) { do(t, cn, "MULTI") }},
		{"WATCH", func(t *testing.T, cn *Conn) { do(t, cn, "WATCH", testKey(t, "w")) }},
		{"SUBSCRIBE", func(t *testing.T, cn *Conn) { do(t, cn, "SUBSCRIBE", testKey(t, "ch")) }},
		{"SELECT", func(t *testing.T, cn *Conn) { do(t, cn, "SELECT", "1") }},
		{"CLIENT SETNAME", func(t *testing.T, cn *Conn) { do(t, cn, "CLIENT", "SETNAME", "dirty") }},
		{"unread reply", func(t *testing.T, cn *Conn) {
			if err := cn.Send(ctx, "PING"); err != nil {
				t.Fatal(err)
			}
		}},
		{"cancelled read", func(t *testing.T, cn *Conn) {
			cctx, cancel := context.WithTimeout(ctx, time.Millisecond)
			defer cancel()
			if _, err := cn.Do(cctx, "BLPOP", testKey(t, "none"), "0"); err == nil {
				t.Fatal("BLPOP on an empty list returned")
			}
		}},
		{"closed", func(t *testing.T, cn *Conn) { _ = cn.Close() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newServerPool(t, &Options{PoolSize: 1})
			cn := mustGet(t, p)
			id := clientID(t, cn)
			tc.dirty(t, cn)
			p.Put(cn)
			s := checkAccounting(t, p)
			if s.Closed.Unusable != 1 || s.Open != 0 {
				t.Fatalf("after Put of a dirty connection: %+v", s)
			}
			next := mustGet(t, p)
			defer p.Put(next)
			if next == cn || clientID(t, next) == id {
				t.Fatalf("the dirty connection (client %d) was handed out again", id)
			}
		})
	}
}

func do(t *testing.T, cn *Conn, args ...any) {
	t.Helper()
	if _, err := cn.Do(context.Background(), args...); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// Idle connections to a server that was killed and restarted are found
// dead when taken and replaced without an error.
func TestPoolServerRestartHealthCheck(t *testing.T) {
	srv := respooltest.StartServer(t)
	checkGoroutines(t, ignoreServerProcess)
	p := newServerPool(t, &Options{Addr: srv.Addr, PoolSize: 3})
	ctx := context.Background()
	var conns []*Conn
	for range 3 {
		conns = append(conns, mustGet(t, p))
	}
	for _, cn := range conns {
		do(t, cn, "PING")
		p.Put(cn)
	}
	srv.Kill(t)
	srv.Restart(t)
	conns = conns[:0]
	for range 3 {
		cn, err := p.Get(ctx)
		if err != nil {
			t.Fatalf("Get after the restart: %v", err)
		}
		if _, err := cn.Do(ctx, "PING"); err != nil {
			t.Fatalf("PING after the restart: %v", err)
		}
		conns = append(conns, cn)
	}
	for _, cn := range conns {
		p.Put(cn)
	}
	s := checkAccounting(t, p)
	if s.Closed.HealthCheck != 3 || s.Dials != 6 || s.DialErrors != 0 || s.Open != 3 {
		t.Fatalf("stats: %+v", s)
	}
}

// A connection that Put hands straight to a waiting Get was never idle: it
// is not peeked at, whatever HealthCheckInterval says. The connection here
// was killed while in use (and the peek would see it), so the waiter gets
// it as it is; its failure is then the command's, and the connection is
// not reused.
func TestPoolHandOffIsNotPeeked(t *testing.T) {
	sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	admin := newServerPool(t, &Options{PoolSize: 1})
	p := newServerPool(t, &Options{PoolSize: 1})

	cn := mustGet(t, p)
	killer := mustGet(t, admin)
	do(t, killer, "CLIENT", "KILL", "ID", fmt.Sprint(clientID(t, cn)))
	admin.Put(killer)
	eventually(t, "the peek sees the killed connection", func() bool { return !cn.alive() })

	got := make(chan *Conn, 1)
	go func() {
		c, err := p.Get(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	eventually(t, "a Get waits", func() bool { return p.Stats().Waits == 1 })
	p.Put(cn)
	handed := <-got
	if handed != cn {
		t.Fatalf("the waiter got another connection than the one given back")
	}
	if s := p.Stats(); s.Closed.HealthCheck != 0 {
		t.Fatalf("a handed-over connection was checked: %+v", s)
	}
	if _, err := handed.Do(ctx, "PING"); err == nil {
		t.Fatal("PING on a killed connection worked")
	}
	p.Put(handed)
	fresh := mustGet(t, p)
	if fresh == cn {
		t.Fatal("a connection that failed was reused")
	}
	do(t, fresh, "PING")
	p.Put(fresh)
	checkAccounting(t, p)
}

// The health check runs only on connections idle for HealthCheckInterval
// or longer; negative turns it off.
func TestPoolHealthCheckInterval(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	admin := newServerPool(t, &Options{PoolSize: 1})
	kill := func(id int64) {
		t.Helper()
		cn := mustGet(t, admin)
		defer admin.Put(cn)
		do(t, cn, "CLIENT", "KILL", "ID", fmt.Sprint(id))
	}
	clock := newFakeClock()
	opt := &Options{Addr: srv.Addr, PoolSize: 1, HealthCheckInterval: time.Minute, now: clock.Now}
	p := newServerPool(t, opt)

	cn := mustGet(t, p)
	kill(clientID(t, cn))
	p.Put(cn)
	clock.Advance(30 * time.Second) // idle less than the interval: not checked
	if got := mustGet(t, p); got != cn {
		t.Fatalf("a connection idle shorter than HealthCheckInterval was checked")
	} else if _, err := got.Do(ctx, "PING"); err == nil {
		t.Fatalf("PING on a killed connection worked")
	} else {
		p.Put(got) // broken: closed
	}

	cn = mustGet(t, p)
	kill(clientID(t, cn))
	p.Put(cn)
	clock.Advance(time.Minute)
	got := mustGet(t, p)
	if got == cn {
		t.Fatalf("a dead connection idle for HealthCheckInterval was handed out")
	}
	do(t, got, "PING")
	p.Put(got)
	if s := checkAccounting(t, p); s.Closed.HealthCheck != 1 || s.Closed.Unusable != 1 {
		t.Fatalf("stats: %+v", s)
	}

	off := newServerPool(t, &Options{Addr: srv.Addr, PoolSize: 1, HealthCheckInterval: -1})
	cn = mustGet(t, off)
	kill(clientID(t, cn))
	off.Put(cn)
	if got := mustGet(t, off); got != cn {
		t.Fatalf("HealthCheckInterval < 0 still checked")
	} else {
		off.Put(got)
	}
}

// By default a connection given back moments ago (less than
// DefaultHealthCheckInterval) is not peeked at, which saves a loop of
// commands one system call each; one free longer is. Bytes left in its
// buffer past the last reply are caught either way.
func TestPoolHealthCheckDefault(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	admin := newServerPool(t, &Options{PoolSize: 1})
	clock := newFakeClock()
	p := newServerPool(t, &Options{Addr: srv.Addr, PoolSize: 1, now: clock.Now})
	if got := p.Options().HealthCheckInterval; got != DefaultHealthCheckInterval {
		t.Fatalf("HealthCheckInterval defaults to %v", got)
	}
	killed := func() *Conn {
		t.Helper()
		cn := mustGet(t, p)
		id := clientID(t, cn)
		p.Put(cn)
		k := mustGet(t, admin)
		do(t, k, "CLIENT", "KILL", "ID", fmt.Sprint(id))
		admin.Put(k)
		eventually(t, "the peek sees the killed connection", func() bool { return !cn.alive() })
		return cn
	}

	cn := killed()
	clock.Advance(DefaultHealthCheckInterval - 1)
	if got := mustGet(t, p); got != cn {
		t.Fatalf("a connection given back moments ago was checked")
	} else if _, err := got.Do(ctx, "PING"); err == nil {
		t.Fatalf("PING on a killed connection worked")
	} else {
		p.Put(got) // broken: closed
	}

	cn = killed()
	clock.Advance(DefaultHealthCheckInterval)
	if got := mustGet(t, p); got == cn {
		t.Fatalf("a dead connection free for DefaultHealthCheckInterval was handed out")
	} else {
		do(t, got, "PING")
		p.Put(got)
	}
	if s := checkAccounting(t, p); s.Closed.HealthCheck != 1 || s.Closed.Unusable != 1 {
		t.Fatalf("stats: %+v", s)
	}

	// A stray reply read along with the last one is caught without a peek.
	for _, hc := range []time.Duration{0, -1} {
		pp, _, _ := newPipePool(t, &Options{PoolSize: 1, HealthCheckInterval: hc, now: clock.Now})
		cn := mustGet(t, pp)
		if v, err := cn.Do(ctx, "STRAY"); err != nil || v.Text() != "OK" {
			t.Fatalf("STRAY: %v, %v", v, err)
		}
		pp.Put(cn)
		got := mustGet(t, pp)
		pp.Put(got)
		if caught := got != cn; caught != (hc == 0) {
			t.Fatalf("HealthCheckInterval %v: stray bytes caught %v", hc, caught)
		}
	}
}

func TestPoolCloseWakesWaiters(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 1, PoolTimeout: -1})
	cn := mustGet(t, p)
	errc := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := p.Get(context.Background())
			errc <- err
		}()
		eventually(t, "waiting", func() bool { return p.Stats().Waits == uint64(i+1) })
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("waiting Get after Close: %v", err)
		}
	}
	p.Put(cn)
	if err := cn.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("a connection given back after Close is open: %v", err)
	}
}

// Close closes idle connections at once and the others when they come
// back; nothing is left open, no file descriptor and no goroutine.
func TestPoolCloseReleasesEverything(t *testing.T) {
	sharedServer(t)
	checkGoroutines(t)
	before := openFDs(t)
	p := NewPool(&Options{Addr: sharedServer(t).Addr, PoolSize: 4, MinIdleConns: 1})
	var conns []*Conn
	for range 4 {
		conns = append(conns, mustGet(t, p))
	}
	p.Put(conns[0])
	p.Put(conns[1])
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	s := checkAccounting(t, p)
	if s.Idle != 0 || s.InUse != 2 || s.Closed.PoolClosed != 2 {
		t.Fatalf("after Close: %+v", s)
	}
	if _, err := conns[2].Do(context.Background(), "PING"); err != nil {
		t.Fatalf("a connection in use stopped working at Close: %v", err)
	}
	p.Put(conns[2])
	p.Put(conns[3])
	if s := checkAccounting(t, p); s.Open != 0 || s.Closed.PoolClosed != 4 {
		t.Fatalf("after the last Put: %+v", s)
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d file descriptors open before, %d after", before, after)
	}
}

// Taking an idle connection and giving it back allocates nothing. With
// the health check on (the default), Get also calls Conn.alive: the pool
// must add no allocation of its own to what that costs.
func TestPoolGetDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	getPut := func(p *Pool) float64 {
		p.Put(mustGet(t, p))
		return testing.AllocsPerRun(200, func() {
			cn, err := p.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.Put(cn)
		})
	}
	for _, opt := range []*Options{
		{HealthCheckInterval: -1},
		{HealthCheckInterval: -1, MinIdleConns: 1, ConnMaxLifetime: time.Hour},
	} {
		if allocs := getPut(newServerPool(t, opt)); allocs != 0 {
			t.Errorf("Get+Put of an idle connection (%+v): %v allocations", opt, allocs)
		}
	}

	p := newServerPool(t, nil)
	cn := mustGet(t, p)
	aliveAllocs := testing.AllocsPerRun(200, func() { cn.alive() })
	p.Put(cn)
	if allocs := getPut(p); allocs != aliveAllocs {
		t.Errorf("Get+Put with the health check: %v allocations, Conn.alive alone %v", allocs, aliveAllocs)
	} else if aliveAllocs != 0 {
		t.Logf("Conn.alive allocates %v times per call (conn.go)", aliveAllocs)
	}
}
