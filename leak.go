package respool

import (
	"log/slog"
	"runtime/debug"
	"time"
)

// leakState is the leak detection of one connection, armed by Get and
// disarmed by Put when Options.LeakThreshold is positive. It is part of
// pooledConn and guarded by Pool.mu.
type leakState struct {
	gen     uint64      // checkouts armed so far; a timer reports only its own
	timer   *time.Timer // nil when disarmed or already reported
	takenAt time.Time
	stack   []byte // the stack of the goroutine that called Get
	// reported is set once the checkout was reported, until Put: it
	// counts in Pool.numLeaked meanwhile.
	reported bool
}

// armLeak records the calling goroutine's stack and starts the timer that
// reports cn if it is still out after LeakThreshold. Get calls it, so the
// stack shows the code that took the connection.
func (p *Pool) armLeak(cn *Conn) {
	stack := debug.Stack()
	now := p.opt.now()
	p.mu.Lock()
	l := &pooled(cn).leak
	l.gen++
	gen := l.gen
	l.takenAt = now
	l.stack = stack
	l.timer = time.AfterFunc(p.opt.LeakThreshold, func() { p.reportLeak(cn, gen) })
	p.mu.Unlock()
}

// disarmLeakLocked stops the timer armed when cn was taken.
func (p *Pool) disarmLeakLocked(cn *Conn) {
	l := &pooled(cn).leak
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.stack = nil
	if l.reported {
		l.reported = false
		p.numLeaked--
	}
}

// reportLeak runs when the timer of checkout gen fires: unless cn was
// given back meanwhile, it sends one LeakReport to Options.OnLeak and logs
// it with Options.Logger, each when set.
func (p *Pool) reportLeak(cn *Conn, gen uint64) {
	p.mu.Lock()
	l := &pooled(cn).leak
	if l.gen != gen || l.timer == nil || !pooled(cn).inUse {
		p.mu.Unlock()
		return
	}
	l.timer = nil // report once
	l.reported = true
	p.numLeaked++
	rep := LeakReport{Addr: cn.Addr(), Held: p.opt.now().Sub(l.takenAt), Stack: l.stack}
	p.mu.Unlock()
	if lg := p.opt.Logger; lg != nil {
		logEvent(lg, slog.LevelWarn, "respool: connection held without Put", slog.String("addr", rep.Addr),
			slog.Duration("held", rep.Held), slog.String("stack", string(rep.Stack)))
	}
	if p.opt.OnLeak != nil {
		p.opt.OnLeak(rep)
	}
}
