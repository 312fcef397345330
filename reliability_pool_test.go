package respool

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// Issue 8, item 5: PoolSize 2, both connections held by BLPOPs waiting on
// the server, 50 more callers that need a pooled connection: each times
// out with ErrPoolTimeout (not sent), nothing deadlocks, and once the
// holders finish all 50 succeed. In the multiplexed mode ordinary
// commands keep working meanwhile: the scenario is about the Client's own
// choice of path (a lone command borrows a pooled connection when the
// pool has one free, else shares), so it runs with that choice left on.
func TestReliabilityPoolExhaustion(t *testing.T) {
	srv := faultTest(t)
	const waiters = 50
	for _, m := range choosingModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			p := respooltest.StartFaultProxy(t, srv.Addr)
			c := newReliabilityClient(t, m, p.Addr(), Options{PoolSize: 2, PoolTimeout: 200 * time.Millisecond})
			lists := []string{testKey(t, "list0"), testKey(t, "list1")}
			key := testKey(t, "k")
			if err := c.Set(ctx, key, valueFor(key), 0).Err(); err != nil {
				t.Fatal(err)
			}

			held := make(chan error, len(lists))
			blpops := p.Commands("BLPOP")
			for i, l := range lists {
				go func() {
					kv, err := c.BLPop(ctx, 0, l).Result()
					if err == nil && (kv.Key != l || kv.Value != "release"+string(rune('0'+i))) {
						err = errors.New("BLPOP got another command's reply: " + kv.Key + " " + kv.Value)
					}
					held <- err
				}()
			}
			if err := p.WaitCommand(ctx, "BLPOP", blpops+len(lists)); err != nil {
				t.Fatal(err)
			}

			// A transaction needs a pooled connection in both modes.
			txGet := func() error {
				var get *Cmd[string]
				_, err := c.TxPipelined(ctx, func(pl *Pipeline) error {
					get = pl.Get(ctx, key)
					return nil
				})
				if err == nil && get.Val() != valueFor(key) {
					err = errors.New("transaction got another command's reply: " + get.Val())
				}
				return err
			}
			timeoutsBefore := c.Pool().Stats().Timeouts
			runAll := func(f func() error) []error {
				errs := make([]error, waiters)
				var wg sync.WaitGroup
				for i := range waiters {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = f()
					}()
				}
				wg.Wait()
				return errs
			}
			for i, err := range runAll(txGet) {
				if !errors.Is(err, ErrPoolTimeout) || OutcomeOf(err) != OutcomeNotSent {
					t.Fatalf("waiter %d: %v (outcome %v), want ErrPoolTimeout, not sent", i, err, OutcomeOf(err))
				}
			}
			if got := c.Pool().Stats().Timeouts - timeoutsBefore; got != waiters {
				t.Fatalf("Stats().Timeouts grew by %d, want %d", got, waiters)
			}
			if !m.exclusive {
				// Plain commands share connections outside PoolSize.
				beforeGets := c.Pool().Stats()
				starved := 0
				for i, err := range runAll(func() error {
					v, err := c.Get(ctx, key).Result()
					if err == nil && v != valueFor(key) {
						err = errors.New("GET got another command's reply: " + v)
					}
					return err
				}) {
					switch {
					case errors.Is(err, ErrPoolTimeout):
						starved++
					case err != nil:
						t.Fatalf("GET %d while the pool is exhausted: %v", i, err)
					}
				}
				// A GET alone in flight, the deterministic case.
				if v, err := c.Get(ctx, key).Result(); errors.Is(err, ErrPoolTimeout) {
					starved++
				} else if err != nil || v != valueFor(key) {
					t.Fatalf("lone GET while the pool is exhausted: %q, %v", v, err)
				}
				if starved == 0 {
					// They ran on shared connections, without waiting for
					// the pool.
					checkShared(t, c, beforeGets)
				}
				defer func() {
					regression(t, starved > 0 && !t.Failed(),
						"client.go runCmd: a multiplexable command alone in flight takes a pooled connection; with the pool exhausted (here by BLPOPs) %d of %d GETs failed with ErrPoolTimeout although the shared connections were free", starved, waiters+1)
				}()
			}

			admin := newReliabilityClient(t, reliabilityModes[1], srv.Addr, Options{})
			for i, l := range lists {
				if err := admin.RPush(ctx, l, "release"+string(rune('0'+i))).Err(); err != nil {
					t.Fatal(err)
				}
			}
			for range lists {
				if err := <-held; err != nil {
					t.Fatalf("holder: %v", err)
				}
			}
			for i, err := range runAll(txGet) {
				if err != nil {
					t.Fatalf("waiter %d after the holders finished: %v", i, err)
				}
			}
			if st := c.Pool().Stats(); st.InUse != 0 || st.Open > 2 {
				t.Fatalf("pool after the run: %+v", st)
			}
		})
	}
}

// maxClientsText is what redis-server says to a connection beyond
// maxclients.
const maxClientsText = "max number of clients reached"

// heldDialer is an Options.Dialer that can hold one dial: after hold, the
// next dial signals entered and waits until release is closed.
type heldDialer struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

