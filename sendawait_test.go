//go:build unix

package respool

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// awaitPeer accepts one connection on a loopback listener and runs serve
// on it; the test's cleanup closes both ends and waits for serve.
func awaitPeer(t *testing.T, serve func(c net.Conn)) net.Conn {
	t.Helper()
	return awaitPeerOn(t, "tcp", serve)
}

// awaitPeerOn is awaitPeer on network "tcp" or "unix".
func awaitPeerOn(t *testing.T, network string, serve func(c net.Conn)) net.Conn {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	nc, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = nc.Close()
		_ = ln.Close()
		<-done
	})
	return nc
}

// send returns only once the reply can be read: the peer marks that it
// replied before it writes the reply, and send must see the mark.
func TestSendAwaitWaitsForTheReply(t *testing.T) {
	checkGoroutines(t)
	var replied atomic.Bool
	nc := awaitPeer(t, func(c net.Conn) {
		buf := make([]byte, 6)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		replied.Store(true)
		_, _ = c.Write([]byte("+PONG\r\n"))
		_, _ = io.Copy(io.Discard, c) // until the client closes
	})
	var s sendAwait
	s.init(nc)
	if !s.usable() {
		t.Fatal("a TCP connection cannot be used by sendAwait")
	}
	if err := nc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.send([]byte("PING\r\n"), false); n != 6 {
		t.Fatalf("send wrote %d bytes, want 6", n)
	}
	if !replied.Load() {
		t.Fatal("send returned before the peer replied")
	}
	if s.waits != 1 {
		t.Fatalf("waits = %d, want 1", s.waits)
	}
	got := make([]byte, 7)
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "+PONG\r\n" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// A wait that ends without a reply (the read deadline passed, the peer
// closed) is not send's to report: it returns what it wrote, and the read
// that follows meets the error.
func TestSendAwaitEndsWithoutAReply(t *testing.T) {
	checkGoroutines(t)
	t.Run("Deadline", func(t *testing.T) {
		nc := awaitPeer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		var s sendAwait
		s.init(nc)
		if err := nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.send([]byte("PING\r\n"), false); n != 6 {
			t.Fatalf("send wrote %d bytes, want 6", n)
		}
		if s.waits != 0 {
			t.Fatalf("a wait that timed out counted as one that saw a reply")
		}
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after the deadline: %v", err)
		}
	})
	t.Run("DeadlinePassed", func(t *testing.T) {
		// RawConn.Read fails before it calls back: nothing written, and
		// the caller writes it all the usual way.
		nc := awaitPeer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		var s sendAwait
		s.init(nc)
		if err := nc.SetReadDeadline(aLongTimeAgo); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.send([]byte("PING\r\n"), false); n != 0 {
			t.Fatalf("send wrote %d bytes past its read deadline, want 0", n)
		}
	})
	t.Run("PeerCloses", func(t *testing.T) {
		nc := awaitPeer(t, func(c net.Conn) {
			_, _ = io.ReadFull(c, make([]byte, 6))
		})
		var s sendAwait
		s.init(nc)
		if n, _ := s.send([]byte("PING\r\n"), false); n != 6 {
			t.Fatalf("send wrote %d bytes, want 6", n)
		}
		if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read after the peer closed: %v, want EOF", err)
		}
	})
}

// A connection that is not a bare socket (TLS, a wrapper, a pipe) writes
// through its own Write.
func TestSendAwaitOnlyBareSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var s sendAwait
	s.init(a)
	if s.usable() {
		t.Fatal("sendAwait took a net.Pipe")
	}
	if n, _ := s.send([]byte("PING\r\n"), false); n != 0 {
		t.Fatalf("send on a pipe wrote %d bytes", n)
	}
}

// A round trip on a connection of one caller waits for its reply inside
// the flush; a batch larger than the write buffer, and a Send, do not,
// and every reply still reaches its command.
func TestExclusiveRoundTripAwaitsInFlush(t *testing.T) {
	sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	p := newServerPool(t, &Options{PoolSize: 1})
	cn := mustGet(t, p)
	defer p.Put(cn)
	before := cn.tr.aw.waits
	key := testKey(t, "await")
	for i := range 3 {
		if v, err := cn.Do(ctx, "SET", key, i); err != nil || v.Text() != "OK" {
			t.Fatalf("SET: %v, %v", v, err)
		}
	}
	if got := cn.tr.aw.waits - before; got != 3 {
		t.Fatalf("%d of 3 round trips waited in the flush", got)
	}

	big := strings.Repeat("x", writeBufferSize+1)
	before = cn.tr.aw.waits
	if v, err := cn.Do(ctx, "SET", key, big); err != nil || v.Text() != "OK" {
		t.Fatalf("SET of %d bytes: %v, %v", len(big), v, err)
	}
	if v, err := cn.Do(ctx, "STRLEN", key); err != nil {
		t.Fatal(err)
	} else if n, _ := v.Int(); n != int64(len(big)) {
		t.Fatalf("STRLEN: %v", v)
	}
	if got := cn.tr.aw.waits - before; got != 1 {
		t.Fatalf("waits = %d after a batch beyond the buffer and a small one, want 1", got)
	}

	before = cn.tr.aw.waits
	if err := cn.Send(ctx, "GET", key); err != nil {
		t.Fatal(err)
	}
	if err := cn.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := cn.Receive(ctx)
	if err != nil || v.Text() != big {
		t.Fatalf("Receive: %d bytes, %v", len(v.Text()), err)
	}
	if cn.tr.aw.waits != before {
		t.Fatal("Flush waited for a reply")
	}
}

// The awaited flush peeks at the socket only when nothing said it was
// empty moments ago: not in a loop of commands, not right after the pool's
// idle check peeked at it, but on a connection held idle for a while.
func TestAwaitedFlushPeeksOnlyAfterIdling(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	clock := newFakeClock()
	p := newServerPool(t, &Options{Addr: srv.Addr, PoolSize: 1, now: clock.Now})
	cn := mustGet(t, p)
	do(t, cn, "PING") // the handshake's replies were not awaited: this one peeks
	checks := cn.tr.aw.checks
	do(t, cn, "PING") // moments after the last reply
	if cn.tr.aw.checks != checks {
		t.Fatal("a round trip right after the last reply peeked first")
	}
	p.Put(cn)

	clock.Advance(DefaultHealthCheckInterval) // the pool's check peeks at Get
	hc := p.Stats().Hits
	if got := mustGet(t, p); got != cn || p.Stats().Hits != hc+1 {
		t.Fatal("the idle connection was not handed out again")
	}
	do(t, cn, "PING")
	if cn.tr.aw.checks != checks {
		t.Fatal("the flush peeked again right after the pool's idle check")
	}

	clock.Advance(awaitCheckAfter) // held, idle
	do(t, cn, "PING")
	if cn.tr.aw.checks != checks+1 {
		t.Fatalf("checks = %d after a round trip on a connection held idle, want %d", cn.tr.aw.checks, checks+1)
	}
	p.Put(cn)
}
