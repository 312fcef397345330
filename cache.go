package respool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/respool/respool/resp"
)

// Client-side caching (Options.ClientCache). A Client with a cache keeps
// connections of their own for its cached reads: tracking connections,
// each with CLIENT TRACKING on, shared by every cached read (a muxer of
// their own, whose readers read all the time and hand each push to the
// cache before the reply after it). The server tells a tracking
// connection of a change to a key it read, on that same connection; so a
// cached read goes out on one, together with PTTL of its key, and the
// entry it makes belongs to that connection: dropped when the connection
// closes or fails (invalidations may have been lost), or when it is told
// that everything changed (a null invalidation: FLUSHALL, FLUSHDB).
//
// The plain commands of the Client never go on a tracking connection: a
// pooled connection sits idle with no one reading it, where an
// invalidation would wait unread (and make the idle check take the
// connection for a dead one), and a shared connection's reader parks
// between replies for the same reason. Keeping the two apart also keeps
// the plain path exactly as it is without a cache.

// clientCache is the cache of one Client: the store and the tracking
// connections.
type clientCache struct {
	opt   *CacheOptions
	copt  *Options // the Client's: retries, clock, address
	store *cacheStore
	mx    *muxer // the tracking connections
	epoch time.Time
	// now, when set (by tests, before the first read), replaces the
	// monotonic clock.
	now func() time.Time

	connsLost atomic.Uint64
	// refused is set once a server turned tracking down for good
	// (RESP2): every later cached read fails with it at once, without
	// dialling again.
	refused atomic.Pointer[error]
}

// newClientCache returns the cache of a Client of pool p, whose options
// have a ClientCache.
func newClientCache(p *Pool) *clientCache {
	cc := &clientCache{
		opt:   p.opt.ClientCache,
		copt:  p.opt,
		store: newCacheStore(p.opt.ClientCache.MaxBytes),
		epoch: time.Now(),
	}
	cc.mx = newMuxer(p)
	cc.mx.track = cc
	if p.opt.Protocol == 2 {
		err := fmt.Errorf("%w: Options.Protocol is 2", ErrCacheNeedsRESP3)
		cc.refused.Store(&err)
	}
	return cc
}

// clock returns the time on the cache's clock, in nanoseconds since the
// cache was made. It reads the monotonic clock alone (time.Since), which
// costs half of time.Now: every hit reads it.
func (cc *clientCache) clock() int64 {
	if cc.now != nil {
		return int64(cc.now().Sub(cc.epoch))
	}
	return int64(time.Since(cc.epoch))
}

// close closes the tracking connections and drops every entry.
func (cc *clientCache) close() {
	cc.mx.close()
	cc.store.dropAll()
}

// stats returns the cache's counters.
func (cc *clientCache) stats() CacheStats {
	st := cc.store.stats()
	st.ConnsLost = cc.connsLost.Load()
	return st
}

// track turns tracking on on a new tracking connection (muxer.track).
func (cc *clientCache) track(ctx context.Context, cn *Conn) (trackedConn, error) {
	if cn.Protocol() != 3 {
		err := fmt.Errorf("%w: the server at %s speaks RESP2 only", ErrCacheNeedsRESP3, cn.Addr())
		cc.refused.Store(&err)
		return nil, err
	}
	rq := valueRequest{argv: cc.opt.trackingArgs()}
	if err := cn.run(ctx, &rq); err != nil {
		return nil, err
	}
	if rq.err != nil {
		return nil, fmt.Errorf("respool: CLIENT TRACKING refused by %s: %w", cn.Addr(), rq.err)
	}
	return &cacheConn{cc: cc}, nil
}

// cacheConn is what the cache knows of one tracking connection: its
// entries' owner, and the handler of its pushes.
type cacheConn struct {
	cc    *clientCache
	owner cacheOwner
}

// push takes an invalidation: ["invalidate", [key...]] drops the keys,
// ["invalidate", null] everything read on this connection.
func (t *cacheConn) push(v resp.Value) {
	elems, _ := v.Elems()
	if len(elems) != 2 || !strings.EqualFold(elems[0].Text(), "invalidate") {
		return
	}
	if elems[1].IsNull() {
		t.owner.epoch.Add(1)
		t.cc.store.dropOwner(&t.owner)
		return
	}
	keys, _ := elems[1].Elems()
	for _, k := range keys {
		t.cc.store.invalidate(k.Text())
	}
}

// lost drops everything read on the connection, which ended: the
// invalidations it would have brought are lost.
func (t *cacheConn) lost() {
	t.owner.epoch.Add(1)
	t.cc.store.dropOwner(&t.owner)
	t.cc.connsLost.Add(1)
}

