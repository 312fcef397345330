package respool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// cancelPoint is where in a request the caller's context is cancelled.
type cancelPoint int

const (
	cancelBeforeWrite cancelPoint = iota // the context is done before the call
	cancelAtServer                       // the request reached the server, no reply byte yet
	cancelFirstByte                      // the first byte of the reply reached the client
	cancelMidBulk                        // part of a large bulk string reached the client
)

func (p cancelPoint) String() string {
	return [...]string{"BeforeWrite", "AtServer", "FirstByte", "MidBulk"}[p]
}

// cancelKind is the kind of call being cancelled.
type cancelKind int

const (
	cancelCommand  cancelKind = iota // one command (GETRANGE of a large value)
	cancelPipeline                   // GET, GETRANGE, GET in one pipeline
	cancelTx                         // the same in MULTI/EXEC
)

func (k cancelKind) String() string {
	return [...]string{"Command", "Pipeline", "Tx"}[k]
}

// bigValueLen is the size of the value the cancelled calls read: large
// enough for a reply that stops in the middle of its bulk string.
const bigValueLen = 64 << 10

// Issue 8, item 2: a call cancelled at each point of a request (before the
// write, once the request reached the server, after the first reply byte,
// in the middle of a bulk string) returns at once with context.Canceled:
// not sent (and provably never at the server) before the write, unknown
// outcome after it. A connection used alone by the call is closed, a
// shared one drops the late reply; the calls that follow all get their
// own replies. For single commands, pipelines and transactions, in both
// modes; in the multiplexed mode single commands and pipelines run on the
// shared connection (checkShared), transactions on a pooled one.
func TestReliabilityCancel(t *testing.T) {
	srv := faultTest(t)
	keys, hashes := populate(t, srv.Addr, testKey(t, "data"), 16)
	big := testKey(t, "big")
	bigValue := strings.Repeat("0123456789abcdef", bigValueLen/16)
	if err := newReliabilityClient(t, reliabilityModes[1], srv.Addr, Options{}).Set(context.Background(), big, bigValue, 0).Err(); err != nil {
		t.Fatal(err)
	}
	verify := soakSize(200, 10000)

	for _, m := range reliabilityModes {
		for _, kind := range []cancelKind{cancelCommand, cancelPipeline, cancelTx} {
			for _, point := range []cancelPoint{cancelBeforeWrite, cancelAtServer, cancelFirstByte, cancelMidBulk} {
				t.Run(fmt.Sprintf("%s/%s/%s", m.name, kind, point), func(t *testing.T) {
					runCancelCase(t, m, kind, point, srv.Addr, keys, hashes, big, bigValue, verify)
				})
			}
		}
	}
}

