//go:build !unix

package respool

import "net"

// sendAwait cannot reach the socket here: every write goes through the
// net.Conn, and a read issued after it waits the usual way.
type sendAwait struct{}

func (s *sendAwait) init(net.Conn) {}

func (s *sendAwait) usable() bool { return false }

func (s *sendAwait) send([]byte, bool) (int, error) { return 0, nil }
