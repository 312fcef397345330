package respool

import (
	"context"
	"iter"
	"net"

	"github.com/respool/respool/internal/cluster"
)

// ScanAll iterates over the keys of the whole cluster: it scans every
// primary in turn with SCAN (the primaries of the slot map when the
// iteration starts), as Client.ScanAll does for one server. The
// guarantees of SCAN hold per node; a failover during the scan may end it
// with an error. ctx applies to each page.
func (c *ClusterClient) ScanAll(ctx context.Context, args ScanArgs) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		st, err := c.loadState(ctx)
		if err != nil {
			yield("", err)
			return
		}
		for _, n := range st.primaries {
			for key, err := range n.client.ScanAll(ctx, args) {
				if !yield(key, err) || err != nil {
					return
				}
			}
		}
	}
}

// HScanAll iterates over the fields and values of the hash at key, as
// Client.HScanAll does, on the node of key's slot.
func (c *ClusterClient) HScanAll(ctx context.Context, key string, args ScanArgs) iter.Seq2[Pair[string, string], error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[Pair[string, string]]] {
		return c.HScan(ctx, key, cursor, args.Match, args.Count)
	})
}

// SScanAll iterates over the members of the set at key, as
// Client.SScanAll does.
func (c *ClusterClient) SScanAll(ctx context.Context, key string, args ScanArgs) iter.Seq2[string, error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[string]] {
		return c.SScan(ctx, key, cursor, args.Match, args.Count)
	})
}

// ZScanAll iterates over the members and scores of the sorted set at
// key, as Client.ZScanAll does.
func (c *ClusterClient) ZScanAll(ctx context.Context, key string, args ScanArgs) iter.Seq2[Z, error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[Z]] {
		return c.ZScan(ctx, key, cursor, args.Match, args.Count)
	})
}

// SSubscribe returns a PubSub subscribed to shard channels (SSUBSCRIBE),
// on a connection of its own to the primary that serves their slot; all
// channels must hash to one slot (the server refuses the subscription
// otherwise). The PubSub behaves as Client.SSubscribe's: it reconnects
// after a failure, and each new connection goes to the primary that
// serves the slot at that time, so the subscription follows a failover.
// Close the PubSub when done; closing the ClusterClient does not close
// it, but it can no longer reconnect.
func (c *ClusterClient) SSubscribe(ctx context.Context, channels ...string) *PubSub {
	slot := -1
	if len(channels) > 0 {
		slot = cluster.Slot(channels[0])
	}
	opt := c.cfg.node.withDefaults()
	opt.MaxRetries = c.cfg.retry.MaxRetries
	opt.creds = c.cfg.retry.creds // rotated by RotateCredentials
	if st := c.state.Load(); st != nil {
		opt.Addr = st.pick(c.cfg, slot, false).addr
	} else {
		opt.Addr = c.cfg.seeds[0]
	}
	inner := *opt
	opt.Dialer = func(dctx context.Context, network, _ string) (net.Conn, error) {
		if c.closed.Load() {
			return nil, ErrClosed
		}
		st, err := c.loadState(dctx)
		if err != nil {
			return nil, err
		}
		o := inner
		o.Network, o.Addr = network, st.pick(c.cfg, slot, false).addr
		nc, err := dialNet(dctx, &o)
		if err != nil {
			c.connFailed(dctx, err)
		}
		return nc, err
	}
	opt.TLSConfig = nil // dialNet above does TLS, per node
	ps := newPubSub(opt)
	if c.closed.Load() {
		_ = ps.Close()
		return ps
	}
	_ = ps.subscribe(ctx, subShard, channels)
	return ps
}
