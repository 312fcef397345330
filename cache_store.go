package respool

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/respool/respool/resp"
)

// The store of client-side caching: the entries, split into shards by a
// hash of their key so that hits on different keys take different locks,
// each shard with its own share of MaxBytes, its own eviction and its own
// counters. A hit takes its shard's read lock and allocates nothing.
//
// An entry is one read-only command on one key ("GET k", "HGET k f"), its
// reply and its lifetime. Entries of one key form a chain from the
// shard's map, so that an invalidation of the key drops all of them. A
// miss puts a pending entry in the chain (the read in flight); readers of
// the same command wait for it instead of sending their own (single
// flight). An invalidation of the key, or of everything its connection
// tracked, marks a pending entry invalid: its reply is handed to those
// waiting for it, never kept.

// cacheOwner is one tracking connection's share of the cache: the
// entries read on it are valid only while it lives and until it says
// everything changed (a null invalidation).
type cacheOwner struct {
	// epoch moves on when every entry read on the connection became
	// invalid: at a null invalidation (FLUSHALL...) and when the
	// connection ends. An entry remembers the epoch its read was sent in
	// and is valid only while it holds.
	epoch atomic.Uint64
}

// cacheEntry is one cached command on one key, or a read of it in flight.
type cacheEntry struct {
	key    string
	sig    []string  // the command without its key: "GET", or "HGET", field...
	sigBuf [3]string // sig's storage when it fits

	sameKey *cacheEntry // the next entry of the chain of key

	// Set once before the entry is stored, read-only afterwards.
	val     resp.Value
	owner   *cacheOwner
	epoch   uint64 // owner's epoch when the read was sent
	expires int64  // nanoseconds on the cache's clock
	size    int64  // what it counts against MaxBytes

	// used is set by a hit and cleared by the eviction hand passing by
	// (CLOCK, second chance): an atomic, so hits need only the read lock.
	used atomic.Bool

	// The eviction ring of stored entries (under the shard's lock).
	prev, next *cacheEntry

	// A read in flight, under the shard's lock: pending until finished;
	// invalid once an invalidation crossed it; linked while in the chain
	// of its key. done, made by the first reader that waits for it, is
	// closed when the read is finished.
	pending bool
	invalid bool
	linked  bool
	done    chan struct{}
	err     error // the read's failure, for those waiting on done
}

// sameCommand reports whether e caches the command sig.
func (e *cacheEntry) sameCommand(sig []string) bool {
	if len(e.sig) != len(sig) {
		return false
	}
	for i := range sig {
		if e.sig[i] != sig[i] {
			return false
		}
	}
	return true
}

// cacheShard is one shard of the store.
type cacheShard struct {
	mu    sync.RWMutex           // guards the fields below it and the entries' ring and flight fields
	keys  map[string]*cacheEntry // the chain of entries of each key
	hand  *cacheEntry            // the eviction ring's hand; nil when empty
	bytes int64                  // the sizes of the stored entries
	n     int64                  // the stored entries

	hits, misses, invalidations, evictions atomic.Uint64

	_ [64]byte // keeps each shard's lock and counters off its neighbours' cache lines
}

// cacheStore is the sharded store of one client's cache.
type cacheStore struct {
	shards     []cacheShard
	shardBytes int64 // each shard's share of MaxBytes
	seed       maphash.Seed
}

// minShardBytes is the smallest share of MaxBytes a shard gets: fewer
// shards for a small cache, so that a reply of a few KiB still fits.
const minShardBytes = 256 << 10

// maxCacheShards bounds the shards; 64 keep hits of hundreds of
// goroutines apart on any machine this runs on.
const maxCacheShards = 64

func newCacheStore(maxBytes int64) *cacheStore {
	n := min(maxBytes/minShardBytes, maxCacheShards)
	if n < 1 {
		n = 1
	}
	n = 1 << (bits.Len64(uint64(n)) - 1) // a power of two
	s := &cacheStore{shards: make([]cacheShard, n), shardBytes: maxBytes / n, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].keys = make(map[string]*cacheEntry)
	}
	return s
}

func (s *cacheStore) shard(key string) *cacheShard {
	return &s.shards[maphash.String(s.seed, key)&uint64(len(s.shards)-1)]
}

