package respool

import (
	"context"
	"errors"
	"sync/atomic"
)

// Client is a Redis client for one server (redis-py's Redis). It is safe
// for concurrent use by many goroutines.
//
// By default a Client multiplexes: commands that neither block nor touch
// session state, sent by several goroutines at once, share
// Options.MultiplexConns connections, written together and answered in
// order. While at most 4 such commands (or pipelines) are in flight, each
// borrows a connection from the Client's Pool instead, as every blocking
// command, transaction, Watch and session command does, and gives it back
// once its replies are read; when the Pool has none free it shares. With
// Options.Exclusive every command borrows a pooled connection.
// Either way a caller gets the reply to its own command or an error.
//
// Typed methods (Get, Set, HSet, ZAdd...) return a *Cmd whose Result, Val
// and Err give the reply; Do runs any command. A command's context bounds
// the whole call: waiting for a connection, retries, writing and reading
// (together with Options.ReadTimeout and WriteTimeout, whichever ends
// first). Cancelling it interrupts a blocked read at once. The late reply
// is never given to anyone: a connection whose caller stopped waiting
// between two replies is drained (its owed replies read and dropped within
// Options.DrainTimeout) before it is used again, and closed when that
// cannot be done safely or in time.
//
// Retries (Options.MaxRetries, default 3, with exponential backoff and
// jitter, inside the context's deadline, one budget per call) happen only
// when repeating is safe: the command provably never left the client (a
// failed dial, a connection found dead before anything was written), the
// server refused it without running it (LOADING, TRYAGAIN, MASTERDOWN,
// CLUSTERDOWN), or it is read-only by the server's own command table and
// not blocking. A write whose outcome is unknown is never sent twice:
// its error says so (OutcomeOf(err) == OutcomeUnknown).
//
// A []byte argument is written from the caller's slice: do not modify it
// while the call runs. A multiplexed command whose context ended is not
// sent when it was still queued, but one already being written finishes
// on the wire after the call returned, so a caller that reuses the slice
// after such a cancellation should pass a copy.
type Client struct {
	cmdable
	front
	opt      *Options
	pool     *Pool
	mux      *muxer       // nil when Options.Exclusive
	active   atomic.Int64 // multiplexable commands in progress, counted unless the muxer is crowded
	ownsPool bool
	closed   atomic.Bool

	// alwaysShare makes every command that may share a connection take the
	// shared path, even alone: tests of the shared path set it (before the
	// first command) to be sure they run there.
	alwaysShare bool

	// gate, set by a FailoverClient before the first command, stands in
	// front of the run path; nil for every other Client.
	gate jobGate

	// cache is the client-side cache (Options.ClientCache) with its own
	// tracking connections; nil without one.
	cache *clientCache
}

// jobGate stands in front of a Client's run path when the Client follows
// a Sentinel-managed primary (FailoverClient): it holds writes while a
// failover is under way, sends reads to replicas when asked to, and runs
// again a write that a demoted primary refused.
type jobGate interface {
	// execute runs j for c, calling c.runJob for each attempt.
	execute(ctx context.Context, c *Client, j job) error
	// pinned is asked before j runs on cn, a connection a Watch holds:
	// it may wait (a write during a failover), and it fails the job when
	// cn leads to a server the client no longer uses.
	pinned(ctx context.Context, cn *Conn, j *job) error
}

// NewClient returns a Client with a Pool of its own built from opt (nil
// means all defaults; see Options for each default). No connection is
// opened until the first command (Connect checks the server answers
// first). Close closes the Pool.
func NewClient(opt *Options) *Client {
	p := NewPool(opt)
	c := newClient(p)
	c.ownsPool = true
	return c
}

// NewClientFromPool returns a Client that borrows connections from p,
// which several Clients may share. Closing this Client does not close p;
// the caller closes p after its last Client.
func NewClientFromPool(p *Pool) *Client {
	return newClient(p)
}

func newClient(p *Pool) *Client {
	c := &Client{opt: p.opt, pool: p}
	if !p.opt.Exclusive {
		c.mux = newMuxer(p)
	}
	if p.opt.ClientCache != nil {
		c.cache = newClientCache(p)
	}
	c.front.init(c.runCmd, c.runPipeline)
	c.cmdable = c.processCmd
	return c
}

// Pool returns the Pool the Client borrows connections from.
func (c *Client) Pool() *Pool { return c.pool }

// Options returns a copy of the Client's effective options (defaults
// applied).
func (c *Client) Options() Options { return *c.opt }

// Close closes the Client's own Pool (not a Pool given to
// NewClientFromPool). Commands issued after Close fail with ErrClosed.
// It is idempotent.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if c.mux != nil {
		c.mux.close()
	}
	if c.cache != nil {
		c.cache.close()
	}
	if c.ownsPool {
		return c.pool.Close()
	}
	return nil
}

