package respool

import (
	"context"
	"time"

	"github.com/respool/respool/internal/cluster"
	"github.com/respool/respool/resp"
)

// Client-side caching on a ClusterClient. Each node's Client has a cache
// of its own (ClusterOptions.ClientCache reaches every node's Options),
// whose tracking connections track the keys read on that node. A cached
// read goes to the cache of the primary serving its key's slot; a MOVED
// reply drops the key from the cache that sent the read and follows the
// redirection. When a slot moves, its keys are deleted from the old
// primary (MIGRATE), which sends their invalidations to its own tracking
// connections; a failed primary takes its entries along when its
// tracking connections end.

// Cached returns a view of c whose reads use the client-side caches of
// its nodes and keep what they read for at most ttl (<= 0:
// CacheOptions.MaxTTL). It needs ClusterOptions.ClientCache. Reads go to
// the primaries: MGET and EXISTS of keys in several slots are split by
// node, each key being cached on its own.
func (c *ClusterClient) Cached(ttl time.Duration) *CachedClient {
	return &CachedClient{src: c, ttl: ttl}
}

// CacheStats adds up the counters of the client-side caches of the
// nodes' Clients open now.
func (c *ClusterClient) CacheStats() CacheStats {
	c.mu.Lock()
	clients := make([]*Client, 0, len(c.nodes))
	for _, n := range c.nodes {
		clients = append(clients, n.client)
	}
	c.mu.Unlock()
	var sum CacheStats
	for _, cl := range clients {
		st := cl.CacheStats()
		sum.Hits += st.Hits
		sum.Misses += st.Misses
		sum.Invalidations += st.Invalidations
		sum.Evictions += st.Evictions
		sum.Entries += st.Entries
		sum.Bytes += st.Bytes
		sum.ConnsLost += st.ConnsLost
	}
	return sum
}

// cacheFor returns the cache of the primary serving key's slot.
func (c *ClusterClient) cacheFor(ctx context.Context, key string) (*clientCache, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	st, err := c.loadState(ctx)
	if err != nil {
		return nil, err
	}
	return st.pick(c.cfg, cluster.Slot(key), false).client.cacheFor(ctx, key)
}

// redirected follows a MOVED (dropping key from the cache that read it),
// an ASK (reading the key uncached, with ASKING, through c) or a refusal
// to wait out (TRYAGAIN, CLUSTERDOWN...), within MaxRedirects, and
// returns the reply the caller gets.
func (c *ClusterClient) redirected(ctx context.Context, from *clientCache, ttl time.Duration, key string, sig []string, v resp.Value) (resp.Value, error) {
	b := clusterBudget{c: c}
	for v.IsError() {
		f := classify(NewError(v.Text()), from.copt.Addr)
		var err error
		switch f.fault {
		case faultMoved:
			from.store.invalidate(key)
			if !b.redirect(f.fault, f.addr) {
				return v, nil
			}
			var n *clusterNode
			if n, err = c.node(f.addr); err == nil {
				from, err = n.client.cacheFor(ctx, key)
			}
		case faultAsk:
			if !b.redirect(f.fault, f.addr) {
				return v, nil
			}
			argv := make([]any, 0, len(sig)+1)
			argv = append(argv, sig[0], key)
			for _, a := range sig[1:] {
				argv = append(argv, a)
			}
			return c.Do(ctx, argv...)
		case faultBusy:
			if !b.busy(ctx, f.prefix) {
				return v, nil
			}
			from, err = c.cacheFor(ctx, key)
		default:
			return v, nil
		}
		if err != nil {
			return resp.Value{}, err
		}
		if v, err = from.read(ctx, ttl, key, sig); err != nil {
			return v, err
		}
	}
	return v, nil
}
