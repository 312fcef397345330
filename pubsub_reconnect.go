package respool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"time"

	"github.com/respool/respool/resp"
)

// readerState is what the reader of a PubSub's connection keeps between
// replies. It belongs to whoever holds PubSub.readTurn.
type readerState struct {
	// queue holds events read by a Subscribe or Ping waiting for its reply,
	// and the Gap of a new connection, for the next Receive (or the Channel
	// goroutine), in order.
	queue []any
	// lastRead is when the last reply arrived or the connection was made.
	lastRead time.Time
	// pingSent is when the health check's PING went out, zero when every
	// PING since the last reply was answered.
	pingSent time.Time
	// leftAt is when the last read returned: time spent away from the
	// connection (the caller gone, a full channel) does not count against
	// a PING's timeout.
	leftAt time.Time
	// failures counts failed connection attempts in a row (the backoff).
	failures int
	// lastErr is the error that ended the last connection.
	lastErr error
	// outage is set when a connection was lost, or a dial failed, since the
	// last connection was made; cause is the first such error, lostAt when
	// it happened.
	outage bool
	cause  error
	lostAt time.Time
	// onDrop, when set (by tests), is called with the error that ended
	// each connection.
	onDrop func(error)
}

// pingTimeoutError is the health check's verdict on a silent connection.
type pingTimeoutError struct {
	timeout time.Duration
}

func (e *pingTimeoutError) Error() string {
	return "no reply to PING within " + e.timeout.String()
}

// Timeout reports true: the server did not answer in time.
func (e *pingTimeoutError) Timeout() bool { return true }

// next returns the next event for Receive or the Channel goroutine: a
// queued one, or one read from the connection, making the connection again
// (after a backoff) whenever it is down. It returns an error when ctx ends
// (the connection is then intact), when the PubSub is closed, and for a
// server error reply that no caller waits for.
func (ps *PubSub) next(ctx context.Context) (any, error) {
	rd := &ps.rd
	for {
		if len(rd.queue) > 0 {
			ev := rd.queue[0]
			rd.queue[0] = nil
			rd.queue = rd.queue[1:]
			if len(rd.queue) == 0 {
				rd.queue = nil
			}
			if err, ok := ev.(error); ok {
				return nil, err
			}
			return ev, nil
		}
		cn, closed := ps.current()
		if closed {
			return nil, ErrClosed
		}
		if cn == nil {
			if rd.failures > 0 {
				if err := ps.sleep(ctx, backoff(rd.failures, ps.opt.MinRetryBackoff, ps.opt.MaxRetryBackoff)); err != nil {
					return nil, err
				}
			}
			if err := ps.connect(ctx); err != nil {
				if ps.isClosed() {
					return nil, ErrClosed
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
			}
			continue
		}
		ev, err := ps.readEvent(ctx, cn)
		if err != nil {
			return nil, err
		}
		if ev != nil {
			return ev, nil
		}
	}
}

// readUntil reads the connection for a caller waiting for w, keeping the
// events it reads for Receive, until w is answered. When the connection is
// down it makes one attempt to connect: if that fails, every stalled
// caller, w among them, gets its error; if the new connection fails too
// before w is answered, readUntil returns that error (w stays registered).
func (ps *PubSub) readUntil(ctx context.Context, w *waiter) error {
	dialed := false
	for {
		select {
		case <-w.done:
			return w.err
		default:
		}
		cn, closed := ps.current()
		if closed {
			return ErrClosed
		}
		if cn == nil {
			if dialed {
				if ps.rd.lastErr == nil {
					return errors.New("respool: pub/sub connection lost")
				}
				return ps.rd.lastErr
			}
			dialed = true
			if ps.rd.failures > 0 {
				if err := ps.sleep(ctx, backoff(ps.rd.failures, ps.opt.MinRetryBackoff, ps.opt.MaxRetryBackoff)); err != nil {
					return err
				}
			}
			if err := ps.connect(ctx); err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		ev, err := ps.readEvent(ctx, cn)
		if err != nil {
			var se *Error
			if errors.As(err, &se) {
				ps.rd.queue = append(ps.rd.queue, err)
				continue
			}
			return err
		}
		if ev != nil {
			ps.rd.queue = append(ps.rd.queue, ev)
		}
	}
}

// current returns the connection in use (nil while disconnected) and
// whether the PubSub is closed.
func (ps *PubSub) current() (*Conn, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.cn, ps.closed.Load()
}

func (ps *PubSub) isClosed() bool { return ps.closed.Load() }

// sleep waits d, or less if ctx ends or the PubSub is closed.
func (ps *PubSub) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		d = DefaultMinRetryBackoff
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-ps.done:
		return ErrClosed
	}
}

