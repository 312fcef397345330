package respool

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/respool/respool/respooltest"
)

// A fast-form command carries its own muxRequest, recycled with it: each
// reply must still reach the caller that asked for it while shared
// connections are cut under in-flight GETs (retried on another
// connection with the same request and carrier) and callers abandon
// theirs when their context ends (the connection keeps the carrier and
// reads its reply later). Every goroutine reads a key only it writes, so
// any reply but its own value is a reply meant for someone else.
func TestMuxCarrierRepliesReachTheirCallers(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	p := respooltest.StartFaultProxy(t, srv.Addr)
	c := sharedOnly(NewClient(&Options{Addr: p.Addr(), MultiplexConns: 2, MaxRetries: 3}))
	t.Cleanup(func() { _ = c.Close() })
	guard := guardContext(t)
	p.CutOnCommandEvery("GET", 13)

	const workers, rounds = 8, 150
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := testKey(t, "carrier"+strconv.Itoa(w))
			for i := range rounds {
				want := strconv.Itoa(w) + ":" + strconv.Itoa(i)
				if err := c.Set(guard, key, want, 0).Err(); err != nil {
					if OutcomeOf(err) == OutcomeUnknown || errors.Is(err, ErrClosed) {
						continue // a cut SET: applied or not, the next round sets again
					}
					errs <- err
					return
				}
				ctx := guard
				if i%3 == 1 {
					// This GET may be abandoned at any point: before it is
					// queued, queued, or in flight.
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(guard)
					go cancel()
				}
				got, err := c.Get(ctx, key).Result()
				if err == nil && got != want {
					errs <- errors.New("GET " + key + " = " + strconv.Quote(got) + ", want " + strconv.Quote(want))
					return
				}
				if err != nil && ctx == guard && !isConnFailure(err) {
					errs <- err
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
	if p.Cuts() == 0 {
		t.Fatal("no GET was cut: the retries were not exercised")
	}
}

// isConnFailure reports a shared connection's failure the retries did not
// get past (the budget ran out).
func isConnFailure(err error) bool {
	var ce *ConnError
	return errors.As(err, &ce)
}
