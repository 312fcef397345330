package respool

import (
	"context"
	"strings"
	"testing"
)

// TestLargeRepliesTakeConnectionsOfTheirOwn: large replies read on the
// shared connections send the Client's commands to connections of the
// Pool, each command on one of its own, and small replies read there
// bring them back to the shared connections. Every reply is its key's
// value throughout.
func TestLargeRepliesTakeConnectionsOfTheirOwn(t *testing.T) {
	ctx := context.Background()
	c := sharedOnly(newTestClient(t))
	big, small, bigVal := setBigAndSmall(t, ctx, c)
	get := func(key, want string) {
		t.Helper()
		if v, err := c.Get(ctx, key).Result(); err != nil || v != want {
			t.Fatalf("GET %s: %d bytes, %v; want %d bytes", key, len(v), err, len(want))
		}
	}

	// Large replies on the shared connections turn the switch on. (16 of
	// them, so that every shared connection's mean is high, which the
	// last check below needs.)
	for i := 0; i < 16; i++ {
		get(big, bigVal)
	}
	if !c.mux.large.on.Load() {
		t.Fatal("16 replies of 100 KiB on the shared connections did not send commands to connections of their own")
	}
	if st := c.Pool().Stats(); st.Hits+st.Misses != 0 {
		t.Fatalf("before the switch, commands took %d pooled connections; want 0 (shared only)", st.Hits+st.Misses)
	}

	// From here on, every command finds ownConnsUpTo others in progress
	// (the count is held up by that many), so only the switch sends it to
	// a pooled connection.
	c.alwaysShare = false
	c.active.Add(ownConnsUpTo)
	defer c.active.Add(-ownConnsUpTo)

	// On: commands run on pooled connections.
	before := c.Pool().Stats()
	for i := 0; i < 4; i++ {
		get(big, bigVal)
	}
	after := c.Pool().Stats()
	if got := (after.Hits + after.Misses) - (before.Hits + before.Misses); got != 4 {
		t.Fatalf("with large replies, 4 GETs took %d pooled connections; want 4", got)
	}

	// Small replies on those connections turn it off again.
	for i := 0; i < 64 && c.mux.large.on.Load(); i++ {
		get(small, "s")
	}
	if c.mux.large.on.Load() {
		t.Fatal("64 replies of 1 byte did not bring commands back to the shared connections")
	}
	before = c.Pool().Stats()
	for i := 0; i < 4; i++ {
		get(small, "s")
	}
	after = c.Pool().Stats()
	if got := (after.Hits + after.Misses) - (before.Hits + before.Misses); got != 0 {
		t.Fatalf("after small replies, 4 GETs took %d pooled connections; want 0", got)
	}
	// A small reply read on a shared connection whose mean is still high
	// does not turn it on again.
	if c.mux.large.on.Load() {
		t.Fatal("small replies on the shared connections turned the switch on")
	}
}

// TestLargeRepliesOffWhilePoolBusy: while the Pool has no connection
// free, commands fall back to the shared connections even with the switch
// on; the small replies read there turn it off, so that commands stop
// asking the busy Pool first.
func TestLargeRepliesOffWhilePoolBusy(t *testing.T) {
	ctx := context.Background()
	c := sharedOnly(newTestClient(t, &Options{PoolSize: 1}))
	big, small, bigVal := setBigAndSmall(t, ctx, c)
	for i := 0; i < 16; i++ {
		if v, err := c.Get(ctx, big).Result(); err != nil || v != bigVal {
			t.Fatalf("GET big: %d bytes, %v", len(v), err)
		}
	}
	if !c.mux.large.on.Load() {
		t.Fatal("16 replies of 100 KiB did not turn the switch on")
	}
	held, err := c.Conn(ctx) // the Pool's only connection, busy elsewhere
	if err != nil {
		t.Fatal(err)
	}
	defer c.Pool().Put(held)
	c.alwaysShare = false
	c.active.Add(ownConnsUpTo) // never among the few: only the switch could send a command to the Pool
	defer c.active.Add(-ownConnsUpTo)
	for i := 0; i < 64 && c.mux.large.on.Load(); i++ {
		if v, err := c.Get(ctx, small).Result(); err != nil || v != "s" {
			t.Fatalf("GET small: %q, %v", v, err)
		}
	}
	if c.mux.large.on.Load() {
		t.Fatal("64 replies of 1 byte on the shared connections, the Pool busy, left the switch on")
	}
}

// setBigAndSmall writes a key of 100 KiB and a key of one byte ("s") and
// returns their names and the large value.
func setBigAndSmall(t *testing.T, ctx context.Context, c *Client) (big, small, bigVal string) {
	t.Helper()
	big, small = testKey(t, "big"), testKey(t, "small")
	bigVal = strings.Repeat("v", 100<<10)
	if err := c.Set(ctx, big, bigVal, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, small, "s", 0).Err(); err != nil {
		t.Fatal(err)
	}
	return big, small, bigVal
}
