package respool

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/respool/respool/resp"
)

// fakeClock is a clock for Options.now that moves only when told. It
// starts at the real time, because connections also derive socket
// deadlines from it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testDialer counts dials and can fail or hold them, for Options.Dialer.
type testDialer struct {
	next  func(ctx context.Context, network, addr string) (net.Conn, error)
	dials atomic.Int64

	mu   sync.Mutex
	hook func(ctx context.Context) error // runs first in every dial; an error fails it
}

// newNetDialer returns a testDialer that dials for real.
func newNetDialer() *testDialer {
	var d net.Dialer
	return &testDialer{next: d.DialContext}
}

func (d *testDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	d.mu.Lock()
	hook := d.hook
	d.mu.Unlock()
	if hook != nil {
		if err := hook(ctx); err != nil {
			return nil, err
		}
	}
	return d.next(ctx, network, addr)
}

func (d *testDialer) setHook(h func(ctx context.Context) error) {
	d.mu.Lock()
	d.hook = h
	d.mu.Unlock()
}

// pipeServer is an in-memory server for pool tests that need no real
// Redis: each dial returns one end of a net.Pipe, whose other end a
// goroutine serves (PING, CLIENT ID, STRAY: +OK and a reply nobody asked
// for, anything else +OK) until the client
// closes it. It keeps the client ends dialled and not closed yet, so a
// test can count the connections actually open.
type pipeServer struct {
	wg     sync.WaitGroup
	open   atomic.Int64 // server ends not yet closed
	nextID atomic.Int64

	dialled, closed atomic.Int64 // client ends handed out, and closed

	mu   sync.Mutex        // guards live
	live map[*pipeEnd]bool // client ends not closed yet
}

// pipeEnd is the client end of a pipeServer connection; closing it is
// counted at once.
type pipeEnd struct {
	net.Conn
	srv  *pipeServer
	once sync.Once
}

func (e *pipeEnd) Close() error {
	e.once.Do(func() {
		e.srv.mu.Lock()
		delete(e.srv.live, e)
		e.srv.mu.Unlock()
		e.srv.closed.Add(1)
	})
	return e.Conn.Close()
}

// liveEnds returns the client ends dialled and not closed yet.
func (s *pipeServer) liveEnds() map[*pipeEnd]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.live)
}

func (s *pipeServer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	end := &pipeEnd{Conn: client, srv: s}
	s.mu.Lock()
	if s.live == nil {
		s.live = map[*pipeEnd]bool{}
	}
	s.live[end] = true
	s.mu.Unlock()
	s.dialled.Add(1)
	s.open.Add(1)
	id := s.nextID.Add(1)
	s.wg.Go(func() {
		defer s.open.Add(-1)
		defer server.Close()
		r := resp.NewReader(server)
		w := resp.NewWriter(server)
		for {
			v, err := r.ReadValue()
			if err != nil {
				return
			}
			elems, _ := v.Elems()
			var name, sub string
			if len(elems) > 0 {
				name = strings.ToUpper(elems[0].Text())
			}
			if len(elems) > 1 {
				sub = strings.ToUpper(elems[1].Text())
			}
			var reply resp.Value
			switch {
			case name == "PING":
				reply = resp.SimpleString("PONG")
			case name == "HELLO":
				reply = resp.ErrorValue("ERR unknown command 'HELLO'")
			case name == "CLIENT" && sub == "ID":
				reply = resp.Integer(id)
			case name == "STRAY":
				if w.WriteValue(resp.SimpleString("OK")) != nil {
					return
				}
				reply = resp.SimpleString("STRAY") // flushed with the +OK
			default:
				reply = resp.SimpleString("OK")
			}
			if w.WriteValue(reply) != nil || w.Flush() != nil {
				return
			}
		}
	})
	return end, nil
}

// newPipePool returns a pool of in-memory connections (see pipeServer)
// with opt's settings, its server and its dialer. The test's cleanup
// closes the pool and checks that every connection was closed; the test
// must Put back what it took.
func newPipePool(t testing.TB, opt *Options) (*Pool, *pipeServer, *testDialer) {
	t.Helper()
	srv := &pipeServer{}
	d := &testDialer{next: srv.dial}
	o := Options{}
	if opt != nil {
		o = *opt
	}
	o.Addr = "pipe"
	o.Dialer = d.Dial
	o.Protocol = 2
	o.DisableIdentity = true
	p := NewPool(&o)
	t.Cleanup(func() {
		p.Close()
		eventually(t, "every pipe connection closed", func() bool { return srv.open.Load() == 0 })
		srv.wg.Wait()
	})
	return p, srv, d
}

