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
// of handing it to the next caller.
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

	closed atomic.Bool
	peek   peeker // liveness check of an idle connection

	pool      *Pool      // the Pool that dialled it; nil for Dial
	createdAt time.Time  // when the dial began
	pooled    pooledConn // the Pool's bookkeeping
}

// transport counts the bytes handed to the network, so a failed write can
// tell whether anything of the command left the client.
type transport struct {
	nc      net.Conn
	written int64
}

func (t *transport) Write(p []byte) (int, error) {
	n, err := t.nc.Write(p)
	t.written += int64(n)
	return n, err
}

// WriteBuffers writes bufs in one system call (writev) on TCP and Unix
// connections, one Write per slice on others (TLS); resp.Writer uses it to
// send large values beside the buffered bytes without copying them.
func (t *transport) WriteBuffers(bufs *net.Buffers) (int64, error) {
	n, err := bufs.WriteTo(t.nc)
	t.written += n
	return n, err
}

// aLongTimeAgo is a deadline in the past: setting it makes a blocked read
// or write return at once.
var aLongTimeAgo = time.Unix(1, 0)

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

func newConn(nc net.Conn, opt *Options) *Conn {
	tr := &transport{nc: nc}
	r := resp.NewReaderSize(nc, 16<<10)
	r.SetLimits(opt.ReplyLimits)
	cn := &Conn{
		opt:   opt,
		nc:    nc,
		tr:    tr,
		r:     r,
		w:     resp.NewWriterSize(tr, 16<<10),
		proto: 2,
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
	if cn.closed.Load() {
		return ErrClosed
	}
	return cn.broken
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
// round trip: nothing unexpected buffered, and the socket neither closed by
// the peer nor holding unread bytes.
func (cn *Conn) alive() bool {
	if cn.closed.Load() || cn.broken != nil || cn.r.Buffered() > 0 {
		return false
	}
	return cn.peek.check()
}

// usable returns the error for a call on a closed or broken connection.
func (cn *Conn) usable() error {
	if cn.closed.Load() {
		return &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent, Err: ErrClosed}
	}
	if cn.broken != nil {
		return &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent,
			Err: fmt.Errorf("connection unusable after an earlier error: %w", cn.broken)}
	}
	return nil
}

// breakWith records err as the reason the connection is unusable and
// closes the socket.
func (cn *Conn) breakWith(err error) {
	if cn.broken == nil {
		cn.broken = err
	}
	_ = cn.Close()
}

// watchContext makes a cancellation of ctx cut a blocked read or write
// short by moving the deadline into the past. The returned stop reports
// false when the cancellation already fired; the connection's deadlines
// are then garbage and it must not be used again.
func (cn *Conn) watchContext(ctx context.Context) func() bool {
	if ctx.Done() == nil {
		return nil
	}
	nc := cn.nc
	return context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
}

// setWriteDeadline and setReadDeadline set a deadline, then make sure a
// cancellation of ctx that fired meanwhile (its AfterFunc moved the
// deadline into the past before this call moved it forward again) is not
// lost.
func (cn *Conn) setWriteDeadline(ctx context.Context, dl time.Time) {
	_ = cn.nc.SetWriteDeadline(dl)
	if ctx.Done() != nil && ctx.Err() != nil {
		_ = cn.nc.SetDeadline(aLongTimeAgo)
	}
}

func (cn *Conn) setReadDeadline(ctx context.Context, dl time.Time) {
	_ = cn.nc.SetReadDeadline(dl)
	if ctx.Done() != nil && ctx.Err() != nil {
		_ = cn.nc.SetDeadline(aLongTimeAgo)
	}
}

// ioError wraps a read or write failure. When ctx has ended, the context's
// error is reported (errors.Is(err, context.DeadlineExceeded) holds) rather
// than the socket's timeout that it caused.
func (cn *Conn) ioError(ctx context.Context, op string, outcome Outcome, err error) *ConnError {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		} else if dl, ok := ctx.Deadline(); ok && !cn.opt.now().Before(dl) {
			// The socket's deadline was the context's and fired just
			// before the context's own timer.
			err = context.DeadlineExceeded
		}
	}
	return &ConnError{Op: op, Addr: cn.opt.Addr, Outcome: outcome, Err: err}
}

// request is one command a Conn sends and the place its reply goes.
type request interface {
	// args returns the command and its arguments.
	args() []any
	// setReply receives the reply; a server error reply arrives here too,
	// as a Value of KindError or KindBulkError.
	setReply(v resp.Value)
	// setErr receives the failure when no reply could be read.
	setErr(err error)
	// borrowsElems reports whether setReply is done with the elements of
	// an aggregate reply when it returns, having decoded them into values
	// of its own (copies of element Values count as its own). Such a
	// reply may be read into a reused buffer (resp.Reader.ReadValueBuf).
	borrowsElems() bool
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
	if stop != nil && !stop() && cn.broken == nil {
		// The cancellation raced with the end of the round trip: the
		// deadline it set may land on the next call.
		cn.breakWith(context.Cause(ctx))
	}
	return err
}

func failAll(reqs []request, err error) {
	for _, rq := range reqs {
		rq.setErr(err)
	}
}

