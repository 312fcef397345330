package respool

import (
	"errors"
	"fmt"
	"time"
)

// Draining, the wire layer's half: a connection whose caller stopped
// waiting for its replies (a read deadline, a context that ended after
// the write) is not closed at once when the only thing wrong with it is
// that replies are still owed. It records why it stopped (stallWith),
// leaves its socket open, and whoever owns it (a Pool, see pool_drain.go)
// may later read and discard the owed replies (discardOwed) and use it
// again. The connection counts the replies owed (pending); it is
// drainable only when that count is the whole truth:
//
//   - the read failed with a timeout, not a reset, an end of stream or a
//     malformed reply;
//   - the reader stopped between two replies (resp.Reader.Err is nil): a
//     timeout inside a reply loses the stream position;
//   - the whole batch was flushed: nothing of a command is half written;
//   - no command of the batch blocks on the server (BLPOP, WAIT, XREAD
//     BLOCK...), whose reply may come much later than any limit;
//   - the session is as a new connection's: no MULTI open, no WATCH, no
//     subscription, no session change (SELECT, CLIENT REPLY, CLIENT
//     TRACKING, HELLO...) that could change how many replies come.
//
// Anything else breaks the connection as before (breakWith). After the
// owed replies the socket must have nothing more to read (idleClean),
// or the connection is closed after all.

// connDrain is a connection's draining state. fired is made with the
// connection; the rest belongs to the goroutine holding it.
type connDrain struct {
	// allowed is set by an owner that drains (a Pool with DrainTimeout
	// not negative). Without it a connection breaks as it always did.
	allowed bool
	// fired receives a token when a cancellation's AfterFunc (cutShort)
	// has moved the deadline into the past; capacity 1. A token is left
	// only by a cancellation that the call noticed (its stop reported
	// false), which broke or stalled the connection: a drain waits for
	// exactly that one.
	fired chan struct{}

	// stalled says that broken was set by stallWith: the socket is open
	// and pending replies are owed.
	stalled bool
	// waitCancel says that a cancellation fired during the call: its
	// AfterFunc may still be about to move the deadline, so the drain
	// waits for its token before reading.
	waitCancel bool
}

// allowDrain lets the connection stall instead of breaking, for an owner
// that will drain it. Call it before the connection is first used.
func (cn *Conn) allowDrain() { cn.drain.allowed = true }

// cutShort is the AfterFunc of a cancellation (watchContext): it moves
// the deadlines into the past, so a blocked read or write returns, and
// then tells a drain that it is done.
func (cn *Conn) cutShort() {
	_ = cn.nc.SetDeadline(aLongTimeAgo)
	select {
	case cn.drain.fired <- struct{}{}:
	default:
	}
}

// stallWith records ce, the failure of a read that err (the reader's own
// error) ended while the batch's commands may block for block, and either
// leaves the connection stalled (drainable, socket open) or breaks it.
func (cn *Conn) stallWith(ce error, err error, block time.Duration) {
	if !cn.canStall(err, block) {
		cn.breakWith(ce)
		return
	}
	if cn.broken == nil {
		cn.broken = ce
	}
	cn.drain.stalled = true
}

// writeFailed records ce, the failure of a batch's write that err ended.
// A write that timed out before any byte of the batch left (a deadline
// already passed, a cancellation) leaves nothing owed and nothing half
// written: the unsent bytes are dropped and the connection stalls with
// no reply owed, so that a drain can settle a cancellation that fired
// and reuse it. Any other write failure breaks the connection.
func (cn *Conn) writeFailed(ce, err error) {
	var c *ConnError
	if !errors.As(ce, &c) || c.Outcome != OutcomeNotSent || cn.pending != 0 ||
		!cn.drain.allowed || !isTimeoutErr(err) || !cn.sessionClean() || cn.closed.Load() {
		cn.breakWith(ce)
		return
	}
	cn.w.Reset(cn.tr)
	if cn.broken == nil {
		cn.broken = ce
	}
	cn.drain.stalled = true
}

// canStall reports whether a read that failed with err, in a batch whose
// commands may block for block, leaves a connection that can be drained.
func (cn *Conn) canStall(err error, block time.Duration) bool {
	return cn.drain.allowed && isTimeoutErr(err) && block == 0 && cn.r.Err() == nil &&
		cn.sessionClean() && cn.w.Buffered() == 0 && !cn.closed.Load()
}

