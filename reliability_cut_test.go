package respool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// Issue 8, item 3: a pipeline of 100 GETs whose reply stream is cut after
// n bytes, for many n, with a clean close (FIN) and with a reset (RST).
// The commands whose replies arrived whole keep their exact values; every
// other one fails with an unknown outcome; nothing is shifted. With a FIN
// exactly the replies within the first n bytes arrive; a reset may lose
// some of them, so the successes are a prefix of at most that length.
// Retries are off to see the raw outcomes; with them on, the same cut
// pipeline of reads is retried and succeeds whole.
func TestReliabilityPipelineCut(t *testing.T) {
	srv := faultTest(t)
	keys, _ := populate(t, srv.Addr, testKey(t, "data"), 100)

	// The reply stream, reply by reply: GET answers "$<len>\r\n<value>\r\n".
	ends := make([]int, len(keys)) // offset just past each reply
	total := 0
	for i, k := range keys {
		v := valueFor(k)
		total += len("$"+strconv.Itoa(len(v))+"\r\n") + len(v) + 2
		ends[i] = total
	}
	offsets := []int{0, 1, 2, 3, 4, total - 2, total - 1}
	for i := 0; i < len(ends); i += 7 {
		offsets = append(offsets, ends[i]-1, ends[i], ends[i]+1, ends[i]+5)
	}
	complete := func(n int) int { // replies wholly within the first n bytes
		k := 0
		for k < len(ends) && ends[k] <= n {
			k++
		}
		return k
	}

	for _, m := range reliabilityModes {
		for _, reset := range []bool{false, true} {
			name := m.name + "/FIN"
			if reset {
				name = m.name + "/RST"
			}
			t.Run(name, func(t *testing.T) {
				ctx := guardContext(t)
				p := respooltest.StartFaultProxy(t, srv.Addr)
				// One connection the pipeline must use: PoolSize 1, or one
				// shared connection.
				c := newReliabilityClient(t, m, p.Addr(), Options{PoolSize: 1, MultiplexConns: 1, MaxRetries: -1})
				start := c.Pool().Stats()
				for _, off := range offsets {
					// (Re)open the connection and arm it.
					if m.exclusive {
						if err := c.Ping(ctx).Err(); err != nil {
							t.Fatal(err)
						}
					} else {
						warmMux(t, c)
					}
					cutsBefore := p.Cuts()
					if reset {
						p.ResetAfter(int64(off))
					} else {
						p.CutAfter(int64(off))
					}
					pl := c.Pipeline()
					gets := make([]*Cmd[string], len(keys))
					for i, k := range keys {
						gets[i] = pl.Get(ctx, k)
					}
					_ = pl.Exec(ctx)
					if p.Cuts() != cutsBefore+1 {
						t.Fatalf("offset %d: the pipeline's connection was not the armed one", off)
					}
					arrived := 0
					for i, g := range gets {
						v, err := g.Result()
						if err == nil {
							if i != arrived {
								t.Fatalf("offset %d: command %d succeeded after command %d failed", off, i, arrived)
							}
							if v != valueFor(keys[i]) {
								t.Fatalf("offset %d: command %d got %q: a shifted reply", off, i, v)
							}
							arrived++
							continue
						}
						if o := OutcomeOf(err); o != OutcomeUnknown {
							t.Fatalf("offset %d: command %d failed with outcome %v: %v", off, i, o, err)
						}
					}
					want := complete(off)
					if arrived > want || (!reset && arrived != want) {
						t.Fatalf("offset %d: %d replies delivered, %d arrived whole", off, arrived, want)
					}
				}

				if m.shared() {
					checkShared(t, c, start)
				}

				// With retries on, the cut pipeline of reads is repeated on
				// a new connection and succeeds whole.
				cr := newReliabilityClient(t, m, p.Addr(), Options{PoolSize: 1, MultiplexConns: 1})
				start = cr.Pool().Stats()
				if m.exclusive {
					if err := cr.Ping(ctx).Err(); err != nil {
						t.Fatal(err)
					}
				} else {
					warmMux(t, cr)
				}
				p.CutAfter(int64(total / 2))
				pl := cr.Pipeline()
				gets := make([]*Cmd[string], len(keys))
				for i, k := range keys {
					gets[i] = pl.Get(ctx, k)
				}
				if err := pl.Exec(ctx); err != nil {
					t.Fatalf("a cut pipeline of reads was not retried: %v", err)
				}
				for i, g := range gets {
					if g.Val() != valueFor(keys[i]) {
						t.Fatalf("retried pipeline: command %d got %q", i, g.Val())
					}
				}
				if p.Cuts() != len(offsets)+1 {
					t.Fatalf("%d cuts, want %d: the retried pipeline did not run on the armed connection", p.Cuts(), len(offsets)+1)
				}
				if m.shared() {
					checkShared(t, cr, start)
				}
			})
		}
	}
}