// readEvent reads one reply from cn and turns it into an event: nil for a
// reply that is the PubSub's own business (a PONG, an error reply for a
// waiting caller, an ignored push). When cn fails it is dropped and
// readEvent returns nil, nil (next makes a new one); it returns an error
// when ctx ended (cn intact), when the PubSub is closed, and for a server
// error reply that no caller waits for.
func (ps *PubSub) readEvent(ctx context.Context, cn *Conn) (any, error) {
	v, err := ps.readReply(ctx, cn)
	if err == nil {
		var ev any
		ev, err = ps.handle(cn, v)
		if err == nil {
			return ev, nil
		}
		var se *Error
		if errors.As(err, &se) {
			return nil, err
		}
	}
	if ps.isClosed() {
		return nil, ErrClosed
	}
	if _, idle := err.(idleError); idle {
		return nil, ctx.Err()
	}
	ps.drop(cn, err)
	return nil, nil
}

// idleError is readReply's report that ctx ended while no reply was being
// read: the connection is intact.
type idleError struct{}

func (idleError) Error() string { return "respool: context ended while waiting for a reply" }

// readReply reads the next reply from cn. While no reply has started it
// waits within ctx and runs the health check: a PING after the ping
// interval of silence, and a *ConnError wrapping a *pingTimeoutError when
// nothing at all answered it within the ping timeout. When ctx ends first
// it returns idleError and cn stays usable. Once a reply has started it is
// read to its end within ReadTimeout (or the ping timeout when ReadTimeout
// is off), whatever ctx does. Any other error leaves cn unusable.
func (ps *PubSub) readReply(ctx context.Context, cn *Conn) (resp.Value, error) {
	rd := &ps.rd
	if !rd.pingSent.IsZero() && !rd.leftAt.IsZero() {
		rd.pingSent = rd.pingSent.Add(ps.opt.now().Sub(rd.leftAt))
	}
	defer func() { rd.leftAt = ps.opt.now() }()
	for !cn.replyStarted() {
		if ctx.Err() != nil {
			return resp.Value{}, idleError{}
		}
		if cn.credsStale() {
			if err := ps.reauth(cn); err != nil {
				return resp.Value{}, err
			}
		}
		cn.setReadDeadline(noCaller, exactly(ps.idleDeadline(ctx)))
		err := cn.awaitReply(ctx)
		if err == nil {
			break
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return resp.Value{}, &ConnError{Op: "read", Addr: cn.Addr(), Outcome: OutcomeUnknown, Err: err}
		}
		// Nothing of a reply was consumed: the reader stays usable.
		if ctx.Err() != nil {
			return resp.Value{}, idleError{}
		}
		if err := ps.checkHealth(cn); err != nil {
			return resp.Value{}, err
		}
	}
	var dl time.Time
	switch {
	case ps.opt.ReadTimeout > 0:
		dl = ps.opt.now().Add(ps.opt.ReadTimeout)
	case ps.health.interval > 0:
		dl = ps.opt.now().Add(ps.health.timeout)
	}
	cn.setReadDeadline(noCaller, exactly(dl))
	v, err := cn.readNext()
	if err != nil {
		return v, &ConnError{Op: "read", Addr: cn.Addr(), Outcome: OutcomeUnknown, Err: err}
	}
	rd.lastRead = ps.opt.now()
	rd.pingSent = time.Time{}
	return v, nil
}

