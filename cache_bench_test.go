package respool

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
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

// BenchmarkCachedGetMiss measures cached GETs of keys never read before
// (every call a miss: a GET and a PTTL on a tracking connection, and a
// new key in the server's tracking table) beside the uncached GET of the
// same kind of keys, with 1 and 16 goroutines.
func BenchmarkCachedGetMiss(b *testing.B) {
	ctx := context.Background()
	for _, g := range []int{1, 16} {
		for _, cached := range []bool{false, true} {
			name := fmt.Sprintf("g%d/uncached", g)
			if cached {
				name = fmt.Sprintf("g%d/cached", g)
			}
			b.Run(name, func(b *testing.B) {
				c := newTestClient(b, &Options{ClientCache: &CacheOptions{}})
				cv := c.Cached(time.Hour)
				var seq atomic.Uint64
				prefix := testKey(b, "cold") + ":"
				// getCold reads a key never read before.
				getCold := func(buf []byte) {
					key := string(strconv.AppendUint(buf[:len(prefix)], seq.Add(1), 10))
					var err error
					if cached {
						err = cv.Get(ctx, key).Err()
					} else {
						err = c.Get(ctx, key).Err()
					}
					if err != Nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				if g == 1 {
					buf := []byte(prefix)
					for i := 0; i < b.N; i++ {
						getCold(buf)
					}
					return
				}
				b.SetParallelism(g / 2)
				b.RunParallel(func(pb *testing.PB) {
					buf := []byte(prefix)
					for pb.Next() {
						getCold(buf)
					}
				})
			})
		}
	}
}
