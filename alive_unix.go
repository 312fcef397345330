//go:build unix

package respool

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peekAlive looks at the socket without blocking and without consuming
// anything: a socket the peer closed reads as end of file, and an idle
// connection should have nothing to read at all.
func peekAlive(nc net.Conn) bool {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n == 0 && rerr == nil:
			alive = false // end of file: the peer closed
		case n > 0:
			alive = false // unexpected bytes on an idle connection
		case rerr != nil && !errors.Is(rerr, syscall.EAGAIN) && !errors.Is(rerr, syscall.EWOULDBLOCK):
			alive = false
		}
		return true
	})
	return err == nil && alive
}
