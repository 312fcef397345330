package respool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// The tests of draining (conn_drain.go, pool_drain.go): a pooled
// connection whose caller stopped waiting between two replies goes back
// to the pool once the late replies arrived, and is closed whenever that
// cannot be proved safe.

// drainClient returns an exclusive Client on addr whose reads time out
// after 50ms (up to 75ms: a timeout may fire up to half of it late), well
// before the 150ms DEBUG SLEEPs of these tests end, whose drains may last
// long (DrainTimeout 10s, far more than any stall these tests make), and
// which never retries; closed by the test's cleanup.
func drainClient(t *testing.T, addr string, opt Options) *Client {
	t.Helper()
	opt.Addr = addr
	opt.Exclusive = true
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 50 * time.Millisecond
	}
	if opt.DrainTimeout == 0 {
		opt.DrainTimeout = 10 * time.Second
	}
	opt.MaxRetries = -1
	c := NewClient(&opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wantReadTimeout fails the test unless err is a read timeout of unknown
// outcome.
func wantReadTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ce *ConnError
	if !errors.As(err, &ce) || !isTimeout(err) || ce.Outcome != OutcomeUnknown || ce.Op != "read" {
		t.Fatalf("%s: %v, want a read timeout of unknown outcome", what, err)
	}
}

// A command that times out while the server sleeps (DEBUG SLEEP past
// ReadTimeout) costs no new connection: its connection is drained when
// the late reply comes and serves the next command. With PoolSize 1 the
// next command waits for the drain (it holds the only slot) and gets the
// drained connection; after n timeouts the pool has dialled once.
func TestDrainTimedOutCommandKeepsConnection(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	c := drainClient(t, srv.Addr, Options{PoolSize: 1, PoolTimeout: time.Minute})
	ctx := context.Background()
	key := testKey(t, "k")
	const n = 5
	for i := range n {
		_, err := c.Do(ctx, "DEBUG", "SLEEP", "0.15")
		wantReadTimeout(t, "DEBUG SLEEP", err)
		if st := c.Pool().Stats(); st.Drains != uint64(i+1) {
			t.Fatalf("timeout %d: %d drains started, want %d (stats %+v)", i, st.Drains, i+1, st)
		}
		val := valueFor(key + string(rune('a'+i)))
		if err := c.Set(ctx, key, val, 0).Err(); err != nil {
			t.Fatalf("SET after timeout %d: %v", i, err)
		}
		if got, err := c.Get(ctx, key).Result(); err != nil || got != val {
			t.Fatalf("GET after timeout %d = %q, %v; want %q", i, got, err, val)
		}
	}
	c.Pool().waitDrains()
	st := checkAccounting(t, c.Pool())
	if st.Dials != 1 || st.Drains != n || st.Drained != n || st.DrainFailures != 0 || st.Closed.Total() != 0 {
		t.Fatalf("after %d timeouts: %d dials, %d drains, %d drained, %d failed, %d closed; want 1 dial and every drain back (stats %+v)",
			n, st.Dials, st.Drains, st.Drained, st.DrainFailures, st.Closed.Total(), st)
	}
	if st.Waits == 0 {
		t.Fatalf("no Get waited for the draining connection: the test did not cover the hand-off (stats %+v)", st)
	}
}

