package respool

import (
	"context"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// A shared connection costs no reconnect when its callers stop waiting.
// A caller whose context ends leaves its request behind, and the reader
// drops the reply when it comes (Early). A batch not answered within
// ReadTimeout fails its callers with the timeout, and a stand-in takes
// their place until the late replies arrived (ReadTimeout). Either way
// the next command runs on the same connection and gets its own reply;
// only the first dial of the shared connection ever happened.
func TestMuxTimeoutKeepsSharedConnection(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	for _, tc := range []struct {
		name  string
		read  time.Duration // Options.ReadTimeout
		ctx   time.Duration // the stalled call's deadline
		drain bool          // a stand-in drains the batch
	}{
		{"Early", 10 * time.Second, 20 * time.Millisecond, false},
		{"ReadTimeout", 50 * time.Millisecond, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := respooltest.StartFaultProxy(t, srv.Addr)
			c := sharedOnly(NewClient(&Options{Addr: p.Addr(), MultiplexConns: 1, MaxRetries: -1,
				ReadTimeout: tc.read, DrainTimeout: 10 * time.Second}))
			t.Cleanup(func() { _ = c.Close() })
			initial := c.Pool().Stats()
			guard := guardContext(t)
			key := testKey(t, "k")
			if err := c.Set(guard, key, "v1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			for round := range 3 {
				p.StallReply("GET", 0)
				ctx := guard
				if tc.ctx > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(guard, tc.ctx)
					defer cancel()
				}
				_, err := c.Get(ctx, key).Result()
				if !isTimeout(err) || OutcomeOf(err) != OutcomeUnknown {
					t.Fatalf("round %d: stalled GET: %v, want a timeout of unknown outcome", round, err)
				}
				p.Resume()
				want := "r" + string(rune('0'+round))
				if err := c.Set(guard, key, want, 0).Err(); err != nil {
					t.Fatalf("round %d: SET after the stall: %v", round, err)
				}
				if got, err := c.Get(guard, key).Result(); err != nil || got != want {
					t.Fatalf("round %d: GET after the stall = %q, %v; want %q", round, got, err, want)
				}
			}
			st := c.Pool().Stats()
			if st.SharedDials != 1 || p.Accepted() != 1 {
				t.Fatalf("%d shared dials, %d connections accepted; want the one shared connection kept (stats %+v)", st.SharedDials, p.Accepted(), st)
			}
			if tc.drain && (st.Drains != 3 || st.Drained != 3 || st.DrainFailures != 0) {
				t.Fatalf("want 3 stand-ins drained: stats %+v", st)
			}
			if !tc.drain && st.Drains != 0 {
				t.Fatalf("callers that left early needed no drain: stats %+v", st)
			}
			checkShared(t, c, initial)
		})
	}
}

// A shared connection whose late replies do not come within DrainTimeout
// fails as before: the next command dials a new one.
func TestMuxDrainTimesOut(t *testing.T) {
	srv := respooltest.StartServer(t)
	leakCheck(t)
	p := respooltest.StartFaultProxy(t, srv.Addr)
	c := sharedOnly(NewClient(&Options{Addr: p.Addr(), MultiplexConns: 1, MaxRetries: -1,
		ReadTimeout: 50 * time.Millisecond, DrainTimeout: 50 * time.Millisecond}))
	t.Cleanup(func() { _ = c.Close() })
	guard := guardContext(t)
	p.StallReply("GET", 0)
	if _, err := c.Get(guard, testKey(t, "k")).Result(); !isTimeout(err) {
		t.Fatalf("stalled GET: %v, want a timeout", err)
	}
	// The next command waits behind the stand-in, which fails at its
	// limit (the replies are still held): the command was not sent.
	if got, err := c.Echo(guard, "mine").Result(); OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("ECHO queued behind the failed drain: %q, %v; want not sent", got, err)
	}
	p.Resume()
	if got, err := c.Echo(guard, "again").Result(); err != nil || got != "again" {
		t.Fatalf("ECHO on the new connection: %q, %v", got, err)
	}
	st := c.Pool().Stats()
	if st.Drains != 1 || st.DrainFailures != 1 || st.SharedDials != 2 {
		t.Fatalf("want one failed drain and a second shared dial: stats %+v", st)
	}
}
