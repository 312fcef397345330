//go:build linux && !race && !386

package respool

import (
	"syscall"
	"unsafe"
)

// The socket system calls of the hot path, made without telling the Go
// scheduler (syscall.RawSyscall6) while the runtime's monitor thread is
// kept from oversleeping by other means (monitorAwake), and announced
// (syscall.Syscall6) otherwise. Each carries MSG_DONTWAIT, so it never
// blocks, even on a socket whose descriptor was made blocking behind the
// connection's back (os.File.Fd on a duplicate does that), and the
// scheduler has nothing to take over while it runs.
//
// Why: an announced system call first wakes the monitor (sysmon) when it
// has gone to sleep because every P was idle, which is the case at each
// wait for a reply when a program has little else to do. On Linux that
// wake-up is a futex call and a thread switch on another CPU, and it cost
// a client that sends one command at a time about a quarter of its CPU
// per command (BENCHMARKS.md).
//
// Under the race detector the announced calls of rawsys_other.go are used
// instead: the detector takes a write to any file or socket followed by a
// read from any other as synchronisation, as between a test and a server
// it runs, and it sees that only in syscall.Read and syscall.Write.

// quietSyscalls reports whether the calls below may leave the scheduler
// untold.
const quietSyscalls = true

// sysRead and sysWrite also report whether the call was a quiet one.
func sysRead(fd int, p []byte) (int, syscall.Errno, bool) {
	if len(p) == 0 {
		return 0, 0, false
	}
	return sockCall(syscall.SYS_RECVFROM, fd, unsafe.Pointer(&p[0]), len(p), syscall.MSG_DONTWAIT)
}

func sysWrite(fd int, p []byte) (int, syscall.Errno, bool) {
	if len(p) == 0 {
		return 0, 0, false
	}
	return sockCall(syscall.SYS_SENDTO, fd, unsafe.Pointer(&p[0]), len(p), syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
}

// sysPeek looks at the next byte without consuming it or blocking.
func sysPeek(fd int, b *[1]byte) (int, syscall.Errno) {
	n, e, _ := sockCall(syscall.SYS_RECVFROM, fd, unsafe.Pointer(&b[0]), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, e
}

// sockCall makes recvfrom or sendto (trap) on fd with the n bytes at p
// and flags, and no address: quietly while monitorAwake allows it,
// announced otherwise. It reports which.
func sockCall(trap uintptr, fd int, p unsafe.Pointer, n int, flags uintptr) (int, syscall.Errno, bool) {
	var r uintptr
	var e syscall.Errno
	quiet := monitorAwake()
	if quiet {
		r, _, e = syscall.RawSyscall6(trap, uintptr(fd), uintptr(p), uintptr(n), flags, 0, 0)
	} else {
		r, _, e = syscall.Syscall6(trap, uintptr(fd), uintptr(p), uintptr(n), flags, 0, 0)
	}
	if e != 0 {
		return 0, e, quiet
	}
	return int(r), 0, quiet
}
