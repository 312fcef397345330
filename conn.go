package respool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/respool/respool/resp"
)

// Conn is one connection to a Redis server (redis-py's Connection). It is
// not safe for concurrent use: one goroutine at a time holds it, either
// taken from a Pool with Pool.Get (and given back with Pool.Put) or opened
// alone with Dial (and closed with Close).
//
// A Conn remembers its protocol state: replies written but not read yet,
// an open MULTI, WATCHed keys, a subscription, and session changes (SELECT,
// CLIENT SETNAME, HELLO...). Any error, timeout or cancellation after the
// first byte of a command was written, and any malformed reply, breaks the
// connection for good: Err reports it and every later call fails with
// OutcomeNotSent. A Pool closes such a connection, and a dirty one, instead
// of handing it to the next caller, with one exception: a connection of a
// Pool whose read timed out (or whose context ended) between two replies,
// with nothing blocking and its session clean, keeps its socket open, and
// Pool.Put drains it (see Options.DrainTimeout). A Conn from Dial always
// closes its socket.
type Conn struct {
	opt   *Options
	nc    net.Conn
	tr    *transport
	r     *resp.Reader
	w     *resp.Writer
	proto int

	// Protocol state, owned by the goroutine holding the Conn.
	pending        int          // replies written and not yet read
	inMulti        bool         // MULTI sent, EXEC/DISCARD not yet
	watching       bool         // WATCH sent, EXEC/DISCARD/UNWATCH not yet
	subscribed     bool         // SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE sent
	sessionChanged bool         // SELECT, CLIENT SETNAME, HELLO... changed the session
	broken         error        // the error that made the connection unusable
	elems          []resp.Value // reused for the replies of requests that borrow them
	drain          connDrain    // stalled with replies owed, for an owner that drains (conn_drain.go)
	emptyAt        time.Time    // when the socket was last known to hold nothing to read: the replies of a round trip that waited in its flush were read, or the pool's idle check passed (flushAwait)

	// The socket's deadlines as last set by the goroutine holding the
	// Conn (setReadDeadline, setWriteDeadline).
	readDeadline, writeDeadline socketDeadline

	closed atomic.Bool
	peek   peeker // liveness check of an idle connection

	createdAt time.Time // when the dial began
	// authGen is the generation of the credentials it last authenticated
	// with (Options.creds); behind the current one, it must send AUTH
	// before its next command. Owned by whoever holds the connection.
	authGen uint64

	// owner is whatever keeps the connection (a Pool keeps its
	// *pooledConn here), set once before the connection is handed out;
	// nil for Dial. The connection itself never looks at it.
	owner any
}

// Dial opens one connection outside any pool: it dials opt.Addr and runs
// the handshake (HELLO, AUTH, SETNAME, SELECT, CLIENT SETINFO in one write),
// all within opt.DialTimeout and ctx. A nil opt means all defaults. The
// caller closes the Conn.
//
// A failure is a *ConnError with Op "dial" or "handshake" and
// OutcomeNotSent, or an *AuthError when the server refuses the credentials.
func Dial(ctx context.Context, opt *Options) (*Conn, error) {
	return dialConn(ctx, opt.withDefaults())
}

// dialConn is Dial for options already passed through withDefaults.
func dialConn(ctx context.Context, opt *Options) (*Conn, error) {
	if t := opt.target; t != nil {
		// The connection gets its own copy of the options, naming the
		// server it was dialled to.
		addr, role, err := t.pick(ctx)
		if err != nil {
			return nil, err
		}
		o := *opt
		o.Addr, o.role, o.target = addr, role, nil
		cn, err := dialConn(ctx, &o)
		var re *roleError
		if errors.As(err, &re) {
			t.refused(addr, re.got)
		}
		return cn, err
	}
	start := opt.now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opt.DialTimeout)
	defer cancel()
	nc, err := dialNet(ctx, opt)
	if err != nil {
		if cerr := callerEnded(parent, opt.now()); cerr != nil {
			// A dial cut by the caller's deadline may fail with the
			// socket's own timeout before the context reports itself
			// done: say it was the caller's.
			if cause := context.Cause(parent); cause != nil {
				cerr = cause
			}
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return nil, &ConnError{Op: "dial", Addr: opt.Addr, Outcome: OutcomeNotSent, Err: err}
	}
	cn := newConn(nc, opt)
	cn.createdAt = start
	if err := cn.handshake(ctx); err != nil {
		_ = cn.Close()
		return nil, err
	}
	return cn, nil
}

// writeBufferSize is a connection's write buffer: a batch that fits is
// sent in one write.
const writeBufferSize = 16 << 10

func newConn(nc net.Conn, opt *Options) *Conn {
	tr := newTransport(nc)
	r := resp.NewReaderSize(tr, 16<<10)
	r.SetLimits(opt.ReplyLimits)
	cn := &Conn{
		opt:   opt,
		nc:    nc,
		tr:    tr,
		r:     r,
		w:     resp.NewWriterSize(tr, writeBufferSize),
		proto: 2,
		drain: connDrain{fired: make(chan struct{}, 1)},
	}
	cn.peek.init(nc)
	return cn
}

