//go:build unix

package respool

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peeker looks at an idle connection's socket without blocking and
// without consuming anything: a socket the peer closed reads as end of
// file, and an idle connection should have nothing to read at all. It is
// set up once per connection so that a check allocates nothing.
type peeker struct {
	raw   syscall.RawConn
	fn    func(fd uintptr) bool
	alive bool
	buf   [1]byte
}

func (p *peeker) init(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw = raw
	p.fn = func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n == 0 && err == nil:
			p.alive = false // end of file: the peer closed
		case n > 0:
			p.alive = false // unexpected bytes on an idle connection
		case err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK):
			p.alive = false
		default:
			p.alive = true
		}
		return true
	}
}

// check reports whether the socket looks usable; a connection it cannot
// look at is assumed alive.
func (p *peeker) check() bool {
	if p.raw == nil {
		return true
	}
	if err := p.raw.Read(p.fn); err != nil {
		return false
	}
	return p.alive
}
