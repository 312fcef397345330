//go:build unix

package respool

import (
	"io"
	"net"
	"os"
	"syscall"
)

// sockReader and sockWriter read and write a bare TCP or Unix socket
// through its RawConn, with the system calls of rawsys_*.go, and wait in
// the runtime's poller exactly as the net.Conn's own Read and Write do:
// with the same deadlines, and the same errors for a deadline, a close or
// a reset. A connection's reading goroutine uses the reader and its
// writing goroutine the writer, each at most one at a time, so the two
// share nothing but the socket. Any other net.Conn (TLS) is left to its
// own Read and Write.
type sockReader struct {
	nc    net.Conn
	raw   syscall.RawConn // nil when the socket is not reachable
	fn    func(fd uintptr) bool
	p     []byte
	n     int
	errno syscall.Errno

	quiet, announced int64 // read system calls of each kind made (for tests)
}

type sockWriter struct {
	nc    net.Conn
	raw   syscall.RawConn // nil when the socket is not reachable
	fn    func(fd uintptr) bool
	p     []byte
	n     int
	errno syscall.Errno
	short bool // a write took nothing and reported nothing
}

// maxRW is the most one system call is given, as internal/poll does:
// some systems refuse a larger count.
const maxRW = 1 << 30

func capRW(p []byte) []byte {
	if len(p) > maxRW {
		return p[:maxRW]
	}
	return p
}

// rawConnOf returns the RawConn of a bare TCP or Unix socket, or nil.
func rawConnOf(nc net.Conn) syscall.RawConn {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	raw, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

func (r *sockReader) init(nc net.Conn) {
	r.nc, r.raw = nc, rawConnOf(nc)
	if r.raw == nil {
		return
	}
	r.fn = func(fd uintptr) bool {
		for {
			n, errno, quiet := sysRead(int(fd), capRW(r.p))
			if quiet {
				r.quiet++
			} else {
				r.announced++
			}
			switch errno {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait until the socket is readable
			}
			r.n, r.errno = n, errno
			return true
		}
	}
}

// Read reads what the socket has, waiting for at least one byte.
func (r *sockReader) Read(p []byte) (int, error) {
	if r.raw == nil {
		return r.nc.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = p, 0, 0
	err := r.raw.Read(r.fn)
	n, errno := r.n, r.errno
	r.p = nil
	switch {
	case err != nil:
		return 0, sockErr(r.nc, "read", err)
	case errno != 0:
		return 0, sockErr(r.nc, "read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (w *sockWriter) init(nc net.Conn) {
	w.nc, w.raw = nc, rawConnOf(nc)
	if w.raw == nil {
		return
	}
	w.fn = func(fd uintptr) bool {
		for w.n < len(w.p) {
			m, errno, _ := sysWrite(int(fd), capRW(w.p[w.n:]))
			switch {
			case errno == 0 && m > 0:
				w.n += m
				continue
			case errno == 0:
				w.errno = syscall.EIO // no progress, no error: as poll.FD, give up
				w.short = true
				return true
			case errno == syscall.EINTR:
				continue
			case errno == syscall.EAGAIN:
				return false // wait until the socket takes more
			}
			w.errno = errno
			return true
		}
		return true
	}
}

// Write writes all of p, waiting while the socket's buffer is full.
func (w *sockWriter) Write(p []byte) (int, error) {
	if w.raw == nil {
		return w.nc.Write(p)
	}
	w.p, w.n, w.errno, w.short = p, 0, 0, false
	err := w.raw.Write(w.fn)
	n, errno := w.n, w.errno
	w.p = nil
	switch {
	case err != nil:
		return n, sockErr(w.nc, "write", err)
	case w.short:
		return n, sockErr(w.nc, "write", io.ErrUnexpectedEOF)
	case errno != 0:
		return n, sockErr(w.nc, "write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// sockErr words err as the net.Conn's own Read or Write would: an
// *net.OpError of op, around the poller's error (a deadline, a close) or
// the system call's.
func sockErr(nc net.Conn, op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		// The RawConn's own, with the network as dialled: only its
		// operation ("raw-read") is reworded.
		e := *oe
		e.Op = op
		return &e
	}
	return &net.OpError{Op: op, Net: netName(nc), Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
}
