package main

import (
	"math"
	"slices"
	"time"
)

// metric picks one number out of a sample.
type metric func(sample) float64

func opsPerSec(s sample) float64   { return s.opsPerSec }
func p50Of(s sample) float64       { return float64(s.p50) }
func p99Of(s sample) float64       { return float64(s.p99) }
func cpuPerMOps(s sample) float64  { return s.cpuPerMOps }
func bytesPerOp(s sample) float64  { return s.bytesPerOp }
func allocsPerOp(s sample) float64 { return s.allocsPerOp }

func serverCPUPerMOps(s sample) float64 { return s.serverCPUPerMOps }

// median is the median of m over samples (the mean of the middle two for
// an even count), leaving out samples where m is NaN (not measured); NaN
// when none is left.
func median(samples []sample, m metric) float64 {
	v := make([]float64, 0, len(samples))
	for _, s := range samples {
		if x := m(s); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// cell is the medians of one client in one scenario.
type cell struct {
	ok                  bool // the client ran the scenario
	reference           bool
	opsPerSec           float64
	p50, p99            time.Duration
	cpuPerMOps          float64
	serverCPUPerMOps    float64 // NaN when not measured
	bytesPerOp, allocs  float64
	errors, wrong       int64
	verified            int
	firstErr, firstWrng string
}

func (r results) cell(scenario, client string) cell {
	ss := r[runKey{scenario, client}]
	if len(ss) == 0 {
		return cell{}
	}
	c := cell{
		ok:         true,
		reference:  ss[0].reference,
		opsPerSec:  median(ss, opsPerSec),
		p50:        time.Duration(median(ss, p50Of)),
		p99:        time.Duration(median(ss, p99Of)),
		cpuPerMOps: median(ss, cpuPerMOps),
		bytesPerOp: median(ss, bytesPerOp),
		allocs:     median(ss, allocsPerOp),

		serverCPUPerMOps: median(ss, serverCPUPerMOps),
	}
	for _, s := range ss {
		c.errors += s.errors
		c.wrong += s.wrong
		c.verified += s.verified
		if c.firstErr == "" {
			c.firstErr = s.firstError
		}
		if c.firstWrng == "" {
			c.firstWrng = s.firstWrong
		}
	}
	return c
}

// bestPeer returns the peer with the most operations per second in a
// scenario, among those that ran it; "" when none did.
func (r results) bestPeer(s scenario, clients []clientInfo) (string, cell) {
	var name string
	var best cell
	for _, c := range clients {
		if !c.peer {
			continue
		}
		if x := r.cell(s.name, c.name); x.ok && (!best.ok || x.opsPerSec > best.opsPerSec) {
			name, best = c.name, x
		}
	}
	return name, best
}

// ratioToBest is client's operations per second over the best peer's in
// a scenario; NaN when either is missing.
func (r results) ratioToBest(s scenario, client string, clients []clientInfo) float64 {
	c := r.cell(s.name, client)
	_, best := r.bestPeer(s, clients)
	if !c.ok || !best.ok {
		return math.NaN()
	}
	return c.opsPerSec / best.opsPerSec
}
