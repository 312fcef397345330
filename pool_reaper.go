package respool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of the background goroutine's period.
const (
	minReapPeriod = time.Second
	maxReapPeriod = time.Minute
)

// reapPeriod is how often the background goroutine closes expired idle
// connections and tops MinIdleConns up: half the shorter of
// ConnMaxIdleTime and ConnMaxLifetime (those that are on), kept within
// [1s, 1m]; 1m when only MinIdleConns needs the goroutine; 0 (no
// goroutine) when nothing does. A connection therefore outlives its limit
// by at most half of it (and at most a minute) while it sits idle; Get
// never hands one out past its limit.
func (p *Pool) reapPeriod() time.Duration {
	var limit time.Duration
	for _, d := range []time.Duration{p.opt.ConnMaxIdleTime, p.opt.ConnMaxLifetime} {
		if d > 0 && (limit == 0 || d < limit) {
			limit = d
		}
	}
	switch {
	case limit > 0:
		return min(max(limit/2, minReapPeriod), maxReapPeriod)
	case p.opt.MinIdleConns > 0:
		return maxReapPeriod
	}
	return 0
}

// background is the pool's one goroutine: it fills MinIdleConns at once
// and whenever Get takes the idle count below it, and reaps expired idle
// connections every period. After a failed fill it tries again after the
// dial backoff window rather than a whole period. It ends when ctx (ended
// by Close) does, after the dials it started.
func (p *Pool) background(ctx context.Context, period time.Duration) {
	defer close(p.bgDone)
	next := p.fillAndPlan(ctx, period)
	t := time.NewTimer(next)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.reap()
		case <-p.wake:
		}
		t.Reset(p.fillAndPlan(ctx, period))
	}
}

// fillAndPlan fills and returns the delay before the next round.
func (p *Pool) fillAndPlan(ctx context.Context, period time.Duration) time.Duration {
	if !p.fill(ctx) {
		return period
	}
	p.mu.Lock()
	step := p.backoff.step
	p.mu.Unlock()
	return min(period, max(step, minDialBackoff))
}

// wakeFiller asks the background goroutine to top MinIdleConns up,
// without blocking.
func (p *Pool) wakeFiller() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// reap closes the idle connections that have outlived ConnMaxIdleTime or
// their lifetime.
func (p *Pool) reap() {
	now := p.opt.now()
	type expired struct {
		cn     *Conn
		reason closeReason
	}
	var dead []expired
	p.mu.Lock()
	keep := p.idle[:0]
	for _, cn := range p.idle {
		if r := p.expiredReason(cn, now); r != closeNone {
			dead = append(dead, expired{cn, r})
		} else {
			keep = append(keep, cn)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	for range dead {
		p.releaseSlotLocked()
	}
	p.mu.Unlock()
	for _, d := range dead {
		p.closeConn(d.cn, d.reason)
	}
}

// fill dials until MinIdleConns (at most MaxIdleConns) are idle, the
// pool is full or a dial fails, at most MaxConcurrentDials at a time; the
// new connections go to waiting Gets first. It reports whether a dial
// failed.
func (p *Pool) fill(ctx context.Context) bool {
	for {
		p.mu.Lock()
		want := min(p.opt.MinIdleConns, p.opt.MaxIdleConns)
		n := min(want-len(p.idle), p.opt.PoolSize-p.numOpen, p.opt.MaxConcurrentDials)
		if p.closed || n <= 0 {
			p.mu.Unlock()
			return false
		}
		p.numOpen += n
		p.mu.Unlock()

		var (
			wg     sync.WaitGroup
			failed atomic.Bool
		)
		for range n {
			wg.Go(func() {
				if _, err := p.dialSlot(ctx, true); err != nil {
					failed.Store(true)
				}
			})
		}
		wg.Wait()
		if failed.Load() {
			return true
		}
	}
}
