package respool

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Bounds of the dial backoff window (see Pool.Get).
const (
	minDialBackoff = 100 * time.Millisecond
	maxDialBackoff = 2 * time.Second
)

// dialBackoff keeps a failing server from being dialled by every Get at
// once. It is guarded by Pool.mu.
type dialBackoff struct {
	lastErr  error         // the last dial failure; nil when not in backoff
	until    time.Time     // end of the current window
	step     time.Duration // length of the current window
	probing  bool          // the probe dial of the window is in flight
	failures int           // dials failed since the backoff began
	since    time.Time     // when the first of them failed
}

// backoffChange is what a dial's result did to the backoff, for the log.
type backoffChange struct {
	kind     backoffChangeKind
	failures int           // dials failed since the backoff began
	step     time.Duration // the window now (began, failedAgain)
	down     time.Duration // from the first failure to the success (ended)
}

type backoffChangeKind uint8

const (
	backoffSame        backoffChangeKind = iota // nothing to tell
	backoffBegan                                // the first failure opened a window
	backoffFailedAgain                          // a dial failed during the backoff
	backoffEnded                                // a dial succeeded after failures
)

// beginLocked is called before a dial at time now. It returns the last
// dial error when the dial must not happen (the window is open and its
// probe is in flight), and whether this dial is the window's probe.
func (b *dialBackoff) beginLocked(now time.Time) (probe bool, err error) {
	if b.lastErr == nil || !now.Before(b.until) {
		return false, nil
	}
	if b.probing {
		return false, b.lastErr
	}
	b.probing = true
	return true, nil
}

// endLocked records the result of a dial that began with beginLocked, and
// returns what it changed. Failures caused by the caller's own context
// (ctxErr != nil) and authentication failures say nothing about the
// server's health and leave the backoff alone.
func (b *dialBackoff) endLocked(probe bool, err, ctxErr error, now time.Time) backoffChange {
	if probe {
		b.probing = false
	}
	if err == nil {
		var ch backoffChange
		if b.lastErr != nil {
			ch = backoffChange{kind: backoffEnded, failures: b.failures, down: now.Sub(b.since)}
		}
		*b = dialBackoff{probing: b.probing}
		return ch
	}
	var ce *ConnError
	if ctxErr != nil || !errors.As(err, &ce) {
		return backoffChange{}
	}
	b.failures++
	kind := backoffFailedAgain
	switch {
	case b.lastErr == nil:
		b.step = minDialBackoff
		b.since = now
		kind = backoffBegan
	case probe || !now.Before(b.until):
		b.step = min(2*b.step, maxDialBackoff)
	default:
		// A dial that began before the window opened: keep the window.
		b.lastErr = err
		return backoffChange{kind: kind, failures: b.failures, step: b.step}
	}
	b.lastErr = err
	b.until = now.Add(b.step)
	return backoffChange{kind: kind, failures: b.failures, step: b.step}
}

// logDial logs what a dial that ended with err changed in the backoff.
func (p *Pool) logDial(ch backoffChange, err error) {
	lg := p.opt.Logger
	if lg == nil || ch.kind == backoffSame {
		return
	}
	addr := slog.String("addr", p.opt.Addr)
	switch ch.kind {
	case backoffBegan:
		logEvent(lg, slog.LevelWarn, "respool: dial failed, backing off", addr,
			slog.Any("error", err), slog.Duration("backoff", ch.step))
	case backoffFailedAgain:
		logEvent(lg, slog.LevelDebug, "respool: dial failed again", addr,
			slog.Any("error", err), slog.Int("failures", ch.failures), slog.Duration("backoff", ch.step))
	case backoffEnded:
		logEvent(lg, slog.LevelInfo, "respool: dial succeeded after failures", addr,
			slog.Int("failures", ch.failures), slog.Duration("down", ch.down))
	}
}

// dialReason says why the pool dials; PoolStats counts the dials of each.
type dialReason uint8

const (
	dialForGet  dialReason = iota // a Get found no usable idle connection
	dialMinIdle                   // the MinIdleConns filler
	dialShared                    // a shared connection of a multiplexing Client
	numDialReasons
)

