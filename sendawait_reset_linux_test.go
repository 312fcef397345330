//go:build linux

package respool

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
)

// A reset that reached the socket while the connection was held fails the
// next round trip's write with the reset itself, as a write through the
// net.Conn reports it, not with the broken pipe that a second write after
// the first one consumed the reset would see: whether the peek before the
// write meets it (a connection idle since its last reply) or the write
// itself (one that read its last reply moments ago, by the frozen clock).
func TestSendAwaitKeepsTheReset(t *testing.T) {
	checkGoroutines(t)
	for _, tc := range []struct {
		name string
		ping bool // a round trip first, moments before the reset
	}{{"Peek", false}, {"Write", true}} {
		t.Run(tc.name, func(t *testing.T) {
			reset := make(chan struct{})
			nc := awaitPeer(t, func(c net.Conn) {
				if tc.ping {
					if _, err := c.Read(make([]byte, 64)); err != nil {
						return
					}
					if _, err := c.Write([]byte("+PONG\r\n")); err != nil {
						return
					}
				}
				<-reset
				_ = c.(*net.TCPConn).SetLinger(0)
				_ = c.Close() // a reset
			})
			clock := newFakeClock()
			cn := newConn(nc, (&Options{now: clock.Now}).withDefaults())
			defer cn.Close()
			if tc.ping {
				if v, err := cn.Do(context.Background(), "PING"); err != nil || v.Text() != "PONG" {
					t.Fatalf("PING: %v, %v", v, err)
				}
			}
			close(reset)
			eventually(t, "the reset reaches the socket", func() bool { return pendingError(t, nc) })
			_, err := cn.Do(context.Background(), "PING")
			if !errors.Is(err, syscall.ECONNRESET) || OutcomeOf(err) != OutcomeNotSent {
				t.Fatalf("PING after a reset: %v (outcome %v), want the reset, not sent", err, OutcomeOf(err))
			}
		})
	}
}

// pendingError reports whether nc's socket holds an error (a reset),
// without consuming it: a zero-timeout select sees it as readable.
func pendingError(t *testing.T, nc net.Conn) bool {
	t.Helper()
	fd := int(rawFD(t, nc))
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	n, err := syscall.Select(fd+1, &set, nil, nil, &syscall.Timeval{})
	return err == nil && n > 0
}