// cancelRaced handles a cancellation whose AfterFunc fired although the
// call (run) had ended: the deadline it moves may land on the next call.
// A connection that may drain stalls with nothing owed, and the drain
// waits for the AfterFunc to finish; any other breaks.
func (cn *Conn) cancelRaced(cause error) {
	switch {
	case cn.broken == nil && cn.drain.allowed && cn.sessionClean() && cn.pending == 0 && cn.w.Buffered() == 0:
		cn.broken = cause
		cn.drain.stalled = true
		cn.drain.waitCancel = true
	case cn.broken == nil:
		cn.breakWith(cause)
	case cn.drain.stalled:
		cn.drain.waitCancel = true
	}
}

// sessionClean reports whether the session is as a new connection's.
func (cn *Conn) sessionClean() bool {
	return !cn.inMulti && !cn.watching && !cn.subscribed && !cn.sessionChanged
}

// isTimeoutErr reports a read that ended at its deadline.
func isTimeoutErr(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// drainable reports whether a connection given back broken can be
// drained: it stalled (stallWith) and is still in a state where the
// replies it owes are all that stands between it and reuse.
func (cn *Conn) drainable() bool {
	return cn.drain.stalled && !cn.closed.Load() && cn.r.Err() == nil &&
		cn.sessionClean() && cn.w.Buffered() == 0
}

// minDrainTimeout is the least a drain gets by default, however short
// ReadTimeout is: a late reply comes when the server gets to it, which a
// loaded machine may delay past a read timeout of a few milliseconds,
// and a slot held a little longer costs less than a new connection.
const minDrainTimeout = time.Second

// drainLimit returns how long a drain may last under opt: DrainTimeout
// when set, else ReadTimeout but at least minDrainTimeout (the default
// ReadTimeout when it is negative); negative when draining is off.
func drainLimit(opt *Options) time.Duration {
	switch d := opt.DrainTimeout; {
	case d != 0:
		return d
	case opt.ReadTimeout > 0:
		return max(opt.ReadTimeout, minDrainTimeout)
	}
	return max(DefaultReadTimeout, minDrainTimeout)
}

// errDrainTimeout is the failure of a drain whose replies did not all
// arrive within its limit.
var errDrainTimeout = errors.New("respool: the replies owed did not arrive within DrainTimeout")

// errDrainStopped is the failure of a drain stopped by its owner.
var errDrainStopped = errors.New("respool: drain stopped")

// discardOwed reads and discards the replies a stalled connection owes,
// all within timeout, and makes the connection usable again. It first
// waits, within timeout, for a cancellation that fired to have moved the
// deadline (cutShort), so that it moves it no more afterwards. A closed
// stop ends the wait. Pushes between the replies are read as every read
// reads them (readReply). Once the replies are read, the socket must hold
// nothing more. On failure it returns the reason and the connection stays
// broken; the caller closes it.
func (cn *Conn) discardOwed(timeout time.Duration, stop <-chan struct{}) error {
	if !cn.drainable() {
		return fmt.Errorf("respool: connection not drainable: %w", cn.Err())
	}
	dl := cn.opt.now().Add(timeout)
	if cn.drain.waitCancel {
		t := time.NewTimer(timeout)
		select {
		case <-cn.drain.fired:
		case <-t.C:
			return errDrainTimeout
		case <-stop:
			t.Stop()
			return errDrainStopped
		}
		t.Stop()
		// The AfterFunc moved both socket deadlines without recording
		// them: record what the socket now has, so the next operation
		// sets its own.
		cn.expireDeadlines()
	}
	if cn.pending > 0 {
		cn.setReadDeadline(noCaller, exactly(dl))
		for cn.pending > 0 {
			_, elems, err := cn.readReply(true, cn.elems)
			cn.elems = elems
			cn.doneWithElems()
			if err != nil {
				if isTimeoutErr(err) {
					return fmt.Errorf("%w: %d still owed", errDrainTimeout, cn.pending)
				}
				return fmt.Errorf("respool: draining: %w", err)
			}
			cn.pending--
		}
	}
	if !cn.idleClean() {
		return errors.New("respool: draining: unexpected data after the replies owed")
	}
	cn.broken = nil
	cn.drain.stalled, cn.drain.waitCancel = false, false
	return nil
}