// cacheRead is the request of a cached read: sig[0] key sig[1:]..., or,
// for the PTTL sent with it, PTTL key.
type cacheRead struct {
	key string
	sig []string
	v   resp.Value
	err error
}

// cachedClass is what the command table classifies a cached read by: a
// read-only command, safe to repeat, that neither blocks nor touches the
// session (Do admits no other).
var cachedClass = []any{"GET"}

func (r *cacheRead) classArgs() []any      { return cachedClass }
func (r *cacheRead) borrowsElems() bool    { return false }
func (r *cacheRead) setReply(v resp.Value) { r.v = v }
func (r *cacheRead) setErr(err error)      { r.err = err }
func (r *cacheRead) writeArgs(w *resp.Writer) error {
	_ = w.WriteArrayHeader(1 + len(r.sig))
	_ = w.WriteBulkString(r.sig[0])
	err := w.WriteBulkString(r.key)
	for _, a := range r.sig[1:] {
		err = w.WriteBulkString(a)
	}
	return err
}

// wireSize is sizedRequest's: the arguments' lengths and a generous 16
// bytes of framing for each.
func (r *cacheRead) wireSize() int {
	n := 32 + len(r.key)
	for _, a := range r.sig {
		n += 16 + len(a)
	}
	return n
}

var pttlSig = []string{"PTTL"}

// cacheFetch is one attempt of the misses of one or more entries: each
// entry's read and, behind it in the same write, PTTL of its key, all on
// one tracking connection. The requests of one entry live in the fetch
// itself.
type cacheFetch struct {
	reads   []cacheRead // read, PTTL, read, PTTL...
	reqs    []request
	oneRead [2]cacheRead
	oneReq  [2]request
}

// cacheFetches recycles the fetches of single entries that completed:
// the connection that carried them holds nothing of them any more.
var cacheFetches = sync.Pool{New: func() any { return new(cacheFetch) }}

func newCacheFetch(entries []*cacheEntry) *cacheFetch {
	var f *cacheFetch
	if len(entries) == 1 {
		f = cacheFetches.Get().(*cacheFetch)
		f.reads, f.reqs = f.oneRead[:], f.oneReq[:]
	} else {
		f = &cacheFetch{reads: make([]cacheRead, 2*len(entries)), reqs: make([]request, 2*len(entries))}
	}
	for i, e := range entries {
		f.reads[2*i] = cacheRead{key: e.key, sig: e.sig}
		f.reads[2*i+1] = cacheRead{key: e.key, sig: pttlSig}
	}
	for i := range f.reads {
		f.reqs[i] = &f.reads[i]
	}
	return f
}

// recycle gives a completed fetch of one entry back.
func (f *cacheFetch) recycle() {
	if len(f.reads) != len(f.oneRead) {
		return
	}
	f.oneRead = [2]cacheRead{}
	cacheFetches.Put(f)
}

// read returns the reply of the read-only command sig on key (sig holds
// the command's name and its arguments after the key): from memory when
// a valid entry holds it, else from the server, keeping it for at most
// ttl (<= 0: MaxTTL). A hit allocates nothing; sig is not kept.
func (cc *clientCache) read(ctx context.Context, ttl time.Duration, key string, sig []string) (resp.Value, error) {
	if v, ok := cc.store.lookup(key, sig, cc.clock()); ok {
		return v, nil
	}
	return cc.miss(ctx, ttl, key, sig)
}

// miss is read's path when no valid entry was found: join the read of
// the same command in flight, or send one.
func (cc *clientCache) miss(ctx context.Context, ttl time.Duration, key string, sig []string) (resp.Value, error) {
	if p := cc.refused.Load(); p != nil {
		return resp.Value{}, *p
	}
	if !cc.opt.matches(key) {
		// Broadcast mode sends no invalidation for this key.
		cc.store.shard(key).misses.Add(1)
		return cc.readUncached(ctx, key, sig)
	}
	for {
		v, hit, e, lead := cc.store.begin(key, sig, cc.clock())
		switch {
		case hit:
			return v, nil
		case lead:
			if err := cc.fetch(ctx, ttl, e); err != nil {
				return resp.Value{}, err
			}
			return e.val, nil
		}
		if err := cc.await(ctx, e); err != nil {
			return resp.Value{}, err
		}
		if e.err == nil {
			return e.val, nil
		}
		if !errors.Is(e.err, context.Canceled) && !errors.Is(e.err, context.DeadlineExceeded) {
			return resp.Value{}, e.err
		}
		// The reader that led gave up with its own context: try again,
		// leading this time unless another does.
	}
}

