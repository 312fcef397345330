package respool

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Pool is a pool of connections to one server (redis-py's ConnectionPool
// and BlockingConnectionPool in one). It is safe for concurrent use.
//
// Get takes a connection: the most recently returned idle one (LIFO), or
// a new one dialled outside the pool's lock while fewer than PoolSize are
// open. When PoolSize are open and busy, Get waits, first come first
// served, until a connection comes back, PoolTimeout passes
// (ErrPoolTimeout) or its context ends; with PoolFailFast it fails at once
// with ErrPoolExhausted instead. Put gives the connection back: a broken
// or dirty one (an error after a write, unread replies, MULTI, WATCH or a
// subscription left open, a session changed by SELECT or CLIENT SETNAME)
// is closed rather than handed to the next caller, except one that only
// owes replies to a caller that stopped waiting: that one is drained in the
// background and reused (see Put and Options.DrainTimeout).
//
// Connections free longer than ConnMaxIdleTime or older than
// ConnMaxLifetime are closed, both when Get takes them and by a
// background reaper; one free for HealthCheckInterval (2µs by default) or
// longer is checked at Get with a non-blocking peek at its socket and
// replaced silently when the server has closed it. MinIdleConns connections are kept free, dialled
// in the background. At most MaxConcurrentDials dials run at once, and
// while the server is failing Get fails fast (see Get).
//
// Go has no fork: unlike redis-py's pool, Pool needs no process-id check.
// Close closes the idle connections at once and the others as they come
// back; it ends the drains in flight. Every Pool must be closed: it runs one background goroutine
// (unless ConnMaxIdleTime and ConnMaxLifetime are off and MinIdleConns is
// 0), which Close stops.
type Pool struct {
	opt *Options // withDefaults applied; never changed

	dialTokens chan struct{} // one per dial in flight; capacity MaxConcurrentDials
	closing    chan struct{} // closed by Close
	wake       chan struct{} // asks the background goroutine to refill MinIdleConns
	bgCancel   context.CancelFunc
	bgDone     chan struct{} // closed when the background goroutine ends; nil without one

	stats poolCounters

	// spareWaiters recycles the waiters of Gets that waited (*poolWaiter).
	spareWaiters sync.Pool

	// drainWG counts the drain goroutines (pool_drain.go); Close waits
	// for them. A drain starts only under mu while the pool is open.
	drainWG sync.WaitGroup

	// hookGaveUp, set only by tests, runs when a waiting Get has given up
	// and has not yet taken mu, so a test can deliver to it in between.
	hookGaveUp func()

	// mu guards the fields below and the pooledConn of every connection
	// of the pool.
	mu         sync.Mutex
	closed     bool
	idle       []*Conn // free connections, the most recently returned last
	numOpen    int     // idle + in use + dials in flight: the slots of PoolSize taken
	numInUse   int     // taken with Get, not given back yet
	numDialing int     // dials in flight (Gets and the filler)
	numLeaked  int     // connections in use reported as leaks (LeakThreshold)
	waiters    poolWaitQueue
	// waitTimer ends the waits PoolTimeout bounds (expireWaiters);
	// waitTimerArmed says it will fire.
	waitTimer      *time.Timer
	waitTimerArmed bool
	backoff        dialBackoff
	draining       map[*Conn]struct{} // connections being drained (in use meanwhile)
	// gen counts retire calls: a connection dialled in an earlier
	// generation (pooledConn.gen) is closed instead of reused.
	gen uint64
}

// NewPool returns a Pool for the server opt describes (nil means all
// defaults; the options are copied, see Options for each default). No
// connection is dialled until the first Get, except the MinIdleConns that
// the background goroutine dials at once. The caller must Close the Pool.
func NewPool(opt *Options) *Pool {
	o := opt.withDefaults()
	p := &Pool{
		opt:        o,
		dialTokens: make(chan struct{}, o.MaxConcurrentDials),
		closing:    make(chan struct{}),
		wake:       make(chan struct{}, 1),
	}
	if period := p.reapPeriod(); period > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		p.bgCancel = cancel
		p.bgDone = make(chan struct{})
		go p.background(ctx, period)
	}
	return p
}

