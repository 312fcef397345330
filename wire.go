package respool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/respool/respool/resp"
)

// The wire layer: how every connection, exclusive or shared, alone or in a
// pipeline, writes commands, sets its deadlines, reads replies into their
// requests and breaks on a fault. Conn.roundTrip (an exclusive connection)
// and muxConn (a shared one) are both built from these steps and speak
// RESP through nothing else:
//
//	b := cn.startBatch()            // remember how much had been sent
//	cn.writeRequest(&b, rq) ...     // into the buffer; tracks session state
//	cn.flushBatch(ctx, &b)          // one write (writev for lent values)
//	cn.readReply(borrow, buf)       // each reply, pushes passed over
//
// Deadlines: each operation sets the deadline it needs before it reads or
// writes (setWriteDeadline, setReadDeadline), from one policy: a write
// gets WriteTimeout, the replies of a batch ReadTimeout after its flush
// ended, or just before it when the flush waits for them (flushAwait)
// (replyDeadline), both capped by the caller's context where there
// is one caller. A deadline from a timeout may fire up to half of it late,
// so that the socket's is moved about once per half timeout rather than
// twice per command (type deadline). Nothing reads a deadline an earlier
// operation left unless it lies within what the operation needs: the
// handshake clears the dial's, and the idle check (peeker) ignores them.

// transport counts the bytes handed to the network, so a failed write can
// tell whether anything of the command left the client.
type transport struct {
	nc      net.Conn
	written int64
	// await makes the next Write wait, once its bytes are written, until
	// the socket is readable (sendAwait); flushAwait sets it for one flush,
	// and awaitCheck when the socket must first be found empty.
	await, awaitCheck bool
	aw                sendAwait
	sr                sockReader
	sw                sockWriter
}

// newTransport returns the transport of nc.
func newTransport(nc net.Conn) *transport {
	t := &transport{nc: nc}
	t.aw.init(nc)
	t.sr.init(nc)
	t.sw.init(nc)
	return t
}

// Read reads from the socket; the connection's reply reader reads through
// it.
func (t *transport) Read(p []byte) (int, error) { return t.sr.Read(p) }

func (t *transport) Write(p []byte) (int, error) {
	var n int
	if t.await {
		t.await = false
		var err error
		n, err = t.aw.send(p, t.awaitCheck)
		t.written += int64(n)
		if err != nil {
			// As the net.Conn's Write words it.
			return n, &net.OpError{Op: "write", Net: netName(t.nc),
				Source: t.nc.LocalAddr(), Addr: t.nc.RemoteAddr(), Err: os.NewSyscallError("write", err)}
		}
		if n == len(p) {
			return n, nil
		}
	}
	m, err := t.sw.Write(p[n:])
	t.written += int64(m)
	return n + m, err
}

// netName is the network of nc ("tcp", "unix"), told without calling
// through an address a socket made from a descriptor may not have.
func netName(nc net.Conn) string {
	switch nc.(type) {
	case *net.TCPConn:
		return "tcp"
	case *net.UnixConn:
		return "unix"
	}
	if a := nc.LocalAddr(); a != nil {
		return a.Network()
	}
	return ""
}

// WriteBuffers writes bufs in one system call (writev) on TCP and Unix
// connections, one Write per slice on others (TLS); resp.Writer uses it to
// send large values beside the buffered bytes without copying them.
func (t *transport) WriteBuffers(bufs *net.Buffers) (int64, error) {
	n, err := bufs.WriteTo(t.nc)
	t.written += n
	return n, err
}

