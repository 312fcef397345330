package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"
)

// progress shows on stderr which scenario, client and repetition is
// running and about how long the comparison has left. On a terminal a
// status line is redrawn twice a second below the finished runs; otherwise
// one line is printed per finished run.
type progress struct {
	w     io.Writer
	tty   bool
	cfg   *config
	tasks []task
	start time.Time
	stop  chan struct{}
	done  chan struct{}

	// mu guards the fields below and the writes to w.
	mu        sync.Mutex
	estTotal  time.Duration // sum of every task's estimate
	estDone   time.Duration // sum of the finished tasks' estimates
	spentDone time.Duration // time from the start to the end of the last finished task
	current   int           // index of the running (or last finished) task
	curStart  time.Time
	running   bool
	closed    bool
}

func newProgress(f *os.File, cfg *config, tasks []task) *progress {
	p := &progress{w: f, cfg: cfg, tasks: tasks, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		p.tty = true
	}
	for _, t := range tasks {
		p.estTotal += cfg.estimate(t)
	}
	fmt.Fprintf(p.w, "compare: %d runs, about %s\n", len(tasks), roundDuration(p.estTotal))
	if p.tty {
		go p.redraw()
	} else {
		close(p.done)
	}
	return p
}

func (p *progress) redraw() {
	defer close(p.done)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			p.mu.Lock()
			if !p.closed {
				fmt.Fprintf(p.w, "\r\033[K%s", p.statusLocked())
			}
			p.mu.Unlock()
		}
	}
}

// begin marks task i as running.
func (p *progress) begin(i int, t task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current, p.curStart, p.running = i, time.Now(), true
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", p.statusLocked())
	}
}

// end prints the finished run's figures.
func (p *progress) end(s sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tasks[p.current]
	p.estDone += p.cfg.estimate(t)
	p.spentDone, p.running = time.Since(p.start), false
	line := fmt.Sprintf("%-14s rep %d/%d  %-18s %s", t.s.name, t.rep+1, p.cfg.reps, t.client, sampleText(s))
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n%s", line, p.statusLocked())
		return
	}
	fmt.Fprintf(p.w, "[%d/%d, about %s left] %s\n", p.current+1, len(p.tasks), roundDuration(p.leftLocked()), line)
}

// note prints a line of the driver's own between runs (on a terminal,
// in place of the status line, which the next redraw restores).
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s failed\n", p.tasks[p.current].client)
}

// close ends the status line; it may be called more than once.
func (p *progress) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	fmt.Fprintf(p.w, "compare: finished in %s\n", roundDuration(time.Since(p.start)))
}

// statusLocked is the status line: what runs, and the time left.
func (p *progress) statusLocked() string {
	t := p.tasks[p.current]
	inRun := p.cfg.estimate(t) - time.Since(p.curStart)
	return fmt.Sprintf("[%d/%d] %s, %s, rep %d/%d: %s left in this run; elapsed %s, about %s left",
		p.current+1, len(p.tasks), t.s.name, t.client, t.rep+1, p.cfg.reps,
		roundDuration(max(inRun, 0)), roundDuration(time.Since(p.start)), roundDuration(p.leftLocked()))
}

// leftLocked estimates the time left: the unfinished tasks' estimates,
// scaled by how the finished ones compared with theirs.
func (p *progress) leftLocked() time.Duration {
	scale := 1.0
	if p.estDone > 0 {
		scale = p.spentDone.Seconds() / p.estDone.Seconds()
	}
	left := time.Duration(float64(p.estTotal-p.estDone) * scale)
	if p.running {
		left -= time.Since(p.curStart)
	}
	return max(left, 0)
}

// sampleText is one run's figures in a line.
func sampleText(s sample) string {
	if s.reference {
		return fmt.Sprintf("%s  p50 %s  p99 %s  server %s CPU s/M", formatRate(s.opsPerSec), formatLatency(s.p50), formatLatency(s.p99),
			fixed(s.serverCPUPerMOps, 1))
	}
	text := fmt.Sprintf("%s  p50 %s  p99 %s  %.1f CPU s/M  server %s CPU s/M  %.0f B/op  %.2f allocs/op",
		formatRate(s.opsPerSec), formatLatency(s.p50), formatLatency(s.p99), s.cpuPerMOps, fixed(s.serverCPUPerMOps, 1),
		s.bytesPerOp, s.allocsPerOp)
	if s.errors > 0 || s.wrong > 0 {
		text += fmt.Sprintf("  %d errors  %d WRONG", s.errors, s.wrong)
	}
	return text
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

func formatRate(perSec float64) string {
	switch {
	case math.IsNaN(perSec):
		return "-"
	case perSec >= 1e6:
		return fmt.Sprintf("%.2f M/s", perSec/1e6)
	}
	return fmt.Sprintf("%.1f k/s", perSec/1e3)
}

// formatLatency prints a latency in microseconds or milliseconds; zero
// (not measured) prints as "-".
func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}
