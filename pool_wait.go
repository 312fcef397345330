package respool

import (
	"context"
	"errors"
	"time"
)

// poolWaiter is a Get waiting for a connection while PoolSize are busy. It
// receives exactly one poolDelivery, sent under the pool's lock by the
// code that takes it off the queue, so a waiter that gives up can always
// tell, under that lock, whether something is on its way: if it is no
// longer queued, its result is in ch, and it gives it back to the pool.
//
// Waiters are recycled through Pool.spareWaiters once their one delivery
// has been received (or, for a waiter that left the queue itself, none
// was sent), so waiting allocates nothing in steady state.
type poolWaiter struct {
	ch         chan poolDelivery // capacity 1: a delivery never blocks
	deadline   time.Time         // when PoolTimeout ends its wait (Options' clock); zero: never
	prev, next *poolWaiter       // links of the pool's wait queue
	queued     bool
}

// poolDelivery is what a waiter receives: a connection handed over by Put
// (cn), the end of its wait (err: ErrClosed, or errWaitExpired when
// PoolTimeout passed), or neither: a slot of PoolSize freed for it, for
// which it dials a new connection itself.
type poolDelivery struct {
	cn  *Conn
	err error
}

// poolWaitQueue is a first-in first-out list of waiters, linked through the
// waiters themselves so that joining and leaving allocate nothing.
type poolWaitQueue struct {
	head, tail *poolWaiter
	n          int // waiters queued
}

func (q *poolWaitQueue) pushBack(w *poolWaiter) {
	q.n++
	w.prev, w.next, w.queued = q.tail, nil, true
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
}

func (q *poolWaitQueue) popFront() *poolWaiter {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

// remove takes w off the queue and reports whether it was on it.
func (q *poolWaitQueue) remove(w *poolWaiter) bool {
	if !w.queued {
		return false
	}
	q.n--
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	return true
}

// handOffLocked gives r to the Get that has waited longest, and reports
// whether there was one.
func (p *Pool) handOffLocked(r poolDelivery) bool {
	w := p.waiters.popFront()
	if w == nil {
		return false
	}
	w.ch <- r
	return true
}

// releaseSlotLocked frees one slot of PoolSize held by a connection that
// was closed or a dial that failed: the longest waiter gets it and dials,
// or the open count drops.
func (p *Pool) releaseSlotLocked() {
	if !p.handOffLocked(poolDelivery{}) {
		p.numOpen--
	}
}

// errWaitExpired is what expireWaiters delivers to a waiter
// whose PoolTimeout passed; waitLocked turns it into a *PoolTimeoutError.
var errWaitExpired = errors.New("respool: pool wait expired")

// waitLocked queues the calling Get and waits, first come first served,
// until a Put hands it a connection, a slot frees up, PoolTimeout passes,
// ctx ends or the pool closes. It is called with mu held and returns with
// mu released. An error means the Get failed; otherwise the result holds a
// connection (now in use by the caller) or, when cn is nil, a slot the
// caller must dial for, and the time (by Options' clock) the wait ended.
// A wait that PoolTimeout ends fails with a *PoolTimeoutError describing
// the pool as the caller gave up.
//
// A waiter that receives what it waited for takes no lock again: it left
// the queue when the delivery was sent, so nothing else can come.
// PoolTimeout is not a timer per waiter: every waiter waits as long, so
// the queue is in the order of their deadlines, and one timer of the
// pool, armed for the deadline of the waiter at the front, fails the
// waiters whose time is up (expireWaiters).
func (p *Pool) waitLocked(ctx context.Context) (poolDelivery, time.Time, error) {
	w := p.newWaiter()
	ahead := p.waiters.n
	start := p.opt.now()
	if d := p.opt.PoolTimeout; d > 0 {
		w.deadline = start.Add(d)
		p.armWaitTimerLocked(d)
	}
	p.waiters.pushBack(w)
	p.stats.waits.Add(1) // under mu: Waits counts queued Gets in order
	p.mu.Unlock()

	var (
		r   poolDelivery
		err error
	)
	if done := ctx.Done(); done == nil {
		r = <-w.ch
	} else {
		select {
		case r = <-w.ch:
		case <-done:
			err = &poolWaitError{err: ctx.Err()}
		}
	}
	expired := err == nil && r.err == errWaitExpired
	if expired {
		r, err = poolDelivery{}, ErrPoolTimeout
	}
	end := p.opt.now()
	waited := end.Sub(start)
	p.stats.waitTime.Add(int64(waited))
	if err == nil {
		p.spareWaiters.Put(w)
		return r, end, nil
	}

	if !expired && p.hookGaveUp != nil {
		p.hookGaveUp()
	}
	p.mu.Lock()
	var (
		stray  *Conn
		reason closeReason
	)
	if !expired && !p.waiters.remove(w) {
		// Something was delivered after the wait ended: give it back.
		stray, reason = p.giveBackLocked(<-w.ch)
	}
	if err == ErrPoolTimeout {
		err = p.timeoutErrorLocked(ahead, waited)
	}
	p.mu.Unlock()
	p.spareWaiters.Put(w)
	if reason != closeNone {
		p.closeConn(stray, reason)
	}
	if errors.Is(err, ErrPoolTimeout) {
		p.stats.timeouts.Add(1)
	}
	return r, end, err
}

// armWaitTimerLocked makes sure the pool's wait timer will fire no later
// than d from now, the PoolTimeout of a waiter joining the queue: if it
// is armed, it is armed for a waiter ahead, whose deadline is sooner.
func (p *Pool) armWaitTimerLocked(d time.Duration) {
	if p.waitTimerArmed {
		return
	}
	p.waitTimerArmed = true
	if p.waitTimer == nil {
		p.waitTimer = time.AfterFunc(d, p.expireWaiters)
		return
	}
	p.waitTimer.Reset(d)
}

// expireWaiters runs when the pool's wait timer fires: it ends the wait
// of every waiter whose PoolTimeout has passed (they are at the front of
// the queue) and arms the timer again for the next one.
func (p *Pool) expireWaiters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waitTimerArmed = false
	now := p.opt.now()
	for w := p.waiters.head; w != nil && !w.deadline.IsZero() && !now.Before(w.deadline); w = p.waiters.head {
		p.waiters.remove(w)
		w.ch <- poolDelivery{err: errWaitExpired}
	}
	if w := p.waiters.head; w != nil && !p.closed {
		p.armWaitTimerLocked(w.deadline.Sub(now))
	}
}

