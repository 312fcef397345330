package main

import (
	"runtime"
	"sync"
)

// allocSink keeps allocBlock's probe alive until the counters are read.
var allocSink []byte

var allocBlockMu sync.Mutex

// allocBlock returns the bytes the Go allocator counts (runtime.MemStats
// TotalAlloc) for one allocation of n bytes: n rounded up to its size
// class, or to whole pages above 32 KiB. A GET of a 102,400-byte value
// allocates 102,400 bytes and is counted as 106,496, 13 pages, whatever
// the client; the bytes-per-GET targets allow for that rounding.
//
// It measures rather than computes, so it follows the running Go
// version; the smallest of a few tries discards allocations made
// meanwhile by other goroutines.
func allocBlock(n int) int {
	allocBlockMu.Lock()
	defer allocBlockMu.Unlock()
	best := -1
	var before, after runtime.MemStats
	for range 5 {
		runtime.ReadMemStats(&before)
		allocSink = make([]byte, n)
		runtime.ReadMemStats(&after)
		allocSink = nil
		if d := int(after.TotalAlloc - before.TotalAlloc); best < 0 || d < best {
			best = d
		}
	}
	return max(best, n)
}
