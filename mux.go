package respool

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/respool/respool/resp"
)

// Multiplexed execution (auto-pipelining). Concurrent commands of many
// goroutines share a few connections: each caller appends its command to
// the connection's write queue; a caller that finds no flush running and
// nothing in flight becomes the flusher and writes everything queued in
// one flush. While that batch is on the wire new commands only queue: the
// reader goroutine, once it has read the batch's last reply, flushes what
// gathered meanwhile. One reader goroutine per connection reads the
// replies in order and hands each to the caller at the head of the
// in-flight queue.
//
// A caller whose context ends returns at once; the reply, when it comes,
// is read and dropped, never given to anyone else. A batch not answered
// within ReadTimeout fails its callers with the timeout, and a stand-in
// waits for their replies within DrainTimeout (mux_drain.go) before the
// connection carries on; it fails only when they do not come. A
// connection that fails fails the commands written to it with
// OutcomeUnknown and those still queued with OutcomeNotSent (which the
// Client retries on a new connection).

// muxRequest is one caller's command, or batch of commands (a pipeline),
// waiting for its replies. It is recycled through muxRequestPool.
type muxRequest struct {
	one    [1]request    // storage of reqs for a single command
	oneVal [1]resp.Value // storage of vals for a fastReq's own request
	reqs   []request     // the commands, in order
	vals   []resp.Value  // their replies, filled by the reader
	err    error         // the connection's failure, if any
	read   int           // replies read so far (reader only)
	auth   bool          // the connection's own AUTH (credentials rotated), no caller's
	drain  bool          // a stand-in for the replies owed to timed-out callers (mux_drain.go)
	// own says the request belongs to the request it carries (a
	// fastReq's, see fastReq.carrier) and is recycled with it, not
	// through muxRequestPool.
	own   bool
	state atomic.Uint32
	done  chan struct{} // buffered(1): signalled once when complete
}

const (
	muxWaiting   uint32 = iota // the caller waits
	muxAbandoned               // the caller left; the request is left to the garbage collector
	muxCompleted               // completed; the caller recycles it
)

var muxRequestPool = sync.Pool{New: func() any {
	return &muxRequest{done: make(chan struct{}, 1)}
}}

func getMuxRequest(reqs []request) *muxRequest {
	m := muxRequestPool.Get().(*muxRequest)
	m.reqs = reqs
	if cap(m.vals) >= len(reqs) {
		m.vals = m.vals[:len(reqs)]
	} else {
		m.vals = make([]resp.Value, len(reqs))
	}
	m.err, m.read, m.auth = nil, 0, false
	m.state.Store(muxWaiting)
	return m
}

func putMuxRequest(m *muxRequest) {
	clear(m.vals)
	m.one[0] = nil
	m.reqs = nil
	m.err = nil
	if !m.own {
		muxRequestPool.Put(m)
	}
}

// complete hands m to its caller, or recycles it if the caller left.
func (m *muxRequest) complete(err error) {
	m.err = err
	if m.state.CompareAndSwap(muxWaiting, muxCompleted) {
		m.done <- struct{}{}
		return
	}
	// Abandoned: the caller left. The request is left to the garbage
	// collector rather than recycled, so that no goroutine can still be
	// looking at it when it is reused.
}

// replyElems recycles the buffers that the shared connections' readers
// read the elements of aggregate replies into, for requests that borrow
// them (request.borrowsElems).
var replyElems slicePool[resp.Value]

// releaseElems gives back the buffer holding the elements of v, a reply
// the reader read for rq, once rq has it.
func releaseElems(rq request, v resp.Value) {
	if !rq.borrowsElems() || v.Kind() == resp.KindPush {
		return
	}
	if e, _ := v.Elems(); len(e) > 0 {
		replyElems.put(e)
	}
}