// dialSlot dials a new connection for a slot of PoolSize the caller holds
// (counted in numOpen). The connection goes to the caller, in use, or,
// when toIdle is set (the MinIdleConns filler), to the longest waiter or
// the idle list. On failure the slot is released and the error returned:
// the dial's own, the last dial error during a backoff (see Pool.Get), a
// *ConnError wrapping ctx's error when ctx ended while waiting for a turn
// to dial, or ErrClosed.
func (p *Pool) dialSlot(ctx context.Context, toIdle bool) (*Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.numOpen--
		p.mu.Unlock()
		return nil, ErrClosed
	}
	probe, err := p.backoff.beginLocked(p.opt.now())
	if err != nil {
		p.releaseSlotLocked()
		p.mu.Unlock()
		return nil, err
	}
	p.numDialing++
	gen := p.gen
	p.mu.Unlock()

	reason := dialForGet
	if toIdle {
		reason = dialMinIdle
	}
	cn, err := p.dialLimited(ctx, reason)
	now := p.opt.now()

	p.mu.Lock()
	p.numDialing--
	change := p.backoff.endLocked(probe, err, callerEnded(ctx, now), now)
	if err != nil {
		if p.closed {
			p.numOpen--
		} else {
			p.releaseSlotLocked()
		}
		p.mu.Unlock()
		p.logDial(change, err)
		return nil, err
	}
	p.initPooled(cn, now)
	pooled(cn).gen = gen
	if p.closed {
		p.numOpen--
		p.mu.Unlock()
		p.closeConn(cn, closePoolClosed)
		return nil, ErrClosed
	}
	if gen != p.gen {
		// Dialled to the server the pool was told to forget meanwhile.
		p.releaseSlotLocked()
		p.mu.Unlock()
		p.closeConn(cn, closeRetired)
		return nil, &ConnError{Op: "dial", Addr: cn.Addr(), Outcome: OutcomeNotSent, Err: errRetired}
	}
	pooled(cn).inUse = true
	p.numInUse++
	if toIdle {
		// Placed as if just given back, so a waiter gets it first.
		if reason := p.putLocked(cn, true, now); reason != closeNone {
			p.mu.Unlock()
			p.logDial(change, nil)
			p.closeConn(cn, reason)
			return nil, nil
		}
	}
	p.mu.Unlock()
	p.logDial(change, nil)
	return cn, nil
}

// dialLimited dials once it holds one of the MaxConcurrentDials tokens,
// waiting for one in arrival order, and counts the dial with its reason.
func (p *Pool) dialLimited(ctx context.Context, reason dialReason) (*Conn, error) {
	select {
	case p.dialTokens <- struct{}{}:
	default:
		select {
		case p.dialTokens <- struct{}{}:
		case <-ctx.Done():
			return nil, &ConnError{Op: "dial", Addr: p.opt.Addr, Outcome: OutcomeNotSent, Err: ctx.Err()}
		case <-p.closing:
			return nil, ErrClosed
		}
	}
	defer func() { <-p.dialTokens }()
	p.stats.dialsFor[reason].Add(1)
	cn, err := dialConn(ctx, p.opt)
	if err != nil {
		p.stats.dialErrors.Add(1)
	}
	return cn, err
}

// dialUnpooled dials a connection the pool does not own, such as a shared
// connection of a multiplexing Client, under the pool's dial backoff and
// MaxConcurrentDials: while the server is failing, callers get the last
// dial error at once instead of each waiting a full DialTimeout. The
// connection does not count against PoolSize; the caller closes it.
func (p *Pool) dialUnpooled(ctx context.Context) (*Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	probe, err := p.backoff.beginLocked(p.opt.now())
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	cn, err := p.dialLimited(ctx, dialShared)
	now := p.opt.now()
	p.mu.Lock()
	change := p.backoff.endLocked(probe, err, callerEnded(ctx, now), now)
	p.mu.Unlock()
	p.logDial(change, err)
	return cn, err
}
