package respool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// Many goroutines share the multiplexed connections; every reply must be
// the one for the caller's own key.
func TestMuxRepliesReachTheirCallers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	if c.mux == nil {
		t.Fatal("a Client multiplexes by default")
	}
	const workers, ops = 32, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < ops; i++ {
				key := testKey(t, fmt.Sprintf("w%d:%d", w, i%10))
				val := key + ":" + strconv.Itoa(i)
				if _, err := c.Do(ctx, "SET", key, val); err != nil {
					errs <- err
					return
				}
				v, err := c.Do(ctx, "GET", key)
				if err != nil || v.Text() != val {
					errs <- fmt.Errorf("GET %s = %q, %v; want %q", key, v.Text(), err, val)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Only while at most ownConnsUpTo are in flight does a command take
	// a connection of its own.
	if st := c.Pool().Stats(); st.Open > ownConnsUpTo {
		t.Fatalf("non-blocking commands opened %d pool connections; want at most %d", st.Open, ownConnsUpTo)
	}
}

// Callers whose deadlines pass while the server is stalled return with a
// context error of unknown outcome; their late replies go to nobody, and
// later commands get their own replies. Every command runs on the one
// shared connection (sharedOnly), lone ones included.
func TestMuxAbandonedRepliesAreDropped(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t)
	ctx := context.Background()
	c := sharedOnly(NewClient(&Options{Addr: srv.Addr, MultiplexConns: 1}))
	defer c.Close()
	initial := c.Pool().Stats()
	stall := NewClient(&Options{Addr: srv.Addr, Exclusive: true})
	defer stall.Close()
	for i := 0; i < 20; i++ {
		if _, err := c.Do(ctx, "SET", "k"+strconv.Itoa(i), i); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 5; round++ {
		sleeping := make(chan error, 1)
		go func() {
			_, err := stall.Do(ctx, "DEBUG", "SLEEP", "0.2")
			sleeping <- err
		}()
		// Wait until the server runs DEBUG SLEEP: a PING with a short
		// deadline times out only while it sleeps.
		for {
			pctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := c.Do(pctx, "PING")
			cancel()
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) || OutcomeOf(err) != OutcomeUnknown {
					t.Fatalf("stalled PING: %v (outcome %v)", err, OutcomeOf(err))
				}
				break
			}
		}
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := time.Duration(rand.IntN(30)+1) * time.Millisecond
				cctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				v, err := c.Do(cctx, "GET", "k"+strconv.Itoa(i))
				if err == nil && v.Text() != strconv.Itoa(i) {
					t.Errorf("GET k%d = %q: a reply for another caller", i, v.Text())
				}
			}()
		}
		wg.Wait()
		if err := <-sleeping; err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			v, err := c.Do(ctx, "GET", "k"+strconv.Itoa(i))
			if err != nil || v.Text() != strconv.Itoa(i) {
				t.Fatalf("after the stall, GET k%d = %q, %v", i, v.Text(), err)
			}
		}
	}
	checkShared(t, c, initial)
}

