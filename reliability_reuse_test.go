package respool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// A healthy connection is never redialled (issue 16). The liveness check
// at Get once went through the runtime's deadline-aware read path, so a
// connection whose socket still carried the deadline of its last command
// (ReadTimeout, a caller's context, the handshake's DialTimeout) was taken
// for dead once that deadline passed, and closed and redialled: nearly
// every call of a low-traffic service paid a dial. These tests let such
// deadlines pass while the connections sit idle, then count the dials.

// idleFor lets d pass with the connections idle. The wait is the scenario
// under test (a deadline passing on an idle socket), not a stand-in for
// synchronisation.
func idleFor(d time.Duration) { time.Sleep(d) }

// dialsSince returns the dials counted since before, and fails the test if
// the health check closed anything: every connection in these tests is
// healthy.
func dialsSince(t *testing.T, c *Client, before PoolStats) uint64 {
	t.Helper()
	now := c.Pool().Stats()
	if hc := now.Closed.HealthCheck - before.Closed.HealthCheck; hc != 0 {
		t.Errorf("the health check closed %d healthy connections (stats %+v)", hc, now)
	}
	return now.Dials - before.Dials
}

// checkLone fails the test unless the calls c made since before ran on
// the lone-command path of a multiplexing Client: calls borrowed pooled
// connections (calls hits), and no shared connection was dialled.
func checkLone(t *testing.T, c *Client, before PoolStats, calls uint64) {
	t.Helper()
	now := c.Pool().Stats()
	if now.SharedDials != before.SharedDials || now.Hits-before.Hits != calls {
		t.Fatalf("stats before %+v, after %+v: want %d pool hits and no shared dial (the lone-command path)", before, now, calls)
	}
}

// loneMode is the default, multiplexing Client left its own choice: a
// command alone in flight borrows a pooled connection (the lone-command
// path of issue 16's first report).
var loneMode = reliabilityMode{name: "MultiplexedLone", choosing: true}

