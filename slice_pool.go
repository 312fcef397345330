package respool

import "sync"

// slicePool recycles slices of E (a pipeline's queue, its request list).
// A slice travels through the pool in a box; the boxes are kept too, so
// that neither taking a slice nor giving one back allocates.
type slicePool[E any] struct {
	slices sync.Pool // *[]E, each holding a slice of length 0
	boxes  sync.Pool // *[]E, empty
}

// maxRecycledLen bounds the capacity of the slices kept, so that one
// huge pipeline does not stay in memory.
const maxRecycledLen = 4096

// get returns an empty slice with room for at least n elements: a
// recycled one when the pool has one that large, else a new one.
func (p *slicePool[E]) get(n int) []E {
	if b, _ := p.slices.Get().(*[]E); b != nil {
		s := *b
		*b = nil
		p.boxes.Put(b)
		if cap(s) >= n {
			return s
		}
	}
	return make([]E, 0, n)
}

// put clears s and keeps it for reuse. No one may use s after.
func (p *slicePool[E]) put(s []E) {
	if cap(s) > maxRecycledLen {
		return
	}
	clear(s)
	b, _ := p.boxes.Get().(*[]E)
	if b == nil {
		b = new([]E)
	}
	*b = s[:0]
	p.slices.Put(b)
}