// A shared connection killed under load fails only the commands on it,
// each with an unknown or not-sent outcome, and the client recovers.
func TestMuxConnectionKilledUnderLoad(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t)
	ctx := context.Background()
	c := sharedOnly(NewClient(&Options{Addr: srv.Addr, MaxRetries: -1}))
	defer c.Close()
	initial := c.Pool().Stats()
	admin := NewClient(&Options{Addr: srv.Addr, Exclusive: true})
	defer admin.Close()
	if _, err := c.Do(ctx, "SET", "n", 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	acked, failed := 0, 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := c.Do(ctx, "INCR", "n")
				mu.Lock()
				if err == nil {
					acked++
				} else {
					failed++
					if o := OutcomeOf(err); o != OutcomeUnknown && o != OutcomeNotSent {
						t.Errorf("INCR failed with outcome %v: %v", o, err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 3; i++ {
		if _, err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	// A shared connection killed while idle is found dead by the next
	// flush, before it writes: that command fails "not sent" (retries are
	// off), and the next one on its slot dials a new connection. So at
	// most one failure per slot, each not sent, before the client answers.
	var v resp.Value
	var err error
	for range c.opt.MultiplexConns + 1 {
		if v, err = c.Do(ctx, "GET", "n"); OutcomeOf(err) != OutcomeNotSent {
			break
		}
	}
	if err != nil {
		t.Fatalf("after the kills: %v (outcome %v)", err, OutcomeOf(err))
	}
	n, _ := v.Int()
	if int(n) < acked || int(n) > acked+failed {
		t.Fatalf("counter %d: acked %d, failed %d: an acknowledged INCR was lost or one ran twice", n, acked, failed)
	}
	checkShared(t, c, initial)
}

func TestMuxPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := c.Pipeline()
			for i := 0; i < 100; i++ {
				p.Do(ctx, "SET", testKey(t, fmt.Sprintf("%d:%d", w, i)), i)
			}
			gets := make([]func() string, 100)
			for i := 0; i < 100; i++ {
				cmd := p.Do(ctx, "GET", testKey(t, fmt.Sprintf("%d:%d", w, i)))
				gets[i] = func() string { return cmd.Val().Text() }
			}
			if err := p.Exec(ctx); err != nil {
				t.Error(err)
				return
			}
			for i, g := range gets {
				if g() != strconv.Itoa(i) {
					t.Errorf("worker %d GET %d = %q", w, i, g())
					return
				}
			}
		}()
	}
	wg.Wait()
	// Only while at most ownConnsUpTo are in flight does a batch take a
	// connection of its own.
	if st := c.Pool().Stats(); st.Open > ownConnsUpTo {
		t.Fatalf("pipelines opened %d pool connections; want at most %d", st.Open, ownConnsUpTo)
	}
}

func TestMuxable(t *testing.T) {
	cases := []struct {
		argv []any
		want bool
	}{
		{[]any{"GET", "k"}, true},
		{[]any{"set", "k", 1}, true},
		{[]any{"BLPOP", "k", "1"}, false},
		{[]any{"MULTI"}, false},
		{[]any{"watch", "k"}, false},
		{[]any{"SUBSCRIBE", "c"}, false},
		{[]any{"SELECT", "1"}, false},
		{[]any{"CLIENT", "ID"}, true}, // decided by the subcommand
		{[]any{"GET", struct{}{}}, false},
	}
	for _, c := range cases {
		if got := muxable(c.argv); got != c.want {
			t.Errorf("muxable(%v) = %v, want %v", c.argv, got, c.want)
		}
	}
}

// A server that accepts connections but never answers the handshake: every
// caller waiting for a shared connection's dial returns at its own
// deadline, none waits behind another's dial, and nothing is reported as
// possibly executed.
func TestMuxDialHonoursContext(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := sharedOnly(NewClient(&Options{Addr: ln.Addr().String(), DialTimeout: time.Minute, MaxRetries: -1}))
	defer c.Close()
	initial := c.Pool().Stats()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := c.Do(ctx, "GET", "k")
			if !errors.Is(err, context.DeadlineExceeded) || OutcomeOf(err) != OutcomeNotSent {
				t.Errorf("GET against a silent server: %v (outcome %v), want the deadline, not sent", err, OutcomeOf(err))
			}
		}()
	}
	wg.Wait()
	checkShared(t, c, initial)
}

