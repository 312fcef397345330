//go:build unix

package respool

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
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