// muxConn is one shared connection.
type muxConn struct {
	cn      *Conn
	crowded *atomic.Bool  // the muxer's
	large   *largeReplies // the muxer's
	// buffered says the connection writes into a kernel socket's send
	// buffer (kernelBuffered): only then does a small round go out at
	// once, as flushLoop's inline mode needs.
	buffered bool
	// tracked, set for a connection with client-side caching's tracking
	// on (muxer.track), receives the pushes its reader reads between
	// replies and hears of its end. Its reader reads all the time, not
	// only while replies are due: an invalidation must be taken when it
	// arrives.
	tracked trackedConn
	pool    *Pool // counts drains (mux_drain.go); nil in tests of a lone muxConn

	// outstanding counts the requests written and not yet completed. A
	// new flush starts only when it is zero: while a batch is on the wire,
	// new commands gather into the next one, which the reader sends as
	// soon as the last reply of the batch arrived. Under load that makes
	// few, large writes; alone, a command is written at once.
	outstanding atomic.Int64

	qmu      sync.Mutex // guards queue, spare and flushing
	queue    []*muxRequest
	spare    []*muxRequest
	flushing bool

	// dead is set, under fmu, together with broken: callers choosing a
	// connection read it without taking fmu.
	dead atomic.Bool

	fmu      sync.Mutex // guards the fields below; the read deadline is set under it
	inflight []*muxRequest
	head     int   // index of the oldest in-flight request
	broken   error // the failure, once the connection failed
	writing  bool  // a flusher is writing requests of inflight
	// The reader does not read while nothing is in flight: it parks on
	// wake, so that bytes a server sends unasked stay unread and the next
	// flush finds them (Conn.idleClean, looked at while the reader is
	// parked) instead of taking them for its reply.
	wake   *sync.Cond
	parked bool

	readerDone chan struct{}
}

func newMuxConn(cn *Conn, crowded *atomic.Bool, large *largeReplies, tracked trackedConn, pool *Pool) *muxConn {
	// Only the flusher writes, and it flushes before the callers whose
	// commands it wrote can return with a reply: large []byte arguments
	// need no copy (see Client on a caller that leaves early).
	cn.lendArgs(true)
	mc := &muxConn{cn: cn, crowded: crowded, large: large, buffered: kernelBuffered(cn.nc), tracked: tracked, pool: pool, readerDone: make(chan struct{})}
	if tracked != nil {
		// Its reader starts reading at once, waiting for pushes: no
		// deadline of the setup may cut that wait short.
		cn.setReadDeadline(noCaller, deadline{})
	}
	mc.wake = sync.NewCond(&mc.fmu)
	go mc.readLoop()
	return mc
}

// failed returns the error that broke the connection, or nil.
func (mc *muxConn) failed() error {
	mc.fmu.Lock()
	defer mc.fmu.Unlock()
	return mc.broken
}

// do runs reqs on the connection and waits for their replies or for ctx.
// It returns the connection's failure (a *ConnError); the requests have
// then received it too.
func (mc *muxConn) do(ctx context.Context, reqs []request) error {
	return mc.run(ctx, getMuxRequest(reqs))
}

// doOne is do for a single command, without a slice to allocate.
func (mc *muxConn) doOne(ctx context.Context, rq request) error {
	return mc.run(ctx, getOneMuxRequest(rq))
}

// getOneMuxRequest is getMuxRequest for the single command rq, kept in
// the request's own storage.
func getOneMuxRequest(rq request) *muxRequest {
	m := getMuxRequest(nil)
	m.one[0] = rq
	m.reqs = m.one[:1]
	if cap(m.vals) >= 1 {
		m.vals = m.vals[:1]
	} else {
		m.vals = make([]resp.Value, 1)
	}
	return m
}

