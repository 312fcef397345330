package respool

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