// newServerPool returns a pool on the package's shared server (unless
// opt.Addr is set), closed by the test's cleanup.
func newServerPool(t testing.TB, opt *Options) *Pool {
	t.Helper()
	o := Options{}
	if opt != nil {
		o = *opt
	}
	if o.Addr == "" {
		o.Addr = sharedServer(t).Addr
	}
	p := NewPool(&o)
	t.Cleanup(func() { p.Close() })
	return p
}

// checkGoroutines makes the test fail if it leaves goroutines behind
// (checked after every other cleanup of the test). Call it after the
// shared server was started.
func checkGoroutines(t *testing.T, opts ...goleak.Option) {
	opts = append(opts, goleak.IgnoreCurrent())
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// ignoreServerProcess ignores the goroutine that waits for a
// redis-server process, for tests that restart their server (it is
// stopped by a cleanup that runs after the goroutine check).
var ignoreServerProcess = goleak.IgnoreAnyFunction("github.com/respool/respool/respooltest.(*Server).launchLocked.func1")

// failer is what helpers need of a *testing.T, *testing.B or *rapid.T.
type failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// eventually waits until cond holds, yielding the processor in between;
// it fails the test if cond still does not hold after 10s (a safety net
// against a hang, not a timing assumption).
func eventually(t failer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		runtime.Gosched()
	}
}

// checkAccounting fails the test unless the pool's books are consistent,
// read together under its lock: the slots taken (numOpen) are the idle
// connections, those in use and the dials in flight, within PoolSize;
// every idle connection is the pool's, open, not marked in use, and idle
// once. It returns the pool's Stats, taken just before. Call it while no
// Get or Put is under way: a Get that took a slot to dial counts in
// Dialing only once its dial begins.
func checkAccounting(t failer, p *Pool) PoolStats {
	t.Helper()
	s := p.Stats()
	p.mu.Lock()
	numOpen, idle, inUse, dialing := p.numOpen, len(p.idle), p.numInUse, p.numDialing
	var bad string
	seen := make(map[*Conn]bool, idle)
	for i, cn := range p.idle {
		switch {
		case pooled(cn) == nil || pooled(cn).pool != p:
			bad = fmt.Sprintf("idle connection %d belongs to another pool", i)
		case cn.closed.Load():
			bad = fmt.Sprintf("idle connection %d is closed", i)
		case pooled(cn).inUse:
			bad = fmt.Sprintf("idle connection %d is marked in use", i)
		case seen[cn]:
			bad = fmt.Sprintf("idle connection %d is in the idle list twice", i)
		}
		seen[cn] = true
	}
	p.mu.Unlock()
	if bad != "" {
		t.Fatalf("accounting broken: %s (stats %+v)", bad, s)
	}
	if numOpen != idle+inUse+dialing || numOpen > p.opt.PoolSize || idle < 0 || inUse < 0 || dialing < 0 {
		t.Fatalf("accounting broken: numOpen %d, %d idle, %d in use, %d dialling (PoolSize %d)", numOpen, idle, inUse, dialing, p.opt.PoolSize)
	}
	return s
}

// mustGet takes a connection or fails the test.
func mustGet(t testing.TB, p *Pool) *Conn {
	t.Helper()
	cn, err := p.Get(context.Background())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return cn
}

// clientID returns the server's id of the connection.
func clientID(t testing.TB, cn *Conn) int64 {
	t.Helper()
	v, err := cn.Do(context.Background(), "CLIENT", "ID")
	if err != nil {
		t.Fatalf("CLIENT ID: %v", err)
	}
	id, err := v.Int()
	if err != nil {
		t.Fatalf("CLIENT ID reply %v: %v", v, err)
	}
	return id
}

// openFDs counts the process's open file descriptors (Linux only).
func openFDs(t testing.TB) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("counting file descriptors needs Linux's /proc")
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list /proc/self/fd: %v", err)
	}
	return len(ents)
}
