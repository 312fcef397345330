//go:build unix

package respool

import (
	"net"
	"syscall"
)

// sendAwait writes a batch's last bytes and then waits, in the same call
// into the runtime's poller, until the socket has something to read. A
// round trip then costs one read system call instead of two: a read issued
// right after the write finds no reply yet, fails with EAGAIN, and only
// then waits.
//
// The write happens inside RawConn.Read's callback on purpose: RawConn.Read
// clears the socket's read readiness before it first calls the callback,
// so a reply that arrives after the write always wakes the wait. Waiting
// first and writing after could sleep through a reply that came in
// between. A wake-up that finds nothing to read costs nothing either: the
// reply's own read then waits the ordinary way.
//
// A socket that was readable before the write gets no new wake-up from
// it: an end of stream already there (a peer that closed only its sending
// side, as some TCP proxies pass on a server's close, and sends nothing
// more) would keep the wait asleep until the read deadline, where a read
// after the write meets it at once. So a send told to check first peeks
// at the socket, after the reset and before the write, and does not wait
// when anything is there to read. The caller asks for the check unless
// the socket was found empty moments ago, by the last reply's read or the
// pool's idle check (awaitCheckAfter).
//
// Only a bare TCP or Unix socket is used this way: a TLS connection, or
// any other net.Conn, writes through its own Write.
type sendAwait struct {
	raw   syscall.RawConn // nil when the socket is not reachable
	fn    func(fd uintptr) bool
	p     []byte // the bytes to write, during a call
	n     int    // how many of them were written
	sent  bool   // all of p was written; the next call ends the wait
	check bool   // peek before the write, and wait only when nothing is there
	wait  bool   // all of p was written and the socket had nothing to read
	err   error  // the socket's error, met by the peek or the write
	peek  [1]byte

	waits  int64 // sends that waited until the socket was readable (for tests)
	checks int64 // sends told to peek first (for tests)
}

func (s *sendAwait) init(nc net.Conn) {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return
	}
	raw, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return
	}
	s.raw = raw
	s.fn = func(fd uintptr) bool {
		if s.sent {
			return true // readable, or woken for nothing: the read finds out
		}
		wait := true
		if s.check {
			ready, err := readable(int(fd), &s.peek)
			if err != nil {
				s.err = err // a reset: the write would meet it
				return true
			}
			wait = !ready
		}
		for s.n < len(s.p) {
			m, errno, _ := sysWrite(int(fd), capRW(s.p[s.n:]))
			if errno == syscall.EINTR {
				continue
			}
			if errno != 0 && errno != syscall.EAGAIN {
				// Reported as it is: the socket's error is gone once
				// read, and a second write would see a broken pipe.
				s.err = errno
				return true
			}
			if errno != 0 || m <= 0 {
				return true // would block: Write finishes the usual way
			}
			s.n += m
		}
		s.sent, s.wait = true, wait
		return !wait // wait until the reply can be read
	}
}

// readable reports whether the socket fd has bytes or an end of stream to
// read without blocking, consuming none, or returns its error (a reset),
// which the peek consumes.
func readable(fd int, buf *[1]byte) (bool, error) {
	n, errno := sysPeek(fd, buf)
	for errno == syscall.EINTR {
		n, errno = sysPeek(fd, buf)
	}
	switch {
	case n > 0 || errno == 0:
		return true, nil
	case errno == syscall.EAGAIN:
		return false, nil
	}
	return true, errno
}

// usable reports whether send can write to the socket.
func (s *sendAwait) usable() bool { return s.raw != nil }

// send writes as much of p as the socket takes at once and, when that is
// all of it, waits until the socket is readable, for as long as its read
// deadline allows; with check, only when the socket had nothing to read
// before the write. It returns how many bytes were written (from 0 when the
// socket cannot be used this way), and the socket's error when the peek or
// the write met one (the system call's, unwrapped); without an error the
// caller writes the rest the usual way. A wait that ends in an error (the
// read deadline, a cancellation, a close) is not reported: the read that
// follows meets the same error.
func (s *sendAwait) send(p []byte, check bool) (int, error) {
	if s.raw == nil {
		return 0, nil
	}
	s.p, s.n, s.sent, s.check, s.wait, s.err = p, 0, false, check, false, nil
	if check {
		s.checks++
	}
	err := s.raw.Read(s.fn)
	if err == nil && s.wait {
		s.waits++
	}
	n, err := s.n, s.err
	s.p, s.err = nil, nil
	return n, err
}