// lookup returns the stored reply of sig on key when it is valid at now:
// the hit path, under the shard's read lock, with no allocation.
func (s *cacheStore) lookup(key string, sig []string, now int64) (resp.Value, bool) {
	sh := s.shard(key)
	sh.mu.RLock()
	for e := sh.keys[key]; e != nil; e = e.sameKey {
		if e.pending || !e.sameCommand(sig) {
			continue
		}
		if now < e.expires && e.epoch == e.owner.epoch.Load() {
			if !e.used.Load() {
				e.used.Store(true)
			}
			v := e.val
			sh.mu.RUnlock()
			sh.hits.Add(1)
			return v, true
		}
		break
	}
	sh.mu.RUnlock()
	return resp.Value{}, false
}

// begin is the miss path: under the shard's lock it looks again, and
// returns either a hit (another reader stored the entry meanwhile), the
// pending entry of a read already in flight to wait for (lead false), or
// a new pending entry whose read the caller sends (lead true).
func (s *cacheStore) begin(key string, sig []string, now int64) (v resp.Value, hit bool, e *cacheEntry, lead bool) {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var stale *cacheEntry
	for c := sh.keys[key]; c != nil; c = c.sameKey {
		if !c.sameCommand(sig) {
			continue
		}
		if c.pending {
			sh.misses.Add(1) // waits for the read in flight
			if c.done == nil {
				c.done = make(chan struct{})
			}
			return resp.Value{}, false, c, false
		}
		if now < c.expires && c.epoch == c.owner.epoch.Load() {
			c.used.Store(true)
			sh.hits.Add(1)
			return c.val, true, nil, false
		}
		stale = c
		break
	}
	if stale != nil {
		sh.removeLocked(stale)
	}
	sh.misses.Add(1)
	e = &cacheEntry{key: key, pending: true, linked: true}
	e.sig = append(e.sigBuf[:0], sig...) // a signature of up to 3 strings needs no allocation of its own
	e.sameKey = sh.keys[key]
	sh.keys[key] = e
	return resp.Value{}, false, e, true
}

// finish ends the read of the pending entry e. With err nil the reply v,
// read on owner's connection in its epoch, is stored to expire at
// expires (on the cache's clock, now being the time of the call), unless
// an invalidation crossed it, the connection ended or said everything
// changed meanwhile, it expires already, or it does not fit (size).
// Either way those waiting on e are woken with v or err.
func (s *cacheStore) finish(e *cacheEntry, v resp.Value, err error, owner *cacheOwner, epoch uint64, now, expires, size int64) {
	sh := s.shard(e.key)
	sh.mu.Lock()
	e.val, e.err, e.pending = v, err, false
	keep := err == nil && !e.invalid && owner != nil && owner.epoch.Load() == epoch &&
		now < expires && size <= s.shardBytes
	if keep {
		e.owner, e.epoch, e.expires, e.size = owner, epoch, expires, size
		sh.bytes += size
		sh.n++
		sh.linkLocked(e)
		for sh.bytes > s.shardBytes {
			sh.evictLocked(e)
		}
	} else if e.linked {
		sh.unchainLocked(e)
	}
	done := e.done
	sh.mu.Unlock()
	if done != nil {
		close(done)
	}
}

// linkLocked puts a stored entry into the eviction ring, just behind the
// hand: the last the hand reaches.
func (sh *cacheShard) linkLocked(e *cacheEntry) {
	if sh.hand == nil {
		e.prev, e.next = e, e
		sh.hand = e
		return
	}
	h := sh.hand
	e.prev, e.next = h.prev, h
	h.prev.next = e
	h.prev = e
}

// evictLocked drops the first entry the hand finds unused since it last
// passed, clearing the used mark of those it passes: never keep, the
// entry just stored, unless it is alone.
func (sh *cacheShard) evictLocked(keep *cacheEntry) {
	for {
		e := sh.hand
		if e == keep && e.next != e {
			sh.hand = e.next
			continue
		}
		if e.used.Load() && e != keep {
			e.used.Store(false)
			sh.hand = e.next
			continue
		}
		sh.removeLocked(e)
		sh.evictions.Add(1)
		return
	}
}

// removeLocked drops a stored entry: out of the ring, the chain and the
// byte count.
func (sh *cacheShard) removeLocked(e *cacheEntry) {
	if e.next == e {
		sh.hand = nil
	} else {
		if sh.hand == e {
			sh.hand = e.next
		}
		e.prev.next = e.next
		e.next.prev = e.prev
	}
	e.prev, e.next = nil, nil
	sh.bytes -= e.size
	sh.n--
	sh.unchainLocked(e)
}

