package respool

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cacheSoakDuration is how long the staleness tests run: 2s, or
// RESPOOL_CACHE_SOAK (a duration such as "20s") when set.
func cacheSoakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("RESPOOL_CACHE_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("RESPOOL_CACHE_SOAK: %v", err)
		}
		return d
	}
	return 2 * time.Second
}

// staleGrace is how long after a write's acknowledgement a cached read
// may still return the value before it: the invalidation travels on
// another connection and may be read a little later. It is the issue's
// 5ms, but 50ms under the race detector: the readers here are loops of
// hits that never block, and with the detector's slowdown on 2 cores the
// goroutine that reads the invalidations can wait a whole scheduling slice
// (10ms) or more for a processor. A cache that missed an invalidation
// fails at either grace; the 5ms figure is measured without the detector
// (RESPOOL_CACHE_SOAK=20s go test -run Staleness).
var staleGrace = func() time.Duration {
	if raceEnabled {
		return 50 * time.Millisecond
	}
	return 5 * time.Millisecond
}()

// keyHistory is what the writers of a staleness test acknowledged for
// one key: the last few values (increasing sequence numbers; one writer
// per key) and when their SET was acknowledged.
type keyHistory struct {
	mu   sync.Mutex
	seq  [8]int64
	ack  [8]time.Time
	next int
}

func (h *keyHistory) acked(seq int64, at time.Time) {
	h.mu.Lock()
	h.seq[h.next%len(h.seq)], h.ack[h.next%len(h.seq)] = seq, at
	h.next++
	h.mu.Unlock()
}

// floor returns the newest value acknowledged at or before t: a read
// that starts at t + staleGrace must return it or a newer one. (When
// every value kept was acknowledged after t it returns 0, no floor.)
func (h *keyHistory) floor(t time.Time) (seq int64, acked time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range min(h.next, len(h.seq)) {
		if !h.ack[i].After(t) && h.seq[i] > seq {
			seq, acked = h.seq[i], h.ack[i]
		}
	}
	return seq, acked
}

// staleness runs readers goroutines calling read (a cached view's) and
// writers calling write (a plain client's), which SET keys in turn, each key written
// by one writer with increasing numbers. After each cached read it
// checks that the value is no older than what had been acknowledged
// staleGrace before the read began. It returns the stale reads counted
// and the reads done. between, when set, runs once, in the middle.
func staleness(t *testing.T, read func(ctx context.Context, key string) (string, error), readers int,
	write func(ctx context.Context, key, value string) error, keys []string, writers int,
	d time.Duration, between func()) (stale, total int64) {
	t.Helper()
	hist := make([]keyHistory, len(keys))
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failure atomic.Pointer[error]
	fail := func(err error) {
		failure.CompareAndSwap(nil, &err)
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := int64(0)
			for {
				seq++
				for i := w; i < len(keys); i += writers {
					select {
					case <-stop:
						return
					default:
					}
					if err := write(ctx, keys[i], strconv.FormatInt(seq, 10)); err != nil {
						fail(err)
						return
					}
					hist[i].acked(seq, time.Now())
				}
			}
		}()
	}
	var staleN, totalN atomic.Int64
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := r * 131; ; n += 7 {
				select {
				case <-stop:
					return
				default:
				}
				i := n % len(keys)
				start := time.Now()
				want, acked := hist[i].floor(start.Add(-staleGrace))
				v, err := read(ctx, keys[i])
				got := int64(0)
				switch {
				case errors.Is(err, Nil):
				case err != nil:
					fail(err)
					return
				default:
					if got, err = strconv.ParseInt(v, 10, 64); err != nil {
						fail(err)
						return
					}
				}
				totalN.Add(1)
				if got < want {
					if staleN.Add(1) <= 5 {
						t.Errorf("stale read of %s: %d, but %d had been acknowledged %v before the read began",
							keys[i], got, want, start.Sub(acked))
					}
				}
			}
		}()
	}
	if between != nil {
		time.Sleep(d / 2) // the soak's own length, not a synchronisation
		between()
		time.Sleep(d - d/2)
	} else {
		time.Sleep(d)
	}
	close(stop)
	wg.Wait()
	if p := failure.Load(); p != nil {
		t.Fatalf("during the run: %v", *p)
	}
	return staleN.Load(), totalN.Load()
}

// TestCacheStaleness: 8 readers through a cached view, 4 writers through
// a plain client, 1,000 keys, in both modes. No cached read that begins
// 5ms after a write was acknowledged returns the value before it. The
// run lasts 2s (RESPOOL_CACHE_SOAK=20s for the full length).
func TestCacheStaleness(t *testing.T) {
	d := cacheSoakDuration(t)
	cacheModes(t, &CacheOptions{}, func(t *testing.T, c *Client) {
		plain := newTestClient(t)
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = testKey(t, "k"+strconv.Itoa(i))
		}
		cv := c.Cached(time.Minute)
		read := func(ctx context.Context, key string) (string, error) { return cv.Get(ctx, key).Result() }
		write := func(ctx context.Context, key, value string) error { return plain.Set(ctx, key, value, 0).Err() }
		stale, total := staleness(t, read, 8, write, keys, 4, d, nil)
		st := c.CacheStats()
		t.Logf("%v: %d cached reads, %d stale; hits %d, misses %d (hit ratio %.1f%%), invalidations %d, entries %d, %d bytes",
			d, total, stale, st.Hits, st.Misses, 100*float64(st.Hits)/float64(max(st.Hits+st.Misses, 1)),
			st.Invalidations, st.Entries, st.Bytes)
		if stale != 0 {
			t.Fatalf("%d stale reads of %d", stale, total)
		}
		if st.Hits == 0 {
			t.Fatalf("no read came from memory: %+v", st)
		}
	})
}
