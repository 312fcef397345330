//go:build unix

package respool

import (
	"crypto/tls"
	"net"
	"syscall"
)

// peeker looks at an idle connection's socket without blocking and
// without consuming anything: a socket the peer closed reads as end of
// file, one it reset fails with ECONNRESET, and an idle connection should
// have nothing to read at all. It is set up once per connection so that a
// check allocates nothing.
//
// The peek goes through RawConn.Control, not RawConn.Read: Read first
// consults the socket's read deadline and fails without calling the
// function once that deadline has passed, which would make a healthy
// connection look dead merely because its last command's deadline (or a
// caller's context deadline) went by while it sat idle. MSG_DONTWAIT
// keeps the peek from blocking, so no deadline is needed.
type peeker struct {
	raw   syscall.RawConn
	fn    func(fd uintptr)
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
	p.fn = func(fd uintptr) {
		n, errno := sysPeek(int(fd), &p.buf)
		for errno == syscall.EINTR {
			n, errno = sysPeek(int(fd), &p.buf)
		}
		switch {
		case n == 0 && errno == 0:
			p.alive = false // end of file: the peer closed
		case n > 0:
			p.alive = false // unexpected bytes on an idle connection
		case errno != 0 && errno != syscall.EAGAIN && errno != syscall.EWOULDBLOCK:
			p.alive = false // reset by the peer, or another socket error
		default:
			p.alive = true
		}
	}
}

// check reports whether the socket looks usable; a connection it cannot
// look at is assumed alive.
func (p *peeker) check() bool {
	if p.raw == nil {
		return true
	}
	if err := p.raw.Control(p.fn); err != nil {
		return false
	}
	return p.alive
}