// giveBackLocked returns what a waiter received after it gave up: a
// connection goes to the next waiter or the idle list (as with Put), a
// slot to the next waiter or back to the pool. A connection that must be
// closed instead is returned with the reason, for the caller to close
// once mu is released.
func (p *Pool) giveBackLocked(r poolDelivery) (*Conn, closeReason) {
	switch {
	case r.err != nil:
		return nil, closeNone
	case r.cn == nil:
		p.releaseSlotLocked()
		return nil, closeNone
	}
	// The connection came straight from a Put, which found it reusable.
	return r.cn, p.putLocked(r.cn, true, p.opt.now())
}

// newWaiter returns a recycled waiter, or a new one.
func (p *Pool) newWaiter() *poolWaiter {
	if w, _ := p.spareWaiters.Get().(*poolWaiter); w != nil {
		w.deadline = time.Time{}
		return w
	}
	return &poolWaiter{ch: make(chan poolDelivery, 1)}
}

// poolWaitError is the failure of a Get whose context ended before it had a
// connection. Nothing was sent: its outcome is OutcomeNotSent, and
// errors.Is(err, context.DeadlineExceeded) (or Canceled) holds.
type poolWaitError struct {
	err error
}

func (e *poolWaitError) Error() string {
	return "respool: waiting for a connection: " + e.err.Error()
}

func (e *poolWaitError) Unwrap() error { return e.err }

// Outcome is OutcomeNotSent: no command was written.
func (e *poolWaitError) Outcome() Outcome { return OutcomeNotSent }

// Timeout reports whether the context's deadline passed.
func (e *poolWaitError) Timeout() bool { return errors.Is(e.err, context.DeadlineExceeded) }
