//go:build !unix

package respool

import "net"

// peeker cannot look at the socket here; the first command on a dead
// connection fails instead (and is retried when it provably was not sent).
type peeker struct{}

func (p *peeker) init(net.Conn) {}

func (p *peeker) check() bool { return true }