// Addr returns the address the connection was dialled to (Options.Addr).
func (cn *Conn) Addr() string { return cn.opt.Addr }

// Protocol returns 3 when the connection speaks RESP3, 2 otherwise.
func (cn *Conn) Protocol() int { return cn.proto }

// Err returns the error that made the connection unusable, ErrClosed after
// Close, or nil while it is usable.
func (cn *Conn) Err() error {
	if cn.broken != nil {
		return cn.broken
	}
	if cn.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close closes the connection: it shuts the sending side down, then closes
// the socket, ignoring errors. It is idempotent and may be called from any
// goroutine, also while another one is blocked on the connection (that
// call then fails). A Conn from a Pool is normally given back with
// Pool.Put instead, which closes it when needed.
func (cn *Conn) Close() error {
	if !cn.closed.CompareAndSwap(false, true) {
		return nil
	}
	if hc, ok := cn.nc.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_ = cn.nc.Close()
	return nil
}

// reusable reports whether the connection may be handed to another caller
// as it is: open, not broken, nothing pending, no transaction, watch,
// subscription or session change left behind.
func (cn *Conn) reusable() bool {
	return !cn.closed.Load() && cn.broken == nil && cn.pending == 0 &&
		!cn.inMulti && !cn.watching && !cn.subscribed && !cn.sessionChanged
}

// alive reports whether an idle connection still looks usable, without a
// round trip: open, not broken, and nothing to read (idleClean).
func (cn *Conn) alive() bool {
	return !cn.closed.Load() && cn.broken == nil && cn.idleClean()
}

// usable returns the error for a call on a closed or broken connection.
func (cn *Conn) usable() error {
	if cn.broken != nil {
		return &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent,
			Err: fmt.Errorf("connection unusable after an earlier error: %w", cn.broken)}
	}
	if cn.closed.Load() {
		return &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent, Err: ErrClosed}
	}
	return nil
}

// run writes reqs in one flush and reads their replies in order. A server
// error reply is not a failure of run: it goes to its request. run returns
// a *ConnError when the connection failed; every request without a reply
// then got that error too, and the connection is broken.
func (cn *Conn) run(ctx context.Context, reqs ...request) error {
	if err := cn.usable(); err != nil {
		failAll(reqs, err)
		return err
	}
	if cn.pending > 0 {
		err := &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent,
			Err: fmt.Errorf("%d replies of earlier Send calls are still unread", cn.pending)}
		failAll(reqs, err)
		return err
	}
	if err := ctx.Err(); err != nil {
		ce := &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent, Err: err}
		failAll(reqs, ce)
		return ce
	}
	stop := cn.watchContext(ctx)
	err := cn.roundTrip(ctx, reqs)
	if stop != nil && !stop() {
		// The cancellation fired: when it raced with the end of the round
		// trip, the deadline it set may land on the next call.
		cn.cancelRaced(context.Cause(ctx))
	}
	return err
}

// roundTrip writes reqs as one batch and reads their replies in order.
func (cn *Conn) roundTrip(ctx context.Context, reqs []request) error {
	// The arguments stay the caller's until this call returns, and the
	// flush happens before: large []byte arguments need no copy.
	cn.lendArgs(true)
	defer cn.lendArgs(false)
	cn.setWriteDeadline(ctx, deadlineFor(ctx, cn.opt.now(), cn.opt.WriteTimeout))
	b := cn.startBatch()
	var skipped []bool // requests refused for their arguments
	for i, rq := range reqs {
		if err := cn.writeRequest(&b, rq); err != nil {
			if !isArgError(err) {
				ce := cn.writeError(ctx, &b, err)
				cn.writeFailed(ce, err)
				failAll(reqs, ce)
				return ce
			}
			if skipped == nil {
				skipped = make([]bool, len(reqs))
			}
			skipped[i] = true
			rq.setErr(err)
		}
	}
	sent := len(reqs)
	for _, s := range skipped {
		if s {
			sent--
		}
	}
	var err error
	awaited := sent > 0 && cn.canAwait(&b)
	if awaited {
		// The reply's deadline first: the flush waits for the reply.
		now := cn.opt.now()
		cn.setReadDeadline(ctx, cn.replyDeadline(ctx, now, b.block))
		err = cn.flushAwait(ctx, &b, now)
	} else if err = cn.flushBatch(ctx, &b); err == nil && sent > 0 {
		cn.setReadDeadline(ctx, cn.replyDeadline(ctx, cn.opt.now(), b.block))
	}
	if err != nil {
		cn.writeFailed(err, err)
		failAll(reqs, err)
		return err
	}
	cn.pending += sent
	if sent == 0 {
		return nil
	}
	for i, rq := range reqs {
		if skipped != nil && skipped[i] {
			continue
		}
		if err := cn.readInto(rq); err != nil {
			ce := cn.ioError(ctx, "read", OutcomeUnknown, err)
			cn.stallWith(ce, err, b.block) // or breakWith: the replies owed may be drained
			for j := i; j < len(reqs); j++ {
				if skipped == nil || !skipped[j] {
					reqs[j].setErr(ce)
				}
			}
			return ce
		}
		cn.pending--
	}
	if awaited {
		cn.emptyAt = cn.opt.now()
	}
	return nil
}

