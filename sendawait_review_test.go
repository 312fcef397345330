//go:build unix

package respool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// A peer that ends its side of the stream (a half-close, as some TCP
// proxies pass on a server's close) while the connection is held between
// two commands leaves the end of stream waiting on the socket. The next
// round trip must meet it at once, as a read issued after the write
// does, not wait in the flush for a reply that can never come and then
// report a timeout.
func TestSendAwaitEndOfStreamAlreadyWaiting(t *testing.T) {
	checkGoroutines(t)
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			nc := halfClosingPeer(t, network)
			clock := newFakeClock()
			opt := (&Options{ReadTimeout: 2 * time.Second, now: clock.Now}).withDefaults()
			cn := newConn(nc, opt)
			defer cn.Close()
			ctx := context.Background()
			if v, err := cn.Do(ctx, "PING"); err != nil || v.Text() != "PONG" {
				t.Fatalf("PING: %v, %v", v, err)
			}
			// The peer has ended its side: the socket reads as end of
			// stream (the peek does not consume it).
			eventually(t, "the end of stream reaches the socket", func() bool { return !cn.peek.check() })
			clock.Advance(awaitCheckAfter) // since the last reply
			_, err := cn.Do(ctx, "PING")
			if err == nil {
				t.Fatal("PING after the peer ended its side worked")
			}
			if isTimeoutErr(err) || !errors.Is(err, io.EOF) {
				t.Fatalf("PING after the peer ended its side: %v, want the end of stream", err)
			}
		})
	}
}

// halfClosingPeer serves one connection on network: it answers the first
// command with +PONG, then closes its writing side and reads on until the
// client closes.
func halfClosingPeer(t *testing.T, network string) net.Conn {
	t.Helper()
	return awaitPeerOn(t, network, func(c net.Conn) {
		br := bufio.NewReader(c)
		// *1\r\n$4\r\nPING\r\n: three lines.
		for range 3 {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
		}
		if _, err := c.Write([]byte("+PONG\r\n")); err != nil {
			return
		}
		_ = c.(interface{ CloseWrite() error }).CloseWrite()
		_, _ = io.Copy(io.Discard, br)
	})
}

// A send told to check first does not wait on a socket that already has
// something to read (its arrival woke no one after the reset), but still
// writes everything.
func TestSendAwaitCheckFirst(t *testing.T) {
	checkGoroutines(t)
	got := make(chan []byte, 1)
	nc := awaitPeer(t, func(c net.Conn) {
		if _, err := c.Write([]byte("+STRAY\r\n")); err != nil {
			return
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		got <- buf
		_, _ = c.Write([]byte("+PONG\r\n"))
		_, _ = io.Copy(io.Discard, c)
	})
	var s sendAwait
	s.init(nc)
	if err := nc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var stray [1]byte
	eventually(t, "the stray reply reaches the socket", func() bool {
		ok, _ := readable(int(rawFD(t, nc)), &stray)
		return ok
	})
	if n, err := s.send([]byte("PING\r\n"), true); n != 6 || err != nil {
		t.Fatalf("send wrote %d bytes, %v, want 6", n, err)
	}
	if s.waits != 0 {
		t.Fatal("send waited on a socket that already had bytes to read")
	}
	if b := <-got; string(b) != "PING\r\n" {
		t.Fatalf("peer read %q", b)
	}
	all := make([]byte, len("+STRAY\r\n+PONG\r\n"))
	if _, err := io.ReadFull(nc, all); err != nil || string(all) != "+STRAY\r\n+PONG\r\n" {
		t.Fatalf("read %q, %v", all, err)
	}
}

// rawFD returns nc's socket descriptor, for a peek in a test.
func rawFD(t *testing.T, nc net.Conn) uintptr {
	t.Helper()
	raw, err := nc.(interface {
		SyscallConn() (syscall.RawConn, error)
	}).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := raw.Control(func(f uintptr) { fd = f }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// Closing a connection from another goroutine while its round trip waits
// in the flush for a reply that is not coming (BLPOP 0, no deadline at
// all) ends the wait, and the call fails.
func TestSendAwaitCloseDuringWait(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	cn := dialTest(t, &Options{ReadTimeout: -1})
	if !cn.tr.aw.usable() {
		t.Fatal("a TCP connection cannot wait in the flush")
	}
	key := testKey(t, "never")
	done := make(chan error, 1)
	go func() {
		_, err := cn.Do(context.Background(), "BLPOP", key, "0")
		done <- err
	}()
	waitBlocked(t, srv, key)
	_ = cn.Close()
	if err := <-done; err == nil || OutcomeOf(err) != OutcomeUnknown {
		t.Fatalf("BLPOP on a connection closed meanwhile: %v (outcome %v), want a failure of unknown outcome", err, OutcomeOf(err))
	}
}

// A write that the socket takes only in part finishes through the
// net.Conn, in order and whole, and does not wait.
func TestSendAwaitPartialWrite(t *testing.T) {
	checkGoroutines(t)
	got := make(chan []byte, 1)
	nc := awaitPeer(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		got <- b
	})
	if err := nc.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	tr := newTransport(nc)
	p := make([]byte, 1<<20) // more than the socket buffers hold
	for i := range p {
		p[i] = byte(i * 7)
	}
	tr.await = true
	n, err := tr.Write(p)
	if n != len(p) || err != nil {
		t.Fatalf("Write: %d of %d bytes, %v", n, len(p), err)
	}
	if raw := tr.aw.n; raw == 0 || raw == len(p) {
		t.Fatalf("the raw write took %d of %d bytes, want a part", raw, len(p))
	}
	if tr.aw.waits != 0 {
		t.Fatal("a write finished through the net.Conn waited for a reply")
	}
	if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, p) {
		t.Fatalf("the peer read %d bytes, not what was written", len(b))
	}
}
