package respool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// clusterState is one slot map and the nodes that serve it. It is
// immutable: a reload replaces it whole.
type clusterState struct {
	topo      *cluster.Topology
	shards    []clusterShard
	slots     [cluster.NumSlots]uint16 // 1 + the index in shards; 0: no shard serves it
	primaries []*clusterNode           // of the shards that serve slots
	all       []*clusterNode           // every node not marked failed, primaries first
}

// clusterShard is a primary and its replicas not marked failed.
type clusterShard struct {
	primary  *clusterNode
	replicas []*clusterNode
}

// shardOf returns the shard that serves slot, or nil.
func (s *clusterState) shardOf(slot int) *clusterShard {
	if slot < 0 || slot >= cluster.NumSlots {
		return nil
	}
	if i := s.slots[slot]; i != 0 {
		return &s.shards[i-1]
	}
	return nil
}

// randomPrimary returns any primary.
func (s *clusterState) randomPrimary() *clusterNode {
	return s.primaries[rand.IntN(len(s.primaries))]
}

// pick returns the node a command for slot goes to (slot < 0: keyless).
// readOnly commands may go to replicas when the configuration says so.
func (s *clusterState) pick(cfg *clusterConfig, slot int, readOnly bool) *clusterNode {
	sh := s.shardOf(slot)
	if sh == nil {
		// Keyless, or a slot no shard serves: any primary answers (with
		// MOVED when the map is stale, CLUSTERDOWN when it is not).
		return s.randomPrimary()
	}
	if !readOnly || !cfg.readOnly || len(sh.replicas) == 0 {
		return sh.primary
	}
	switch {
	case cfg.byLatency:
		best := sh.primary
		bestLat := best.latency.Load()
		for _, n := range sh.replicas {
			if lat := n.latency.Load(); lat > 0 && (bestLat == 0 || lat < bestLat) {
				best, bestLat = n, lat
			}
		}
		return best
	case cfg.randomly:
		if i := rand.IntN(len(sh.replicas) + 1); i < len(sh.replicas) {
			return sh.replicas[i]
		}
		return sh.primary
	}
	return sh.replicas[rand.IntN(len(sh.replicas))]
}

// loadState returns the slot map, loading it first if there is none yet.
func (c *ClusterClient) loadState(ctx context.Context) (*clusterState, error) {
	if st := c.state.Load(); st != nil {
		return st, nil
	}
	return c.refresh(ctx, "", true)
}

// requestRefresh asks the background goroutine for a reload of the slot
// map; hint, when not "", is a node to ask first. It never blocks:
// requests made while a reload is pending are merged into it.
func (c *ClusterClient) requestRefresh(hint string) {
	if hint != "" {
		c.hintMu.Lock()
		c.hint = hint
		c.hintMu.Unlock()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *ClusterClient) takeHint() string {
	c.hintMu.Lock()
	defer c.hintMu.Unlock()
	h := c.hint
	c.hint = ""
	return h
}

// refreshLoop reloads the slot map every RefreshInterval and when asked,
// never twice within MinRefreshInterval, until Close.
func (c *ClusterClient) refreshLoop() {
	defer close(c.loopDone)
	var tick <-chan time.Time
	if c.cfg.refresh > 0 {
		t := time.NewTicker(c.cfg.refresh)
		defer t.Stop()
		tick = t.C
	}
	var last time.Time
	for {
		select {
		case <-c.closing:
			return
		case <-tick:
		case <-c.wake:
			if wait := time.Until(last.Add(c.cfg.minRefresh)); !last.IsZero() && wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-c.closing:
					t.Stop()
					return
				case <-t.C:
				}
			}
		}
		last = time.Now()
		if _, err := c.refresh(c.bgCtx, c.takeHint(), false); err == nil && c.cfg.byLatency {
			c.measureLatency(c.bgCtx)
		}
		c.flushRedirects(false)
	}
}

// refresh reloads the slot map and installs it. One reload runs at a
// time; with ifMissing, a caller that waited for another caller's reload
// takes its result (the new map, or its error) instead of asking again.
func (c *ClusterClient) refresh(ctx context.Context, hint string, ifMissing bool) (*clusterState, error) {
	gen := c.refreshGen.Load()
	select {
	case c.refreshSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closing:
		return nil, ErrClosed
	}
	defer func() { <-c.refreshSem }()
	if ifMissing {
		if st := c.state.Load(); st != nil {
			return st, nil
		}
		if c.refreshGen.Load() != gen && c.refreshErr != nil {
			return nil, c.refreshErr
		}
	}
	c.stats.refreshes.Add(1)
	defer c.refreshGen.Add(1)
	topo, err := c.fetchTopology(ctx, hint)
	if err != nil {
		c.stats.refreshErrors.Add(1)
		c.refreshErr = err
		return nil, err
	}
	c.refreshErr = nil
	return c.install(topo)
}

