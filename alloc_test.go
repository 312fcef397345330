package respool_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// TestTypedCommandAllocations holds the typed fast paths to their promise:
// a GET through the Client allocates its reply's string and nothing else,
// and a SET of a string, an INCR, a DEL and an EXISTS allocate nothing
// (the reply of SET is the shared "OK"). The race detector allocates on
// its own, so the test runs only without it (scripts/test.sh runs it so).
// It is an external test: what keeps a *Cmd on the caller's stack must
// hold across packages, as users call it.
func TestTypedCommandAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	srv := respooltest.StartServer(t)
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		t.Run(mode.name, func(t *testing.T) {
			c := respool.NewClient(&respool.Options{Addr: srv.Addr, Exclusive: mode.exclusive})
			defer c.Close()
			ctx := context.Background()
			key, value := "alloc:"+mode.name, "0123456789abcdef"
			counter, hash := key+":n", key+":h"
			checkBytes := func(name string, maxAllocs float64, maxBytes uint64, f func() error) {
				t.Helper()
				checkAllocs(t, name, maxAllocs, f)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for range 100 {
					_ = f()
				}
				runtime.ReadMemStats(&after)
				if n := (after.TotalAlloc - before.TotalAlloc) / 100; n > maxBytes {
					t.Errorf("%s: %d bytes allocated per call, want at most %d", name, n, maxBytes)
				}
			}
			checkAllocs(t, "SET", 0, func() error { return c.Set(ctx, key, "0123456789abcdef", 0).Err() })
			checkAllocs(t, "GET", 1, func() error {
				v, err := c.Get(ctx, key).Result()
				if err == nil && v != value {
					t.Fatalf("GET %s = %q, want %q", key, v, value)
				}
				return err
			})
			checkAllocs(t, "INCR", 0, func() error { return c.Incr(ctx, counter).Err() })
			checkAllocs(t, "EXISTS", 0, func() error { return c.Exists(ctx, key).Err() })
			if err := c.HSet(ctx, hash, "f", value).Err(); err != nil {
				t.Fatal(err)
			}
			// A pipeline of GETs: per command its Cmd and its reply, and
			// a few allocations per batch (the Pipeline itself...). The
			// queue and the request list are recycled, not regrown.
			keys := make([]string, 100)
			for i := range keys {
				keys[i] = key
			}
			checkAllocs(t, "pipeline of 100 GETs", 2*100+5, func() error {
				p := c.Pipeline()
				for _, k := range keys {
					p.Get(ctx, k)
				}
				return p.Exec(ctx)
			})
			// An MGET of 100 keys: per key its boxed name and its reply,
			// and one allocation each for the argument list (built once,
			// at its final size) and the result; the reply's elements are
			// read into a recycled buffer. Bytes are held too: 18.7 KB
			// when the argument list grew by doubling and was copied
			// again and the elements had a slice of their own, 7.8 KB now.
			checkBytes("MGET of 100 keys", 2*100+5, 9000, func() error {
				vals, err := c.MGet(ctx, keys...).Result()
				if err == nil && (len(vals) != len(keys) || vals[99].Val != value) {
					t.Fatalf("MGET returned %d values, the last %+v, want %d times %q", len(vals), vals[len(vals)-1], len(keys), value)
				}
				return err
			})
			checkAllocs(t, "HGET", 1, func() error {
				v, err := c.HGet(ctx, hash, "f").Result()
				if err == nil && v != value {
					t.Fatalf("HGET = %q, want %q", v, value)
				}
				return err
			})
		})
	}
}

// TestClusterTypedCommandAllocations holds the ClusterClient's typed fast
// paths to the Client's promise: the command is routed by its key without
// boxing it, and a GET allocates only its reply's string. Its checks repeat
// TestTypedCommandAllocations's: sharing them through an interface of the
// two clients would hide what is measured, as a method called through an
// interface is not inlined and its *Cmd escapes.
func TestClusterTypedCommandAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	cl := respooltest.StartCluster(t)
	c := respool.NewClusterClient(&respool.ClusterOptions{Addrs: cl.Addrs()})
	defer c.Close()
	ctx := context.Background()
	key, value := "alloc:cluster", "0123456789abcdef"
	counter, hash := "{alloc:cluster}:n", "{alloc:cluster}:h"
	checkAllocs(t, "SET", 0, func() error { return c.Set(ctx, key, "0123456789abcdef", 0).Err() })
	checkAllocs(t, "GET", 1, func() error {
		v, err := c.Get(ctx, key).Result()
		if err == nil && v != value {
			t.Fatalf("GET %s = %q, want %q", key, v, value)
		}
		return err
	})
	checkAllocs(t, "INCR", 0, func() error { return c.Incr(ctx, counter).Err() })
	checkAllocs(t, "EXISTS", 0, func() error { return c.Exists(ctx, key).Err() })
	if err := c.HSet(ctx, hash, "f", value).Err(); err != nil {
		t.Fatal(err)
	}
	checkAllocs(t, "HGET", 1, func() error {
		v, err := c.HGet(ctx, hash, "f").Result()
		if err == nil && v != value {
			t.Fatalf("HGET = %q, want %q", v, value)
		}
		return err
	})
}

// checkAllocs runs f once (it must succeed), then fails the test if a
// call of f allocates more than max times on average.
func checkAllocs(t *testing.T, name string, max float64, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if n := testing.AllocsPerRun(500, func() { _ = f() }); n > max {
		t.Errorf("%s: %.2f allocations per call, want at most %v", name, n, max)
	}
}