// A pipeline of writes (INCR) whose reply stream is cut in the middle,
// with retries on: the replies that arrived before the cut are their
// commands' own (1, 2, 3...), every later command fails with an unknown
// outcome, and the pipeline is not sent again: the counter ends at most at
// the pipeline's length (a replay would add it again) and at least at the
// number of replies that arrived.
func TestReliabilityPipelineCutWrites(t *testing.T) {
	srv := faultTest(t)
	const n, arrive = 50, 20
	// INCR's replies: ":1\r\n" ... ":50\r\n".
	cutAt := 0
	for i := 1; i <= arrive; i++ {
		cutAt += len(":" + strconv.Itoa(i) + "\r\n")
	}
	for _, m := range reliabilityModes {
		for _, reset := range []bool{false, true} {
			name := m.name + "/FIN"
			if reset {
				name = m.name + "/RST"
			}
			t.Run(name, func(t *testing.T) {
				ctx := guardContext(t)
				counter := testKey(t, "counter")
				p := respooltest.StartFaultProxy(t, srv.Addr)
				c := newReliabilityClient(t, m, p.Addr(), Options{
					PoolSize: 1, MultiplexConns: 1,
					MaxRetries: 5, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond,
				})
				start := c.Pool().Stats()
				if err := c.Ping(ctx).Err(); err != nil { // open the connection to arm it
					t.Fatal(err)
				}
				if reset {
					p.ResetAfter(int64(cutAt))
				} else {
					p.CutAfter(int64(cutAt))
				}
				pl := c.Pipeline()
				incrs := make([]*Cmd[int64], n)
				for i := range incrs {
					incrs[i] = pl.Incr(ctx, counter)
				}
				err := pl.Exec(ctx)
				if p.Cuts() != 1 {
					t.Fatalf("%d cuts: the pipeline's connection was not the armed one", p.Cuts())
				}
				if o := OutcomeOf(err); o != OutcomeUnknown {
					t.Fatalf("the cut pipeline of writes: %v (outcome %v), want an unknown outcome", err, o)
				}
				arrived := 0
				for i, incr := range incrs {
					v, err := incr.Result()
					if err == nil {
						if i != arrived {
							t.Fatalf("INCR %d succeeded after INCR %d failed", i, arrived)
						}
						if v != int64(i+1) {
							t.Fatalf("INCR %d got %d: not its own reply", i, v)
						}
						arrived++
						continue
					}
					if o := OutcomeOf(err); o != OutcomeUnknown {
						t.Fatalf("INCR %d failed with outcome %v: %v", i, o, err)
					}
				}
				if arrived > arrive || (!reset && arrived != arrive) {
					t.Fatalf("%d replies delivered, %d arrived whole before the cut", arrived, arrive)
				}
				direct := newReliabilityClient(t, reliabilityModes[1], srv.Addr, Options{})
				v, err := direct.Do(ctx, "GET", counter)
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.Int()
				if err != nil {
					t.Fatalf("GET %s = %v: %v", counter, v, err)
				}
				if got > n || got < int64(arrived) {
					t.Fatalf("counter %d after a cut pipeline of %d INCRs, %d acknowledged: the pipeline was sent again", got, n, arrived)
				}
				if m.shared() {
					checkShared(t, c, start)
				}
			})
		}
	}
}

// Issue 8, item 4: goroutines push unique tokens with RPUSH while the proxy
// cuts the connection after one RPUSH in ten reached the server (the
// server applied it, the client never sees the reply). No token is in the
// list twice (no write was repeated), every acknowledged token is there,
// a token whose RPUSH reported "not sent" is not, and the GETs running
// alongside are retried transparently and never fail. Default 8 x 125
// tokens; RESPOOL_SOAK=1 pushes 10,000.
func TestReliabilityNoDuplicateWrites(t *testing.T) {
	srv := faultTest(t)
	keys, _ := populate(t, srv.Addr, testKey(t, "data"), 8)
	const workers = 8
	perWorker := soakSize(125, 1250)

	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			list := testKey(t, "list")
			p := respooltest.StartFaultProxy(t, srv.Addr)
			p.CutOnCommandEvery("RPUSH", 10)
			// Retries generous enough that a GET always gets through a run
			// of cuts, with short backoffs.
			c := newReliabilityClient(t, m, p.Addr(), Options{
				MaxRetries: 10, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 10 * time.Millisecond,
			})
			initial := c.Pool().Stats()

			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				acked   = map[string]bool{}
				notSent = map[string]bool{}
				unknown int
				errs    = make(chan error, workers)
			)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWorker {
						token := fmt.Sprintf("w%d:%d", w, i)
						err := c.RPush(ctx, list, token).Err()
						mu.Lock()
						switch o := OutcomeOf(err); o {
						case OutcomeNone:
							acked[token] = true
						case OutcomeUnknown:
							unknown++
						case OutcomeNotSent:
							notSent[token] = true
						default:
							mu.Unlock()
							errs <- fmt.Errorf("RPUSH %s: outcome %v: %w", token, o, err)
							return
						}
						mu.Unlock()
						k := keys[(w+i)%len(keys)]
						if v, err := c.Get(ctx, k).Result(); err != nil || v != valueFor(k) {
							errs <- fmt.Errorf("GET %s during the cuts = %q, %v: not retried transparently", k, v, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			direct := newReliabilityClient(t, reliabilityModes[1], srv.Addr, Options{})
			got, err := direct.LRange(ctx, list, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, tok := range got {
				if seen[tok] {
					t.Fatalf("token %s is in the list twice: a write was repeated", tok)
				}
				seen[tok] = true
				if notSent[tok] {
					t.Fatalf("token %s is in the list, but its RPUSH reported not sent", tok)
				}
			}
			for tok := range acked {
				if !seen[tok] {
					t.Fatalf("acknowledged token %s is missing", tok)
				}
			}
			if p.Cuts() == 0 || unknown == 0 {
				t.Fatalf("%d cuts, %d unknown outcomes: the fault did not happen", p.Cuts(), unknown)
			}
			t.Logf("%d tokens: %d acknowledged, %d unknown (%d of them applied), %d not sent; %d cuts",
				workers*perWorker, len(acked), unknown, len(got)-len(acked), len(notSent), p.Cuts())
			if m.shared() {
				checkShared(t, c, initial)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatal("the run did not finish within its guard")
			}
		})
	}
}
