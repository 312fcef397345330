package respool

import (
	"context"
	"time"

	"github.com/respool/respool/internal/cmdinfo"
)

// RaceEnabled lets external tests know that the race detector is on.
const RaceEnabled = raceEnabled

// sharedOnly makes c run every command that may share a connection on a
// shared one, also when it is alone in flight (where c would otherwise
// borrow a pooled connection), and returns c. Call it before c's first
// command. Tests named after the shared path use it, and check
// PoolStats.SharedDials to show they ran there.
func sharedOnly(c *Client) *Client {
	if c.mux == nil {
		panic("sharedOnly: an exclusive Client has no shared connections")
	}
	c.alwaysShare = true
	return c
}

// SharedOnly is sharedOnly for external tests.
func SharedOnly(c *Client) *Client { return sharedOnly(c) }

// track and blockFor are afterWrite's two halves, for tests of each.
func (cn *Conn) track(argv []any) {
	if !cmdinfo.IsOrdinary(argv) {
		cn.trackSession(cmdinfo.ClassOf(argv).Session)
	}
}

func blockFor(argv []any) time.Duration {
	if cmdinfo.IsOrdinary(argv) {
		return 0
	}
	return blockTime(cmdinfo.ClassOf(argv), argv)
}

// waitDrains waits for the drains p started to end. Call it when no Put
// can start another.
func (p *Pool) waitDrains() { p.drainWG.Wait() }

// waitDrains waits for the drains of c's pool and for the stand-ins of its
// shared connections (mux_drain.go) to end. A PING on a shared connection
// goes out only after the stand-in ahead of it ended, drained or failed,
// so its answer (or the connection's failure) is that end. Call it when
// no command of c is in flight.
func (c *Client) waitDrains() {
	c.pool.waitDrains()
	if c.mux == nil {
		return
	}
	for i := range c.mux.conns {
		if mc := c.mux.conns[i].Load(); mc != nil {
			_ = mc.doOne(context.Background(), &valueRequest{argv: []any{"PING"}})
		}
	}
}
