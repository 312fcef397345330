package respool

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// Issue 8, item 5: PoolSize 2, both connections held by BLPOPs waiting on
// the server, 50 more callers that need a pooled connection: each times
// out with ErrPoolTimeout (not sent), nothing deadlocks, and once the
// holders finish all 50 succeed. In the multiplexed mode ordinary
// commands do not use the pool and keep working meanwhile.
func TestReliabilityPoolExhaustion(t *testing.T) {
	srv := faultTest(t)
	const waiters = 50
	for _, m := range reliabilityModes {
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
				defer func() {
					knownBug(t, starved > 0 && !t.Failed(),
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

// Issue 8, item 8 (first half): the server reaches maxclients while the
// pool grows. The dial that is refused fails with an error of outcome
// "not sent" that carries the server's text as an *Error; the connections
// already open keep working; concurrent Gets during the refusal do not
// each dial (the pool backs off); once the limit rises, the pool and the
// shared connections recover.
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
			c := newReliabilityClient(t, m, srv.Addr, Options{PoolSize: 8})
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
				_, err := c.Pipelined(ctx, func(pl *Pipeline) error {
					pl.Ping(ctx)
					return nil
				})
				checkRefused("the shared connection's dial", err)
			}

			// The connections already open keep working.
			for i, cn := range held {
				if v, err := cn.Do(ctx, "PING"); err != nil || v.Text() != "PONG" {
					t.Fatalf("held connection %d: %v %v", i, v, err)
				}
			}

			// Concurrent Gets while the server refuses: each fails, with
			// fewer dials than Gets (one probe at a time).
			const gets = 20
			dialsBefore := c.Pool().Stats().Dials
			start := make(chan struct{})
			errs := make(chan error, gets)
			for range gets {
				go func() {
					<-start
					cn, err := c.Conn(ctx)
					if err == nil {
						c.Pool().Put(cn)
					}
					errs <- err
				}()
			}
			close(start)
			for range gets {
				checkRefused("a Get during the refusal", <-errs)
			}
			dials := c.Pool().Stats().Dials - dialsBefore
			t.Logf("%d concurrent Gets during the refusal dialled %d times", gets, dials)
			if dials >= gets {
				t.Fatalf("%d Gets dialled %d times: no backoff", gets, dials)
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
			if _, err := c.Pipelined(ctx, func(pl *Pipeline) error {
				pl.Ping(ctx)
				return nil
			}); err != nil {
				t.Fatalf("shared connection after raising maxclients: %v", err)
			}
			knownBug(t, textLost != "",
				"handshake.go runHandshake: the server's %q reply to HELLO is dropped when reading the next handshake reply fails (EOF/reset after the server hangs up); the caller gets %q", maxClientsText, textLost)
		})
	}
}
