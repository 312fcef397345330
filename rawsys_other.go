//go:build unix && (!linux || race || 386)

package respool

import "syscall"

// The socket system calls of the hot path, announced to the scheduler as
// usual: on systems other than Linux, on 32-bit x86 Linux (which reaches
// the socket calls through socketcall), and under the race detector
// (rawsys_linux.go says why).

// quietSyscalls reports whether the calls below leave the scheduler
// untold.
const quietSyscalls = false

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

// sysRead and sysWrite also report whether the call was a quiet one:
// never here.
func sysRead(fd int, p []byte) (int, syscall.Errno, bool) {
	n, err := syscall.Read(fd, p)
	if err != nil {
		return 0, errnoOf(err), false
	}
	return n, 0, false
}

func sysWrite(fd int, p []byte) (int, syscall.Errno, bool) {
	n, err := syscall.Write(fd, p)
	if err != nil {
		return 0, errnoOf(err), false
	}
	return n, 0, false
}

func sysPeek(fd int, b *[1]byte) (int, syscall.Errno) {
	n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil {
		return 0, errnoOf(err)
	}
	return n, 0
}