// A pipeline that times out in the middle owes the rest of its replies:
// the drain reads exactly those, and the next commands get their own
// replies on the same connection. The proxy passes SET's reply and holds
// the others back until the call has timed out.
func TestDrainPipelineTimedOutMidBatch(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	p := respooltest.StartFaultProxy(t, srv.Addr)
	c := drainClient(t, p.Addr(), Options{PoolSize: 1})
	ctx := context.Background()
	key := testKey(t, "k")
	p.StallReply("GET", 0)
	pl := c.Pipeline()
	set := pl.Set(ctx, key, "before", 0)
	get := pl.Get(ctx, key)
	echo := pl.Echo(ctx, "late")
	incr := pl.Incr(ctx, key+":n")
	err := pl.Exec(ctx)
	wantReadTimeout(t, "pipeline", err)
	if set.Err() != nil || get.Err() == nil || echo.Err() == nil || incr.Err() == nil {
		t.Fatalf("SET %v, GET %v, ECHO %v, INCR %v: want the first reply and the rest failed", set.Err(), get.Err(), echo.Err(), incr.Err())
	}
	if st := c.Pool().Stats(); st.Draining != 1 {
		t.Fatalf("want the connection draining: stats %+v", st)
	}
	p.Resume()
	for _, want := range []string{"x", "y", "z"} {
		if got, err := c.Echo(ctx, want).Result(); err != nil || got != want {
			t.Fatalf("ECHO %s after the pipeline = %q, %v", want, got, err)
		}
	}
	// The INCR ran once, although its caller never saw the reply.
	if n, err := c.Get(ctx, key+":n").Result(); err != nil || n != "1" {
		t.Fatalf("GET of the counter = %q, %v; want 1", n, err)
	}
	c.Pool().waitDrains()
	if st := c.Pool().Stats(); st.Dials != 1 || st.Drained != 1 || st.Closed.Total() != 0 || p.Accepted() != 1 {
		t.Fatalf("want one connection, drained and kept: %d accepted, stats %+v", p.Accepted(), st)
	}
}

// A connection whose server never answers is closed when DrainTimeout
// ends. With PoolSize 1 the next command waits for the draining
// connection's slot, gets it when the drain fails, and dials a new
// connection with it.
func TestDrainServerNeverAnswers(t *testing.T) {
	leakCheck(t) // first: the stalled handlers end when the server closes
	fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		if strings.EqualFold(cmd[0], "GET") && cmd[1] == "hang" {
			c.Stall()
			return
		}
		c.Write("+OK\r\n")
	}))
	c := drainClient(t, fake.Addr(), Options{DrainTimeout: 100 * time.Millisecond, PoolSize: 1, PoolTimeout: time.Minute})
	ctx := context.Background()
	_, err := c.Do(ctx, "GET", "hang")
	wantReadTimeout(t, "GET hang", err)
	if _, err := c.Do(ctx, "SET", "k", "v"); err != nil {
		t.Fatalf("SET after the timeout: %v", err)
	}
	c.Pool().waitDrains()
	st := checkAccounting(t, c.Pool())
	if st.Drains != 1 || st.Drained != 0 || st.DrainFailures != 1 || st.Closed.Unusable != 1 || st.Open != 1 || st.Waits != 1 {
		t.Fatalf("want the drain failed, its connection closed, and the SET waiting for its slot: stats %+v", st)
	}
	if got := fake.Accepted(); got != 2 {
		t.Fatalf("%d connections accepted, want 2 (the stalled one replaced)", got)
	}
}

// A second Put of a connection being drained is a double Put: ignored and
// counted, the pool's books intact. A drain that ends after the pool was
// retired (a FailoverClient moved) closes its connection as Retired.
func TestDrainDoublePutAndRetire(t *testing.T) {
	leakCheck(t) // first: the stalled handler ends when the server closes
	release := make(chan struct{})
	fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		select {
		case <-release:
		case <-c.Done():
			return
		}
		c.Write("+late\r\n")
	}))
	c := drainClient(t, fake.Addr(), Options{})
	p := c.Pool()
	cn, err := c.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cn.Do(context.Background(), "GET", "late")
	wantReadTimeout(t, "GET late", err)
	p.Put(cn)
	p.Put(cn)
	if st := checkAccounting(t, p); st.DoublePuts != 1 || st.Draining != 1 || st.InUse != 1 {
		t.Fatalf("want the second Put ignored and the connection still draining: stats %+v", st)
	}
	p.retire()
	close(release)
	p.waitDrains()
	st := checkAccounting(t, p)
	if st.Drained != 1 || st.Closed.Retired != 1 || st.Open != 0 {
		t.Fatalf("want the drained connection closed as retired: stats %+v", st)
	}
}

