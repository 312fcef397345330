package respool

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/respool/respool/internal/cmdinfo"
)

// holdEnd says why a hold of writes ended.
type holdEnd uint8

const (
	holdOpen     holdEnd = iota // not ended yet
	holdSwitched                // the new primary is known: writes go there
	holdAborted                 // the sentinels gave the failover up: writes go on
	holdExpired                 // FailoverWriteHold passed first: held writes fail
	holdClosed                  // the FailoverClient was closed
)

func (e holdEnd) String() string {
	switch e {
	case holdOpen:
		return "open"
	case holdSwitched:
		return "switched"
	case holdAborted:
		return "aborted"
	case holdExpired:
		return "expired"
	case holdClosed:
		return "closed"
	}
	return "invalid hold end"
}

// writeHold is one stretch during which writes wait: from the event that
// announces a promotion to the one that names the new primary.
type writeHold struct {
	done  chan struct{} // closed when the hold ends
	end   holdEnd       // why it ended; written before done is closed
	timer *time.Timer   // ends it after FailoverWriteHold
}

// errHoldExpired is the cause of a write that was held until
// FailoverWriteHold passed.
var errHoldExpired = errors.New("held during a Sentinel failover until FailoverWriteHold passed")

// heldError is the cause of a held write whose context ended first.
type heldError struct{ cause error }

func (e *heldError) Error() string { return "held during a Sentinel failover: " + e.cause.Error() }
func (e *heldError) Unwrap() error { return e.cause }

// errTxMoved fails a command of a Watch whose connection leads to a
// primary the client no longer uses. It is ErrTxFailed to errors.Is, so
// Watch runs its function again, on a connection to the new primary.
var errTxMoved error = txMovedError{}

type txMovedError struct{}

func (txMovedError) Error() string {
	return "respool: transaction aborted: the primary changed (Sentinel failover); nothing was sent"
}
func (txMovedError) Is(target error) bool { return target == ErrTxFailed }