// hold arms the dialer; call it while no dial is in flight.
func (d *heldDialer) hold() {
	d.entered, d.release = make(chan struct{}), make(chan struct{})
	d.armed.Store(true)
}

func (d *heldDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.armed.CompareAndSwap(true, false) {
		close(d.entered)
		select {
		case <-d.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// Issue 8, item 8 (first half): the server reaches maxclients while the
// pool grows. The dial that is refused fails with an error of outcome
// "not sent" that carries the server's text as an *Error; the connections
// already open keep working; concurrent Gets during the refusal make one
// dial, the probe of the pool's backoff, and the others fail at once;
// once the limit rises, the pool and the shared connections recover.
func TestReliabilityMaxClients(t *testing.T) {
	faultTest(t)
	srv := respooltest.StartServer(t)
	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			admin, err := Dial(ctx, &Options{Addr: srv.Addr})
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			setMax := func(n string) {
				t.Helper()
				if _, err := admin.Do(ctx, "CONFIG", "SET", "maxclients", n); err != nil {
					t.Fatal(err)
				}
			}
			// The pool's clock is frozen, so the dial backoff that the
			// refusals open stays open however slow the machine is; the
			// timeouts, whose socket deadlines come from the same clock,
			// are as long as the test's guard.
			clock := newFakeClock()
			var dialer heldDialer
			c := newReliabilityClient(t, m, srv.Addr, Options{
				PoolSize: 8, Dialer: dialer.dial, now: clock.Now,
				DialTimeout: reliabilityGuard, ReadTimeout: reliabilityGuard, WriteTimeout: reliabilityGuard,
			})
			// The admin connection and two more: the third pooled
			// connection is refused.
			setMax("3")
			defer setMax("10000")

			textLost := ""
			checkRefused := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s beyond maxclients succeeded", what)
				}
				if o := OutcomeOf(err); o != OutcomeNotSent {
					t.Fatalf("%s: outcome %v, want not sent: %v", what, o, err)
				}
				var se *Error
				if !errors.As(err, &se) || !strings.Contains(se.Error(), maxClientsText) {
					textLost = err.Error()
				}
			}
			var held []*Conn
			defer func() {
				for _, cn := range held {
					c.Pool().Put(cn)
				}
			}()
			for range 2 {
				cn, err := c.Conn(ctx)
				if err != nil {
					t.Fatalf("growing the pool within maxclients: %v", err)
				}
				held = append(held, cn)
			}
			_, err = c.Conn(ctx)
			checkRefused("the third pooled connection", err)
			if !m.exclusive {
				before := c.Pool().Stats()
				_, err := c.Pipelined(ctx, func(pl *Pipeline) error {
					pl.Ping(ctx)
					return nil
				})
				checkRefused("the shared connection's dial", err)
				checkShared(t, c, before)
			}

			// The connections already open keep working.
			for i, cn := range held {
				if v, err := cn.Do(ctx, "PING"); err != nil || v.Text() != "PONG" {
					t.Fatalf("held connection %d: %v %v", i, v, err)
				}
			}

			// Concurrent Gets while the server refuses, inside the backoff
			// window the refusals opened: the first to dial is the probe,
			// whose dial is held until every other Get has failed at once
			// with the last dial error. One dial in all.
			const gets = 20
			dialsBefore := c.Pool().Stats().Dials
			dialer.hold()
			errs := make(chan error, gets)
			for range gets {
				go func() {
					cn, err := c.Conn(ctx)
					if err == nil {
						c.Pool().Put(cn)
					}
					errs <- err
				}()
			}
			next := func(what string) error {
				t.Helper()
				select {
				case err := <-errs:
					return err
				case <-ctx.Done():
					t.Fatalf("gave up waiting for %s", what)
					return nil
				}
			}
			select {
			case <-dialer.entered:
			case <-ctx.Done():
				t.Fatal("no Get dialled during the refusal")
			}
			for range gets - 1 {
				checkRefused("a Get during the probe", next("the Gets during the probe"))
			}
			close(dialer.release)
			checkRefused("the probe", next("the probe"))
			if dials := c.Pool().Stats().Dials - dialsBefore; dials != 1 {
				t.Fatalf("%d concurrent Gets during the refusal dialled %d times, want 1 (the backoff's probe)", gets, dials)
			}

			// Recovery once the limit rises.
			setMax("10000")
			cn, err := c.Conn(ctx)
			if err != nil {
				t.Fatalf("after raising maxclients: %v", err)
			}
			held = append(held, cn)
			if v, err := cn.Do(ctx, "PING"); err != nil || v.Text() != "PONG" {
				t.Fatalf("new connection: %v %v", v, err)
			}
			before := c.Pool().Stats()
			if _, err := c.Pipelined(ctx, func(pl *Pipeline) error {
				pl.Ping(ctx)
				return nil
			}); err != nil {
				t.Fatalf("shared connection after raising maxclients: %v", err)
			}
			if m.shared() {
				checkShared(t, c, before)
			}
			regression(t, textLost != "",
				"handshake.go runHandshake: the server's %q reply to HELLO is dropped when reading the next handshake reply fails (EOF/reset after the server hangs up); the caller gets %q", maxClientsText, textLost)
		})
	}
}
