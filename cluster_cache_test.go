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
	reads := make([]func(context.Context, string) (string, error), 8)
	for i := range reads {
		reads[i] = read
	}
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
	stale, total := staleness(t, reads, write, keys, 4, d, reshard)
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