// Options returns a copy of the pool's effective options (defaults
// applied).
func (p *Pool) Options() Options { return *p.opt }

// Get returns a connection for the caller's exclusive use; the caller
// gives it back with Put. In order, Get takes:
//
//   - the most recently returned idle connection (which, when the
//     credentials were rotated since it last authenticated, first sends
//     AUTH: see RotateCredentials), unless it has expired
//     (ConnMaxIdleTime, ConnMaxLifetime) or, free for HealthCheckInterval or
//     longer, is found dead by a non-blocking peek (one given back moments
//     ago is only checked for bytes read past its last reply); such a
//     connection is closed and the next one tried, as nothing was sent on
//     it yet;
//   - a new connection, dialled outside the pool's lock, while fewer than
//     PoolSize are open. At most MaxConcurrentDials dials run at once; a
//     Get waits (bounded by ctx) for its turn to dial. The dial error is
//     returned as it is: a *ConnError with Op "dial" or "handshake", or an
//     *AuthError, never retried by the pool;
//   - otherwise it fails with ErrPoolExhausted when PoolFailFast is set,
//     or waits behind earlier waiters until a connection is given back or a
//     slot frees up, for at most PoolTimeout (then a *PoolTimeoutError,
//     which is ErrPoolTimeout, describes the pool and says what to
//     change; a negative PoolTimeout waits for ctx alone). A connection
//     given back goes from Put straight to the waiter: it was never idle
//     and is not peeked at (only its expiry is checked).
//
// Dial backoff: after a dial fails with a *ConnError while ctx was still
// live (the server is down or not answering; an *AuthError does not
// count), the pool is in backoff for a window of 100ms from that failure.
// During the window at most one dial, the probe, is in flight: the first
// Get needing a dial becomes the probe, and every other Get needing one
// while the probe is in flight fails at once with the last dial error
// instead of waiting its own DialTimeout. A failed probe (or a failure
// after the window ended) opens a new window twice as long, up to 2s; a
// successful dial ends the backoff. Idle connections are handed out as
// usual during a backoff, and the MinIdleConns filler follows the same
// rule.
//
// When ctx ends before a connection is available, Get returns an error
// for which errors.Is(err, ctx.Err()) holds; after Close it returns
// ErrClosed, also to Gets that were waiting. Every error of Get has
// OutcomeNotSent. In steady state (an idle connection is reused) Get
// allocates nothing.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	return p.get(ctx, p.opt.PoolFailFast)
}

// get is Get; failFast returns ErrPoolExhausted instead of waiting.
func (p *Pool) get(ctx context.Context, failFast bool) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, &poolWaitError{err: err}
	}
	p.mu.Lock()
	dead := 0 // idle connections found dead by the health check
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		cn := p.popIdleLocked()
		handed, handedAt := false, time.Time{}
		if cn != nil {
			p.mu.Unlock()
		} else {
			if p.numOpen < p.opt.PoolSize {
				p.numOpen++
				p.mu.Unlock()
				if dead > 0 {
					p.logDeadIdle(dead)
				}
				return p.dialNew(ctx)
			}
			if failFast {
				p.mu.Unlock()
				return nil, ErrPoolExhausted
			}
			r, end, err := p.waitLocked(ctx)
			if err != nil {
				return nil, err
			}
			if r.err != nil {
				return nil, r.err
			}
			if r.cn == nil {
				return p.dialNew(ctx) // a slot was freed for us
			}
			cn = r.cn
			handed, handedAt = true, end
		}

		var reason closeReason
		if handed {
			// Straight from a Put: never idle, so not peeked at.
			reason = p.expiredReason(cn, handedAt)
		} else {
			reason = p.staleReason(cn, p.opt.now())
		}
		if reason == closeNone && cn.credsStale() && cn.reauthenticate(ctx) != nil {
			reason = closeUnusable // AUTH refused or failed: nothing of the caller's was sent
		}
		if reason == closeNone {
			p.stats.hits.Add(1)
			if p.opt.LeakThreshold > 0 {
				p.armLeak(cn)
			}
			if dead > 0 {
				p.logDeadIdle(dead)
			}
			return cn, nil
		}
		if reason == closeHealthCheck {
			dead++
		}
		p.closeConn(cn, reason)
		p.mu.Lock()
		pooled(cn).inUse = false
		p.numInUse--
		if p.closed || len(p.idle) > 0 {
			p.numOpen-- // try the next idle one (or report the close)
			continue
		}
		p.mu.Unlock()
		if dead > 0 {
			p.logDeadIdle(dead)
		}
		return p.dialNew(ctx) // reuse the slot of the dead connection
	}
}

