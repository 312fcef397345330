//go:build unix

package respool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The socket reader and writer of a bare TCP or Unix socket go through its
// RawConn (the quiet system calls of rawsys_linux.go outside race builds)
// and behave as the net.Conn's own Read and Write: whole writes through a
// full socket buffer, the bytes in order, and the same errors for a
// deadline, the peer's close and a local close.
func TestSockIOLikeNetConn(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			checkGoroutines(t)
			got := make(chan []byte, 1)
			reply := make(chan struct{})
			nc := awaitPeerOn(t, network, func(c net.Conn) {
				b := make([]byte, 1<<20)
				_, err := io.ReadFull(c, b)
				if err != nil {
					b = nil
				}
				got <- b
				<-reply
				_, _ = c.Write([]byte("hello"))
			})
			var replyOnce sync.Once
			sendReply := func() { replyOnce.Do(func() { close(reply) }) }
			t.Cleanup(sendReply) // before the peer's: a failure must not leave it waiting
			tr := newTransport(nc)
			if tr.sr.raw == nil || tr.sw.raw == nil {
				t.Fatalf("a %s socket is not read and written through its RawConn", network)
			}
			if tc, ok := nc.(*net.TCPConn); ok {
				if err := tc.SetWriteBuffer(4096); err != nil {
					t.Fatal(err)
				}
			}
			p := make([]byte, 1<<20) // more than the socket buffers hold
			for i := range p {
				p[i] = byte(i * 13)
			}
			if n, err := tr.sw.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write: %d of %d bytes, %v", n, len(p), err)
			}
			if b := <-got; !bytes.Equal(b, p) {
				t.Fatal("the peer did not receive the bytes written, in order")
			}

			// A read deadline that passes while the read waits.
			if err := nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			_, err := tr.sr.Read(buf)
			var ne net.Error
			var oe *net.OpError
			if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) ||
				!errors.As(err, &oe) || oe.Op != "read" || strings.Contains(err.Error(), "raw-") {
				t.Fatalf("read past its deadline: %v, want a read timeout as net.Conn words it", err)
			}
			if !isTimeoutErr(err) {
				t.Fatalf("read past its deadline: %v is not a timeout to the wire layer", err)
			}

			// The reply, then the peer's close.
			if err := nc.SetReadDeadline(time.Time{}); err != nil {
				t.Fatal(err)
			}
			sendReply()
			var all []byte
			for {
				n, err := tr.sr.Read(buf)
				all = append(all, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read: %v", err)
				}
			}
			if string(all) != "hello" {
				t.Fatalf("read %q, want hello then the end of stream", all)
			}

			// A local close.
			_ = nc.Close()
			if _, err := tr.sr.Read(buf); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read after Close: %v, want net.ErrClosed", err)
			}
			if _, err := tr.sw.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("write after Close: %v, want net.ErrClosed", err)
			}
		})
	}
}

// A socket whose descriptor was made blocking behind the connection's
// back (os.File.Fd on a duplicate does that to the shared socket) still
// never blocks a quiet system call in the kernel: a read with nothing to
// read waits in the poller and keeps its deadline, and a write the peer
// does not take keeps its own. (The announced calls of race builds block
// as net.Conn's own do there, ignoring deadlines: Go's documented price
// of Fd.)
func TestSockIOBlockingDescriptor(t *testing.T) {
	if !quietSyscalls {
		t.Skip("announced system calls block on a blocking descriptor, as net.Conn's do")
	}
	checkGoroutines(t)
	release := make(chan struct{})
	nc := awaitPeer(t, func(c net.Conn) {
		// Neither reads nor writes until released: a safety net that
		// ends a read or write stuck in the kernel, with data the test
		// then rejects.
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			_, _ = c.Write([]byte("late"))
			_, _ = io.Copy(io.Discard, c)
		}
	})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	f, err := nc.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Fd() // makes the shared socket blocking
	_ = f.Close()
	tr := newTransport(nc)

	if err := nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := tr.sr.Read(make([]byte, 16))
	if !isTimeoutErr(err) {
		t.Fatalf("read on a blocking descriptor: %d bytes, %v, want its deadline's timeout", n, err)
	}

	if err := nc.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	m, err := tr.sw.Write(make([]byte, 64<<20)) // far more than the socket buffers hold
	if !isTimeoutErr(err) || m >= 64<<20 {
		t.Fatalf("write on a blocking descriptor: %d bytes, %v, want its deadline's timeout", m, err)
	}
}

// A goroutine that computes after a round trip made of quiet system calls
// is still preempted, so that another goroutine gets the only P. The
// computation is a loop without a function call, which only the runtime
// monitor's preemption can interrupt, and it ends when the other
// goroutine runs. Quiet calls do not wake the monitor: after a wait long
// enough for it to fall asleep and for the ticks to stop (a BLPOP of
// 50ms), monitorAwake must have made the reply's read an announced one;
// in a loop of shorter waits (5ms), its timer must go on ticking. Without either the monitor sleeps
// until the safety net's timer, whose firing fails the test. The
// connection has no deadlines, so no other timer is due.
func TestQuietRoundTripThenComputeIsPreempted(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmds [][]any
	}{
		{"after a wait", [][]any{{"BLPOP", testKey(t, "empty"), "0.05"}}},
		{"in a loop", [][]any{ // waits of 5ms: the monitor sleeps in each, the timer ticks on
			{"BLPOP", testKey(t, "empty"), "0.005"},
			{"BLPOP", testKey(t, "empty"), "0.005"},
			{"BLPOP", testKey(t, "empty"), "0.005"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cn := dialTest(t, &Options{ReadTimeout: -1, WriteTimeout: -1})
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			var released, safetyFired atomic.Bool
			safety := time.AfterFunc(30*time.Second, func() {
				safetyFired.Store(true)
				released.Store(true)
			})
			defer safety.Stop()
			for _, args := range tc.cmds {
				if _, err := cn.Do(context.Background(), args...); err != nil {
					t.Fatal(err)
				}
			}
			go released.Store(true) // runs only once the loop below is preempted
			for !released.Load() {
			}
			if safetyFired.Load() {
				t.Fatal("the loop after a quiet round trip ran until the safety net's timer: nothing preempted it")
			}
		})
	}
}

// In a loop of commands the connection's reads are the quiet system calls
// of rawsys_linux.go, not the announced fallback: the loop keeps
// monitorAwake's timer ticking, so at most the calls after a pause (the
// first, or one after a stall of the whole machine) are announced. Race
// builds and other systems make only announced calls.
func TestSockIOQuietInALoop(t *testing.T) {
	cn := dialTest(t, nil)
	q0, a0 := cn.tr.sr.quiet, cn.tr.sr.announced
	const n = 20
	for range n {
		if _, err := cn.Do(context.Background(), "PING"); err != nil {
			t.Fatal(err)
		}
	}
	quiet, announced := cn.tr.sr.quiet-q0, cn.tr.sr.announced-a0
	if quiet+announced < n {
		t.Fatalf("%d reads for %d replies: the replies were not read through sockReader", quiet+announced, n)
	}
	if quietSyscalls && quiet == 0 {
		t.Fatalf("no quiet read in a loop of %d commands (%d announced)", n, announced)
	}
	if !quietSyscalls && quiet != 0 {
		t.Fatalf("%d quiet reads where the system calls must be announced", quiet)
	}
}