// Closing the pool during a drain ends the drain at once: Close returns,
// the connection is closed (PoolClosed), and no goroutine is left
// (leakCheck).
func TestDrainStoppedByPoolClose(t *testing.T) {
	leakCheck(t) // first: the stalled handler ends when the server closes
	fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		c.Stall()
	}))
	c := drainClient(t, fake.Addr(), Options{DrainTimeout: time.Hour})
	_, err := c.Do(context.Background(), "GET", "hang")
	wantReadTimeout(t, "GET hang", err)
	if st := c.Pool().Stats(); st.Draining != 1 || st.InUse != 1 {
		t.Fatalf("want one connection draining, counted in use: stats %+v", st)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Pool().Stats()
	if st.Draining != 0 || st.DrainFailures != 1 || st.Closed.PoolClosed != 1 || st.Open != 0 {
		t.Fatalf("after Close: want the drain ended and its connection closed: stats %+v", st)
	}
}

// A connection that timed out in a state the drain cannot prove clean is
// closed at once, never drained: a blocking command (whose reply may
// come much later), an open MULTI, a WATCH, a SELECT, CLIENT REPLY OFF
// (after which the server owes nothing, so a count of owed replies would
// be wrong), and a timeout in the middle of a reply (which loses the
// stream position).
func TestDrainRefusedWhenUnsafe(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	key := testKey(t, "k")
	big := strings.Repeat("x", 256<<10)
	setup := NewClient(&Options{Addr: srv.Addr})
	err := setup.Set(context.Background(), key+":big", big, 0).Err()
	_ = setup.Close()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, cn *Conn, p *respooltest.FaultProxy) error
	}{
		{"Blocking", func(t *testing.T, ctx context.Context, cn *Conn, _ *respooltest.FaultProxy) error {
			ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := cn.Do(ctx, "BLPOP", key+":empty", "10")
			return err
		}},
		{"Multi", func(t *testing.T, ctx context.Context, cn *Conn, p *respooltest.FaultProxy) error {
			if _, err := cn.Do(ctx, "MULTI"); err != nil {
				t.Fatal(err)
			}
			p.StallReply("GET", 0)
			_, err := cn.Do(ctx, "GET", key)
			return err
		}},
		{"Watch", func(t *testing.T, ctx context.Context, cn *Conn, _ *respooltest.FaultProxy) error {
			if _, err := cn.Do(ctx, "WATCH", key); err != nil {
				t.Fatal(err)
			}
			_, err := cn.Do(ctx, "DEBUG", "SLEEP", "0.15")
			return err
		}},
		{"Select", func(t *testing.T, ctx context.Context, cn *Conn, _ *respooltest.FaultProxy) error {
			if _, err := cn.Do(ctx, "SELECT", "1"); err != nil {
				t.Fatal(err)
			}
			_, err := cn.Do(ctx, "DEBUG", "SLEEP", "0.15")
			return err
		}},
		{"ClientReplyOff", func(t *testing.T, ctx context.Context, cn *Conn, _ *respooltest.FaultProxy) error {
			_, err := cn.Do(ctx, "CLIENT", "REPLY", "OFF")
			return err
		}},
		{"MidReply", func(t *testing.T, ctx context.Context, cn *Conn, p *respooltest.FaultProxy) error {
			p.StallReply("GET", 64<<10)
			_, err := cn.Do(ctx, "GET", key+":big")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := respooltest.StartFaultProxy(t, srv.Addr)
			c := drainClient(t, p.Addr(), Options{})
			ctx := guardContext(t)
			cn, err := c.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.run(t, ctx, cn, p)
			if !isTimeout(err) || OutcomeOf(err) != OutcomeUnknown {
				t.Fatalf("want a timeout of unknown outcome, got %v", err)
			}
			c.Pool().Put(cn)
			st := c.Pool().Stats()
			if st.Drains != 0 || st.Closed.Unusable != 1 || st.Open != 0 {
				t.Fatalf("want the connection closed, not drained: stats %+v", st)
			}
			p.Resume()
		})
	}
}

