//go:build linux && !race && !386

package respool

import (
	"sync"
	"sync/atomic"
	"time"
)

// The runtime's monitor thread (sysmon) preempts a goroutine that runs
// for more than about 10ms, so that others get their turn, and polls the
// network when no P does. It sleeps when every P is idle, until the next
// runtime timer is due, and only an announced system call wakes it
// sooner: a timer added while it sleeps does not. The quiet system calls
// of rawsys_linux.go do not wake it, so a goroutine whose only system
// calls were respool's could start a long computation while the monitor
// sleeps and keep its P from the others.
//
// monitorAwake keeps that from happening at a cost of a timer tick per
// monitorNudgeAfter instead of a monitor wake-up per command: while
// respool makes system calls, one timer of the process fires every
// monitorNudgeAfter, so the monitor never sleeps longer than that; the
// first call after the ticks stopped (monitorNudgeAfter to twice that
// without a call) is announced, which wakes the monitor if it slept, and
// starts them again. A goroutine that computes after a round trip is
// thus preempted within about twice the runtime's own 10ms.
const monitorNudgeAfter = 10 * time.Millisecond

var monitorNudge struct {
	ticking atomic.Bool // the timer is due
	active  atomic.Bool // a call was made since the last tick
	once    sync.Once
	t       *time.Timer
}

// monitorAwake reports whether the system call about to be made may be a
// quiet one: the timer is ticking. Otherwise it starts the timer, and the
// call must be announced.
func monitorAwake() bool {
	m := &monitorNudge
	if !m.active.Load() {
		m.active.Store(true) // before reading ticking: see monitorTick
	}
	if m.ticking.Load() {
		return true
	}
	if m.ticking.CompareAndSwap(false, true) {
		m.once.Do(func() { m.t = time.AfterFunc(time.Hour, monitorTick) })
		m.t.Reset(monitorNudgeAfter)
	}
	return false
}

// monitorTick is the timer's function: it ticks again when a call was
// made since the last tick, and stops otherwise. It clears ticking before
// it looks at active, so a call that sets active after that look finds
// ticking clear and is announced.
func monitorTick() {
	m := &monitorNudge
	m.ticking.Store(false)
	if m.active.Swap(false) && m.ticking.CompareAndSwap(false, true) {
		m.t.Reset(monitorNudgeAfter)
	}
}