func (mc *muxConn) run(ctx context.Context, m *muxRequest) error {
	reqs := m.reqs
	if err := ctx.Err(); err != nil {
		ce := &ConnError{Op: "write", Addr: mc.cn.opt.Addr, Outcome: OutcomeNotSent, Err: err}
		failAll(reqs, ce)
		putMuxRequest(m)
		return ce
	}
	mc.qmu.Lock()
	mc.queue = append(mc.queue, m)
	lead := !mc.flushing && mc.outstanding.Load() == 0
	if lead {
		mc.flushing = true
	}
	mc.qmu.Unlock()
	if lead {
		if ctx.Done() != nil {
			// A caller whose context can end writes the batch itself only
			// while it is small (flushLoop's inline mode): a server that
			// stops reading would hold a larger write for up to
			// WriteTimeout, past its context. Otherwise a new goroutine
			// flushes, and the caller waits for its reply below, like
			// every other caller. (Being a new goroutine, the flusher also
			// lets the callers that are runnable now queue their commands
			// first.)
			mc.flushLoop(true)
		} else {
			// Let callers that are already runnable (woken by the last
			// replies) queue their commands first, so that they go out in
			// this flush rather than each in a write of its own. Alone,
			// nothing else is runnable and the yield returns at once.
			runtime.Gosched()
			mc.flushLoop(false)
		}
	}
	if done := ctx.Done(); done == nil {
		// A context that cannot end: a plain receive is cheaper than a
		// select.
		<-m.done
	} else {
		select {
		case <-m.done:
		case <-done:
			if m.state.CompareAndSwap(muxWaiting, muxAbandoned) {
				// The command may already be on the wire: its outcome is
				// unknown. Its reply will be read and dropped.
				ce := &ConnError{Op: "read", Addr: mc.cn.opt.Addr, Outcome: OutcomeUnknown, Err: context.Cause(ctx)}
				failAll(reqs, ce)
				return ce
			}
			<-m.done // completed meanwhile
		}
	}
	err := m.err
	if err == nil {
		for i, rq := range reqs {
			rq.setReply(m.vals[i])
			releaseElems(rq, m.vals[i])
		}
	} else {
		mc.deliverPartial(m, err)
	}
	putMuxRequest(m)
	return err
}

// deliverPartial gives the replies that arrived before the failure to
// their commands and the failure to the rest.
func (mc *muxConn) deliverPartial(m *muxRequest, err error) {
	for i, rq := range m.reqs {
		if i < m.read {
			rq.setReply(m.vals[i])
			releaseElems(rq, m.vals[i])
		} else {
			rq.setErr(err)
		}
	}
}

