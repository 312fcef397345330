package respool

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCachedGetHit measures a cached GET that hits, in parallel.
func BenchmarkCachedGetHit(b *testing.B) {
	ctx := context.Background()
	c := newTestClient(b, &Options{ClientCache: &CacheOptions{}})
	key := testKey(b, "k")
	if err := c.Set(ctx, key, "0123456789abcdef", 0).Err(); err != nil {
		b.Fatal(err)
	}
	cv := c.Cached(time.Hour)
	if err := cv.Get(ctx, key).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cv.Get(ctx, key).Result(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