// logDeadIdle logs that one Get found n idle connections dead (closed by
// the server, or holding bytes nobody asked for) and replaced them.
func (p *Pool) logDeadIdle(n int) {
	if lg := p.opt.Logger; lg != nil {
		logEvent(lg, slog.LevelInfo, "respool: dead idle connections replaced",
			slog.String("addr", p.opt.Addr), slog.Int("count", n))
	}
}

// logClosedAfterError logs that cn, given back broken, was closed.
func (p *Pool) logClosedAfterError(cn *Conn) {
	if lg := p.opt.Logger; lg != nil && cn.broken != nil {
		logBroken(lg, p.opt.Addr, cn.broken, false)
	}
}

// popIdleLocked takes the most recently returned idle connection, marked
// in use, or returns nil.
func (p *Pool) popIdleLocked() *Conn {
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	cn := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	pooled(cn).inUse = true
	p.numInUse++
	if n-1 < p.opt.MinIdleConns {
		p.wakeFiller()
	}
	return cn
}

// dialNew dials a connection for the caller, which holds a slot of
// PoolSize (counted in numOpen) for it.
func (p *Pool) dialNew(ctx context.Context) (*Conn, error) {
	cn, err := p.dialSlot(ctx, false)
	if err != nil {
		return nil, err
	}
	p.stats.misses.Add(1)
	if p.opt.LeakThreshold > 0 {
		p.armLeak(cn)
	}
	return cn, nil
}

// Put gives back a connection taken with Get. The pool keeps it for the
// next Get (handing it to the longest waiter first) when it is reusable,
// the pool is open and fewer than MaxIdleConns are idle; otherwise Put
// closes it, freeing its slot. A broken or dirty connection (see Conn) is
// closed, unless all it lacks is the replies owed to a caller whose read
// timed out or whose context ended between two replies, with no blocking
// command, MULTI, WATCH, subscription or session change: Put then hands
// it to a goroutine that reads and drops those replies within
// Options.DrainTimeout and places it as Put would have (to a waiting Get,
// or idle), or closes it when they do not all come in time, an error
// comes, or anything more arrives after them. The connection stays in use
// meanwhile (PoolStats.InUse and Draining) and keeps its slot of PoolSize.
// The caller must not use cn after Put.
//
// Put is nil-safe, and harmless on a connection that is not out of this
// pool: a Conn of another Pool or from Dial is left alone (not closed),
// and a second Put of a connection already given back is ignored; both
// are counted (PoolStats.ForeignPuts, DoublePuts). A second Put after
// another Get took the same connection again cannot be told apart from
// that Get's own Put: do not Put twice.
func (p *Pool) Put(cn *Conn) {
	if cn == nil {
		return
	}
	if pc := pooled(cn); pc == nil || pc.pool != p {
		p.stats.foreignPuts.Add(1)
		return
	}
	reusable := cn.reusable() // the caller owns cn: no lock needed
	drain := !reusable && p.opt.DrainTimeout >= 0 && cn.drainable()
	now := p.opt.now()
	p.mu.Lock()
	if pc := pooled(cn); !pc.inUse || pc.draining {
		p.mu.Unlock()
		p.stats.doublePuts.Add(1)
		return
	}
	if p.opt.LeakThreshold > 0 {
		p.disarmLeakLocked(cn)
	}
	if drain && p.startDrainLocked(cn) {
		p.mu.Unlock()
		return
	}
	reason := p.putLocked(cn, reusable, now)
	p.mu.Unlock()
	if reason != closeNone {
		if reason == closeUnusable {
			p.logClosedAfterError(cn)
		}
		p.closeConn(cn, reason)
	}
}

