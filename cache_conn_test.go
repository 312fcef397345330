package respool

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// newServerCacheClient returns a Client with a cache (named
// "cache-test", one tracking connection) and a plain Client, both on srv.
func newServerCacheClient(t *testing.T, srv *respooltest.Server, exclusive bool) (cached, plain *Client) {
	t.Helper()
	cached = NewClient(&Options{Addr: srv.Addr, Exclusive: exclusive, MultiplexConns: 1,
		ClientName: "cache-test", ClientCache: &CacheOptions{}})
	plain = NewClient(&Options{Addr: srv.Addr})
	t.Cleanup(func() {
		_ = cached.Close()
		_ = plain.Close()
	})
	return cached, plain
}

// trackingConnID returns the CLIENT ID of the one connection named
// "cache-test" with tracking on.
func trackingConnID(t *testing.T, plain *Client) string {
	t.Helper()
	list, err := plain.Do(context.Background(), "CLIENT", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(list.Text(), "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok {
				fields[k] = v
			}
		}
		if fields["name"] == "cache-test" && strings.Contains(fields["flags"], "t") {
			ids = append(ids, fields["id"])
		}
	}
	if len(ids) != 1 {
		t.Fatalf("tracking connections named cache-test: %v, want one\n%s", ids, list.Text())
	}
	return ids[0]
}

// TestCacheConnectionKilled: when the tracking connection is killed, its
// entries go with it; a key changed while no tracking connection was
// open is read anew.
func TestCacheConnectionKilled(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		t.Run(map[bool]string{false: "multiplexed", true: "exclusive"}[exclusive], func(t *testing.T) {
			srv := respooltest.StartServer(t)
			leakCheck(t)
			ctx := context.Background()
			c, plain := newServerCacheClient(t, srv, exclusive)
			cv := c.Cached(time.Hour)
			if err := plain.Set(ctx, "k", "before", 0).Err(); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if v, err := cv.Get(ctx, "k").Result(); err != nil || v != "before" {
					t.Fatalf("read: %q, %v", v, err)
				}
			}
			if _, err := plain.Do(ctx, "CLIENT", "KILL", "ID", trackingConnID(t, plain)); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "the cache saw its tracking connection end", func() bool { return c.CacheStats().ConnsLost == 1 })
			if st := c.CacheStats(); st.Entries != 0 || st.Bytes != 0 {
				t.Fatalf("entries left after the tracking connection ended: %+v", st)
			}
			if err := plain.Set(ctx, "k", "after", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := cv.Get(ctx, "k").Result(); err != nil || v != "after" {
				t.Fatalf("read after the kill and a change: %q, %v; want after", v, err)
			}
			// The new tracking connection tracks: a change is seen.
			if err := plain.Set(ctx, "k", "again", 0).Err(); err != nil {
				t.Fatal(err)
			}
			cacheBarrier(t, cv)
			if v, err := cv.Get(ctx, "k").Result(); err != nil || v != "again" {
				t.Fatalf("read on the new tracking connection: %q, %v; want again", v, err)
			}
		})
	}
}

// TestCacheServerRestart: a restart ends the tracking connection, and the
// cache is empty afterwards.
func TestCacheServerRestart(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := context.Background()
	c, plain := newServerCacheClient(t, srv, false)
	cv := c.Cached(time.Hour)
	if err := plain.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := cv.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("read: %q, %v", v, err)
	}
	srv.Restart(t)
	waitUntil(t, "the cache saw its tracking connection end", func() bool { return c.CacheStats().ConnsLost >= 1 })
	if st := c.CacheStats(); st.Entries != 0 {
		t.Fatalf("entries left after the restart: %+v", st)
	}
	// The restarted server has no data: the read says so.
	if err := cv.Get(ctx, "k").Err(); !errors.Is(err, Nil) {
		t.Fatalf("read after the restart: %v, want Nil", err)
	}
}

// TestCacheFlushAll: FLUSHALL (a null invalidation) empties the cache.
func TestCacheFlushAll(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := context.Background()
	c, plain := newServerCacheClient(t, srv, false)
	cv := c.Cached(time.Hour)
	keys := []string{"a", "b", "c"}
	for _, k := range keys {
		if err := plain.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := cv.Get(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.CacheStats(); st.Entries != 3 {
		t.Fatalf("entries: %+v, want 3", st)
	}
	if _, err := plain.Do(ctx, "FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	cacheBarrier(t, cv)
	// The barrier's read may or may not be kept (it was sent before the
	// cache took the invalidation of everything, which moves the
	// connection's epoch): none of the three is.
	if st := c.CacheStats(); st.Entries > 1 || st.Invalidations < 3 {
		t.Fatalf("after FLUSHALL: %+v, want the three entries dropped", st)
	}
	for _, k := range keys {
		if err := cv.Get(ctx, k).Err(); !errors.Is(err, Nil) {
			t.Fatalf("read of %s after FLUSHALL: %v, want Nil", k, err)
		}
	}
}

// TestCacheKeyExpiry: an entry lives no longer than its key's own time to
// live, read with it (the clock is the test's: the server's key has not
// expired, the entry has); and a key that expires on the server is gone
// from the cache.
func TestCacheKeyExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	c := newTestClient(t, &Options{MultiplexConns: 1, ClientCache: &CacheOptions{MaxTTL: time.Hour}})
	c.cache.now, c.cache.epoch = clock.Now, clock.Now()
	plain := newTestClient(t)
	key, forever := testKey(t, "k"), testKey(t, "forever")
	if err := plain.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := plain.Set(ctx, forever, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cv := c.Cached(10 * time.Minute)
	read := func(k string) {
		t.Helper()
		if v, err := cv.Get(ctx, k).Result(); err != nil || v != "v" {
			t.Fatalf("read %s: %q, %v", k, v, err)
		}
	}
	misses := func() uint64 { return c.CacheStats().Misses }
	read(key)
	read(forever)
	m := misses()
	clock.Advance(59 * time.Second)
	read(key)
	read(forever)
	if misses() != m {
		t.Fatalf("entries ended before their time")
	}
	clock.Advance(2 * time.Second) // past the key's minute
	read(key)
	if misses() != m+1 {
		t.Fatalf("the entry outlived its key's PTTL")
	}
	read(forever)
	if misses() != m+1 {
		t.Fatalf("an entry of a key without expiry ended early")
	}
	clock.Advance(10 * time.Minute) // past the view's ttl
	read(forever)
	if misses() != m+2 {
		t.Fatalf("the entry outlived the view's ttl")
	}

	// A key the server expires (in real time) reads as missing.
	short := testKey(t, "short")
	if err := plain.Set(ctx, short, "v", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	realTime := newTestClient(t, &Options{MultiplexConns: 1, ClientCache: &CacheOptions{}})
	rv := realTime.Cached(time.Hour)
	if v, err := rv.Get(ctx, short).Result(); err != nil || v != "v" {
		t.Fatalf("read: %q, %v", v, err)
	}
	waitUntil(t, "the expired key read as missing", func() bool { return errors.Is(rv.Get(ctx, short).Err(), Nil) })
}
