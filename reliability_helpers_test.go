package respool

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/respool/respool/respooltest"
)

// The reliability tests prove the guarantees of issue 8 against real
// servers, through a respooltest.FaultProxy or a scripted FakeServer. They
// do not call t.Parallel: they count the process's goroutines and file
// descriptors, which other tests running at the same time would disturb.
//
// The heavier ones run small by default; RESPOOL_SOAK=1 in the environment
// runs them at full size (go test -run Reliab -timeout 30m with
// RESPOOL_SOAK=1).

// reliabilityMode is one of the ways a Client runs commands.
type reliabilityMode struct {
	name      string
	exclusive bool
	// choosing leaves a multiplexing Client its own choice of path: a
	// command or pipeline alone in flight borrows a pooled connection.
	// Without it, a multiplexing Client runs every command that may share
	// a connection on a shared one, also when it is alone (sharedOnly).
	choosing bool
}

// shared reports whether a Client in mode m runs every shareable command
// on a shared connection.
func (m reliabilityMode) shared() bool { return !m.exclusive && !m.choosing }

// reliabilityModes lists the two paths a command can take: a multiplexed
// Client that runs everything it may on its shared connections (a test
// named Multiplexed runs there, whatever else is in flight; checkShared
// shows it), and Options.Exclusive, where every command borrows a pooled
// connection.
var reliabilityModes = []reliabilityMode{{name: "Multiplexed"}, {name: "Exclusive", exclusive: true}}

// choosingModes are for scenarios about the multiplexed Client's own
// choice between its shared connections and the pool (a lone command
// borrows a pooled connection, unless the pool has none free).
var choosingModes = []reliabilityMode{{name: "Multiplexed", choosing: true}, {name: "Exclusive", exclusive: true}}

// reliabilitySoak reports whether the full-size soaks were asked for.
func reliabilitySoak() bool { return os.Getenv("RESPOOL_SOAK") == "1" }

// soakSize returns small, or full when RESPOOL_SOAK=1.
func soakSize(small, full int) int {
	if reliabilitySoak() {
		return full
	}
	return small
}

// reliabilityGuard bounds a whole scenario: a safety net against a hang,
// not a timing assumption.
const reliabilityGuard = 60 * time.Second

// guardContext returns a context ended by reliabilityGuard or the test's
// end.
func guardContext(t *testing.T) context.Context {
	return guardContextFor(t, reliabilityGuard)
}

// guardContextFor is guardContext with a guard of d.
func guardContextFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// faultTest prepares a fault test: it starts the shared server, then
// records the goroutines and file descriptors open now and checks, after
// every cleanup registered later (clients, proxies, servers), that they
// are back to where they were. Call it first.
func faultTest(t *testing.T) *respooltest.Server {
	t.Helper()
	srv := sharedServer(t)
	leakCheck(t)
	return srv
}

// leakCheck records the goroutines and file descriptors open now and
// checks, after every cleanup registered later, that they are back to
// where they were. Call it after starting the servers the test needs.
func leakCheck(t *testing.T) {
	t.Helper()
	fds := countFDs(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		goleak.VerifyNone(t, ignore, ignoreKitProcessWaiters)
		if fds < 0 {
			return
		}
		// A socket's descriptor is released when the last goroutine using
		// it lets go; give them the processor until the count settles.
		var now int
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); runtime.Gosched() {
			if now = countFDs(t); now <= fds {
				return
			}
		}
		t.Errorf("file descriptors: %d open after the test, %d before", now, fds)
	})
}

// ignoreKitProcessWaiters ignores respooltest's goroutine that waits for a
// server process; a server started by the test is reaped by its own
// cleanup, which runs before the checks.
var ignoreKitProcessWaiters = goleak.IgnoreAnyFunction("github.com/respool/respool/respooltest.(*Server).launchLocked.func1")

