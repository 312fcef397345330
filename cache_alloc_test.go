package respool_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// TestCacheHitAllocations holds a cached read's hit to its promise: it
// allocates nothing, the stored string itself being returned, for GET,
// HGET, STRLEN, EXISTS, SISMEMBER and ZSCORE, in both of the Client's
// modes. (A slice or map result is a fresh one the caller owns.) It is an
// external test, as users call it; scripts/test.sh runs it without the
// race detector.
func TestCacheHitAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	srv := respooltest.StartServer(t)
	for _, exclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("exclusive=%v", exclusive), func(t *testing.T) {
			c := respool.NewClient(&respool.Options{Addr: srv.Addr, Exclusive: exclusive,
				ClientCache: &respool.CacheOptions{}})
			t.Cleanup(func() { _ = c.Close() })
			ctx := context.Background()
			key, hash, set, zset := "calloc:s", "calloc:h", "calloc:set", "calloc:z"
			const value = "0123456789abcdef"
			for _, err := range []error{
				c.Set(ctx, key, value, 0).Err(),
				c.HSet(ctx, hash, "f", value).Err(),
				c.SAdd(ctx, set, "m").Err(),
				c.ZAdd(ctx, zset, respool.Z{Score: 1.5, Member: "m"}).Err(),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			cv := c.Cached(time.Hour)
			before := c.CacheStats()
			checkAllocs(t, "GET hit", 0, func() error {
				v, err := cv.Get(ctx, key).Result()
				if err == nil && v != value {
					t.Fatalf("GET = %q", v)
				}
				return err
			})
			checkAllocs(t, "HGET hit", 0, func() error { return cv.HGet(ctx, hash, "f").Err() })
			checkAllocs(t, "STRLEN hit", 0, func() error { return cv.StrLen(ctx, key).Err() })
			checkAllocs(t, "EXISTS hit", 0, func() error { return cv.Exists(ctx, key).Err() })
			checkAllocs(t, "SISMEMBER hit", 0, func() error { return cv.SIsMember(ctx, set, "m").Err() })
			checkAllocs(t, "ZSCORE hit", 0, func() error { return cv.ZScore(ctx, zset, "m").Err() })
			st := c.CacheStats()
			if misses := st.Misses - before.Misses; misses != 6 {
				t.Fatalf("%d misses, want one per command (the rest hits): %+v", misses, st)
			}
		})
	}
}