// The late reply of a drained connection may be followed by bytes no
// command asked for, be preceded by a RESP3 push, or break the reply
// limits. The drain passes over the push and reuses the connection; the
// extra bytes and the oversized reply close it.
func TestDrainHostileLateReplies(t *testing.T) {
	cases := []struct {
		name  string
		late  string // what the server sends once released
		reuse bool
	}{
		{"Push", ">2\r\n$4\r\nnote\r\n$1\r\nx\r\n$4\r\nlate\r\n", true},
		{"Extra", "$4\r\nlate\r\n+EXTRA\r\n", false},
		{"Oversized", "$100000\r\n" + strings.Repeat("z", 100000) + "\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			release := make(chan struct{})
			fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
				switch {
				case strings.EqualFold(cmd[0], "GET") && cmd[1] == "late":
					select {
					case <-release:
					case <-c.Done():
						return
					}
					c.Write(tc.late)
				case strings.EqualFold(cmd[0], "ECHO"):
					c.WriteValue(resp.BulkString(cmd[1]))
				default:
					c.Write("+OK\r\n")
				}
			}))
			c := drainClient(t, fake.Addr(), Options{ReplyLimits: resp.Limits{MaxBulkLen: 4096}})
			ctx := context.Background()
			_, err := c.Do(ctx, "GET", "late")
			wantReadTimeout(t, "GET late", err)
			close(release)
			c.Pool().waitDrains()
			st := c.Pool().Stats()
			if tc.reuse && (st.Drained != 1 || st.Closed.Total() != 0) {
				t.Fatalf("want the connection drained and kept: stats %+v", st)
			}
			if !tc.reuse && (st.DrainFailures != 1 || st.Closed.Unusable != 1) {
				t.Fatalf("want the drain failed and the connection closed: stats %+v", st)
			}
			if got, err := c.Echo(ctx, "mine").Result(); err != nil || got != "mine" {
				t.Fatalf("ECHO after the drain = %q, %v", got, err)
			}
			want := 1
			if !tc.reuse {
				want = 2
			}
			if got := fake.Accepted(); got != want {
				t.Fatalf("%d connections accepted, want %d", got, want)
			}
		})
	}
}

// With DrainTimeout negative a timed-out connection is closed as before.
func TestDrainOff(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	c := drainClient(t, srv.Addr, Options{DrainTimeout: -1})
	_, err := c.Do(context.Background(), "DEBUG", "SLEEP", "0.15")
	wantReadTimeout(t, "DEBUG SLEEP", err)
	if st := c.Pool().Stats(); st.Drains != 0 || st.Closed.Unusable != 1 {
		t.Fatalf("want the connection closed, not drained: stats %+v", st)
	}
}