// TestMuxCrowdedSkipsTheLoneCheck checks the switch between counting the
// commands in progress (to find a lone one, which takes a connection of its
// own) and skipping the count under load: a write carrying several callers'
// commands makes the muxer crowded, a write of one caller's makes it not.
func TestMuxCrowdedSkipsTheLoneCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	key := testKey(t, "k")
	gets := func() uint64 { s := c.Pool().Stats(); return s.Hits + s.Misses }
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := gets(); n != 1 {
		t.Fatalf("a lone command took %d pool connections, want 1", n)
	}

	// Two callers' commands in one write.
	mc, err := c.mux.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newCmd(DecodeString, "GET", key), newCmd(DecodeString, "GET", key)
	ma, mb := getMuxRequest([]request{a}), getMuxRequest([]request{b})
	mc.qmu.Lock()
	mc.queue = append(mc.queue, ma, mb)
	mc.flushing = true
	mc.qmu.Unlock()
	mc.flushLoop(false)
	<-ma.done
	<-mb.done
	for _, m := range []*muxRequest{ma, mb} {
		if m.err != nil || m.vals[0].Text() != "v" {
			t.Fatalf("a flushed command got %v, %v", m.vals[0], m.err)
		}
	}
	if !c.mux.crowded.Load() {
		t.Fatal("a write of two callers' commands did not make the muxer crowded")
	}

	// Crowded: straight to a shared connection, without a pool Get. That
	// write carries one caller's command, which ends the crowd.
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("GET while crowded = %q, %v", v, err)
	}
	if n := gets(); n != 1 {
		t.Fatalf("a command sent while crowded took a pool connection (%d Gets, want 1)", n)
	}
	if c.mux.crowded.Load() {
		t.Fatal("a write of one caller's command left the muxer crowded")
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
	if n := gets(); n != 2 {
		t.Fatalf("a lone command after the crowd left made %d pool Gets in all, want 2", n)
	}
}

// A caller that becomes the flusher of a shared connection whose server
// stops reading is not held past its context: with no WriteTimeout, the
// write it would have made itself blocks for good. The fake server stops
// reading at the pipeline's first command, so the 64 MiB behind it never
// leaves the client.
func TestMuxFlusherHonoursItsContext(t *testing.T) {
	guard := guardContext(t)
	srv := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		c.Stall()
	}))
	c := sharedOnly(newReliabilityClient(t, reliabilityModes[0], srv.Addr(),
		Options{MultiplexConns: 1, WriteTimeout: -1, ReadTimeout: -1, MaxRetries: -1}))
	if err := c.Ping(guard).Err(); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<20) // more than the socket buffers hold
	ctx, cancel := context.WithTimeout(guard, 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Pipelined(ctx, func(p *Pipeline) error {
			p.Do(ctx, "ECHO", "stall here")
			p.Set(ctx, "big", big, 0)
			return nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("pipeline on a server that stopped reading: %v, want the context's deadline", err)
		}
	case <-guard.Done():
		t.Fatal("the flushing caller was held past its context")
	}
	checkShared(t, c, PoolStats{})
}

// A request the reader has completed but not yet counted out when the
// connection fails must not be counted out twice: the outstanding count
// would go below zero, and no caller of the connection would flush again.
func TestMuxFailKeepsOutstandingCount(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	cn := newConn(c1, (&Options{}).withDefaults())
	mc := &muxConn{cn: cn, crowded: new(atomic.Bool), readerDone: make(chan struct{})}
	mc.wake = sync.NewCond(&mc.fmu)
	waiting := getMuxRequest(nil)
	mc.inflight = []*muxRequest{waiting}
	// Two written: one completed by the reader (out of the queue, not yet
	// counted out), one still waiting for its reply.
	mc.outstanding.Store(2)
	mc.fail(&ConnError{Op: "read", Addr: "test", Outcome: OutcomeUnknown, Err: errors.New("cut")})
	mc.outstanding.Add(-1) // the reader counts its request out
	if got := mc.outstanding.Load(); got != 0 {
		t.Fatalf("outstanding = %d after the failure, want 0", got)
	}
	if waiting.err == nil {
		t.Fatal("the waiting request did not get the failure")
	}
}