// unchainLocked takes e out of the chain of its key.
func (sh *cacheShard) unchainLocked(e *cacheEntry) {
	if !e.linked {
		return
	}
	e.linked = false
	head := sh.keys[e.key]
	if head == e {
		if e.sameKey == nil {
			delete(sh.keys, e.key)
		} else {
			sh.keys[e.key] = e.sameKey
		}
		return
	}
	for c := head; c != nil; c = c.sameKey {
		if c.sameKey == e {
			c.sameKey = e.sameKey
			return
		}
	}
}

// invalidate drops every entry of key and marks the reads of it in flight
// invalid: the server said the key changed.
func (s *cacheStore) invalidate(key string) {
	sh := s.shard(key)
	sh.mu.Lock()
	e := sh.keys[key]
	if e != nil {
		sh.invalidations.Add(1)
	}
	for e != nil {
		next := e.sameKey
		if e.pending {
			e.invalid = true
			sh.unchainLocked(e)
		} else {
			sh.removeLocked(e)
		}
		e = next
	}
	sh.mu.Unlock()
}

// dropOwner drops every entry read on owner's connection, whose epoch has
// just moved on: hits already refuse them; this frees their memory. Reads
// in flight on it are refused when they finish, by their epoch.
func (s *cacheStore) dropOwner(owner *cacheOwner) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		var drop []*cacheEntry
		if h := sh.hand; h != nil {
			for e := h; ; {
				if e.owner == owner {
					drop = append(drop, e)
				}
				if e = e.next; e == h {
					break
				}
			}
		}
		for _, e := range drop {
			sh.removeLocked(e)
		}
		sh.invalidations.Add(uint64(len(drop)))
		sh.mu.Unlock()
	}
}

// dropAll empties the store (the cache closed).
func (s *cacheStore) dropAll() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for sh.hand != nil {
			sh.removeLocked(sh.hand)
		}
		sh.mu.Unlock()
	}
}

// CacheStats are the counters of a client's cache (Client.CacheStats).
type CacheStats struct {
	Hits          uint64 // reads answered from memory
	Misses        uint64 // reads sent to the server
	Invalidations uint64 // entries dropped because the server said they changed, or their connection ended
	Evictions     uint64 // entries dropped to stay within MaxBytes
	Entries       int64  // entries held now
	Bytes         int64  // their size as counted against MaxBytes; never above it
	// ConnsLost counts tracking connections that closed or failed; each
	// took its entries with it.
	ConnsLost uint64
}

// stats adds up the shards' counters.
func (s *cacheStore) stats() CacheStats {
	var st CacheStats
	for i := range s.shards {
		sh := &s.shards[i]
		st.Hits += sh.hits.Load()
		st.Misses += sh.misses.Load()
		st.Invalidations += sh.invalidations.Load()
		st.Evictions += sh.evictions.Load()
		sh.mu.RLock()
		st.Entries += sh.n
		st.Bytes += sh.bytes
		sh.mu.RUnlock()
	}
	return st
}

// Sizes counted against MaxBytes, on the high side of what the heap
// holds: a string or slice rounded up as the allocator's size classes
// round it, and a fixed overhead per entry for the entry itself, its
// place in the map and its chain.
const (
	entryOverhead = 320
	valueSize     = 64 // a resp.Value
)

// allocSize is an upper bound of the heap an allocation of n bytes takes.
func allocSize(n int) int64 {
	if n == 0 {
		return 0
	}
	if n <= 32<<10 {
		return int64(n + n/8 + 16)
	}
	return int64(n + 8<<10)
}

// entrySize is what an entry of key and sig holding v counts against
// MaxBytes.
func entrySize(key string, sig []string, v resp.Value) int64 {
	n := entryOverhead + 2*allocSize(len(key)) + allocSize(16*len(sig))
	for _, a := range sig {
		n += allocSize(len(a))
	}
	return n + replySize(v)
}

// replySize is what a reply holds beyond its own Value.
func replySize(v resp.Value) int64 {
	n := allocSize(len(v.Text()) + 4)
	if elems, err := v.Elems(); err == nil && len(elems) > 0 {
		n += allocSize(cap(elems) * valueSize)
		for _, e := range elems {
			n += replySize(e)
		}
	}
	if a, ok := v.Attributes(); ok {
		n += valueSize + replySize(a)
	}
	return n
}
