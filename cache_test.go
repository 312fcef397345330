package respool

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newCacheClient returns a Client on the shared server with a client-side
// cache (copt, or defaults) and one tracking connection, so that a miss
// through the cache is a barrier for the invalidations sent before it
// (cacheBarrier); exclusive picks the Client's mode.
func newCacheClient(t *testing.T, exclusive bool, copt *CacheOptions) *Client {
	t.Helper()
	if copt == nil {
		copt = &CacheOptions{}
	}
	return newTestClient(t, &Options{Exclusive: exclusive, MultiplexConns: 1, ClientCache: copt})
}

// cacheBarrier makes a cached read of a key never read before. It goes
// to the server on the cache's tracking connection (the only one, see
// newCacheClient); the server sends an invalidation caused by a write it
// acknowledged before this read arrived ahead of this read's reply, on
// the same connection, and the cache takes it before the reply: once
// cacheBarrier returns, the cache has heard of every write acknowledged
// before it was called. It is how the tests wait for an invalidation
// without sleeping.
func cacheBarrier(t *testing.T, cv *CachedClient) {
	t.Helper()
	key := testKey(t, "barrier:"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := cv.Get(context.Background(), key).Err(); !errors.Is(err, Nil) {
		t.Fatalf("barrier read: %v, want Nil", err)
	}
}

// cacheModes runs f for a Client in each mode, with a cache.
func cacheModes(t *testing.T, copt *CacheOptions, f func(t *testing.T, c *Client)) {
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		t.Run(mode.name, func(t *testing.T) {
			sharedServer(t) // started before the count of descriptors
			leakCheck(t)
			f(t, newCacheClient(t, mode.exclusive, copt))
		})
	}
}

// TestCacheHitAndInvalidation: a second read comes from memory; a write
// through the plain client makes the next read go to the server and
// return the new value.
func TestCacheHitAndInvalidation(t *testing.T) {
	cacheModes(t, nil, func(t *testing.T, c *Client) {
		ctx := context.Background()
		cv := c.Cached(time.Minute)
		key := testKey(t, "k")
		if err := c.Set(ctx, key, "v1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if v, err := cv.Get(ctx, key).Result(); err != nil || v != "v1" {
				t.Fatalf("read %d: %q, %v; want v1", i, v, err)
			}
		}
		st := c.CacheStats()
		if st.Misses != 1 || st.Hits != 2 || st.Entries != 1 || st.Bytes <= 0 {
			t.Fatalf("after three reads: %+v; want 1 miss, 2 hits, 1 entry", st)
		}
		if err := c.Set(ctx, key, "v2", 0).Err(); err != nil {
			t.Fatal(err)
		}
		cacheBarrier(t, cv)
		if v, err := cv.Get(ctx, key).Result(); err != nil || v != "v2" {
			t.Fatalf("after SET v2: %q, %v", v, err)
		}
		st = c.CacheStats()
		if st.Invalidations < 1 {
			t.Fatalf("no invalidation counted: %+v", st)
		}
		// A missing key is cached too, and its creation invalidates it.
		missing := testKey(t, "missing")
		for range 2 {
			if err := cv.Get(ctx, missing).Err(); !errors.Is(err, Nil) {
				t.Fatalf("missing key: %v, want Nil", err)
			}
		}
		if err := c.Set(ctx, missing, "here", 0).Err(); err != nil {
			t.Fatal(err)
		}
		cacheBarrier(t, cv)
		if v, err := cv.Get(ctx, missing).Result(); err != nil || v != "here" {
			t.Fatalf("after the key was created: %q, %v", v, err)
		}
	})
}