// fetchTopology asks nodes for the slot map, one after another, until one
// answers with a map that covers some slots: hint first, then the known
// nodes in random order, then the seed addresses (whose names are resolved
// again by the dial).
func (c *ClusterClient) fetchTopology(ctx context.Context, hint string) (*cluster.Topology, error) {
	var candidates []string
	seen := make(map[string]bool)
	add := func(addr string) {
		if addr != "" && !seen[addr] {
			seen[addr] = true
			candidates = append(candidates, addr)
		}
	}
	add(hint)
	if st := c.state.Load(); st != nil {
		known := make([]string, len(st.all))
		for i, n := range st.all {
			known[i] = n.addr
		}
		rand.Shuffle(len(known), func(i, j int) { known[i], known[j] = known[j], known[i] })
		for _, a := range known {
			add(a)
		}
	}
	for _, a := range c.cfg.seeds {
		add(a)
	}
	var lastErr error
	for _, addr := range candidates {
		if ctx.Err() != nil {
			break
		}
		topo, err := c.askTopology(ctx, addr)
		if err == nil {
			return topo, nil
		}
		if errors.Is(err, ErrClosed) && c.closed.Load() {
			return nil, ErrClosed
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return nil, fmt.Errorf("respool: cluster: no node gave the slot map (%d asked): %w", len(candidates), lastErr)
}

// askTopology asks the node at addr for the slot map.
func (c *ClusterClient) askTopology(ctx context.Context, addr string) (*cluster.Topology, error) {
	n, err := c.node(addr)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, c.cfg.refreshTimeout)
	defer cancel()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	var topo *cluster.Topology
	if !c.noShards.Load() {
		v, err := n.client.Do(qctx, "CLUSTER", "SHARDS")
		var se *Error
		switch {
		case errors.As(err, &se) && strings.Contains(strings.ToLower(se.Error()), "unknown subcommand"):
			c.noShards.Store(true)
		case err != nil:
			return nil, err
		default:
			if topo, err = cluster.ParseShards(v, host); err != nil {
				return nil, err
			}
		}
	}
	if topo == nil {
		v, err := n.client.Do(qctx, "CLUSTER", "SLOTS")
		if err != nil {
			return nil, err
		}
		if topo, err = cluster.ParseSlots(v, host); err != nil {
			return nil, err
		}
	}
	if topo.Covered() == 0 {
		return nil, fmt.Errorf("respool: cluster: node %s serves no slots in its map", addr)
	}
	return topo, nil
}

// install makes topo the slot map: it creates the Clients of new nodes,
// and closes those of nodes absent from this reload and the one before
// (a node that left the cluster, or a seed known under another name).
func (c *ClusterClient) install(topo *cluster.Topology) (*clusterState, error) {
	c.mu.Lock()
	if c.nodesClosed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.round++
	st := &clusterState{topo: topo}
	seen := func(nd cluster.Node) *clusterNode {
		n, _ := c.nodeLocked(c.nodeAddr(nd))
		n.lastSeen = c.round
		return n
	}
	for i := range topo.Shards {
		sh := &topo.Shards[i]
		p := seen(sh.Primary)
		if len(sh.Ranges) == 0 {
			continue
		}
		cs := clusterShard{primary: p}
		for _, r := range sh.Replicas {
			// A replica reported "loading" may only be one whose offset is
			// still 0 because its shard saw no write yet: it serves reads
			// (a replica really loading answers LOADING, and the read is
			// sent to the primary instead).
			if n := seen(r); r.Health != cluster.HealthFailed {
				cs.replicas = append(cs.replicas, n)
			}
		}
		st.shards = append(st.shards, cs)
		for _, r := range sh.Ranges {
			for s := r.Start; s <= r.End; s++ {
				st.slots[s] = uint16(len(st.shards))
			}
		}
	}
	for _, sh := range st.shards {
		st.primaries = append(st.primaries, sh.primary)
		st.all = append(st.all, sh.primary)
	}
	for _, sh := range st.shards {
		st.all = append(st.all, sh.replicas...)
	}
	var retired []*clusterNode
	for addr, n := range c.nodes {
		if n.lastSeen+1 < c.round {
			retired = append(retired, n)
			delete(c.nodes, addr)
		}
	}
	old := c.state.Load()
	changed := old == nil || !old.topo.Equal(topo)
	if changed {
		c.stats.changes.Add(1)
		c.state.Store(st)
	} else {
		st = old
	}
	c.mu.Unlock()
	if changed {
		var before *cluster.Topology
		if old != nil {
			before = old.topo
		}
		c.logTopology(before, topo)
	}
	for _, n := range retired {
		_ = n.client.Close()
	}
	return st, nil
}

// nodeAddr is the address a node is dialled at: its TLS port when the
// client uses TLS and the cluster reports one.
func (c *ClusterClient) nodeAddr(n cluster.Node) string {
	if c.cfg.node.TLSConfig != nil && n.TLSAddr != "" {
		return n.TLSAddr
	}
	return n.Addr
}

// measureLatency times a PING to every usable node, for RouteByLatency.
func (c *ClusterClient) measureLatency(ctx context.Context) {
	st := c.state.Load()
	if st == nil {
		return
	}
	var wg sync.WaitGroup
	for _, n := range st.all {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, c.cfg.refreshTimeout)
			defer cancel()
			start := time.Now()
			if _, err := n.client.Do(pctx, "PING"); err == nil {
				n.latency.Store(max(int64(time.Since(start)), 1))
			}
		})
	}
	wg.Wait()
}
