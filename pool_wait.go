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
// Waiters are recycled through Pool.spareWaiters, so waiting allocates
// nothing once a pool has seen its peak number of waiters.
type poolWaiter struct {
	ch         chan poolDelivery // capacity 1: a delivery never blocks
	timer      *time.Timer       // PoolTimeout; created at first use, then Reset
	prev, next *poolWaiter       // links of the pool's wait queue
	queued     bool
}

// poolDelivery is what a waiter receives: a connection handed over by Put
// (cn), the end of the pool (err), or neither: a slot of PoolSize freed
// for it, for which it dials a new connection itself.
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

// waitLocked queues the calling Get and waits, first come first served,
// until a Put hands it a connection, a slot frees up, PoolTimeout passes,
// ctx ends or the pool closes. It is called with mu held and returns with
// mu released. An error means the Get failed; otherwise the result holds a
// connection (now in use by the caller) or, when cn is nil, a slot the
// caller must dial for. A wait that PoolTimeout ends fails with a
// *PoolTimeoutError describing the pool as the caller gave up.
func (p *Pool) waitLocked(ctx context.Context) (poolDelivery, error) {
	w := p.newWaiterLocked()
	ahead := p.waiters.n
	p.waiters.pushBack(w)
	p.stats.waits.Add(1) // under mu: Waits counts queued Gets in order
	p.mu.Unlock()

	start := p.opt.now()
	var timeout <-chan time.Time
	if d := p.opt.PoolTimeout; d > 0 {
		if w.timer == nil {
			w.timer = time.NewTimer(d)
		} else {
			w.timer.Reset(d)
		}
		timeout = w.timer.C
	}
	var (
		r   poolDelivery
		err error
	)
	select {
	case r = <-w.ch:
	case <-ctx.Done():
		err = &poolWaitError{err: ctx.Err()}
	case <-timeout:
		err = ErrPoolTimeout
	}
	if timeout != nil {
		w.timer.Stop()
	}
	waited := p.opt.now().Sub(start)
	p.stats.waitTime.Add(int64(waited))

	if err != nil && p.hookGaveUp != nil {
		p.hookGaveUp()
	}
	p.mu.Lock()
	var (
		stray  *Conn
		reason closeReason
	)
	if err != nil && !p.waiters.remove(w) {
		// Something was delivered after the wait ended: give it back.
		stray, reason = p.giveBackLocked(<-w.ch)
	}
	if err == ErrPoolTimeout {
		err = p.timeoutErrorLocked(ahead, waited)
	}
	p.spareWaiters = append(p.spareWaiters, w)
	p.mu.Unlock()
	if reason != closeNone {
		p.closeConn(stray, reason)
	}
	if errors.Is(err, ErrPoolTimeout) {
		p.stats.timeouts.Add(1)
	}
	return r, err
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

func (p *Pool) newWaiterLocked() *poolWaiter {
	if n := len(p.spareWaiters); n > 0 {
		w := p.spareWaiters[n-1]
		p.spareWaiters[n-1] = nil
		p.spareWaiters = p.spareWaiters[:n-1]
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
