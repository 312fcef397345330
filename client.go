package respool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/respool/respool/resp"
)

// Client is a Redis client for one server (redis-py's Redis). It is safe
// for concurrent use by many goroutines: each command borrows a connection
// from the Client's Pool and gives it back once its reply is read.
//
// Typed methods (Get, Set, HSet, ZAdd...) return a *Cmd whose Result, Val
// and Err give the reply; Do runs any command. A command's context bounds
// the whole call: waiting for a connection, retries, writing and reading
// (together with Options.ReadTimeout and WriteTimeout, whichever ends
// first). Cancelling it interrupts a blocked read at once; the connection
// is then closed, never reused.
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

	hooksMu sync.Mutex // serialises AddHook
	hooks   atomic.Pointer[hookChain]
}

// NewClient returns a Client with a Pool of its own built from opt (nil
// means all defaults; see Options for each default). No connection is
// opened until the first command. Close closes the Pool.
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
	c.cmdable = c.processCmd
	c.hooks.Store(&hookChain{})
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
	if c.ownsPool {
		return c.pool.Close()
	}
	return nil
}

// Do runs any command and returns its reply as a resp.Value. A server
// error reply comes back as an *Error; a null reply is a Value whose IsNull
// is true, with a nil error (unlike the typed methods, which return Nil).
func (c *Client) Do(ctx context.Context, args ...any) (resp.Value, error) {
	cmd := newCmd(DecodeValue, args...)
	_ = c.Process(ctx, cmd)
	return cmd.val, cmd.err
}

// Process runs cmd (one made with NewCmd, or taken from a typed method of
// a Pipeline that was never executed) and returns its error.
func (c *Client) Process(ctx context.Context, cmd Cmder) error {
	c.processCmd(ctx, cmd)
	return cmd.Err()
}

// processCmd is the Client's cmdable: the hooks, then runCmd.
func (c *Client) processCmd(ctx context.Context, cmd Cmder) {
	h := c.hooks.Load()
	if h.process != nil {
		_ = h.process(ctx, cmd)
		return
	}
	_ = c.runCmd(ctx, cmd)
}

// runCmd runs one command with retries.
func (c *Client) runCmd(ctx context.Context, cmd Cmder) error {
	if c.closed.Load() {
		cmd.setErr(ErrClosed)
		return ErrClosed
	}
	var r retrier
	shared := c.mux != nil && muxable(cmd.args())
	alone := false
	if shared && !c.alwaysShare && !c.mux.crowded.Load() {
		// A command with no other in flight gains nothing from sharing a
		// connection: it takes one of its own, which saves the hand-off
		// to the shared connection's reader goroutine, unless the pool
		// has none free (then it shares after all). Under load (crowded)
		// the count is skipped: it costs every command a contended atomic
		// and would only say "not alone". Commands that skip it are not
		// counted, so for a moment after the load falls a command may
		// take a connection of its own while others are in flight: a
		// choice of path, never of outcome.
		if c.active.Add(1) == 1 {
			alone = true
		}
		defer c.active.Add(-1)
	}
	for {
		var cn *Conn
		var err error
		if alone {
			if cn, err = c.pool.get(ctx, true); errors.Is(err, ErrPoolExhausted) {
				alone = false
			}
		} else if !shared {
			cn, err = c.pool.Get(ctx)
		}
		if shared && !alone {
			_ = c.mux.doOne(ctx, cmd)
		} else if err != nil {
			cmd.setErr(err)
		} else {
			_ = cn.run(ctx, cmd)
			c.pool.Put(cn)
		}
		err = cmd.Err()
		if err == nil || !r.retry(ctx, c.opt, err, cmd.args()) {
			return err
		}
		cmd.reset()
	}
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
