//go:build linux && !race

package respool

import (
	"syscall"
	"unsafe"
)

// The socket system calls of the hot path, made without telling the Go
// scheduler (syscall.RawSyscall). They only ever run on a non-blocking
// socket, so they never block and the scheduler has nothing to take over.
//
// Why: an announced system call (syscall.Read and the like) first wakes
// the runtime's monitor thread (sysmon) when it has gone to sleep because
// every P was idle, which is the case at each wait for a reply when a
// program has little else to do. On Linux that wake-up is a futex call
// and a thread switch on another CPU, and it costs a client that sends one
// command at a time about a quarter of its CPU per command (BENCHMARKS.md).
// The monitor still wakes as usual for every announced call elsewhere in
// the program and at its timers, such as the connections' deadlines.
//
// Under the race detector the announced calls are used instead
// (rawsys_other.go): the detector takes a write to any file or socket
// followed by a read from any other as synchronisation, as between a test
// and a server it runs, and it sees that only in the announced calls.

func sysRead(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

func sysWrite(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// sysPeek looks at the next byte without consuming it or blocking.
func sysPeek(fd int, b *[1]byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		uintptr(syscall.MSG_PEEK|syscall.MSG_DONTWAIT), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}