// beginHold starts holding writes, unless a hold is on already or
// holding is turned off.
func (fc *FailoverClient) beginHold() {
	if fc.cfg.hold < 0 {
		return
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	// Close sets closed before it ends the hold under mu: a hold begun
	// after that would never end early.
	if fc.hold != nil || fc.closed.Load() {
		return
	}
	h := &writeHold{done: make(chan struct{})}
	h.timer = time.AfterFunc(fc.cfg.hold, func() { fc.endHold(h, holdExpired) })
	fc.hold = h
	fc.holding.Store(true)
	fc.stats.holds.Add(1)
}

// endHold ends hold h (nil: whichever is on) for the reason end, and
// wakes the writes it held. An expired or aborted hold makes the checker
// ask the sentinels where the primary is now.
func (fc *FailoverClient) endHold(h *writeHold, end holdEnd) {
	fc.mu.Lock()
	if fc.hold == nil || (h != nil && fc.hold != h) {
		fc.mu.Unlock()
		return
	}
	h = fc.hold
	fc.hold = nil
	fc.holding.Store(false)
	h.end = end
	h.timer.Stop()
	close(h.done)
	fc.mu.Unlock()
	switch end {
	case holdExpired:
		fc.stats.holdsExpired.Add(1)
		fc.requestCheck()
	case holdAborted:
		fc.requestCheck()
	}
}

// admit waits, while a hold is on, until it ends, when j writes; it
// returns the error j fails with when the hold expires, the client is
// closed or ctx ends first. Reads are never held.
func (fc *FailoverClient) admit(ctx context.Context, j *job) error {
	if !fc.holding.Load() || !jobWrites(j) {
		return nil
	}
	fc.mu.Lock()
	h := fc.hold
	fc.mu.Unlock()
	if h == nil {
		return nil
	}
	fc.stats.heldWrites.Add(1)
	select {
	case <-h.done:
	case <-ctx.Done():
		return &ConnError{Op: "write", Addr: fc.cfg.master, Outcome: OutcomeNotSent, Err: &heldError{cause: context.Cause(ctx)}}
	}
	switch h.end {
	case holdExpired:
		return &ConnError{Op: "write", Addr: fc.cfg.master, Outcome: OutcomeNotSent, Err: errHoldExpired}
	case holdClosed:
		return ErrClosed
	}
	return nil
}

// failoverGate is the jobGate of a FailoverClient's Clients.
type failoverGate struct {
	fc     *FailoverClient
	client *Client
	// primary is set for the Client of the primary: its writes are held
	// during a failover and run again after READONLY, and its reads may
	// go to replicas (RouteRandomly).
	primary bool
}

func (g *failoverGate) execute(ctx context.Context, c *Client, j job) error {
	if !g.primary {
		return c.runJob(ctx, j)
	}
	fc := g.fc
	again := false
	for {
		if err := fc.admit(ctx, &j); err != nil {
			j.fail(err)
			return err
		}
		if r := fc.replicas; r != nil && !jobWrites(&j) && !blocks(&j) && rand.IntN(fc.replicaCount()+1) > 0 {
			return r.runJob(ctx, j)
		}
		err := c.runJob(ctx, j)
		if again || !refusedAsReplica(&j) {
			return err
		}
		// The server became a replica: Sentinel demoted it after a
		// failover this client did not see. Nothing of j was applied.
		again = true
		fc.stats.readOnly.Add(1)
		if _, rerr := fc.resolvePrimary(ctx, true); rerr != nil {
			return err
		}
		j.reset()
		if j.cmd == nil {
			// A transaction's requests remember what was refused.
			j.reqs = pipelineRequests(j.cmds)
		}
	}
}

func (g *failoverGate) pinned(ctx context.Context, cn *Conn, j *job) error {
	if g.primary {
		if err := g.fc.admit(ctx, j); err != nil {
			return err
		}
	}
	if g.client.pool.retired(cn) {
		return errTxMoved
	}
	return nil
}

// jobWrites reports whether j may write: a command that the command
// table does not mark read-only, or a batch that holds one (MULTI and
// EXEC themselves do not count).
func jobWrites(j *job) bool {
	if j.cmd != nil {
		return mayWrite(j.cmd.classArgs())
	}
	for _, cmd := range j.cmds {
		switch cmd.Name() {
		case "multi", "exec":
			continue
		}
		if mayWrite(cmd.classArgs()) {
			return true
		}
	}
	return false
}

// blocks reports whether a command of j blocks (BLPOP, XREAD BLOCK...);
// those stay on the primary.
func blocks(j *job) bool {
	if j.cmd != nil {
		return blocking(j.cmd.classArgs())
	}
	for _, cmd := range j.cmds {
		if blocking(cmd.classArgs()) {
			return true
		}
	}
	return false
}

// mayWrite reports whether argv is not read-only by the command table;
// an unknown command may write.
func mayWrite(argv []any) bool {
	var names [2]string
	n := 0
	for n < len(argv) && n < len(names) {
		s, ok := argString(argv[n])
		if !ok {
			break
		}
		names[n] = s
		n++
	}
	if n == 0 {
		return true
	}
	info, ok := cmdinfo.LookupArgs(names[:n])
	return !ok || !info.IsReadOnly()
}

// refusedAsReplica reports whether j failed because its server is a
// replica now, in a way that applied none of its writes: a command
// refused with READONLY; a pipeline in which every write was refused, at
// least one with READONLY; a transaction whose EXEC was refused after a
// command of it got READONLY.
func refusedAsReplica(j *job) bool {
	if j.cmd != nil {
		return isReadOnlyError(j.cmd.Err())
	}
	if j.connErr != nil {
		return false
	}
	readOnly := false
	if isTxBatch(j.cmds) {
		exec := j.cmds[len(j.cmds)-1].Err()
		if exec == nil || errors.Is(exec, ErrTxFailed) {
			return false // EXEC ran, or a watched key aborted it
		}
		for _, cmd := range j.cmds {
			readOnly = readOnly || isReadOnlyError(cmd.Err())
		}
		return readOnly
	}
	for _, cmd := range j.cmds {
		err := cmd.Err()
		if isReadOnlyError(err) {
			readOnly = true
			continue
		}
		if mayWrite(cmd.classArgs()) && OutcomeOf(err) != OutcomeRejected {
			return false // a write that ran, or may have
		}
	}
	return readOnly
}

// isReadOnlyError reports a READONLY error reply: a write sent to a
// replica.
func isReadOnlyError(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.Prefix() == "READONLY"
}