// TestSmallBatch: a caller whose context can end writes a round itself
// only when its commands are known to be small; anything else, or too
// much, goes to a flusher goroutine (TestMuxFlusherHonoursItsContext
// shows why).
func TestSmallBatch(t *testing.T) {
	get := &fastReq{}
	get.setFast(opGet, "k", "")
	read := &cacheRead{key: "k", sig: []string{"GET"}}
	big := &cacheRead{key: strings.Repeat("k", smallBatchBytes), sig: []string{"GET"}}
	other := newCmd(DecodeValue, "ECHO", "x")
	batch := func(rqs ...request) []*muxRequest { return []*muxRequest{getMuxRequest(rqs)} }
	for _, c := range []struct {
		name  string
		batch []*muxRequest
		want  bool
	}{
		{"a fast GET", batch(get), true},
		{"a cached read and its PTTL", batch(read, &cacheRead{key: "k", sig: pttlSig}), true},
		{"a key of 4 KiB", batch(big), false},
		{"a command of the usual form", batch(get, other), false},
		{"many small ones adding up", batch(slices.Repeat([]request{get}, smallBatchBytes/32)...), false},
	} {
		if got := smallBatch(c.batch); got != c.want {
			t.Errorf("%s: smallBatch = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestMuxInlineRoundNeedsKernelBuffer: a caller whose context can end
// writes a small round itself only on a kernel socket, whose empty send
// buffer takes it at once. Through a Dialer that returns a net.Pipe (no
// buffer at all) to a relay that stops reading, the same write would wait
// for the relay: the caller must still return at its context's end.
func TestMuxInlineRoundNeedsKernelBuffer(t *testing.T) {
	guard := guardContext(t)
	srv := sharedServer(t)
	pause, resume := make(chan struct{}, 1), make(chan struct{})
	opt := Options{Addr: srv.Addr, MultiplexConns: 1, WriteTimeout: -1, ReadTimeout: -1, MaxRetries: -1}
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		tc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		a, b := net.Pipe()
		go func() { _, _ = io.Copy(b, tc); _ = b.Close() }()
		go func() {
			defer tc.Close()
			buf := make([]byte, 1) // one byte at a time: a write waits for each
			for {
				select {
				case <-pause:
					<-resume
				default:
				}
				n, err := b.Read(buf)
				if n > 0 {
					if _, err := tc.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		return a, nil
	}
	c := sharedOnly(NewClient(&opt))
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(guard).Err(); err != nil {
		t.Fatal(err)
	}
	if c.mux.conns[0].Load().buffered {
		t.Fatal("a net.Pipe taken for a kernel socket")
	}
	pause <- struct{}{} // the relay stops reading after the next byte
	defer close(resume)
	ctx, cancel := context.WithTimeout(guard, 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Get(ctx, "k").Err() }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GET through a relay that stopped reading: %v, want the context's deadline", err)
		}
	case <-guard.Done():
		t.Fatal("the caller was held in its own write past its context")
	}
}

// TestGoroutineSlot: a goroutine's shared slot is the same at every call
// from the same place, lies within range, and a few stack depths reach
// every slot (the property the tests that warm every slot rely on).
func TestGoroutineSlot(t *testing.T) {
	for n := 1; n <= 5; n++ {
		first := goroutineSlot(n)
		for range 100 {
			if s := goroutineSlot(n); s != first || s < 0 || s >= n {
				t.Fatalf("slots of %d: %d, then %d", n, first, s)
			}
		}
		seen := map[int]bool{}
		for d := 0; d < 8*n; d++ {
			atStackDepth(d, func() { seen[goroutineSlot(n)] = true })
		}
		if len(seen) != n {
			t.Fatalf("slots of %d: %d depths reached only %v", n, 8*n, seen)
		}
	}
}

// TestRetryTakesAnotherSlot: a GET whose shared connection is cut under
// it is retried on the other shared connection, the one after its
// goroutine's slot, instead of redialling its own: the retry answers with
// the key's value, and no shared connection is dialled for it. Turns 0, 1
// and 2 of one goroutine take its slot, the other one and its slot again.
func TestRetryTakesAnotherSlot(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	p := respooltest.StartFaultProxy(t, srv.Addr)
	c := sharedOnly(NewClient(&Options{Addr: p.Addr(), MultiplexConns: 2, MaxRetries: 3}))
	defer c.Close()
	ctx := guardContext(t)
	key := testKey(t, "k")
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Both slots dialled first: a dial grows the stack, and a goroutine
	// whose stack moved may hash to another slot.
	warmMux(t, c)
	first, err := c.mux.connFor(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := c.mux.connFor(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.mux.connFor(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if first == retry || again != first {
		t.Fatalf("turns 0, 1, 2 took connections %p, %p, %p: want the retry on the other one, the next back on the first", first, retry, again)
	}

	dials := c.Pool().Stats().SharedDials
	p.CutOnCommandEvery("GET", 2) // the second GET from here on
	for i := range 2 {
		if v, err := c.Get(ctx, key).Result(); err != nil || v != "v" {
			t.Fatalf("GET %d: %q, %v", i, v, err)
		}
	}
	if n := p.Cuts(); n != 1 {
		t.Fatalf("%d connections cut, want 1: the scenario did not happen", n)
	}
	if n := p.Commands("GET"); n != 3 {
		t.Fatalf("%d GETs reached the server, want 3 (one of them the retry)", n)
	}
	if d := c.Pool().Stats().SharedDials - dials; d != 0 {
		t.Fatalf("%d shared connections dialled: the retry redialled its own slot instead of taking the other one", d)
	}
}

// TestMultiplexConnsDefault: a Client of one server shares three
// connections by default. Commands from many stack depths (each
// goroutine's slot depends on where its stack lies) reach all three, and
// more of them never dial a fourth.
func TestMultiplexConnsDefault(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	c := sharedOnly(NewClient(&Options{Addr: srv.Addr}))
	defer c.Close()
	ctx := guardContext(t)
	ping := func(d int) {
		var err error
		atStackDepth(d, func() { err = c.Ping(ctx).Err() })
		if err != nil {
			t.Fatalf("PING at depth %d: %v", d, err)
		}
	}
	d := 0
	for ; c.Pool().Stats().SharedDials < 3 && d < 100; d++ {
		ping(d)
	}
	for end := d + 24; d < end; d++ {
		ping(d)
	}
	if n := c.Pool().Stats().SharedDials; n != 3 || len(c.mux.conns) != 3 {
		t.Fatalf("%d shared connections dialled, %d slots, after PINGs from %d stack depths; want 3 and 3", n, len(c.mux.conns), d)
	}
}

// While at most ownConnsUpTo shareable commands are in flight, each runs on
// a pooled connection of its own and the shared connections stay undialled;
// the next one shares. The count of the others in flight is held by hand,
// so the path taken is deterministic.
func TestFewCallersTakeConnectionsOfTheirOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	key := testKey(t, "few")
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pooled := func() uint64 { st := c.Pool().Stats(); return st.Hits + st.Misses }
	shared := func() (n int) {
		for i := range c.mux.conns {
			if c.mux.conns[i].Load() != nil {
				n++
			}
		}
		return n
	}
	for others := int64(0); others <= ownConnsUpTo; others++ {
		c.active.Add(others)
		before := pooled()
		v, err := c.Get(ctx, key).Result()
		got := pooled() - before
		c.active.Add(-others)
		if err != nil || v != "v" {
			t.Fatalf("GET with %d others in flight: %q, %v", others, v, err)
		}
		wantPooled, wantShared := uint64(1), 0
		if others >= ownConnsUpTo {
			wantPooled, wantShared = 0, 1
		}
		if got != wantPooled {
			t.Errorf("GET with %d others in flight took %d pooled connections; want %d", others, got, wantPooled)
		}
		if n := shared(); n != wantShared {
			t.Errorf("after a GET with %d others in flight, %d shared connections are dialled; want %d", others, n, wantShared)
		}
	}
}