// putLocked places a connection that was in use: to the longest waiter,
// to the idle list, or out of the pool. It returns closeNone, or why the
// caller must close cn once mu is released (the pool no longer counts it).
func (p *Pool) putLocked(cn *Conn, reusable bool, now time.Time) closeReason {
	var reason closeReason
	switch {
	case p.closed:
		reason = closePoolClosed
	case pooled(cn).gen != p.gen:
		reason = closeRetired
	case !reusable:
		reason = closeUnusable
	default:
		pooled(cn).returnedAt = now
		if p.handOffLocked(poolDelivery{cn: cn}) {
			return closeNone // still in use, by the waiter now
		}
		if len(p.idle) < p.opt.MaxIdleConns {
			pooled(cn).inUse = false
			p.numInUse--
			p.idle = append(p.idle, cn)
			return closeNone
		}
		reason = closeMaxIdle
	}
	pooled(cn).inUse = false
	p.numInUse--
	if p.closed {
		p.numOpen--
	} else {
		p.releaseSlotLocked()
	}
	return reason
}

// Close closes the pool: idle connections at once, connections in use
// when they are given back with Put. Gets waiting for a connection return
// ErrClosed, and so does every later Get. Close stops the background
// goroutine and waits for it (and for the dials it started) to end, and
// closes the connections being drained, waiting for their drains to end,
// before it returns. Dials of Gets in flight are not interrupted; their
// connections are closed and those Gets return ErrClosed. Close is
// idempotent and returns nil.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
	} else {
		p.closed = true
		idle := p.idle
		p.idle = nil
		p.numOpen -= len(idle)
		for w := p.waiters.popFront(); w != nil; w = p.waiters.popFront() {
			w.ch <- poolDelivery{err: ErrClosed}
		}
		if p.waitTimer != nil {
			p.waitTimer.Stop()
			p.waitTimerArmed = false
		}
		close(p.closing)
		p.mu.Unlock()
		if p.bgCancel != nil {
			p.bgCancel()
		}
		for _, cn := range idle {
			p.closeConn(cn, closePoolClosed)
		}
	}
	p.stopDrains()
	if p.bgDone != nil {
		<-p.bgDone
	}
	return nil
}

// errRetired is the error of a connection closed, or a dial discarded,
// because the client stopped using the server it leads to.
var errRetired = errors.New("connection retired: the client moved to another server")

// retire makes the pool forget the server its connections lead to: the
// idle connections are closed now, those in use when they come back
// (Put), and a dial in flight when it completes (its Get fails with
// OutcomeNotSent), so that every connection Get hands out afterwards is
// dialled anew. A dial backoff, which was about that server, ends. A
// FailoverClient calls it when Sentinel names another server.
func (p *Pool) retire() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.gen++
	idle := p.idle
	p.idle = nil
	for range idle {
		p.releaseSlotLocked()
	}
	p.backoff = dialBackoff{probing: p.backoff.probing}
	p.mu.Unlock()
	for _, cn := range idle {
		p.closeConn(cn, closeRetired)
	}
	if p.opt.MinIdleConns > 0 {
		p.wakeFiller()
	}
}

// retired reports whether cn, a connection taken from this pool, was
// dialled before the last retire.
func (p *Pool) retired(cn *Conn) bool {
	pc := pooled(cn)
	if pc == nil || pc.pool != p {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return pc.gen != p.gen
}