// flushLoop writes everything queued, in one flush per round, until the
// queue is empty or written requests await their replies (the reader
// then starts the next round).
//
// inline says that the caller is one whose context can end: it writes a
// round only while the round is small (smallBatch), and hands the rest
// to a new goroutine. A round starts only when every command written
// before was answered, so the server has read all the connection sent
// and the socket's send buffer is empty: a small write then returns at
// once, whether or not the server goes on reading.
func (mc *muxConn) flushLoop(inline bool) {
	cn := mc.cn
	for {
		mc.qmu.Lock()
		batch := mc.queue
		if len(batch) == 0 || mc.outstanding.Load() > 0 {
			mc.flushing = false
			mc.qmu.Unlock()
			return
		}
		if inline && (!mc.buffered || !smallBatch(batch)) {
			mc.qmu.Unlock()
			go mc.flushLoop(false) // still the flusher: flushing stays set
			return
		}
		if auth := mc.staleAuth(); auth != nil {
			// The credentials were rotated: AUTH goes first, alone, and
			// the queue follows once it is answered.
			batch = []*muxRequest{auth}
		} else {
			mc.queue, mc.spare = mc.spare[:0], batch
		}
		mc.qmu.Unlock()

		mc.fmu.Lock()
		if err := mc.broken; err != nil {
			mc.fmu.Unlock()
			ce := &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent, Err: err}
			for _, m := range batch {
				m.complete(ce)
			}
			clear(batch)
			continue
		}
		// Nothing is in flight (a flush starts only then), so the reader
		// is parked or about to be: bytes waiting now were never asked for.
		// (A tracked connection's reader never parks: it takes what the
		// server sends unasked, pushes, and fails on anything else.)
		if mc.parked && mc.tracked == nil && !cn.idleClean() {
			// Bytes nobody asked for, or a connection the server closed:
			// nothing of this batch was written; it goes elsewhere.
			mc.fmu.Unlock()
			ce := &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeNotSent,
				Err: errors.New("unexpected data or end of stream on an idle shared connection")}
			mc.fail(ce)
			for _, m := range batch {
				m.complete(ce)
			}
			clear(batch)
			continue
		}
		// A request whose caller already left is not sent at all.
		kept := batch[:0]
		for _, m := range batch {
			if m.state.Load() == muxAbandoned {
				continue
			}
			mc.inflight = append(mc.inflight, m)
			kept = append(kept, m)
		}
		clear(batch[len(kept):])
		batch = kept
		if len(batch) == 0 {
			mc.fmu.Unlock()
			continue
		}
		mc.outstanding.Add(int64(len(batch)))
		if crowd := len(batch) > 1; mc.crowded.Load() != crowd {
			mc.crowded.Store(crowd)
		}
		// The replies' deadline runs from the end of the flush; until then
		// the write's deadline bounds the wait.
		cn.setReadDeadline(noCaller, deadline{})
		mc.wake.Signal()
		mc.writing = true
		mc.fmu.Unlock()

		cn.setWriteDeadline(noCaller, deadlineFor(noCaller, cn.opt.now(), cn.opt.WriteTimeout))
		b := cn.startBatch()
		var err error
	write:
		for _, m := range batch {
			for _, rq := range m.reqs {
				if err = cn.writeRequest(&b, rq); err != nil {
					// muxable refused bad arguments before the queue: any
					// error here is the connection's.
					err = cn.writeError(noCaller, &b, err)
					break write
				}
			}
		}
		if err == nil {
			err = cn.flushBatch(noCaller, &b)
		}
		clear(batch)
		var flushed time.Time
		if err != nil {
			// Only this batch is in flight: when none of its bytes left
			// (writeError says so), none of its commands was sent.
			var ce *ConnError
			if !errors.As(err, &ce) {
				ce = &ConnError{Op: "write", Addr: cn.opt.Addr, Outcome: OutcomeUnknown, Err: err}
			}
			mc.fail(ce)
		} else {
			flushed = cn.opt.now()
		}
		// A failure seen while writing left the in-flight requests to us:
		// until now they were still being read by this loop.
		mc.fmu.Lock()
		mc.writing = false
		var pending []*muxRequest
		if mc.broken != nil {
			pending = mc.takeInflightLocked()
		} else if mc.head < len(mc.inflight) {
			// This batch is still in flight (only one ever is): its replies
			// have ReadTimeout from the end of the flush.
			cn.setReadDeadline(noCaller, cn.replyDeadline(noCaller, flushed, 0))
		}
		broken := mc.broken
		mc.fmu.Unlock()
		for _, m := range pending {
			m.complete(broken)
		}
	}
}

// staleAuth returns the request of the AUTH the connection sends before
// its next batch when the credentials were rotated since it last
// authenticated (see Pool.RotateCredentials), or nil. The flusher calls
// it: only the flusher touches the connection's authentication.
func (mc *muxConn) staleAuth() *muxRequest {
	if !mc.cn.credsStale() {
		return nil
	}
	rq := mc.cn.staleAuth()
	if rq == nil {
		return nil
	}
	m := getOneMuxRequest(rq)
	m.auth = true
	return m
}

// flushQueued becomes the flusher when commands are queued and no flush
// is running: the reader calls it once a batch's last reply arrived, for
// the commands that gathered while the batch was on the wire, and fail
// for those it must fail.
func (mc *muxConn) flushQueued() {
	mc.qmu.Lock()
	lead := !mc.flushing && len(mc.queue) > 0
	if lead {
		mc.flushing = true
	}
	mc.qmu.Unlock()
	if lead {
		mc.flushLoop(false)
	}
}