func TestReliabilityHealthyConnReused(t *testing.T) {
	srv := faultTest(t)
	const short = 40 * time.Millisecond
	for _, m := range append(append([]reliabilityMode(nil), reliabilityModes...), loneMode) {
		t.Run(m.name, func(t *testing.T) {
			t.Run("IdlePastReadTimeout", func(t *testing.T) {
				ctx := guardContext(t)
				c := newReliabilityClient(t, m, srv.Addr, Options{ReadTimeout: short})
				key := testKey(t, "k")
				if err := c.Set(ctx, key, valueFor(key), 0).Err(); err != nil {
					t.Fatal(err)
				}
				if !m.choosing {
					warmMux(t, c) // every shared connection dialled: a later dial is a redial
				}
				before := c.Pool().Stats()
				for range 3 {
					idleFor(2 * short)
					if got, err := c.Get(ctx, key).Result(); err != nil || got != valueFor(key) {
						t.Fatalf("GET after idling: %q, %v", got, err)
					}
				}
				if d := dialsSince(t, c, before); d != 0 {
					t.Fatalf("%d dials for 3 GETs on a healthy connection idle past ReadTimeout", d)
				}
				if m.shared() {
					checkShared(t, c, before)
				}
				if m.choosing {
					checkLone(t, c, before, 3)
				}
			})

			t.Run("CallerDeadlinePassedWhileIdle", func(t *testing.T) {
				ctx := guardContext(t)
				c := newReliabilityClient(t, m, srv.Addr, Options{})
				key := testKey(t, "k")
				if err := c.Set(ctx, key, valueFor(key), 0).Err(); err != nil {
					t.Fatal(err)
				}
				if !m.choosing {
					warmMux(t, c) // every shared connection dialled: a later dial is a redial
				}
				before := c.Pool().Stats()
				for range 5 {
					cctx, cancel := context.WithTimeout(ctx, short)
					got, err := c.Get(cctx, key).Result()
					if err != nil || got != valueFor(key) {
						cancel()
						t.Fatalf("GET: %q, %v", got, err)
					}
					<-cctx.Done() // the caller's deadline passes with the connection idle
					cancel()
				}
				if d := dialsSince(t, c, before); d != 0 {
					t.Fatalf("%d dials for 5 calls whose deadlines passed while idle", d)
				}
				if m.shared() {
					checkShared(t, c, before)
				}
				if m.choosing {
					checkLone(t, c, before, 5)
				}
			})

			t.Run("MinIdleConnsPastDialTimeout", func(t *testing.T) {
				ctx := guardContext(t)
				const warm = 4
				c := newReliabilityClient(t, m, srv.Addr, Options{MinIdleConns: warm, DialTimeout: short})
				p := c.Pool()
				eventually(t, "the filler dials MinIdleConns", func() bool { return p.Stats().Idle == warm })
				before := p.Stats()
				if before.MinIdleDials != warm || before.Dials != warm {
					t.Fatalf("stats %+v: want the %d dials counted as MinIdleDials", before, warm)
				}
				idleFor(2 * short) // the handshakes' DialTimeout deadlines pass
				conns := make([]*Conn, warm)
				for i := range conns {
					cn, err := p.Get(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := cn.Do(ctx, "PING"); err != nil {
						t.Fatal(err)
					}
					conns[i] = cn
				}
				for _, cn := range conns {
					p.Put(cn)
				}
				// The filler tops the idle list up again after the Gets;
				// those dials are its own. A Get must have dialled none.
				// One snapshot: the filler may dial between two.
				after := p.Stats()
				if hc := after.Closed.HealthCheck - before.Closed.HealthCheck; hc != 0 {
					t.Errorf("the health check closed %d healthy connections (stats %+v)", hc, after)
				}
				if d := (after.Dials - after.MinIdleDials) - (before.Dials - before.MinIdleDials); d != 0 {
					t.Fatalf("%d dials by Gets to use %d warm connections (stats %+v)", d, warm, after)
				}
				if hits := p.Stats().Hits - before.Hits; hits != warm {
					t.Fatalf("%d hits, want %d", hits, warm)
				}
			})

			if m.choosing {
				// The storm mixes both paths; the shared and exclusive
				// modes above and below pin each one.
				return
			}
			t.Run("CalmAfterDeadlineStorm", func(t *testing.T) {
				ctx := guardContext(t)
				// One shared connection: the calm GETs all use it.
				c := newReliabilityClient(t, m, srv.Addr, Options{MultiplexConns: 1})
				key := testKey(t, "k")
				if err := c.Set(ctx, key, valueFor(key), 0).Err(); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range 200 {
					wg.Go(func() {
						d := time.Duration(50+rand.IntN(4950)) * time.Microsecond
						cctx, cancel := context.WithTimeout(ctx, d)
						defer cancel()
						if got, err := c.Get(cctx, key).Result(); err == nil && got != valueFor(key) {
							t.Errorf("GET in the storm got another command's reply: %q", got)
						}
						<-cctx.Done()
					})
				}
				wg.Wait()
				// The storm's deadlines may have ended every dial of the
				// connection the calm GETs use (then the first of them
				// dials it) or left one open (then none dials): a
				// cancellation closes a pooled connection, never a shared
				// one, and never an idle one.
				before := c.Pool().Stats()
				want, where := uint64(1), "no idle pooled connection"
				if m.exclusive && before.Idle > 0 {
					want, where = 0, fmt.Sprintf("%d idle pooled connections", before.Idle)
				}
				if !m.exclusive {
					where = "no live shared connection"
					if mc := c.mux.conns[0].Load(); mc != nil && !mc.dead.Load() {
						want, where = 0, "a live shared connection"
					}
				}
				for i := range 20 {
					if got, err := c.Get(ctx, key).Result(); err != nil || got != valueFor(key) {
						t.Fatalf("calm GET %d: %q, %v", i, got, err)
					}
				}
				if d := dialsSince(t, c, before); d != want {
					t.Fatalf("%d dials for 20 calm sequential GETs after the storm left %s, want %d (stats %+v)", d, where, want, c.Pool().Stats())
				}
				if m.shared() {
					checkShared(t, c, before)
				}
			})
		})
	}
}

// The shared connections of a multiplexing Client are dialled within the
// context of the caller that needed one; the handshake used to leave that
// context's deadline on the socket, and the first flush after it passed
// found the connection "dead" (the spurious "unexpected data or end of
// stream on an idle shared connection" of cancellation storms). A shared
// connection dialled under a short deadline must serve the calls after it.
func TestReliabilitySharedConnDialledUnderShortDeadline(t *testing.T) {
	srv := faultTest(t)
	ctx := guardContext(t)
	const short = 40 * time.Millisecond
	c := sharedOnly(newReliabilityClient(t, reliabilityModes[0], srv.Addr, Options{MultiplexConns: 1}))
	dctx, cancel := context.WithTimeout(ctx, short)
	// The one shared connection is dialled under dctx, whose caller then
	// leaves (its context ends before it queues its command): the next
	// flush is another caller's, after dctx's deadline.
	if _, err := c.mux.conn(dctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	<-dctx.Done()
	cancel()
	before := c.Pool().Stats()
	if before.SharedDials != 1 {
		t.Fatalf("stats %+v: want the one shared connection counted in SharedDials", before)
	}
	for i := range 5 {
		idleFor(short)
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("PING %d on the shared connection: %v", i, err)
		}
	}
	if d := c.Pool().Stats().Dials - before.Dials; d != 0 {
		t.Fatalf("%d dials after the dialling caller's deadline passed", d)
	}
	checkShared(t, c, before)
}

// What the liveness check must still catch, on a connection idle past
// every deadline it carried: a close by the server, unread bytes, a reset.
func TestReliabilityPeekCatchesDeadConns(t *testing.T) {
	srv := faultTest(t)
	const short = 20 * time.Millisecond
	cases := []struct {
		name string
		// kill makes cn dead while it is idle in the pool.
		kill func(t *testing.T, ctx context.Context, proxy *respooltest.FaultProxy, admin *Client, cn *Conn, id int64)
	}{
		{"ClosedByServer", func(t *testing.T, ctx context.Context, _ *respooltest.FaultProxy, admin *Client, _ *Conn, id int64) {
			if _, err := admin.Do(ctx, "CLIENT", "KILL", "ID", fmt.Sprint(id)); err != nil {
				t.Fatal(err)
			}
		}},
		{"UnreadBytes", func(t *testing.T, ctx context.Context, _ *respooltest.FaultProxy, _ *Client, cn *Conn, _ int64) {
			// A command written behind the Conn's back: its reply waits
			// unread on the idle socket.
			if _, err := cn.nc.Write([]byte("PING\r\n")); err != nil {
				t.Fatal(err)
			}
		}},
		{"ResetByPeer", func(t *testing.T, ctx context.Context, proxy *respooltest.FaultProxy, _ *Client, _ *Conn, _ int64) {
			proxy.ResetAll()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := guardContext(t)
			proxy := respooltest.StartFaultProxy(t, srv.Addr)
			p := NewPool(&Options{Addr: proxy.Addr(), ReadTimeout: short, PoolSize: 1})
			t.Cleanup(func() { _ = p.Close() })
			admin := newReliabilityClient(t, reliabilityModes[1], srv.Addr, Options{})
			cn := mustGet(t, p)
			id := clientID(t, cn)
			idleFor(2 * short) // the socket's last deadline passes
			if !cn.alive() {
				t.Fatal("a healthy idle connection past its last deadline reported dead")
			}
			p.Put(cn)
			before := p.Stats()
			tc.kill(t, ctx, proxy, admin, cn, id) // while idle in the pool
			eventually(t, "the peek sees the connection dead", func() bool { return !cn.alive() })
			cn2 := mustGet(t, p)
			defer p.Put(cn2)
			if cn2 == cn {
				t.Fatal("Get handed out the dead connection")
			}
			if _, err := cn2.Do(ctx, "PING"); err != nil {
				t.Fatalf("PING on the replacement: %v", err)
			}
			after := p.Stats()
			if after.Closed.HealthCheck != before.Closed.HealthCheck+1 || after.Dials != before.Dials+1 {
				t.Fatalf("stats before %+v, after %+v: want one health-check close and one dial", before, after)
			}
		})
	}
}
