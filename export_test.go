package respool

import (
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