// takeInflightLocked empties the in-flight queue of a failed connection
// and returns the requests it held, for the caller to complete. They leave
// the outstanding count now; a request the reader completed just before
// has left the queue already and leaves the count when the reader says so
// (setting the count to zero here would let that decrement take it below
// zero, and no caller would ever flush again).
func (mc *muxConn) takeInflightLocked() []*muxRequest {
	pending := mc.inflight[mc.head:]
	mc.inflight, mc.head = nil, 0
	mc.outstanding.Add(-int64(len(pending)))
	return pending
}

// fail breaks the connection: every in-flight request gets err (replies
// already read stay theirs); requests queued later get OutcomeNotSent.
func (mc *muxConn) fail(err *ConnError) {
	mc.fmu.Lock()
	if mc.broken != nil {
		mc.fmu.Unlock()
		return
	}
	mc.broken = err
	mc.dead.Store(true)
	mc.wake.Broadcast()
	var pending []*muxRequest
	if !mc.writing { // else the flusher completes them when it is done
		pending = mc.takeInflightLocked()
	}
	mc.fmu.Unlock()
	if lg := mc.cn.opt.Logger; lg != nil && !errors.Is(err, ErrClosed) {
		logBroken(lg, mc.cn.opt.Addr, err, true)
	}
	mc.cn.breakWith(err)
	if mc.tracked != nil {
		mc.tracked.lost()
	}
	for _, m := range pending {
		if m.drain {
			mc.drainEnded(false)
		}
		m.complete(err)
	}
	// Requests queued before the failure was seen are completed by the
	// flusher, which finds mc.broken set.
	mc.flushQueued()
}

// readLoop reads replies and completes requests in order until the
// connection fails or is closed.
func (mc *muxConn) readLoop() {
	defer close(mc.readerDone)
	cn := mc.cn
	// replyAvg is the running mean of the sizes of the replies read here
	// (mux_large.go), kept on the reader's stack: a field of mc written at
	// every reply would share a cache line with what every caller reads.
	var replyAvg int64
	for {
		mc.fmu.Lock()
		for mc.head == len(mc.inflight) && mc.broken == nil && mc.tracked == nil {
			mc.parked = true
			mc.wake.Wait()
		}
		mc.parked = false
		broken := mc.broken
		var borrow, auth bool
		if broken == nil && mc.head < len(mc.inflight) {
			// The next reply is this request's. (Requests are immutable
			// in this respect, so the answer holds even if the request
			// completes with a failure meanwhile.)
			head := mc.inflight[mc.head]
			borrow = head.reqs[head.read].borrowsElems() && mc.tracked == nil
			auth = head.auth
		}
		mc.fmu.Unlock()
		if broken != nil {
			return
		}
		var buf []resp.Value
		if borrow {
			// The elements go into a recycled buffer, which the caller
			// gives back once the request has its reply (releaseElems).
			buf = replyElems.get(0)
		}
		var v resp.Value
		var err error
		if mc.tracked != nil {
			v, err = mc.readTracked()
			auth = err == nil && mc.headIsAuth()
		} else {
			start := cn.r.Offset()
			v, buf, err = cn.readReply(borrow, buf)
			replyAvg = mc.noteReply(replyAvg, cn.r.Offset()-start)
		}
		if e, _ := v.Elems(); borrow && (err != nil || len(e) == 0) {
			replyElems.put(buf)
		}
		if err != nil {
			if mc.stall(err) {
				continue // the timed-out callers' replies are owed to a stand-in
			}
			mc.fail(cn.ioError(noCaller, "read", OutcomeUnknown, err))
			return
		}
		if auth {
			// The connection's own AUTH, alone in its batch: refused, the
			// connection goes, and the commands queued behind it are sent
			// on another.
			if err := mc.reauthReply(v); err != nil {
				mc.fail(err)
				return
			}
		}
		mc.fmu.Lock()
		if mc.head == len(mc.inflight) {
			mc.fmu.Unlock()
			mc.fail(&ConnError{Op: "read", Addr: cn.opt.Addr, Outcome: OutcomeUnknown,
				Err: errors.New("reply with no command waiting for it")})
			return
		}
		m := mc.inflight[mc.head]
		m.vals[m.read] = v
		m.read++
		var done *muxRequest
		if m.read == len(m.reqs) {
			mc.inflight[mc.head] = nil
			mc.head++
			if mc.head == len(mc.inflight) {
				mc.inflight, mc.head = mc.inflight[:0], 0
				// Park now, in the same critical section, so a flush
				// that follows checks what is left unread.
				mc.parked = true
				if mc.tracked != nil {
					// A tracked reader waits for pushes with no
					// deadline while nothing is due.
					cn.setReadDeadline(noCaller, deadline{})
				}
			}
			done = m
		}
		mc.fmu.Unlock()
		if done != nil {
			if done.drain {
				mc.drainEnded(true)
			}
			done.complete(nil)
			if mc.outstanding.Add(-1) == 0 {
				// Let the callers just woken queue their next commands,
				// so that they go out with those already waiting.
				runtime.Gosched()
				mc.flushQueued()
			}
		}
	}
}