// countFDs returns the number of open file descriptors, or -1 where
// /proc/self/fd is not available.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// newReliabilityClient returns a Client in mode m on addr with opt's other
// settings, closed by the test's cleanup.
func newReliabilityClient(t *testing.T, m reliabilityMode, addr string, opt Options) *Client {
	t.Helper()
	opt.Addr = addr
	opt.Exclusive = m.exclusive
	c := NewClient(&opt)
	if m.shared() {
		sharedOnly(c)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pooledUse sums the counters that move when a Client borrows a pooled
// connection: Gets that took an idle one (Hits), dialled one (Misses),
// waited (Waits, Timeouts), and the dials of Gets, failed ones included.
func pooledUse(s PoolStats) uint64 {
	return s.Hits + s.Misses + s.Waits + s.Timeouts + (s.Dials - s.MinIdleDials - s.SharedDials)
}

// checkShared fails the test unless the calls c made since its pool's
// stats were before ran on shared connections: c dialled shared
// connections, and its pool lent it none.
func checkShared(t *testing.T, c *Client, before PoolStats) {
	t.Helper()
	now := c.Pool().Stats()
	if now.SharedDials == 0 {
		t.Fatalf("no shared connection was ever dialled: the calls did not run on the shared path (stats %+v)", now)
	}
	if pooledUse(now) != pooledUse(before) {
		t.Fatalf("the pool lent connections to calls of the shared path: stats before %+v, after %+v", before, now)
	}
}

// valueFor is the value a test stores under key: derived from the key, so
// a reply that belongs to another command is always noticed, and of a
// length that varies with the key.
func valueFor(key string) string {
	n := int(crc32.ChecksumIEEE([]byte(key)) % 61)
	return "v<" + key + ">" + strings.Repeat(string(rune('a'+n%26)), n)
}

// fieldValueFor is valueFor for a hash field.
func fieldValueFor(key, field string) string { return valueFor(key + "#" + field) }

// populate stores n string keys and n hashes of three fields under prefix,
// with values from valueFor, and returns their names.
func populate(t *testing.T, addr, prefix string, n int) (keys, hashes []string) {
	t.Helper()
	ctx := context.Background()
	c := NewClient(&Options{Addr: addr, Exclusive: true})
	defer c.Close()
	p := c.Pipeline()
	for i := range n {
		k := fmt.Sprintf("%s:k%d", prefix, i)
		h := fmt.Sprintf("%s:h%d", prefix, i)
		keys, hashes = append(keys, k), append(hashes, h)
		p.Do(ctx, "SET", k, valueFor(k))
		p.Do(ctx, "HSET", h, "a", fieldValueFor(h, "a"), "b", fieldValueFor(h, "b"), "c", fieldValueFor(h, "c"))
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatalf("populate: %v", err)
	}
	return keys, hashes
}

// checkHash reports a difference between a HGETALL result and the hash
// populate stored.
func checkHash(h string, got map[string]string) error {
	if len(got) != 3 {
		return fmt.Errorf("HGETALL %s: %d fields %v, want 3", h, len(got), got)
	}
	for _, f := range []string{"a", "b", "c"} {
		if got[f] != fieldValueFor(h, f) {
			return fmt.Errorf("HGETALL %s: field %s = %q, want %q", h, f, got[f], fieldValueFor(h, f))
		}
	}
	return nil
}

// isDeadline reports an error caused by a context's deadline.
func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// isTimeout reports an error caused by a deadline: a context's, or a
// socket's from Options.ReadTimeout/WriteTimeout/DialTimeout.
func isTimeout(err error) bool {
	if isDeadline(err) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// warmMux makes sure every shared connection of a multiplexing Client
// made sharedOnly is dialled and healthy, with a PING on each slot (a
// command goes to its goroutine's slot, see goroutineSlot).
func warmMux(t *testing.T, c *Client) {
	t.Helper()
	if c.mux == nil {
		return
	}
	if !c.alwaysShare {
		t.Fatal("warmMux: the Client may run its PINGs on pooled connections; make it sharedOnly")
	}
	ctx := guardContext(t)
	for i := range c.mux.conns {
		mc, err := c.mux.connAt(ctx, i)
		if err == nil {
			err = mc.doOne(ctx, &valueRequest{argv: []any{"PING"}})
		}
		if err != nil {
			t.Fatalf("warm up slot %d: %v", i, err)
		}
	}
}

// atStackDepth runs f about d KiB deeper in the stack than its caller. A
// command sent by f is hashed to another shared slot for each d
// (goroutineSlot), so that one goroutine can reach every slot: a few
// consecutive depths cover two slots.
//
//go:noinline
func atStackDepth(d int, f func()) {
	var pad [1024]byte
	pad[d%len(pad)] = byte(d)
	if d > 0 {
		atStackDepth(d-1, f)
	} else {
		f()
	}
	stackSink += pad[d%len(pad)]
}

var stackSink byte

// deadlineWatch is an Options.Dialer whose connections count the reads
// that end at a deadline other than the one a cancellation sets
// (aLongTimeAgo): in a test where no ReadTimeout can legitimately pass,
// such a read is a cancellation that was lost, and a call that returned
// only when its ReadTimeout came.
type deadlineWatch struct {
	liveTimeouts atomic.Int64
}

func (w *deadlineWatch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: nc, w: w}, nil
}

// watchedConn is a connection of a deadlineWatch.
type watchedConn struct {
	net.Conn
	w *deadlineWatch

	mu     sync.Mutex // guards readDL
	readDL time.Time
}

func (c *watchedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDL = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *watchedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDL = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		live := !c.readDL.Equal(aLongTimeAgo)
		c.mu.Unlock()
		if live {
			c.w.liveTimeouts.Add(1)
		}
	}
	return n, err
}

// SyscallConn and CloseWrite pass through, so the liveness check of idle
// connections and Close work as on a plain TCP connection.
func (c *watchedConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

func (c *watchedConn) CloseWrite() error {
	return c.Conn.(interface{ CloseWrite() error }).CloseWrite()
}

// socketCount is an Options.Dialer that counts the client's sockets open
// at once and their peak.
type socketCount struct {
	mu         sync.Mutex // guards open and peak
	open, peak int
}

func (sc *socketCount) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	sc.mu.Lock()
	sc.open++
	sc.peak = max(sc.peak, sc.open)
	sc.mu.Unlock()
	return &countedConn{TCPConn: nc.(*net.TCPConn), sc: sc}, nil
}

// peakOpen returns the most sockets that were open at once.
func (sc *socketCount) peakOpen() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.peak
}

// countedConn is a socket of a socketCount; every other method is the TCP
// connection's own, so the liveness check and Close work as without it.
type countedConn struct {
	*net.TCPConn
	sc   *socketCount
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.sc.mu.Lock()
		c.sc.open--
		c.sc.mu.Unlock()
	})
	return c.TCPConn.Close()
}
