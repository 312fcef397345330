package respoolotel

import (
	"sync"
	"sync/atomic"
)

// maxCached bounds a cache: past it, values are made afresh for every
// lookup (a program that names commands without end would otherwise grow
// it without end).
const maxCached = 1024

// cache maps the few keys a hook meets (command names, kinds of failure)
// to what it made for them once: attribute sets, span options. A lookup
// reads an immutable map through an atomic pointer, with neither a lock
// nor an allocation, so that the hooks of hundreds of goroutines do not
// contend; a miss copies the map with the new entry.
type cache[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serialises misses
}

// get returns the value of k, made with mk on its first lookup.
func (c *cache[K, V]) get(k K, mk func(K) V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
		if len(*old) >= maxCached {
			return mk(k)
		}
	}
	v := mk(k)
	m := make(map[K]V, 1+lenOf(old))
	if old != nil {
		for ok, ov := range *old {
			m[ok] = ov
		}
	}
	m[k] = v
	c.m.Store(&m)
	return v
}

func lenOf[K comparable, V any](m *map[K]V) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
