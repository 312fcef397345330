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

// loadGroup runs the same operation in several goroutines until stopped,
// and lets the test wait, without sleeping, until every goroutine has
// seen a number of failures or a success.
type loadGroup struct {
	stop     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	failures []int // per goroutine, since the last reset
	ok       []bool
	changed  chan struct{} // closed and replaced on every change
	errs     []error       // unexpected errors
}

// startLoad starts n goroutines running op(i) until stop; check
// classifies op's error: nil when it is an acceptable failure.
func startLoad(n int, op func(w int) error, check func(error) error) *loadGroup {
	g := &loadGroup{
		stop:     make(chan struct{}),
		failures: make([]int, n),
		ok:       make([]bool, n),
		changed:  make(chan struct{}),
	}
	for w := range n {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for {
				select {
				case <-g.stop:
					return
				default:
				}
				err := op(w)
				g.mu.Lock()
				if err == nil {
					g.ok[w] = true
				} else {
					g.failures[w]++
					if bad := check(err); bad != nil {
						g.errs = append(g.errs, fmt.Errorf("goroutine %d: %w", w, bad))
					}
				}
				close(g.changed)
				g.changed = make(chan struct{})
				g.mu.Unlock()
			}
		}()
	}
	return g
}

// reset forgets the failures and successes seen so far.
func (g *loadGroup) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.failures)
	clear(g.ok)
}

