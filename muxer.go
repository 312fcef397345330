package respool

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/respool/respool/resp"
)

// The muxer: a Client's fixed set of shared connections (muxConn, mux.go),
// which connection a goroutine's command goes to, and their dialling,
// closing and retiring.

// tracker turns client-side caching's tracking on on a muxer's new
// connections. The cache (cache.go) is one; the muxer only hands it each
// connection and what the connection's reader learns.
type tracker interface {
	// track turns tracking on on cn, just dialled and not yet shared, and
	// returns what receives its pushes. An error closes cn and fails the
	// callers that needed it.
	track(ctx context.Context, cn *Conn) (trackedConn, error)
}

// trackedConn hears what one tracked connection's reader learns.
type trackedConn interface {
	// push receives a push message read between replies, before the
	// reply after it is handed to its caller.
	push(v resp.Value)
	// lost says that the connection failed or was closed: no push will
	// come any more.
	lost()
}

// muxer spreads commands over a fixed number of shared connections,
// dialling each lazily and again after it fails.
type muxer struct {
	pool *Pool // dials through its backoff and dial limit
	// track, when set, turns tracking on on each new connection before
	// it carries a command (the connections of client-side caching).
	track tracker

	// crowded says that the last write on a shared connection carried the
	// commands of several callers. While it holds, Client.runCmd sends
	// its commands to the shared connections without first counting the
	// commands in progress to find one that is alone: under load that
	// count is an atomic that every command of every core writes twice.
	// The first write of a lone caller's command clears it again. Only
	// flushers write it, and only when it changes.
	crowded atomic.Bool
	// large says that recent replies were large: Client.runJob then runs
	// shareable commands on connections of their own (mux_large.go).
	large largeReplies
	_     [48]byte // keeps crowded's and large's cache line to themselves

	// slotDial holds one token per slot while a caller replaces that
	// slot's connection; waiting for it honours the caller's context.
	slotDial []chan struct{}

	// conns holds each slot's connection. Callers read it without a lock;
	// a slot is stored only under mu, and close clears every slot.
	conns []atomic.Pointer[muxConn]

	mu     sync.Mutex // guards closed and gen, and serialises stores into conns; dials happen outside it
	closed bool
	gen    uint64 // counts retire calls: a dial begun before one is discarded
}

func newMuxer(p *Pool) *muxer {
	n := p.opt.MultiplexConns
	mx := &muxer{pool: p, conns: make([]atomic.Pointer[muxConn], n), slotDial: make([]chan struct{}, n)}
	for i := range mx.slotDial {
		mx.slotDial[i] = make(chan struct{}, 1)
	}
	return mx
}

// conn returns a healthy connection of the calling goroutine's slot.
func (mx *muxer) conn(ctx context.Context) (*muxConn, error) {
	return mx.connFor(ctx, 0)
}

// connFor is conn for a job's attempt turn (0 for the first): a retry
// goes to the next slot, so that it does not queue behind the replies
// that the connection it failed on may still owe (a stand-in's drain).
func (mx *muxer) connFor(ctx context.Context, turn int) (*muxConn, error) {
	n := len(mx.conns)
	return mx.connAt(ctx, (goroutineSlot(n)+turn)%n)
}