// doneWithElems clears the exclusive path's element buffer, so that it
// holds on to no reply, and drops it if one reply made it large.
func (cn *Conn) doneWithElems() {
	clear(cn.elems)
	cn.elems = cn.elems[:0]
	if cap(cn.elems) > maxRecycledLen {
		cn.elems = nil
	}
}

// valueRequest is the request of Conn.Do.
type valueRequest struct {
	argv []any
	v    resp.Value
	err  error
}

func (r *valueRequest) classArgs() []any               { return r.argv }
func (r *valueRequest) writeArgs(w *resp.Writer) error { return w.WriteArgs(r.argv) }
func (r *valueRequest) borrowsElems() bool             { return false }
func (r *valueRequest) setReply(v resp.Value) {
	r.v = v
	if v.IsError() {
		r.err = NewError(v.Text())
	}
}
func (r *valueRequest) setErr(err error) { r.err = err }

// Do sends one command and returns its reply. A server error reply comes
// back as the Value and an *Error; a null reply is a Value with IsNull and
// no error. ctx bounds the call together with Options.WriteTimeout and
// ReadTimeout (whichever ends first); cancelling it interrupts a blocked
// read at once and breaks the connection. Do fails while replies of Send
// are unread.
func (cn *Conn) Do(ctx context.Context, args ...any) (resp.Value, error) {
	rq := valueRequest{argv: args}
	_ = cn.run(ctx, &rq)
	return rq.v, rq.err
}

// Send writes one command to the connection's buffer without waiting for
// its reply; Flush sends the buffer and Receive reads the replies in order.
// The buffer goes out by itself when it fills. ctx and WriteTimeout bound
// any write that happens.
func (cn *Conn) Send(ctx context.Context, args ...any) error {
	if err := cn.usable(); err != nil {
		return err
	}
	stop := cn.watchContext(ctx)
	cn.setWriteDeadline(ctx, deadlineFor(ctx, cn.opt.now(), cn.opt.WriteTimeout))
	b := cn.startBatch()
	err := cn.writeArgv(&b, args)
	if err == nil {
		cn.pending++
	}
	if stop != nil && !stop() && cn.broken == nil {
		cn.breakWith(context.Cause(ctx))
	}
	if err != nil && !isArgError(err) {
		ce := cn.writeError(ctx, &b, err)
		cn.breakWith(ce)
		return ce
	}
	return err
}

// Flush sends what Send buffered.
func (cn *Conn) Flush(ctx context.Context) error {
	if err := cn.usable(); err != nil {
		return err
	}
	stop := cn.watchContext(ctx)
	cn.setWriteDeadline(ctx, deadlineFor(ctx, cn.opt.now(), cn.opt.WriteTimeout))
	b := cn.startBatch()
	err := cn.flushBatch(ctx, &b)
	if err != nil {
		cn.breakWith(err)
	}
	if stop != nil && !stop() && cn.broken == nil {
		cn.breakWith(context.Cause(ctx))
	}
	return err
}

// Receive reads the next reply: one for each command sent, in order, and
// on a subscribed connection the messages the server pushes. A server error
// reply comes back as the Value and an *Error. ctx and ReadTimeout bound
// the wait; a Receive with nothing to read fails at once.
func (cn *Conn) Receive(ctx context.Context) (resp.Value, error) {
	return cn.receive(ctx, cn.opt.ReadTimeout)
}

// receive is Receive with an explicit timeout (<= 0: only ctx bounds it).
func (cn *Conn) receive(ctx context.Context, timeout time.Duration) (resp.Value, error) {
	if err := cn.usable(); err != nil {
		return resp.Value{}, err
	}
	if cn.pending == 0 && !cn.subscribed {
		return resp.Value{}, errors.New("respool: Receive with no reply pending")
	}
	if cn.w.Buffered() > 0 {
		if err := cn.Flush(ctx); err != nil {
			return resp.Value{}, err
		}
	}
	stop := cn.watchContext(ctx)
	cn.setReadDeadline(ctx, deadlineFor(ctx, cn.opt.now(), timeout))
	v, err := cn.readNext()
	if stop != nil && !stop() && cn.broken == nil && err == nil {
		cn.breakWith(context.Cause(ctx))
	}
	if err != nil {
		ce := cn.ioError(ctx, "read", OutcomeUnknown, err)
		cn.breakWith(ce)
		return v, ce
	}
	if cn.pending > 0 && v.Kind() != resp.KindPush {
		cn.pending--
	}
	if v.IsError() {
		return v, NewError(v.Text())
	}
	return v, nil
}