// await waits for the read in flight of e, or for ctx.
func (cc *clientCache) await(ctx context.Context, e *cacheEntry) error {
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return &ConnError{Op: "read", Addr: cc.copt.Addr, Outcome: OutcomeNotSent, Err: context.Cause(ctx)}
	}
}

// fetch sends the reads of the pending entries, each with its PTTL, on
// one tracking connection; stores each reply unless something said it
// may be stale meanwhile; and wakes those waiting for them. Each entry's
// reply is its val once fetch returns nil. Failures that are safe to
// repeat are retried as the Client retries reads.
func (cc *clientCache) fetch(ctx context.Context, ttl time.Duration, entries ...*cacheEntry) error {
	var r retrier
	for {
		f := newCacheFetch(entries)
		mc, err := cc.mx.conn(ctx)
		if err == nil {
			owner := &mc.tracked.(*cacheConn).owner
			epoch := owner.epoch.Load()
			sent := cc.clock()
			if err = mc.do(ctx, f.reqs); err == nil {
				now := cc.clock()
				for i, e := range entries {
					v, keep := f.reads[2*i].v, owner
					if v.IsError() {
						keep = nil // an error reply is not kept
					}
					expires := cc.expiry(sent, ttl, f.reads[2*i+1].v)
					cc.store.finish(e, v, nil, keep, epoch, now, expires, entrySize(e.key, e.sig, v))
				}
				f.recycle()
				return nil
			}
		}
		if p := cc.refused.Load(); p != nil {
			err = *p
		}
		if !retryable(err, cachedClass) || !r.wait(ctx, cc.copt) {
			for _, e := range entries {
				cc.store.finish(e, resp.Value{}, err, nil, 0, 0, 0, 0)
			}
			return err
		}
	}
}

// readMany is read for the same command on several keys (MGET is GET on
// each key, EXISTS is EXISTS on each): the hits from memory, the misses
// in one write.
func (cc *clientCache) readMany(ctx context.Context, ttl time.Duration, keys []string, sig []string) ([]resp.Value, error) {
	vals := make([]resp.Value, len(keys))
	var lead, wait []*cacheEntry
	var leadAt, waitAt []int
	now := cc.clock()
	for i, k := range keys {
		if v, ok := cc.store.lookup(k, sig, now); ok {
			vals[i] = v
			continue
		}
		if p := cc.refused.Load(); p != nil {
			return nil, *p
		}
		if !cc.opt.matches(k) {
			cc.store.shard(k).misses.Add(1)
			v, err := cc.readUncached(ctx, k, sig)
			if err != nil {
				return nil, err
			}
			vals[i] = v
			continue
		}
		v, hit, e, isLead := cc.store.begin(k, sig, now)
		switch {
		case hit:
			vals[i] = v
		case isLead:
			lead, leadAt = append(lead, e), append(leadAt, i)
		default:
			wait, waitAt = append(wait, e), append(waitAt, i)
		}
	}
	if len(lead) > 0 {
		if err := cc.fetch(ctx, ttl, lead...); err != nil {
			return nil, err
		}
		for j, i := range leadAt {
			vals[i] = lead[j].val
		}
	}
	for j, e := range wait {
		if err := cc.await(ctx, e); err != nil {
			return nil, err
		}
		v, err := e.val, e.err
		if err != nil {
			v, err = cc.read(ctx, ttl, e.key, sig)
		}
		if err != nil {
			return nil, err
		}
		vals[waitAt[j]] = v
	}
	return vals, nil
}

// expiry returns when an entry read at sent ends: the soonest of sent
// plus ttl, plus MaxTTL, and the key's own expiry by the PTTL read with
// it (a key with none gives -1, a missing key -2). The server answered
// PTTL after sent, so its expiry is no sooner than this.
func (cc *clientCache) expiry(sent int64, ttl time.Duration, pttl resp.Value) int64 {
	life := cc.opt.MaxTTL
	if ttl > 0 && ttl < life {
		life = ttl
	}
	exp := sent + int64(life)
	if ms, err := pttl.Int(); err != nil {
		return sent // no PTTL, no entry
	} else if ms >= 0 && sent+ms*int64(time.Millisecond) < exp {
		exp = sent + ms*int64(time.Millisecond)
	}
	return exp
}

// readUncached sends the read on a tracking connection and keeps nothing.
func (cc *clientCache) readUncached(ctx context.Context, key string, sig []string) (resp.Value, error) {
	var r retrier
	for {
		rq := &cacheRead{key: key, sig: append([]string(nil), sig...)}
		err := cc.mx.doOne(ctx, 0, rq)
		if err == nil {
			return rq.v, nil
		}
		if !retryable(err, cachedClass) || !r.wait(ctx, cc.copt) {
			return resp.Value{}, err
		}
	}
}
