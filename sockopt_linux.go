package respool

import (
	"context"
	"syscall"
)

// tcpUserTimeout is TCP_USER_TIMEOUT from linux/tcp.h; the syscall package
// does not name it.
const tcpUserTimeout = 0x12

// socketControl sets TCP_USER_TIMEOUT on TCP sockets before they connect,
// so that data left unacknowledged by a dead peer fails the connection.
func socketControl(opt *Options) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	if opt.TCPUserTimeout <= 0 || opt.Network == "unix" {
		return nil
	}
	ms := int(opt.TCPUserTimeout.Milliseconds())
	return func(_ context.Context, network, _ string, c syscall.RawConn) error {
		if network != "tcp" && network != "tcp4" && network != "tcp6" {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, ms)
		})
		if err != nil {
			return err
		}
		return serr
	}
}