// request is one command a Conn sends and the place its reply goes.
type request interface {
	// writeArgs writes the command, all its arguments included, to w. A
	// command whose arguments cannot be written returns a *resp.ArgError
	// and writes nothing.
	writeArgs(w *resp.Writer) error
	// classArgs returns what the command table classifies the command by
	// (cmdinfo.ClassOf; retries by read-only-ness): the command and its
	// arguments, or, for a command of the fast form (cmd_fast.go), whose
	// class does not depend on its arguments, its name alone. It is not
	// what is written: writeArgs is.
	classArgs() []any
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

// failAll gives err to every request.
func failAll(reqs []request, err error) {
	for _, rq := range reqs {
		rq.setErr(err)
	}
}

// noCaller is the context of reads and writes that serve no one caller,
// such as a shared connection's, each of whose callers waits on its own
// context, or a PubSub's, which bounds its waits itself.
var noCaller = context.Background()

// aLongTimeAgo is a deadline in the past: setting it makes a blocked read
// or write return at once.
var aLongTimeAgo = time.Unix(1, 0)

// deadline is when a read or a write must give up: no sooner than at, and
// no later than latest. A deadline that comes from a timeout alone may
// fire up to half that timeout late, which lets one socket deadline serve
// the many operations of that half timeout (setting one costs a runtime
// timer update and two locks, as much as a small command's whole parse);
// a deadline from the caller's context is exact. The zero deadline means
// none.
type deadline struct {
	at, latest time.Time
}

// exactly is the deadline at dl exactly; the zero time means none.
func exactly(dl time.Time) deadline { return deadline{at: dl, latest: dl} }

// deadlineFor returns the sooner of ctx's deadline and now+timeout; a
// timeout <= 0 means none. A deadline of timeout's may fire up to
// timeout/2 late, never after ctx's.
func deadlineFor(ctx context.Context, now time.Time, timeout time.Duration) deadline {
	var d deadline
	if timeout > 0 {
		d.at = now.Add(timeout)
		d.latest = d.at.Add(timeout / 2)
	}
	if cd, ok := ctx.Deadline(); ok {
		switch {
		case d.at.IsZero() || !cd.After(d.at):
			d = exactly(cd)
		case cd.Before(d.latest):
			d.latest = cd
		}
	}
	return d
}

// replyDeadline is the read deadline for the replies of a batch whose
// flush ended at flushed: ReadTimeout later, plus the longest blocking
// timeout among its commands (block > 0), and never later than ctx's
// deadline. A command that blocks until data arrives (block < 0) or a
// negative ReadTimeout leaves only ctx's deadline.
func (cn *Conn) replyDeadline(ctx context.Context, flushed time.Time, block time.Duration) deadline {
	timeout := cn.opt.ReadTimeout
	switch {
	case block < 0 || timeout < 0:
		timeout = 0
	case block > 0:
		timeout += block
	}
	return deadlineFor(ctx, flushed, timeout)
}

// callerEnded returns ctx's error, or context.DeadlineExceeded once ctx's
// deadline has passed by the clock: the socket deadline taken from it can
// fire a little before ctx's own timer, and a dial cut short by the
// caller's deadline says nothing about the server.
func callerEnded(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !now.Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// watchContext makes a cancellation of ctx cut a blocked read or write
// short by moving the deadline into the past. The returned stop reports
// false when the cancellation already fired; the connection's deadlines
// are then garbage and it must not be used again, unless a drain first
// waits for the AfterFunc to end (conn_drain.go).
func (cn *Conn) watchContext(ctx context.Context) func() bool {
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, cn.cutShort)
}

// setWriteDeadline and setReadDeadline make the socket's deadline d: they
// keep the one set last when it lies within d (from d.at to d.latest) and
// otherwise set d.latest. Then they make sure that a cancellation of ctx
// that fired meanwhile (its AfterFunc moved the deadline into the past
// before this call moved it forward again) is not lost.
func (cn *Conn) setWriteDeadline(ctx context.Context, d deadline) {
	if !cn.writeDeadline.within(d) {
		_ = cn.nc.SetWriteDeadline(d.latest)
		cn.writeDeadline = socketDeadline(d.latest)
	}
	if ctx.Done() != nil && ctx.Err() != nil {
		cn.expireDeadlines()
	}
}

func (cn *Conn) setReadDeadline(ctx context.Context, d deadline) {
	if !cn.readDeadline.within(d) {
		_ = cn.nc.SetReadDeadline(d.latest)
		cn.readDeadline = socketDeadline(d.latest)
	}
	if ctx.Done() != nil && ctx.Err() != nil {
		cn.expireDeadlines()
	}
}

// expireDeadlines moves both deadlines into the past, so that nothing the
// connection does from now on waits.
func (cn *Conn) expireDeadlines() {
	_ = cn.nc.SetDeadline(aLongTimeAgo)
	cn.readDeadline, cn.writeDeadline = socketDeadline(aLongTimeAgo), socketDeadline(aLongTimeAgo)
}

// socketDeadline is the deadline last set on a connection's socket, for
// reads or for writes, by its owner (the zero time: none). A deadline
// moved by a context's AfterFunc is not recorded: such a connection is
// never used again, or recorded afterwards: by a PubSub's wait
// (awaitReply), and by a drain once the AfterFunc has ended
// (discardOwed).
type socketDeadline time.Time

// within reports whether the deadline set serves d.
func (sd socketDeadline) within(d deadline) bool {
	t := time.Time(sd)
	if d.at.IsZero() {
		return t.IsZero()
	}
	return !t.IsZero() && !t.Before(d.at) && !t.After(d.latest)
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

// breakWith records err as the reason the connection is unusable and
// closes the socket.
func (cn *Conn) breakWith(err error) {
	if cn.broken == nil {
		cn.broken = err
	}
	_ = cn.Close()
}

// batchWrite is one batch of commands on its way out: what had been sent
// before it, and the longest time one of its commands may block.
type batchWrite struct {
	before int64
	block  time.Duration
}

// startBatch begins a batch. The caller has set the write deadline.
func (cn *Conn) startBatch() batchWrite {
	return batchWrite{before: cn.tr.written}
}

// writeRequest adds rq to the batch: its command goes into the write
// buffer (or out, when the buffer fills), and the connection notes what
// it does to the session and how long it may block. A request whose
// arguments cannot be written gets a *resp.ArgError back, wrapped, and
// nothing of it is written; the connection stays usable. Any other error
// is a failed write: the caller fails the batch with writeError.
func (cn *Conn) writeRequest(b *batchWrite, rq request) error {
	if err := rq.writeArgs(cn.w); err != nil {
		return writeArgsError(err)
	}
	cn.noteWritten(b, rq.classArgs())
	return nil
}

// writeArgv is writeRequest for a command given by its arguments alone
// (Conn.Send), with no request to allocate for it.
func (cn *Conn) writeArgv(b *batchWrite, argv []any) error {
	if err := cn.w.WriteArgs(argv); err != nil {
		return writeArgsError(err)
	}
	cn.noteWritten(b, argv)
	return nil
}

// writeArgsError is writeRequest's error for err, a failure to write a
// request's arguments: a refusal of the arguments is wrapped, anything
// else is the connection's.
func writeArgsError(err error) error {
	if isArgError(err) {
		return fmt.Errorf("respool: %w", err)
	}
	return err
}

// noteWritten notes what the command of classArgs, just written, does to
// the session and how long it may block the batch b.
func (cn *Conn) noteWritten(b *batchWrite, classArgs []any) {
	if d := cn.afterWrite(classArgs); d != 0 && b.block >= 0 && (d < 0 || d > b.block) {
		b.block = d
	}
}

// isArgError reports an error of writeRequest that refused a request's
// arguments without writing anything.
func isArgError(err error) bool {
	var ae *resp.ArgError
	return errors.As(err, &ae)
}

// flushBatch sends what the batch wrote into the buffer. On failure it
// returns the batch's writeError; the caller breaks the connection (with
// breakWith, or, on a shared connection, through the muxer's fail, which
// also answers every caller).
func (cn *Conn) flushBatch(ctx context.Context, b *batchWrite) error {
	if err := cn.w.Flush(); err != nil {
		return cn.writeError(ctx, b, err)
	}
	return nil
}

// flushAwait is flushBatch for a batch whose replies are read next, all of
// whose bytes are still in the buffer: it returns once the flush is done
// and the socket has something to read (see sendAwait), which saves the
// first read of the replies a system call that would find nothing. The
// caller sets the read deadline first: the wait keeps to it. Unless the
// socket was known to hold nothing to read less than awaitCheckAfter
// before now (Conn.emptyAt: its last reply was read, or the pool's idle
// check peeked at it), it is peeked at first: what was already there to
// read (an end of stream) would not wake the wait.
func (cn *Conn) flushAwait(ctx context.Context, b *batchWrite, now time.Time) error {
	cn.tr.await = true
	cn.tr.awaitCheck = now.Sub(cn.emptyAt) >= awaitCheckAfter
	err := cn.w.Flush()
	cn.tr.await = false // when the flush took another way (writev)
	if err != nil {
		return cn.writeError(ctx, b, err)
	}
	return nil
}

// awaitCheckAfter is how long after its socket was last known to hold
// nothing to read (a reply read, the pool's idle check) a send that waits
// for the next reply first peeks at the socket. Sooner, as in a loop of
// commands or right after the pool's check, the peek would cost the system
// call the wait saves, and could only catch an end of stream that arrived within those
// microseconds from a peer that closed only its sending side: Redis
// closes the whole connection, and the reset that a write to it draws
// wakes the wait.
const awaitCheckAfter = 2 * time.Microsecond

// canAwait reports whether flushAwait would wait for the batch b: the
// socket allows it and the whole batch is still in the write buffer (one
// write, so setting the read deadline before it moves it by no more than
// that write takes).
func (cn *Conn) canAwait(b *batchWrite) bool {
	return cn.tr.aw.usable() && cn.tr.written == b.before && cn.w.Buffered() <= writeBufferSize
}

// writeError is the error of a failed write of the batch: OutcomeNotSent
// when no byte of it reached the network, else unknown.
func (cn *Conn) writeError(ctx context.Context, b *batchWrite, err error) *ConnError {
	outcome := OutcomeUnknown
	if cn.tr.written == b.before {
		outcome = OutcomeNotSent
	}
	return cn.ioError(ctx, "write", outcome, err)
}

// readReply reads the next reply, passing over RESP3 push messages that
// arrive between replies of a connection that is not subscribed (such as
// client-side caching invalidations, which respool does not enable). When
// borrow is set, the elements of an aggregate reply are read into buf
// (resp.Reader.ReadValueBuf), which is returned, grown if it had to be;
// the caller gives it back once the reply's request is done with it.
func (cn *Conn) readReply(borrow bool, buf []resp.Value) (resp.Value, []resp.Value, error) {
	for {
		var v resp.Value
		var err error
		if borrow {
			v, buf, err = cn.r.ReadValueBuf(buf[:0])
		} else {
			v, err = cn.r.ReadValue()
		}
		if err != nil {
			return v, buf, err
		}
		if v.Kind() == resp.KindPush && !cn.subscribed {
			continue
		}
		return v, buf, nil
	}
}

// readNext reads the next value as it arrives, a push message included:
// Conn.Receive and a PubSub, whose callers want the pushes, read through it.
func (cn *Conn) readNext() (resp.Value, error) {
	return cn.r.ReadValue()
}

// replyStarted reports whether bytes of the next reply are already
// buffered.
func (cn *Conn) replyStarted() bool { return cn.r.Buffered() > 0 }

// awaitReply waits for the first byte of the next reply without
// consuming anything, within the read deadline the caller set. A
// cancellation of ctx moves the deadline into the past; awaitReply returns
// only once that can no longer happen, so the deadline set next is not
// overwritten. A PubSub waits for its messages through it.
func (cn *Conn) awaitReply(ctx context.Context) error {
	if ctx.Done() == nil {
		_, err := cn.r.PeekKind()
		return err
	}
	nc := cn.nc
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = nc.SetReadDeadline(aLongTimeAgo)
		close(fired)
	})
	_, err := cn.r.PeekKind()
	if !stop() {
		<-fired
		cn.readDeadline = socketDeadline(aLongTimeAgo)
	}
	return err
}

// lendArgs makes the writer send large []byte arguments from the caller's
// slice instead of copying them (resp.Writer.LendSlices): safe where every
// flush ends before the caller that owns the slice gets its reply.
func (cn *Conn) lendArgs(on bool) { cn.w.LendSlices(on) }

// idleClean reports whether a connection with nothing in flight has
// nothing to read either: no bytes buffered, and the socket neither
// closed nor reset by the peer nor holding unread bytes. It costs one
// non-blocking peek and reads no deadline.
func (cn *Conn) idleClean() bool {
	return cn.r.Buffered() == 0 && cn.peek.check()
}