// TestCacheTypedReads runs each typed read twice, the second from
// memory, and checks both against the plain client's answer.
func TestCacheTypedReads(t *testing.T) {
	ctx := context.Background()
	c := newCacheClient(t, false, nil)
	cv := c.Cached(0)
	k := func(n string) string { return testKey(t, n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Set(ctx, k("s"), "hello", 0).Err())
	must(c.Set(ctx, k("s2"), "world", 0).Err())
	must(c.HSet(ctx, k("h"), "a", "1", "b", "2").Err())
	must(c.SAdd(ctx, k("set"), "x", "y").Err())
	must(c.RPush(ctx, k("l"), "1", "2", "3").Err())
	must(c.ZAdd(ctx, k("z"), Z{Score: 1, Member: "one"}, Z{Score: 2, Member: "two"}).Err())
	for round := range 2 {
		before := c.CacheStats()
		check := func(what string, got, want any, err error) {
			t.Helper()
			if err != nil || !equalAny(got, want) {
				t.Fatalf("round %d: %s = %v, %v; want %v", round, what, got, err, want)
			}
		}
		v, err := cv.Get(ctx, k("s")).Result()
		check("GET", v, "hello", err)
		mg, err := cv.MGet(ctx, k("s"), k("nope"), k("s2")).Result()
		check("MGET", mg, []Optional[string]{{"hello", true}, {}, {"world", true}}, err)
		hv, err := cv.HGet(ctx, k("h"), "b").Result()
		check("HGET", hv, "2", err)
		ha, err := cv.HGetAll(ctx, k("h")).Result()
		check("HGETALL", ha, map[string]string{"a": "1", "b": "2"}, err)
		hm, err := cv.HMGet(ctx, k("h"), "a", "c").Result()
		check("HMGET", hm, []Optional[string]{{"1", true}, {}}, err)
		sm, err := cv.SMembers(ctx, k("set")).Result()
		if len(sm) == 2 && sm[0] > sm[1] {
			sm[0], sm[1] = sm[1], sm[0]
		}
		check("SMEMBERS", sm, []string{"x", "y"}, err)
		im, err := cv.SIsMember(ctx, k("set"), "y").Result()
		check("SISMEMBER", im, true, err)
		ex, err := cv.Exists(ctx, k("s"), k("nope"), k("h")).Result()
		check("EXISTS", ex, int64(2), err)
		sl, err := cv.StrLen(ctx, k("s")).Result()
		check("STRLEN", sl, int64(5), err)
		lr, err := cv.LRange(ctx, k("l"), 0, -1).Result()
		check("LRANGE", lr, []string{"1", "2", "3"}, err)
		zr, err := cv.ZRange(ctx, k("z"), 0, -1).Result()
		check("ZRANGE", zr, []string{"one", "two"}, err)
		zs, err := cv.ZScore(ctx, k("z"), "two").Result()
		check("ZSCORE", zs, 2.0, err)
		dv, err := cv.Do(ctx, "GETRANGE", k("s"), 1, 3)
		check("Do GETRANGE", dv.Text(), "ell", err)
		after := c.CacheStats()
		if round == 1 && after.Misses != before.Misses {
			t.Fatalf("second round sent %d reads, want none: %+v", after.Misses-before.Misses, after)
		}
	}
	// A server error reply comes back as the error, and is not kept.
	for range 2 {
		if err := cv.Get(ctx, k("h")).Err(); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Fatalf("GET of a hash: %v, want WRONGTYPE", err)
		}
	}
}

// equalAny compares the results of the typed reads.
func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		y := b.([]string)
		return strings.Join(x, "\x00") == strings.Join(y, "\x00") && len(x) == len(y)
	case []Optional[string]:
		y := b.([]Optional[string])
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	case map[string]string:
		y := b.(map[string]string)
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return a == b
}

