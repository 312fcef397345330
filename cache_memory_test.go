package respool

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCacheMemoryBound fills the cache well past MaxBytes with values of
// mixed sizes: CacheStats().Bytes never exceeds MaxBytes, entries are
// evicted, and the live heap the cache holds stays within 1.5 x MaxBytes
// plus a small constant (measured after a GC, against the heap of the
// same client before the fill).
func TestCacheMemoryBound(t *testing.T) {
	if RaceEnabled {
		t.Skip("the race detector's shadow memory would be measured too")
	}
	const maxBytes = 2 << 20
	ctx := context.Background()
	c := newTestClient(t, &Options{MultiplexConns: 1, ClientCache: &CacheOptions{MaxBytes: maxBytes}})
	plain := newTestClient(t)
	cv := c.Cached(time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 3000
	keys := make([]string, n)
	total := 0
	for i := range keys {
		keys[i] = testKey(t, "k"+strconv.Itoa(i))
		size := 10 + rng.IntN(200)
		if i%10 == 0 {
			size = 1000 + rng.IntN(40<<10)
		}
		total += size
		if err := plain.Set(ctx, keys[i], strings.Repeat("x", size), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if total < 3*maxBytes {
		t.Fatalf("the values add up to %d bytes, want well past MaxBytes", total)
	}
	// The client's own buffers and connections exist before the baseline.
	if err := cv.Get(ctx, testKey(t, "warm")).Err(); err == nil {
		t.Fatal("warm-up key exists")
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	for round := range 3 {
		for _, k := range keys {
			if err := cv.Get(ctx, k).Err(); err != nil {
				t.Fatal(err)
			}
			if st := c.CacheStats(); st.Bytes > maxBytes {
				t.Fatalf("round %d: %d bytes cached, MaxBytes %d", round, st.Bytes, maxBytes)
			}
		}
	}
	st := c.CacheStats()
	live := int64(heap()) - int64(base)
	t.Logf("values %d bytes; cache: %d entries, %d bytes counted, %d evictions; live heap grew by %d bytes (MaxBytes %d)",
		total, st.Entries, st.Bytes, st.Evictions, live, maxBytes)
	if st.Evictions == 0 {
		t.Fatalf("nothing was evicted: %+v", st)
	}
	if st.Bytes < maxBytes/2 {
		t.Fatalf("the cache holds %d bytes, less than half of MaxBytes: eviction took too much", st.Bytes)
	}
	const slack = 512 << 10
	if live > maxBytes*3/2+slack {
		t.Fatalf("live heap grew by %d bytes, over 1.5 x MaxBytes + %d", live, slack)
	}
	runtime.KeepAlive(keys)
}