// connAt returns a healthy connection of slot i, dialling one if needed.
func (mx *muxer) connAt(ctx context.Context, i int) (*muxConn, error) {
	mc := mx.conns[i].Load()
	if mc != nil && !mc.dead.Load() {
		return mc, nil
	}
	mx.mu.Lock()
	mc, closed := mx.conns[i].Load(), mx.closed
	mx.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if mc != nil && mc.failed() == nil {
		return mc, nil
	}
	select {
	case mx.slotDial[i] <- struct{}{}:
	case <-ctx.Done():
		return nil, &ConnError{Op: "dial", Addr: mx.pool.opt.Addr, Outcome: OutcomeNotSent, Err: ctx.Err()}
	}
	defer func() { <-mx.slotDial[i] }()
	mx.mu.Lock()
	mc, closed = mx.conns[i].Load(), mx.closed
	gen := mx.gen
	mx.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if mc != nil && mc.failed() == nil {
		return mc, nil // another caller replaced it
	}
	if mc != nil {
		<-mc.readerDone
	}
	cn, err := mx.pool.dialUnpooled(ctx)
	if err != nil {
		return nil, err
	}
	var tracked trackedConn
	if mx.track != nil {
		if tracked, err = mx.track.track(ctx, cn); err != nil {
			_ = cn.Close()
			return nil, err
		}
	}
	fresh := newMuxConn(cn, &mx.crowded, &mx.large, tracked, mx.pool)
	mx.mu.Lock()
	if mx.closed {
		mx.mu.Unlock()
		fresh.close()
		return nil, ErrClosed
	}
	if mx.gen != gen {
		mx.mu.Unlock()
		fresh.close()
		return nil, &ConnError{Op: "dial", Addr: cn.Addr(), Outcome: OutcomeNotSent, Err: errRetired}
	}
	mx.conns[i].Store(fresh)
	mx.mu.Unlock()
	return fresh, nil
}

// do runs reqs on a shared connection.
func (mx *muxer) do(ctx context.Context, turn int, reqs []request) error {
	mc, err := mx.connFor(ctx, turn)
	if err != nil {
		failAll(reqs, err)
		return err
	}
	return mc.do(ctx, reqs)
}

// doOne runs one command on a shared connection.
func (mx *muxer) doOne(ctx context.Context, turn int, rq request) error {
	mc, err := mx.connFor(ctx, turn)
	if err != nil {
		rq.setErr(err)
		return err
	}
	return mc.doOne(ctx, rq)
}

// run is doOne for a request already wrapped in a muxRequest of its own
// (one with own set), which it recycles as run does.
func (mx *muxer) run(ctx context.Context, turn int, m *muxRequest) error {
	mc, err := mx.connFor(ctx, turn)
	if err != nil {
		failAll(m.reqs, err)
		putMuxRequest(m)
		return err
	}
	return mc.run(ctx, m)
}

// goroutineSlot picks one of n slots for the calling goroutine, from a
// hash of where its stack lies: the same slot at every call made from the
// same place in its code (the depth of the call counts), as long as the
// stack does not move. A goroutine thus comes back to the connection
// that just answered it, and the goroutines woken by one round of a shared
// connection queue the next round there together, instead of joining
// another connection's round in flight and waiting for it to end. (A
// round-robin counter would be one more cache line that every command of
// every core writes; a random slot splits every round.)
func goroutineSlot(n int) int {
	if n <= 1 {
		return 0
	}
	var here byte
	h := uint64(uintptr(unsafe.Pointer(&here))>>10) * 0x9e3779b97f4a7c15
	return int((h >> 32) * uint64(n) >> 32)
}

// close closes every connection and waits for their readers.
func (mx *muxer) close() {
	mx.mu.Lock()
	mx.closed = true
	conns := make([]*muxConn, len(mx.conns))
	for i := range mx.conns {
		conns[i] = mx.conns[i].Swap(nil)
	}
	mx.mu.Unlock()
	for _, ch := range mx.slotDial {
		// Wait for a dial in progress: it sees closed and gives up its
		// connection.
		ch <- struct{}{}
		<-ch
	}
	for _, mc := range conns {
		if mc != nil {
			mc.close()
		}
	}
}

// retire closes every shared connection (their commands in flight fail
// with OutcomeUnknown, those still queued with OutcomeNotSent, which the
// Client retries) and discards a dial in flight when it completes, so
// that the next commands dial again. A FailoverClient calls it when
// Sentinel names another server.
func (mx *muxer) retire() {
	mx.mu.Lock()
	if mx.closed {
		mx.mu.Unlock()
		return
	}
	mx.gen++
	conns := make([]*muxConn, len(mx.conns))
	for i := range mx.conns {
		conns[i] = mx.conns[i].Swap(nil)
	}
	mx.mu.Unlock()
	for _, mc := range conns {
		if mc != nil {
			mc.fail(&ConnError{Op: "read", Addr: mc.cn.opt.Addr, Outcome: OutcomeUnknown, Err: errRetired})
			<-mc.readerDone
		}
	}
}