// waitAll waits until cond holds for every goroutine.
func (g *loadGroup) waitAll(t *testing.T, ctx context.Context, what string, cond func(failures int, ok bool) bool) {
	t.Helper()
	for {
		g.mu.Lock()
		all := true
		for w := range g.failures {
			all = all && cond(g.failures[w], g.ok[w])
		}
		changed := g.changed
		g.mu.Unlock()
		if all {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// finish stops the goroutines and returns the unexpected errors.
// It may be called again (deferred as a safety net): later calls return
// nothing.
func (g *loadGroup) finish() []error {
	var errs []error
	g.once.Do(func() {
		close(g.stop)
		g.wg.Wait()
		errs = g.errs
	})
	return errs
}

// Issue 8, item 6: the server is stopped (SIGSTOP) under load. Calls fail
// at their deadlines (deadline errors, never a wrong reply), the client
// does not storm the server with dials, the replies that come late after
// SIGCONT reach nobody, and every goroutine succeeds again. No storm: on
// the shared path the client never has more sockets open than
// MultiplexConns (a shared connection is replaced only once its socket is
// closed); on pooled connections, the proxy never sees more open at once
// than PoolSize, the shared ones and a slack for the closes it has yet to
// notice.
func TestReliabilityHungServer(t *testing.T) {
	faultTest(t)
	srv := respooltest.StartServer(t)
	keys, hashes := populate(t, srv.Addr, "hung", 16)
	const (
		workers  = 8
		poolSize = 4
		deadline = 100 * time.Millisecond
	)
	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			p := respooltest.StartFaultProxy(t, srv.Addr)
			var sockets socketCount
			c := newReliabilityClient(t, m, p.Addr(), Options{
				Dialer:   sockets.dial,
				PoolSize: poolSize, DialTimeout: 200 * time.Millisecond,
				ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
			})
			initial := c.Pool().Stats()
			g := startLoad(workers, func(w int) error {
				k := keys[w%len(keys)]
				cctx, cancel := context.WithTimeout(ctx, deadline)
				defer cancel()
				v, err := c.Get(cctx, k).Result()
				if err == nil && v != valueFor(k) {
					return fmt.Errorf("%w: GET %s = %q", errWrongReply, k, v)
				}
				return err
			}, func(err error) error {
				if errors.Is(err, errWrongReply) || !isTimeout(err) || OutcomeOf(err) == OutcomeRejected {
					return fmt.Errorf("not a deadline failure: %w (outcome %v)", err, OutcomeOf(err))
				}
				return nil
			})
			defer g.finish()
			g.waitAll(t, ctx, "load running", func(_ int, ok bool) bool { return ok })

			srv.Pause(t)
			g.reset()
			g.waitAll(t, ctx, "two failures per goroutine while paused", func(f int, _ bool) bool { return f >= 2 })
			srv.Resume(t)
			g.reset()
			g.waitAll(t, ctx, "every goroutine succeeds after SIGCONT", func(_ int, ok bool) bool { return ok })
			for _, err := range g.finish() {
				t.Error(err)
			}

			bound := poolSize + c.opt.MultiplexConns + 4
			t.Logf("peak connections open at once: %d at the proxy (bound %d), %d at the client", p.PeakOpen(), bound, sockets.peakOpen())
			if p.PeakOpen() > bound {
				t.Fatalf("%d connections open at once against a hung server, bound %d: a dial storm", p.PeakOpen(), bound)
			}
			if m.shared() && sockets.peakOpen() > c.opt.MultiplexConns {
				t.Fatalf("%d sockets open at once on the shared path, MultiplexConns %d: a dial storm", sockets.peakOpen(), c.opt.MultiplexConns)
			}
			// Late replies went to nobody: every call now gets its own.
			verifyCalls(t, c, keys, hashes, 200)
			for _, k := range keys {
				if v, err := c.Get(ctx, k).Result(); err != nil || v != valueFor(k) {
					t.Fatalf("after recovery GET %s = %q, %v", k, v, err)
				}
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
		})
	}
}

// errWrongReply marks a reply that belongs to another command.
var errWrongReply = errors.New("another command's reply")

// Issue 8, item 7: connections blackholed (bytes swallowed both ways, the
// sockets open) while idle and while busy. Every call fails with a
// timeout within the bound the options give (a generous multiple of the
// timeouts, retries included), no goroutine stays stuck (the test's leak
// check), and the client recovers when the path comes back.
func TestReliabilityBlackhole(t *testing.T) {
	srv := faultTest(t)
	keys, _ := populate(t, srv.Addr, testKey(t, "data"), 8)
	opt := Options{
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		MaxRetries: 1, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond,
	}
	// Two attempts, each at most a dial plus a write plus a read (a shared
	// connection reads for ReadTimeout+WriteTimeout), times five.
	bound := 5 * 2 * (opt.DialTimeout + 2*opt.ReadTimeout + opt.WriteTimeout)

	blackhole := func(p *respooltest.FaultProxy, on bool) {
		p.Blackhole(respooltest.ClientToServer, on)
		p.Blackhole(respooltest.ServerToClient, on)
	}
	checkFailure := func(err error, took time.Duration) error {
		if !isTimeout(err) {
			return fmt.Errorf("not a timeout: %w (outcome %v)", err, OutcomeOf(err))
		}
		if o := OutcomeOf(err); o != OutcomeUnknown && o != OutcomeNotSent {
			return fmt.Errorf("outcome %v: %w", o, err)
		}
		if took > bound {
			return fmt.Errorf("failed after %v, bound %v: %w", took, bound, err)
		}
		return nil
	}
	get := func(ctx context.Context, c *Client, k string) error {
		v, err := c.Get(ctx, k).Result()
		if err == nil && v != valueFor(k) {
			return fmt.Errorf("%w: GET %s = %q", errWrongReply, k, v)
		}
		return err
	}
	pipelined := func(ctx context.Context, c *Client, k string) error {
		pl := c.Pipeline()
		g := pl.Get(ctx, k)
		err := pl.Exec(ctx)
		if err == nil && g.Val() != valueFor(k) {
			return fmt.Errorf("%w: pipelined GET %s = %q", errWrongReply, k, g.Val())
		}
		return err
	}

	for _, m := range reliabilityModes {
		t.Run(m.name+"/Idle", func(t *testing.T) {
			ctx := guardContext(t)
			p := respooltest.StartFaultProxy(t, srv.Addr)
			c := newReliabilityClient(t, m, p.Addr(), opt)
			initial := c.Pool().Stats()
			warmMux(t, c)
			if err := get(ctx, c, keys[0]); err != nil {
				t.Fatal(err)
			}
			blackhole(p, true)
			for i, call := range []func(context.Context, *Client, string) error{get, pipelined} {
				start := time.Now()
				err := call(context.Background(), c, keys[1])
				if err == nil {
					t.Fatalf("call %d through a blackhole succeeded", i)
				}
				if bad := checkFailure(err, time.Since(start)); bad != nil {
					t.Fatalf("call %d: %v", i, bad)
				}
			}
			blackhole(p, false)
			for _, call := range []func(context.Context, *Client, string) error{get, pipelined} {
				if err := call(ctx, c, keys[2]); err != nil {
					t.Fatalf("after the blackhole: %v", err)
				}
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
		})

		t.Run(m.name+"/Busy", func(t *testing.T) {
			ctx := guardContext(t)
			p := respooltest.StartFaultProxy(t, srv.Addr)
			c := newReliabilityClient(t, m, p.Addr(), opt)
			initial := c.Pool().Stats()
			g := startLoad(4, func(w int) error {
				start := time.Now()
				call := get
				if w%2 == 1 {
					call = pipelined
				}
				err := call(context.Background(), c, keys[w])
				if err != nil {
					if bad := checkFailure(err, time.Since(start)); bad != nil {
						return fmt.Errorf("%w: %w", errWrongReply, bad)
					}
				}
				return err
			}, func(err error) error {
				if errors.Is(err, errWrongReply) || !isTimeout(err) {
					return err
				}
				return nil
			})
			defer g.finish()
			g.waitAll(t, ctx, "load running", func(_ int, ok bool) bool { return ok })
			blackhole(p, true)
			g.reset()
			g.waitAll(t, ctx, "a failure per goroutine in the blackhole", func(f int, _ bool) bool { return f >= 1 })
			blackhole(p, false)
			g.reset()
			g.waitAll(t, ctx, "every goroutine succeeds again", func(_ int, ok bool) bool { return ok })
			for _, err := range g.finish() {
				t.Error(err)
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
		})
	}
}

// Issue 8, item 8 (second half): CLIENT KILL TYPE normal, three times,
// while goroutines INCR a counter. The only failures are of unknown
// outcome (or not sent), and the counter proves it: it is at least the
// number of acknowledged INCRs and at most that plus the unknown ones.
func TestReliabilityClientKill(t *testing.T) {
	faultTest(t)
	srv := respooltest.StartServer(t)
	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			counter := "killed:" + m.name
			admin, err := Dial(ctx, &Options{Addr: srv.Addr})
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			c := newReliabilityClient(t, m, srv.Addr, Options{})
			initial := c.Pool().Stats()
			var acked, unknown, notSent atomic.Int64
			g := startLoad(8, func(int) error {
				err := c.Incr(ctx, counter).Err()
				switch OutcomeOf(err) {
				case OutcomeNone:
					acked.Add(1)
				case OutcomeUnknown:
					unknown.Add(1)
				case OutcomeNotSent:
					notSent.Add(1)
				}
				return err
			}, func(err error) error {
				if o := OutcomeOf(err); o != OutcomeUnknown && o != OutcomeNotSent {
					return fmt.Errorf("INCR failed with outcome %v: %w", o, err)
				}
				return nil
			})
			defer g.finish()
			for range 3 {
				g.reset()
				g.waitAll(t, ctx, "every goroutine makes progress", func(_ int, ok bool) bool { return ok })
				if _, err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"); err != nil {
					t.Fatal(err)
				}
			}
			g.reset()
			g.waitAll(t, ctx, "every goroutine recovers", func(_ int, ok bool) bool { return ok })
			for _, err := range g.finish() {
				t.Error(err)
			}
			v, err := admin.Do(ctx, "GET", counter)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := v.Int()
			t.Logf("counter %d: %d acknowledged, %d unknown, %d not sent", n, acked.Load(), unknown.Load(), notSent.Load())
			if n < acked.Load() || n > acked.Load()+unknown.Load() {
				t.Fatalf("counter %d with %d acknowledged and %d unknown INCRs: one was lost or ran twice", n, acked.Load(), unknown.Load())
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
		})
	}
}
