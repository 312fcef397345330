//go:build !linux

package respool

import (
	"context"
	"syscall"
)

// socketControl does nothing where TCP_USER_TIMEOUT is not available.
func socketControl(*Options) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return nil
}
