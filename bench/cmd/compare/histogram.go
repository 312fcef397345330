package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// Latency histogram with logarithmic buckets of linear sub-buckets, in the
// manner of HDR histograms: values below 2*histSub nanoseconds have a bucket
// each; above that, every power of two is split into histSub buckets, so a
// bucket is never wider than 1/histSub of its lower bound (about 3%).
// Recording is an index computation and one increment: no allocation, no
// lock, no atomic. Worker goroutines log into recorders, which add their
// latencies to one histogram in batches.
const (
	histSubBits = 5
	histSub     = 1 << histSubBits // linear sub-buckets per power of two
	histMaxBits = 40               // values are clamped below 2^40 ns (about 18 minutes)
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
)

// histogram counts latencies in nanoseconds.
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
}

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v uint64) int {
	if v >= 1<<histMaxBits {
		v = 1<<histMaxBits - 1
	}
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1)
	return shift*histSub + int(v>>shift)
}

// bucketBounds returns the smallest value of bucket i and the smallest value
// of the next one.
func bucketBounds(i int) (lo, hi uint64) {
	if i < 2*histSub {
		return uint64(i), uint64(i) + 1
	}
	shift := i/histSub - 1
	mantissa := uint64(i - shift*histSub)
	return mantissa << shift, (mantissa + 1) << shift
}

// record counts one latency.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.total++
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// quantile returns the latency below which a fraction q (0 < q <= 1) of the
// recorded values fall: the middle of the bucket holding that rank. It
// returns 0 for an empty histogram.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketBounds(i)
			return time.Duration((lo + hi - 1) / 2)
		}
	}
	return 0 // not reached: the counts add up to total
}

// recorder is one goroutine's latency log. Each goroutine's own histogram
// would cost a cache miss per call once hundreds of goroutines run (9 KiB
// each, touched at random), and that cost would be charged to the client
// under test. A recorder instead appends to a small buffer it writes in
// order, and every recBatch calls adds the batch to one histogram shared
// by all goroutines, under a lock taken that rarely.
type recorder struct {
	shared *sharedHistogram
	n      int
	buf    [recBatch]uint32
}

const recBatch = 128

// sharedHistogram is the histogram every recorder of a run adds to.
type sharedHistogram struct {
	mu sync.Mutex
	h  histogram
}

// record logs one latency. A value too large for the buffer goes straight
// to the shared histogram.
func (r *recorder) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if d > math.MaxUint32 {
		r.shared.mu.Lock()
		r.shared.h.record(d)
		r.shared.mu.Unlock()
		return
	}
	if r.n == len(r.buf) {
		r.flush()
	}
	r.buf[r.n] = uint32(d)
	r.n++
}

// flush adds the logged latencies to the shared histogram.
func (r *recorder) flush() {
	r.shared.mu.Lock()
	for _, v := range r.buf[:r.n] {
		r.shared.h.record(time.Duration(v))
	}
	r.shared.mu.Unlock()
	r.n = 0
}