// Many goroutines run ECHOs of unique tokens, SET/GET pairs of unique
// values and pipelines of both, each with a random deadline, while
// another client stalls the server again and again with short DEBUG
// SLEEPs: many calls time out with their replies owed, and their
// connections are drained and reused. Every reply a call gets is its
// own; drains happened and all of them succeeded, and the pool dialled
// no more connections than PoolSize plus those it had to close (a
// timeout in the middle of a reply). In both modes: Exclusive, and a
// multiplexing Client left to its own choice (lone calls borrow pooled
// connections).
func TestDrainRandomDeadlines(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	workers, ops := soakSize(12, 32), soakSize(300, 5000)
	for _, m := range choosingModes {
		t.Run(m.name, func(t *testing.T) {
			const poolSize = 8
			c := newReliabilityClient(t, m, srv.Addr, Options{
				PoolSize: poolSize, PoolTimeout: time.Minute, MaxRetries: -1,
				ReadTimeout: 20 * time.Millisecond, DrainTimeout: 10 * time.Second,
			})
			stall := NewClient(&Options{Addr: srv.Addr, Exclusive: true})
			defer stall.Close()
			ctx := guardContext(t)
			stop := make(chan struct{})
			stalled := make(chan error, 1)
			go func() {
				for {
					select {
					case <-stop:
						stalled <- nil
						return
					default:
					}
					if _, err := stall.Do(ctx, "DEBUG", "SLEEP", "0.03"); err != nil {
						stalled <- err
						return
					}
				}
			}()
			var (
				wg       sync.WaitGroup
				timeouts atomic.Int64
				ok       atomic.Int64
			)
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 21))
					for i := range ops {
						tok := fmt.Sprintf("%s:w%d:%d", t.Name(), w, i)
						err := drainSoakOp(ctx, c, rng, tok)
						switch {
						case err == nil:
							ok.Add(1)
						case isTimeout(err) && OutcomeOf(err) == OutcomeUnknown:
							timeouts.Add(1)
						case isTimeout(err) && OutcomeOf(err) == OutcomeNotSent:
							// The deadline passed before the write (waiting
							// for a connection, dialling).
						default:
							errs <- fmt.Errorf("worker %d op %d: %w", w, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			if err := <-stalled; err != nil {
				t.Fatalf("stalling the server: %v", err)
			}
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			c.waitDrains()
			st := checkAccounting(t, c.Pool())
			t.Logf("%d calls answered, %d timed out; pool %+v", ok.Load(), timeouts.Load(), st)
			if ok.Load() == 0 || timeouts.Load() == 0 || st.Drains == 0 {
				t.Fatalf("the scenario did not happen: %d answered, %d timed out, %d drains", ok.Load(), timeouts.Load(), st.Drains)
			}
			if st.DrainFailures != 0 || st.Drained != st.Drains {
				t.Fatalf("%d of %d drains failed: every late reply came well within DrainTimeout", st.DrainFailures, st.Drains)
			}
			if st.Misses > poolSize+st.Closed.Total() {
				t.Fatalf("%d pooled connections dialled for %d timeouts, more than PoolSize %d plus the %d closed", st.Misses, timeouts.Load(), poolSize, st.Closed.Total())
			}
		})
	}
}

// drainSoakOp runs one call with a random deadline (or none) and checks
// that whatever reply it got is its own: tok is unique to the call.
func drainSoakOp(ctx context.Context, c *Client, rng *rand.Rand, tok string) error {
	deadlines := [...]time.Duration{time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond, 0}
	if d := deadlines[rng.IntN(len(deadlines))]; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	switch rng.IntN(3) {
	case 0:
		got, err := c.Echo(ctx, tok).Result()
		if err == nil && got != tok {
			return fmt.Errorf("ECHO %s = %q: another call's reply", tok, got)
		}
		return err
	case 1:
		key := "drain:" + tok
		if err := c.Set(ctx, key, tok, time.Minute).Err(); err != nil {
			return err
		}
		got, err := c.Get(ctx, key).Result()
		if err == nil && got != tok {
			return fmt.Errorf("GET %s = %q: another call's reply", key, got)
		}
		return err
	default:
		p := c.Pipeline()
		echoes := make([]*Cmd[string], 1+rng.IntN(5))
		for i := range echoes {
			echoes[i] = p.Echo(ctx, fmt.Sprintf("%s/%d", tok, i))
		}
		err := p.Exec(ctx)
		for i, e := range echoes {
			if got, eerr := e.Result(); eerr == nil && got != fmt.Sprintf("%s/%d", tok, i) {
				return fmt.Errorf("pipelined ECHO %s/%d = %q: another call's reply", tok, i, got)
			}
		}
		return err
	}
}
