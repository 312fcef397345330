package respool

import (
	"bytes"
	"context"
	"errors"
	"net"
	"syscall"
)

// Replica reads need READONLY on every connection to a node. The
// handshake has no step for it, so the node's Options get a Dialer that
// opens the transport as usual (dialNet, TLS included) and sends READONLY
// ahead of the handshake's first write; its reply, one line, is consumed
// before the handshake reads its own.

// readOnlyOptions returns opt with a Dialer that starts every connection
// with READONLY.
func readOnlyOptions(opt Options) Options {
	inner := *opt.withDefaults() // keepalive, TCP user timeout, the caller's Dialer and TLS
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		o := inner
		o.Network, o.Addr = network, addr
		nc, err := dialNet(ctx, &o)
		if err != nil {
			return nil, err
		}
		if _, ok := nc.(syscall.Conn); ok {
			return &readOnlySocket{readOnlyConn{Conn: nc}}, nil
		}
		return &readOnlyConn{Conn: nc}, nil
	}
	opt.TLSConfig = nil // dialNet above did the TLS handshake
	return opt
}

// readOnlyCommand is READONLY in RESP.
const readOnlyCommand = "*1\r\n$8\r\nREADONLY\r\n"

// readOnlyConn sends READONLY with its first write and drops the first
// reply line it reads. Write and Read each keep state of their own, so a
// reader and a writer may run at once, as the multiplexer's do.
type readOnlyConn struct {
	net.Conn
	sent    bool // READONLY went out
	skipped bool // its reply was consumed
}

func (c *readOnlyConn) Write(p []byte) (int, error) {
	if c.sent {
		return c.Conn.Write(p)
	}
	c.sent = true
	buf := make([]byte, 0, len(readOnlyCommand)+len(p))
	buf = append(append(buf, readOnlyCommand...), p...)
	n, err := c.Conn.Write(buf)
	n -= len(readOnlyCommand)
	if n < 0 {
		n = 0
	}
	return n, err
}

func (c *readOnlyConn) Read(p []byte) (int, error) {
	if c.skipped {
		return c.Conn.Read(p)
	}
	// Read into p until the end of READONLY's reply line; what follows the
	// line is the caller's.
	var line []byte
	for {
		n, err := c.Conn.Read(p)
		if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
			line = append(line, p[:i+1]...)
			c.skipped = true
			if len(line) > 0 && line[0] == '-' {
				return 0, errors.New("respool: READONLY refused: " + string(bytes.TrimSpace(line[1:])))
			}
			rest := copy(p, p[i+1:n])
			if rest == 0 && err == nil {
				return c.Conn.Read(p)
			}
			return rest, err
		}
		line = append(line, p[:n]...)
		if len(line) > 1024 {
			return 0, errors.New("respool: malformed reply to READONLY")
		}
		if err != nil {
			return 0, err
		}
	}
}

// CloseWrite shuts the sending side down when the transport can.
func (c *readOnlyConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// readOnlySocket is a readOnlyConn over a socket: it lets the pool's
// liveness peek see the socket. An idle connection has read its
// handshake's replies, READONLY's included, so nothing is pending on it.
type readOnlySocket struct {
	readOnlyConn
}

func (c *readOnlySocket) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