func runCancelCase(t *testing.T, m reliabilityMode, kind cancelKind, point cancelPoint,
	addr string, keys, hashes []string, big, bigValue string, verify int) {
	guard := guardContext(t)
	p := respooltest.StartFaultProxy(t, addr)
	var watch deadlineWatch
	// One shared connection: a later command on it shows that everything
	// written before has passed the proxy.
	c := newReliabilityClient(t, m, p.Addr(), Options{
		MaxRetries: -1, Dialer: watch.dial, MultiplexConns: 1,
		ReadTimeout: time.Second, // bounds the cost of a lost cancellation (see below)
	})
	small := keys[0]

	// The command whose reply is held, and where its reply stops.
	held := "GETRANGE"
	if kind == cancelTx {
		held = "EXEC"
	}
	var after int64
	switch point {
	case cancelFirstByte:
		after = 1
	case cancelMidBulk:
		after = bigValueLen / 2
		if kind == cancelTx {
			// EXEC's array holds GET's reply before the large one.
			after += int64(len(valueFor(small))) + 16
		}
	}

	initial := c.Pool().Stats()
	// Warm up, so the call does not also dial.
	warmMux(t, c)
	if err := c.Ping(guard).Err(); err != nil {
		t.Fatal(err)
	}

	if point != cancelBeforeWrite {
		p.StallReply(held, after)
	}
	before := c.Pool().Stats()
	sentBefore := p.Commands(held)
	ctx, cancel := context.WithCancel(guard)
	if point == cancelBeforeWrite {
		cancel()
	}

	type result struct {
		cmds []Cmder
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		switch kind {
		case cancelCommand:
			cmd := NewCmd(DecodeString, "GETRANGE", big, "0", "-1")
			r.err = c.Process(ctx, cmd)
			r.cmds = []Cmder{cmd}
		case cancelPipeline:
			r.cmds, r.err = c.Pipelined(ctx, func(p *Pipeline) error {
				p.Get(ctx, small)
				p.GetRange(ctx, big, 0, -1)
				p.Get(ctx, keys[1])
				return nil
			})
		case cancelTx:
			r.cmds, r.err = c.TxPipelined(ctx, func(p *Pipeline) error {
				p.Get(ctx, small)
				p.GetRange(ctx, big, 0, -1)
				return nil
			})
		}
		done <- r
	}()

	switch point {
	case cancelAtServer:
		if err := p.WaitCommand(guard, held, sentBefore+1); err != nil {
			t.Fatal(err)
		}
	case cancelFirstByte, cancelMidBulk:
		if err := p.WaitReplyStarted(guard, held, 1); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-guard.Done():
		t.Fatal("the cancelled call did not return")
	}

	shared := m.shared() && kind != cancelTx
	if point == cancelBeforeWrite {
		if shared {
			warmMux(t, c) // a barrier on the shared connection
		}
		if sent := p.Commands(held) - sentBefore; sent != 0 {
			regression(t, shared,
				"mux.go muxConn.run: a %s whose context was already cancelled is queued and written to the shared connection (the server ran it; the caller gets OutcomeUnknown, or even the reply, instead of OutcomeNotSent)", kind)
			t.Fatalf("a call cancelled before its write reached the server (%d %s)", sent, held)
		}
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want context.Canceled", r.err)
	}
	regression(t, watch.liveTimeouts.Load() > 0,
		"conn.go roundTrip: the cancellation's past deadline (set by watchContext's AfterFunc) was overwritten by SetReadDeadline(ReadTimeout): the cancelled %s returned only when ReadTimeout passed", kind)
	expected := map[int]string{0: valueFor(small), 1: bigValue, 2: valueFor(keys[1])}
	if kind == cancelCommand {
		expected = map[int]string{0: bigValue}
	}
	for i, cmd := range r.cmds {
		err := cmd.Err()
		if err == nil {
			// A reply that arrived before the cancellation is the
			// command's own.
			if got := fmt.Sprint(cmdValue(cmd)); got != expected[i] {
				t.Fatalf("command %d (%v) got a reply that is not its own: %.40q", i, cmd.Args(), got)
			}
			continue
		}
		want := OutcomeUnknown
		if point == cancelBeforeWrite {
			want = OutcomeNotSent
		}
		o := OutcomeOf(err)
		if o == OutcomeUnknown && want == OutcomeNotSent && shared {
			// Not sent (checked above), but the shared connection cannot
			// tell: unknown is imprecise, not wrong.
			t.Logf("command %d: outcome unknown for a command that was not sent", i)
			continue
		}
		if o != want {
			t.Fatalf("command %d (%v): outcome %v, want %v: %v", i, cmd.Args(), o, want, err)
		}
	}

	// A connection the call had to itself is kept when nothing was
	// written. Cancelled between two replies (at the server, or before
	// the client consumed a byte of the reply) it is drained: once the
	// stalled replies arrive it goes back to the pool. Cancelled once the
	// client had consumed part of a reply it cannot be read any further
	// and is closed. (With part of the reply received, which of the two
	// happens depends on whether the client's read had taken those bytes
	// in when the cancellation came: both are right.)
	pooled := !shared
	after2 := c.Pool().Stats()
	closed := after2.Closed.Unusable - before.Closed.Unusable
	drains := after2.Drains - before.Drains
	switch {
	case !pooled:
	case point == cancelBeforeWrite && (closed != 0 || drains != 0):
		t.Errorf("a connection was closed (%d) or drained (%d) although nothing was written", closed, drains)
	case point == cancelAtServer && (closed != 0 || drains != 1):
		t.Errorf("cancelled before any reply byte: %d pooled connections closed, %d drained; want none closed, 1 drained", closed, drains)
	case point != cancelBeforeWrite && closed+drains != 1:
		t.Errorf("cancelled during the reply: %d pooled connections closed, %d drained; want one of them", closed, drains)
	}

	p.Resume()
	if pooled && drains > 0 {
		c.Pool().waitDrains()
		st := c.Pool().Stats()
		if st.Drained-after2.Drained != drains || st.Closed.Unusable != after2.Closed.Unusable || st.Dials != after2.Dials {
			t.Errorf("after the stalled reply arrived: %d drained, %d closed, %d dialled; want the drained connection back in the pool (stats %+v)",
				st.Drained-after2.Drained, st.Closed.Unusable-after2.Closed.Unusable, st.Dials-after2.Dials, st)
		}
	}
	verifyCalls(t, c, keys, hashes, verify)
	if shared {
		checkShared(t, c, initial)
	}
}

// cmdValue returns the value of a command made by these tests.
func cmdValue(cmd Cmder) any {
	switch c := cmd.(type) {
	case *Cmd[string]:
		return c.Val()
	default:
		return fmt.Sprintf("%T", cmd)
	}
}

// verifyCalls runs n calls (single commands and pipelines) from four
// goroutines and fails the test unless each gets its own reply.
func verifyCalls(t *testing.T, c *Client, keys, hashes []string, n int) {
	t.Helper()
	ctx := guardContext(t)
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				k := keys[i%len(keys)]
				var err error
				switch i % 3 {
				case 0:
					var v string
					if v, err = c.Get(ctx, k).Result(); err == nil && v != valueFor(k) {
						err = fmt.Errorf("GET %s = %q: another command's reply", k, v)
					}
				case 1:
					h := hashes[i%len(hashes)]
					var got map[string]string
					if got, err = c.HGetAll(ctx, h).Result(); err == nil {
						err = checkHash(h, got)
					}
				default:
					pl := c.Pipeline()
					g1, g2 := pl.Get(ctx, k), pl.Get(ctx, keys[(i+1)%len(keys)])
					if err = pl.Exec(ctx); err == nil && (g1.Val() != valueFor(k) || g2.Val() != valueFor(keys[(i+1)%len(keys)])) {
						err = fmt.Errorf("pipelined GETs %q %q: another command's reply", g1.Val(), g2.Val())
					}
				}
				if err != nil {
					errs <- fmt.Errorf("call %d after the fault: %w", i, err)
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
}
