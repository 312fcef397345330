package respool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// Issue 8, item 1: many goroutines run mixed reads (GET, MGET, HGETALL,
// pipelines) with deadlines drawn from {1ms, 5ms, 50ms, none} through a
// proxy that delays every chunk by a random amount and cuts replies into
// random pieces. Callers whose deadline passes get a deadline error;
// every reply that arrives is the caller's own (values derive from their
// keys), calls without a deadline never fail, and the pool is back to
// idle at the end. Default 8 goroutines x 2,000 operations; RESPOOL_SOAK=1
// runs 16 x 50,000.
func TestReliabilityDesyncSoak(t *testing.T) {
	srv := faultTest(t)
	workers, ops := soakSize(8, 16), soakSize(2000, 50000)
	keys, hashes := populate(t, srv.Addr, testKey(t, "data"), 64)

	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			p := respooltest.StartFaultProxy(t, srv.Addr)
			p.Jitter(time.Millisecond)
			p.Rechunk(64)
			c := newReliabilityClient(t, m, p.Addr(), Options{PoolSize: workers + 4})
			initial := c.Pool().Stats()
			ctx := guardContextFor(t, time.Duration(soakSize(1, 30))*reliabilityGuard)

			var (
				wg        sync.WaitGroup
				succeeded atomic.Int64
				timedOut  atomic.Int64
				borrowed  atomic.Int64 // calls without a deadline failed with another's deadline
				errs      = make(chan error, workers)
			)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), 8))
					for i := 0; i < ops && ctx.Err() == nil; i++ {
						err := soakOp(ctx, c, rng, keys, hashes)
						switch {
						case err == nil:
							succeeded.Add(1)
						case errors.Is(err, errSoakNoDeadline) && isTimeout(err) && OutcomeOf(err) == OutcomeNotSent:
							// The pool's dial backoff handed this call the
							// dial error of a call whose deadline passed:
							// see TestReliabilityDialBackoffOwnDeadline.
							borrowed.Add(1)
						case errors.Is(err, errSoakNoDeadline):
							errs <- err
							return
						case isTimeout(err) && OutcomeOf(err) != OutcomeRejected:
							timedOut.Add(1)
						default:
							errs <- fmt.Errorf("worker %d op %d: %w (outcome %v)", w, i, err, OutcomeOf(err))
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if ctx.Err() != nil {
				t.Fatal("the soak did not finish within its guard")
			}
			t.Logf("%d calls succeeded, %d ended at their deadline", succeeded.Load(), timedOut.Load())
			if succeeded.Load() == 0 {
				t.Fatal("no call succeeded")
			}
			defer func() {
				if n := borrowed.Load(); n > 0 && !t.Failed() {
					t.Fatalf("regression: %d calls without a deadline failed at once with the dial error of a call whose deadline passed (pool_dial.go: dial backoff trusts ctx.Err(), which lags the deadline)", n)
				}
			}()
			// The pool is back to idle once the drains of the calls that
			// ended at their deadline are over: nothing in use, nothing
			// dialling, every open connection idle.
			eventually(t, "the drains end", func() bool { return c.Pool().Stats().Draining == 0 })
			st := c.Pool().Stats()
			if st.InUse != 0 || st.Dialing != 0 || st.Open != st.Idle || st.Open > workers+4 {
				t.Fatalf("pool not idle after the soak: %+v", st)
			}
			// And it still answers correctly, without a deadline.
			for _, k := range keys {
				if v, err := c.Get(context.Background(), k).Result(); err != nil || v != valueFor(k) {
					t.Fatalf("after the soak GET %s = %q, %v", k, v, err)
				}
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
		})
	}
}

// errSoakNoDeadline marks a failure of a call that had no deadline.
var errSoakNoDeadline = errors.New("a call without a deadline failed")

// soakOp runs one random operation with a random deadline and checks its
// replies. It returns a mismatch as an error that is not a deadline.
func soakOp(ctx context.Context, c *Client, rng *rand.Rand, keys, hashes []string) error {
	deadlines := [...]time.Duration{time.Millisecond, 5 * time.Millisecond, 50 * time.Millisecond, 0}
	d := deadlines[rng.IntN(len(deadlines))]
	opCtx := ctx
	if d > 0 {
		var cancel context.CancelFunc
		opCtx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	err := soakCheck(opCtx, c, rng, keys, hashes)
	if err != nil && d == 0 && ctx.Err() == nil {
		return fmt.Errorf("%w: %w", errSoakNoDeadline, err)
	}
	return err
}

func soakCheck(ctx context.Context, c *Client, rng *rand.Rand, keys, hashes []string) error {
	key := keys[rng.IntN(len(keys))]
	switch rng.IntN(4) {
	case 0:
		v, err := c.Get(ctx, key).Result()
		if err == nil && v != valueFor(key) {
			return fmt.Errorf("GET %s = %q: another command's reply", key, v)
		}
		return err
	case 1:
		ks := []string{key, keys[rng.IntN(len(keys))], keys[rng.IntN(len(keys))]}
		vs, err := c.MGet(ctx, ks...).Result()
		if err != nil {
			return err
		}
		if len(vs) != len(ks) {
			return fmt.Errorf("MGET %v: %d values", ks, len(vs))
		}
		for i, v := range vs {
			if !v.OK || v.Val != valueFor(ks[i]) {
				return fmt.Errorf("MGET %v: value %d = %+v: another command's reply", ks, i, v)
			}
		}
		return nil
	case 2:
		h := hashes[rng.IntN(len(hashes))]
		got, err := c.HGetAll(ctx, h).Result()
		if err != nil {
			return err
		}
		return checkHash(h, got)
	default:
		p := c.Pipeline()
		gets := make([]*Cmd[string], 1+rng.IntN(6))
		names := make([]string, len(gets))
		for i := range gets {
			names[i] = keys[rng.IntN(len(keys))]
			gets[i] = p.Get(ctx, names[i])
		}
		h := hashes[rng.IntN(len(hashes))]
		hget := p.HGetAll(ctx, h)
		err := p.Exec(ctx)
		for i, g := range gets {
			if v, gerr := g.Result(); gerr == nil && v != valueFor(names[i]) {
				return fmt.Errorf("pipelined GET %s = %q: another command's reply", names[i], v)
			}
		}
		if got, herr := hget.Result(); herr == nil {
			if cerr := checkHash(h, got); cerr != nil {
				return cerr
			}
		}
		return err
	}
}
