package respool

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// testCacheStaleness is TestCacheStaleness on the cluster: 8 readers
// through a cached view of a ClusterClient, 4 writers through a plain
// one, 1,000 keys spread over the slots, and, halfway, 500 slots moved
// from one primary to another (redis-cli --cluster reshard). No cached
// read that begins 5ms after a write was acknowledged returns the value
// before it.
func (env *clusterEnv) testCacheStaleness(t *testing.T) {
	env.cl.WaitHealthy(t)
	d := cacheSoakDuration(t)
	c := env.newClient(t, func(o *ClusterOptions) { o.ClientCache = &CacheOptions{} })
	plain := env.newClient(t, nil)
	keys := spreadKeys(t, 1000)
	cv := c.Cached(time.Minute)
	read := func(ctx context.Context, key string) (string, error) { return cv.Get(ctx, key).Result() }
	write := func(ctx context.Context, key, value string) error { return plain.Set(ctx, key, value, 0).Err() }
	first := env.cl.Addrs()[0]
	src := env.primaryOf(t, first, cluster.Slot(keys[0]))
	var dst string
	for _, p := range env.cl.Primaries(t) {
		if p.Addr != src {
			dst = p.Addr
			break
		}
	}
	reshard := func() {
		out := env.server(t, src).CLI(t, "--cluster", "reshard", src,
			"--cluster-from", env.nodeID(t, src), "--cluster-to", env.nodeID(t, dst),
			"--cluster-slots", "500", "--cluster-yes")
		if strings.Contains(out, "ERR") {
			t.Errorf("reshard: %s", out)
		}
	}
	stale, total := staleness(t, read, 8, write, keys, 4, d, reshard)
	st := c.CacheStats()
	cs := c.Stats()
	t.Logf("%v with 500 slots moved from %s to %s: %d cached reads, %d stale; hits %d, misses %d (hit ratio %.1f%%), invalidations %d; MOVED %d, ASK %d",
		d, src, dst, total, stale, st.Hits, st.Misses,
		100*float64(st.Hits)/float64(max(st.Hits+st.Misses, 1)), st.Invalidations, cs.Moved, cs.Ask)
	if stale != 0 {
		t.Fatalf("%d stale reads of %d", stale, total)
	}
	if cs.Moved == 0 {
		t.Fatalf("no MOVED followed: did the slots move? %+v", cs)
	}
}

// testCacheReads: a cached view of a ClusterClient reads keys of every
// primary, MGET and EXISTS split by node, and answers the second round
// from memory.
func (env *clusterEnv) testCacheReads(t *testing.T) {
	ctx := context.Background()
	c := env.newClient(t, func(o *ClusterOptions) { o.ClientCache = &CacheOptions{} })
	keys := spreadKeys(t, 30)
	for _, k := range keys {
		if err := c.Set(ctx, k, "v:"+k, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cv := c.Cached(time.Minute)
	for round := range 2 {
		before := c.CacheStats()
		vals, err := cv.MGet(ctx, keys...).Result()
		if err != nil || len(vals) != len(keys) {
			t.Fatalf("round %d: MGET: %d values, %v", round, len(vals), err)
		}
		for i, v := range vals {
			if !v.OK || v.Val != "v:"+keys[i] {
				t.Fatalf("round %d: MGET %s = %+v", round, keys[i], v)
			}
		}
		if n, err := cv.Exists(ctx, keys...).Result(); err != nil || n != int64(len(keys)) {
			t.Fatalf("round %d: EXISTS = %d, %v", round, n, err)
		}
		if v, err := cv.Do(ctx, "STRLEN", keys[0]); err != nil || v.Len() != 0 {
			if n, _ := v.Int(); err != nil || n != int64(len("v:"+keys[0])) {
				t.Fatalf("round %d: STRLEN = %v, %v", round, v, err)
			}
		}
		if after := c.CacheStats(); round == 1 && after.Misses != before.Misses {
			t.Fatalf("second round: %d misses, want none", after.Misses-before.Misses)
		}
	}
	if st := c.CacheStats(); st.Entries < int64(2*len(keys)) {
		t.Fatalf("entries %d, want at least %d (GET and EXISTS of each key)", st.Entries, 2*len(keys))
	}
}