// TestCacheRefusesWrites: a write, a blocking command, a command whose
// reply changes with time alone and a command without its key first
// are refused before anything is sent.
func TestCacheRefusesWrites(t *testing.T) {
	ctx := context.Background()
	c := newCacheClient(t, false, nil)
	cv := c.Cached(0)
	key := testKey(t, "k")
	for _, args := range [][]any{
		{"SET", key, "v"},
		{"DEL", key},
		{"BLPOP", key, 1},
		{"TTL", key},
		{"SRANDMEMBER", key},
		{"MGET", key, key},
		{"GET"},
		{"NOSUCHCOMMAND", key},
	} {
		if _, err := cv.Do(ctx, args...); err == nil {
			t.Errorf("Do %v: no error", args)
		}
	}
	st := c.CacheStats()
	if st.Misses != 0 || st.Hits != 0 {
		t.Fatalf("refused commands touched the cache: %+v", st)
	}
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("the refused SET was sent: EXISTS = %d, %v", n, err)
	}
	if got := c.Pool().Stats().SharedDials; got != 0 {
		// The tracking connections are dialled through the pool too:
		// none was needed.
		t.Fatalf("%d connections dialled for refused commands", got)
	}
}

// TestCacheNeedsRESP3: with RESP2 every cached read fails with
// ErrCacheNeedsRESP3, while the plain commands work.
func TestCacheNeedsRESP3(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, &Options{Protocol: 2, ClientCache: &CacheOptions{}})
	if err := c.Set(ctx, testKey(t, "k"), "v", 0).Err(); err != nil {
		t.Fatalf("a plain command on a RESP2 client with a cache: %v", err)
	}
	err := c.Cached(0).Get(ctx, testKey(t, "k")).Err()
	if !errors.Is(err, ErrCacheNeedsRESP3) {
		t.Fatalf("cached read over RESP2: %v, want ErrCacheNeedsRESP3", err)
	}
	t.Logf("the error: %v", err)
	// Without Options.ClientCache a view says so.
	plain := newTestClient(t)
	if err := plain.Cached(0).Get(ctx, testKey(t, "k")).Err(); !errors.Is(err, errNoCache) {
		t.Fatalf("view of a client without a cache: %v", err)
	}
}

// TestCacheBroadcast: in Broadcast mode with a prefix, keys under it are
// cached and invalidated; others are read from the server every time.
func TestCacheBroadcast(t *testing.T) {
	ctx := context.Background()
	prefix := testKey(t, "bc:")
	c := newCacheClient(t, false, &CacheOptions{Broadcast: true, Prefixes: []string{prefix}})
	plain := newTestClient(t)
	cv := c.Cached(time.Hour)
	in, out := prefix+"k", testKey(t, "other")
	for _, k := range []string{in, out} {
		if err := plain.Set(ctx, k, "v1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		for _, k := range []string{in, out} {
			if v, err := cv.Get(ctx, k).Result(); err != nil || v != "v1" {
				t.Fatalf("read %s: %q, %v", k, v, err)
			}
		}
	}
	if st := c.CacheStats(); st.Entries != 1 || st.Hits != 1 || st.Misses != 3 {
		t.Fatalf("want the prefixed key alone cached: %+v", st)
	}
	if err := plain.Set(ctx, in, "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A barrier under the prefix: in Broadcast mode a key outside it is
	// not sent on the tracking connection's cached path.
	if err := cv.Get(ctx, prefix+"barrier").Err(); !errors.Is(err, Nil) {
		t.Fatalf("barrier: %v", err)
	}
	if v, err := cv.Get(ctx, in).Result(); err != nil || v != "v2" {
		t.Fatalf("after the write: %q, %v; want v2", v, err)
	}
}

// TestCacheLargeReply: a reply too large for a shard of the cache is
// returned and not kept; the bound holds.
func TestCacheLargeReply(t *testing.T) {
	ctx := context.Background()
	c := newCacheClient(t, false, &CacheOptions{MaxBytes: 64 << 10})
	plain := newTestClient(t)
	key := testKey(t, "big")
	big := strings.Repeat("x", 100<<10)
	if err := plain.Set(ctx, key, big, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if v, err := c.Cached(0).Get(ctx, key).Result(); err != nil || v != big {
			t.Fatalf("read: %d bytes, %v", len(v), err)
		}
	}
	if st := c.CacheStats(); st.Entries != 0 || st.Bytes != 0 || st.Misses != 2 {
		t.Fatalf("a reply over MaxBytes was kept: %+v", st)
	}
}