// reauth makes cn authenticate again after RotateCredentials, between two
// reads: it writes AUTH, whose reply handle takes. A RESP2 subscription
// cannot send AUTH (the server allows only subscription commands and PING
// on it): reauth then returns an error that makes the PubSub reconnect,
// with the new credentials, and report the gap.
func (ps *PubSub) reauth(cn *Conn) error {
	if cn.Protocol() < 3 {
		return &ConnError{Op: "auth", Addr: cn.Addr(), Outcome: OutcomeNotSent,
			Err: errors.New("credentials rotated: a RESP2 subscription reconnects to authenticate again")}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.cn == cn {
		if rq := cn.staleAuth(); rq != nil {
			ps.sendLocked(&marker{kind: markerAuth, auth: rq.argv})
		}
	}
	return nil
}

// idleDeadline is when the wait for the next reply gives way to the health
// check or to ctx's deadline, whichever is first (zero: no deadline).
func (ps *PubSub) idleDeadline(ctx context.Context) time.Time {
	var dl time.Time
	if h := ps.health; h.interval > 0 {
		if !ps.rd.pingSent.IsZero() {
			dl = ps.rd.pingSent.Add(h.timeout)
		} else {
			dl = ps.rd.lastRead.Add(h.interval)
		}
	}
	if cd, ok := ctx.Deadline(); ok && (dl.IsZero() || cd.Before(dl)) {
		dl = cd
	}
	return dl
}

// checkHealth runs after a wait for a reply timed out: it sends the PING
// of an idle connection, or fails one whose PING went unanswered.
func (ps *PubSub) checkHealth(cn *Conn) error {
	h := ps.health
	if h.interval <= 0 {
		return nil
	}
	now := ps.opt.now()
	rd := &ps.rd
	if !rd.pingSent.IsZero() {
		if now.Before(rd.pingSent.Add(h.timeout)) {
			return nil
		}
		return &ConnError{Op: "read", Addr: cn.Addr(), Outcome: OutcomeUnknown, Err: &pingTimeoutError{timeout: h.timeout}}
	}
	if now.Before(rd.lastRead.Add(h.interval)) {
		return nil
	}
	ps.mu.Lock()
	if ps.cn == cn {
		ps.sendLocked(&marker{kind: markerHealth})
	}
	ps.mu.Unlock()
	rd.pingSent = now
	return nil
}

// handle processes one reply read on cn: a PONG answers the oldest PING
// written (and its callers), an error reply is kept for the callers of
// that PING. It returns the event for the user, or nil. An error is
// either an *Error nobody waits for, or a malformed reply (cn must then be
// dropped).
func (ps *PubSub) handle(cn *Conn, v resp.Value) (any, error) {
	r, err := parsePubSubReply(v)
	if err != nil {
		return nil, &ConnError{Op: "read", Addr: cn.Addr(), Outcome: OutcomeUnknown, Err: err}
	}
	switch r := r.(type) {
	case *Message:
		ps.stats.messages.Add(1)
		return r, nil
	case *Subscription:
		if r.Kind == "sunsubscribe" {
			// A server drops shard channel subscriptions by itself when
			// the channel's slot moves away from it (a failover, a
			// resharding). One still wanted is made again elsewhere.
			ps.mu.Lock()
			_, wanted := ps.subs[subShard][r.Channel]
			current := ps.cn == cn
			ps.mu.Unlock()
			if wanted && current {
				return nil, &ConnError{Op: "read", Addr: cn.Addr(), Outcome: OutcomeUnknown,
					Err: fmt.Errorf("the server ended the subscription to shard channel %q: its slot moved", r.Channel)}
			}
		}
		return r, nil
	case *Error:
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if ps.cn != cn || len(ps.inflight) == 0 {
			return nil, r
		}
		if m := ps.inflight[0]; m.kind == markerAuth {
			// AUTH refused: the connection goes; the next one's handshake
			// asks CredentialsProvider again.
			ps.inflight[0] = nil
			ps.inflight = ps.inflight[1:]
			err := &reauthError{addr: cn.Addr(), reply: r}
			cn.reauthDone(err)
			return nil, &ConnError{Op: "auth", Addr: cn.Addr(), Outcome: OutcomeNotSent, Err: err}
		}
		if m := ps.inflight[0]; m.err == nil {
			m.err = r
		}
		return nil, nil
	case pongReply:
		ps.mu.Lock()
		defer ps.mu.Unlock()
		if ps.cn != cn || len(ps.inflight) == 0 {
			return nil, nil
		}
		m := ps.inflight[0]
		ps.inflight[0] = nil
		ps.inflight = ps.inflight[1:]
		resolveAll(m.waiters, m.err)
		switch {
		case m.kind == markerAuth:
			cn.reauthDone(nil)
		case m.kind == markerPing:
			return &Pong{Payload: m.payload}, nil
		case m.err != nil && len(m.waiters) == 0:
			// Nobody waits for it (a resubscription refused): the user
			// hears of it through Receive.
			return nil, m.err
		}
	}
	return nil, nil
}

// connect dials a new connection, subscribes it to everything the PubSub
// wants and makes it the one in use. The confirmations are read like any
// reply; callers stalled by the last connection's loss are answered by the
// PING written after the subscriptions. When the dial fails, every stalled
// caller gets the error (unless ctx or Close caused it) and the next
// connection reports a gap.
func (ps *PubSub) connect(ctx context.Context) error {
	rd := &ps.rd
	dctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(ps.life, cancel)
	cn, err := dialConn(dctx, ps.opt)
	stop()
	cancel()
	if err != nil {
		if ps.life.Err() != nil {
			return err
		}
		// Whatever cut it short, the subscriptions are not in place: the
		// connection that makes them reports a gap.
		ps.lost(err)
		if ctx.Err() != nil {
			return err
		}
		rd.failures++
		ps.mu.Lock()
		resolveAll(ps.stalled, err)
		ps.stalled = nil
		ps.mu.Unlock()
		return err
	}
	ps.mu.Lock()
	if ps.closed.Load() {
		ps.mu.Unlock()
		_ = cn.Close()
		return ErrClosed
	}
	ps.cn = cn
	ps.cur.Store(cn)
	var cmds [][]any
	for k, set := range ps.subs {
		cmds = append(cmds, commandsFor(subKind(k).subscribeCommand(), slices.Sorted(maps.Keys(set)))...)
	}
	m := &marker{kind: markerResubscribe, waiters: ps.stalled}
	ps.stalled = nil
	ps.sendLocked(m, cmds...)
	ps.mu.Unlock()

	rd.failures = 0
	rd.lastRead = ps.opt.now()
	rd.pingSent = time.Time{}
	if rd.outage {
		rd.queue = append(rd.queue, &Gap{Reconnects: 1, Err: rd.cause})
		if lg := ps.opt.Logger; lg != nil {
			logEvent(lg, slog.LevelInfo, "respool: pub/sub reconnected, messages may have been missed",
				slog.String("addr", ps.opt.Addr), slog.Duration("down", ps.opt.now().Sub(rd.lostAt)),
				slog.Any("error", rd.cause))
		}
		rd.outage, rd.cause = false, nil
		ps.stats.reconnects.Add(1)
	}
	return nil
}

// drop closes cn after it failed with err; its unanswered callers wait for
// the next connection.
func (ps *PubSub) drop(cn *Conn, err error) {
	ps.mu.Lock()
	if ps.cn == cn {
		ps.cn = nil
		ps.cur.Store(nil)
		for _, m := range ps.inflight {
			ps.stalled = append(ps.stalled, m.waiters...)
		}
		ps.inflight = nil
	}
	ps.mu.Unlock()
	_ = cn.Close()
	ps.rd.lastErr = err
	ps.lost(err)
	if ps.rd.onDrop != nil {
		ps.rd.onDrop(err)
	}
}

// lost records that the connection was lost (or could not be made) with
// err: the next connection reports a gap.
func (ps *PubSub) lost(err error) {
	if !ps.rd.outage {
		ps.stats.disconnects.Add(1)
		ps.rd.outage = true
		ps.rd.cause = err
		ps.rd.lostAt = ps.opt.now()
		if lg := ps.opt.Logger; lg != nil {
			ps.mu.Lock()
			n := len(ps.subs[subChannel]) + len(ps.subs[subPattern]) + len(ps.subs[subShard])
			ps.mu.Unlock()
			logEvent(lg, slog.LevelWarn, "respool: pub/sub connection lost", slog.String("addr", ps.opt.Addr),
				slog.Any("error", err), slog.Int("subscriptions", n))
		}
	}
}
