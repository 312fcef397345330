package respool

import (
	"context"
	"errors"
	"io"
)

// Eager constructors. NewClient, NewClusterClient and NewFailoverClient
// return at once and open no connection: a wrong address, password or
// database, or a server that cannot carry a client-side cache, shows up
// with the first command. Connect, ConnectCluster and ConnectFailover
// build the same clients and then prove, within a context, that they can
// work, so that a service finds a bad configuration when it starts.

// Connect returns a Client built from opt, as NewClient builds it, once
// the Client has shown it can work:
//
//   - one connection of its Pool is dialled, its handshake (HELLO or AUTH,
//     CLIENT SETNAME, SELECT) succeeds and the server answers a PING; the
//     connection then goes back to the Pool, idle, for the first command;
//   - with Options.ClientCache, one tracking connection of the cache is
//     opened and CLIENT TRACKING turned on. A cache that cannot work fails
//     Connect with an error that is ErrCacheNeedsRESP3 and says why:
//     Options.Protocol is 2 (found before anything is dialled), or the
//     server speaks RESP2 only (it does not know HELLO).
//
// The reply to the PING is not checked, except for NOAUTH, the server's
// way of saying it wants a password that the options do not give (on
// RESP2 with no password the handshake sends nothing): that fails Connect
// with an *AuthError. Any other error reply (LOADING, a NOPERM for a user
// not allowed PING) means the server is there and answering, and the
// Client's commands deal with it as usual.
//
// ctx bounds the whole check, together with Options.DialTimeout for each
// dial; it is not retried (Options.MaxRetries applies to commands). The
// Client does not keep ctx: ending it after Connect returned changes
// nothing.
//
// On failure Connect closes the Client, and every connection it opened,
// before it returns nil and the error, which names the server: a
// *ConnError (a dial, a handshake or the PING that failed;
// errors.Is(err, ctx.Err()) when ctx ended), an *AuthError, an error that
// is ErrCacheNeedsRESP3, or the server's refusal of CLIENT TRACKING (an
// *Error, wrapped). On success the caller must Close the Client.
// NewClient stays as it is, lazy: the first command finds what Connect
// would have found.
func Connect(ctx context.Context, opt *Options) (*Client, error) {
	c := NewClient(opt)
	return checked(c, c.check(ctx))
}

// ConnectCluster returns a ClusterClient built from opt, as
// NewClusterClient builds it, once the slot map is loaded and every
// primary that serves slots has passed Connect's check: a connection of
// its Client dialled, with its handshake and a PING, and, with
// ClusterOptions.ClientCache, a tracking connection opened (on RESP2 the
// error is ErrCacheNeedsRESP3). The primaries are checked in parallel and
// every failure is returned, joined. Replicas are not checked: commands
// go to them only with ClusterOptions.ReadOnly or a routing option, and
// a replica that fails then is passed over.
//
// ctx bounds the whole check, and the load of the slot map asks the
// nodes one after another within it. On failure ConnectCluster closes the
// ClusterClient (its background reloads and every node's connections)
// before it returns nil and the error. On success the caller must Close
// the ClusterClient. NewClusterClient stays lazy.
func ConnectCluster(ctx context.Context, opt *ClusterOptions) (*ClusterClient, error) {
	c := NewClusterClient(opt)
	return checked(c, c.check(ctx))
}

// ConnectFailover returns a FailoverClient built from opt, as
// NewFailoverClient builds it, once the sentinels have named the primary
// (a replica, with FailoverOptions.ReplicaOnly) and its Client has passed
// Connect's check there: a connection dialled, confirmed with ROLE in its
// handshake, answering a PING, and, with a ClientCache, a tracking
// connection opened. No sentinel answering, or none knowing MasterName,
// is a *SentinelError. With RouteRandomly the replicas are not checked:
// reads go to the primary when no replica can take them.
//
// ctx bounds the whole check. On failure ConnectFailover closes the
// FailoverClient (its sentinel watchers and every connection) before it
// returns nil and the error. On success the caller must Close the
// FailoverClient. NewFailoverClient stays lazy.
func ConnectFailover(ctx context.Context, opt *FailoverOptions) (*FailoverClient, error) {
	fc := NewFailoverClient(opt)
	return checked(fc, fc.Client.check(ctx))
}

// checked returns c when its check passed (err is nil); otherwise it
// closes c and returns no client and err.
func checked[C io.Closer](c C, err error) (C, error) {
	if err != nil {
		_ = c.Close()
		var none C
		return none, err
	}
	return c, nil
}

// check is Connect's proof that c can work: a cache that can never work
// is refused first, without dialling; then a connection of the Pool,
// with a PING, goes back idle; then the cache opens a tracking connection,
// which stays open for the cached reads.
func (c *Client) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &ConnError{Op: "dial", Addr: c.opt.Addr, Outcome: OutcomeNotSent, Err: err}
	}
	if c.cache != nil {
		if p := c.cache.refused.Load(); p != nil {
			return *p
		}
	}
	// Waits for a free slot even with PoolFailFast: a MinIdleConns filler
	// may hold them all for a moment.
	cn, err := c.pool.get(ctx, false)
	if err != nil {
		return err
	}
	addr := cn.Addr()
	_, err = cn.Do(ctx, "PING")
	c.pool.Put(cn)
	var se *Error
	switch {
	case !errors.As(err, &se):
	case se.Prefix() == "NOAUTH":
		err = &AuthError{Addr: addr, Err: se}
	default:
		err = nil // the server answered
	}
	if err != nil || c.cache == nil {
		return err
	}
	_, err = c.cache.mx.conn(ctx)
	return err
}

// check is ConnectCluster's proof that c can work: the slot map, then
// Client.check on every primary that serves slots.
func (c *ClusterClient) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := c.loadState(ctx)
	if err != nil {
		return err
	}
	return forEachNode(ctx, st.primaries, func(ctx context.Context, n *Client) error { return n.check(ctx) })
}