func (cn *Conn) roundTrip(ctx context.Context, reqs []request) error {
	// The arguments stay the caller's until this call returns, and the
	// flush happens before: large []byte arguments need no copy.
	cn.w.LendSlices(true)
	defer cn.w.LendSlices(false)
	now := cn.opt.now()
	cn.setWriteDeadline(ctx, deadlineFor(ctx, now, cn.opt.WriteTimeout))
	before := cn.tr.written
	var skipped []bool // requests refused by the writer (bad argument types)
	var block time.Duration
	for i, rq := range reqs {
		argv := rq.args()
		if err := writeRequest(cn.w, rq); err != nil {
			var ae *resp.ArgError
			if errors.As(err, &ae) {
				if skipped == nil {
					skipped = make([]bool, len(reqs))
				}
				skipped[i] = true
				rq.setErr(fmt.Errorf("respool: %w", err))
				continue
			}
			return cn.failWrite(ctx, reqs, before, err)
		}
		if b := cn.afterWrite(argv); b != 0 && (block >= 0 && (b < 0 || b > block)) {
			block = b
		}
	}
	if err := cn.w.Flush(); err != nil {
		return cn.failWrite(ctx, reqs, before, err)
	}
	sent := len(reqs)
	for _, s := range skipped {
		if s {
			sent--
		}
	}
	cn.pending += sent
	if sent == 0 {
		return nil
	}
	cn.setReadDeadline(ctx, cn.readDeadline(ctx, now, block))
	for i, rq := range reqs {
		if skipped != nil && skipped[i] {
			continue
		}
		v, err := cn.readReplyFor(rq)
		if err != nil {
			ce := cn.ioError(ctx, "read", OutcomeUnknown, err)
			cn.breakWith(ce)
			for j := i; j < len(reqs); j++ {
				if skipped == nil || !skipped[j] {
					reqs[j].setErr(ce)
				}
			}
			return ce
		}
		cn.pending--
		rq.setReply(v)
		if len(cn.elems) > 0 {
			cn.doneWithElems()
		}
	}
	return nil
}

// failWrite breaks the connection after a failed write; the outcome is
// OutcomeNotSent when no byte reached the network.
func (cn *Conn) failWrite(ctx context.Context, reqs []request, before int64, err error) error {
	outcome := OutcomeUnknown
	if cn.tr.written == before {
		outcome = OutcomeNotSent
	}
	ce := cn.ioError(ctx, "write", outcome, err)
	cn.breakWith(ce)
	failAll(reqs, ce)
	return ce
}

// readDeadline is the deadline for reading replies: ReadTimeout (plus a
// blocking command's own timeout), or only the context's deadline when
// the command blocks forever (block < 0) or ReadTimeout is negative.
func (cn *Conn) readDeadline(ctx context.Context, now time.Time, block time.Duration) time.Time {
	timeout := cn.opt.ReadTimeout
	switch {
	case block < 0 || timeout < 0:
		timeout = 0
	case block > 0:
		timeout += block
	}
	return deadlineFor(ctx, now, timeout)
}

// readReply reads the next reply, passing over RESP3 push messages that
// arrive between replies of a connection that is not subscribed (such as
// client-side caching invalidations, which respool does not enable).
func (cn *Conn) readReply() (resp.Value, error) {
	for {
		v, err := cn.r.ReadValue()
		if err != nil {
			return v, err
		}
		if v.Kind() == resp.KindPush && !cn.subscribed {
			continue
		}
		return v, nil
	}
}

// readReplyFor reads the reply of rq. The elements of an aggregate reply
// to a request that borrows them are read into the Conn's reusable
// buffer; doneWithElems clears it once the request has its reply.
func (cn *Conn) readReplyFor(rq request) (resp.Value, error) {
	if !rq.borrowsElems() {
		return cn.readReply()
	}
	for {
		v, buf, err := cn.r.ReadValueBuf(cn.elems[:0])
		cn.elems = buf
		if err != nil {
			cn.doneWithElems()
			return v, err
		}
		if v.Kind() == resp.KindPush && !cn.subscribed {
			continue
		}
		return v, nil
	}
}

// doneWithElems clears the element buffer, so that it holds on to no
// reply, and drops it if one reply made it large.
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

func (r *valueRequest) args() []any        { return r.argv }
func (r *valueRequest) borrowsElems() bool { return false }
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
	before := cn.tr.written
	err := cn.w.WriteArgs(args)
	if err == nil {
		cn.track(args)
		cn.pending++
	}
	if stop != nil && !stop() && cn.broken == nil {
		cn.breakWith(context.Cause(ctx))
	}
	var ae *resp.ArgError
	if err != nil && !errors.As(err, &ae) {
		return cn.failWrite(ctx, nil, before, err)
	}
	if err != nil {
		return fmt.Errorf("respool: %w", err)
	}
	return nil
}

// Flush sends what Send buffered.
func (cn *Conn) Flush(ctx context.Context) error {
	if err := cn.usable(); err != nil {
		return err
	}
	stop := cn.watchContext(ctx)
	cn.setWriteDeadline(ctx, deadlineFor(ctx, cn.opt.now(), cn.opt.WriteTimeout))
	before := cn.tr.written
	err := cn.w.Flush()
	if stop != nil && !stop() && cn.broken == nil {
		cn.breakWith(context.Cause(ctx))
	}
	if err != nil {
		return cn.failWrite(ctx, nil, before, err)
	}
	return nil
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
	v, err := cn.r.ReadValue()
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