// runCmd runs one command: the Client's runner under the hooks.
func (c *Client) runCmd(ctx context.Context, cmd Cmder) error {
	return c.execute(ctx, job{cmd: cmd})
}

// execute is the Client's one run path, for single commands and batches
// alike: the gate, when the Client has one, then runJob.
func (c *Client) execute(ctx context.Context, j job) error {
	if c.gate != nil {
		return c.gate.execute(ctx, c, j)
	}
	return c.runJob(ctx, j)
}

// ownConnsUpTo is how many shareable jobs may run at once on connections
// of their own (when the Pool has them free) before the next one shares.
// A shared connection has one batch on the wire at a time, so with a few
// callers most of them wait out a whole round trip before theirs is
// written; on connections of their own none waits. With more callers the
// shared connections win: their batches cost the server far less per
// command, and it becomes the limit. Side by side on 2 cores, GET at 4
// goroutines ran twice as fast with this limit as with 1, and a limit of 8
// made GET at 16 goroutines a fifth slower (BENCHMARKS.md, Notes).
const ownConnsUpTo = 4

// runJob chooses between a shared connection and one of the pool's, runs
// the job there and decides whether a failure is retried.
//
// A job that may share a connection goes to the multiplexer, unless at
// most ownConnsUpTo such jobs are in flight, counting itself: then it
// takes a connection of its own, which saves the hand-off to the shared
// connection's reader goroutine and the wait behind a batch already on
// the wire, unless the pool has none free (then it shares after all).
// Under load (the muxer is crowded) the count is skipped: it costs every
// command a contended atomic and would only say "too many". Jobs that
// skip it are not counted, so for a moment after the load falls a job may
// take a connection of its own while more are in flight: a choice of
// path, never of outcome.
//
// A batch is counted before it is asked whether it may share, and one
// that may not is counted too while it runs: again a choice of path.
func (c *Client) runJob(ctx context.Context, j job) error {
	if c.closed.Load() {
		j.fail(ErrClosed)
		return ErrClosed
	}
	// lazy: a batch not yet asked whether it may share. The question
	// looks every command up in the command table, and a batch alone
	// takes a pooled connection whatever the answer.
	lazy := c.mux != nil && j.cmd == nil && !c.alwaysShare
	var shared bool
	if f, ok := j.cmd.(*fastReq); ok {
		shared = c.mux != nil && fastShared[f.op] // job.shareable's answer, without the call
	} else {
		shared = c.mux != nil && !lazy && j.shareable()
	}
	alone, large, counted := false, false, false
	if shared || lazy {
		switch {
		case c.alwaysShare:
		case c.mux.large.on.Load():
			// Replies are large: every job that may share takes a
			// connection of its own while the Pool has one free
			// (mux_large.go).
			if lazy {
				shared, lazy = j.shareable(), false
			}
			alone, large = shared, shared
		case !c.mux.crowded.Load():
			if c.active.Add(1) <= ownConnsUpTo {
				alone = true
			}
			counted = true
		}
	}
	if lazy && !alone {
		shared, lazy = j.shareable(), false
	}
	var r retrier
	for {
		if alone {
			cn, err := c.pool.get(ctx, true)
			switch {
			case errors.Is(err, ErrPoolExhausted):
				alone = false
				if lazy {
					shared, lazy = j.shareable(), false
				}
			case err != nil:
				j.fail(err)
			default:
				start := cn.r.Offset()
				j.runOn(ctx, cn)
				if large {
					c.mux.large.noteOwn(cn.r.Offset()-start, j.replies())
				}
				c.pool.Put(cn)
			}
		}
		switch {
		case alone:
		case shared:
			j.runShared(ctx, c.mux)
		default:
			if cn, err := c.pool.Get(ctx); err != nil {
				j.fail(err)
			} else {
				j.runOn(ctx, cn)
				c.pool.Put(cn)
			}
		}
		err := j.err()
		if err == nil || !j.retryable(err) || !r.wait(ctx, c.opt) {
			if counted {
				c.active.Add(-1) // not deferred: a defer costs every command
			}
			return err
		}
		j.reset()
	}
}

// RotateCredentials is Pool.RotateCredentials of the Client's Pool: the
// connections of the Pool, the Client's shared connections and its
// PubSubs authenticate again, between commands, with what
// Options.CredentialsProvider returns now. Clients sharing the Pool share
// the rotation.
func (c *Client) RotateCredentials(ctx context.Context) error {
	return c.pool.RotateCredentials(ctx)
}

// Conn returns a connection of the Client's Pool for commands that need
// one connection throughout (a session with SELECT, CLIENT TRACKING,
// MULTI by hand...). The caller must give it back with Pool().Put, which
// closes it if its session was changed.
func (c *Client) Conn(ctx context.Context) (*Conn, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return c.pool.Get(ctx)
}