// readTracked reads the next reply of a tracked connection, handing the
// push messages before it to the tracker as they arrive.
func (mc *muxConn) readTracked() (resp.Value, error) {
	for {
		v, err := mc.cn.readNext()
		if err != nil || v.Kind() != resp.KindPush {
			return v, err
		}
		mc.tracked.push(v)
	}
}

// headIsAuth reports whether the request the next reply belongs to is
// the connection's own AUTH. A tracked reader asks after the read, which
// may have begun before anything was in flight.
func (mc *muxConn) headIsAuth() bool {
	mc.fmu.Lock()
	defer mc.fmu.Unlock()
	return mc.head < len(mc.inflight) && mc.inflight[mc.head].auth
}

// reauthReply takes the reply to the connection's own AUTH: nil when
// accepted, else the failure to fail the connection with.
func (mc *muxConn) reauthReply(v resp.Value) *ConnError {
	var err error
	if v.IsError() {
		err = &reauthError{addr: mc.cn.opt.Addr, reply: NewError(v.Text())}
	}
	mc.cn.reauthDone(err)
	if err == nil {
		return nil
	}
	return &ConnError{Op: "auth", Addr: mc.cn.opt.Addr, Outcome: OutcomeNotSent, Err: err}
}

// close closes the connection and waits for its reader.
func (mc *muxConn) close() {
	mc.fail(&ConnError{Op: "read", Addr: mc.cn.opt.Addr, Outcome: OutcomeUnknown, Err: ErrClosed})
	<-mc.readerDone
}

// smallBatchBytes bounds what flushLoop's inline mode writes in a round:
// less than the smallest send buffer a socket has (Linux's tcp_wmem
// minimum is 4 KiB), so that a write into an empty one never waits.
const smallBatchBytes = 4 << 10

// kernelBuffered reports whether writes on nc go into a kernel socket's
// send buffer: TCP and Unix sockets, and TLS over them. A connection of
// another kind (Options.Dialer may return any net.Conn, net.Pipe for
// one) may hold even a small write until its peer reads.
func kernelBuffered(nc net.Conn) bool {
	switch c := nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	case *tls.Conn:
		return kernelBuffered(c.NetConn())
	}
	return false
}

// sizedRequest is a request that knows about how many bytes it takes on
// the wire: an upper bound, framing included.
type sizedRequest interface {
	wireSize() int
}

// smallBatch reports whether the commands of batch take less than
// smallBatchBytes on the wire. Only requests that know their size
// (sizedRequest: cached reads, commands of the fast form) count as small.
func smallBatch(batch []*muxRequest) bool {
	n := 0
	for _, m := range batch {
		for _, rq := range m.reqs {
			sr, ok := rq.(sizedRequest)
			if !ok {
				return false
			}
			if n += sr.wireSize(); n >= smallBatchBytes {
				return false
			}
		}
	}
	return true
}
