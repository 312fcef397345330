package respool

import (
	"context"
	"strconv"
	"testing"

	"github.com/respool/respool/respooltest"
)

// The server applies INCR, then the connection drops before the reply: the
// caller learns the outcome is unknown and the server saw exactly one INCR,
// in both modes. A GET in the same situation is retried and succeeds.
func TestRetryNeverRepeatsAWriteOfUnknownOutcome(t *testing.T) {
	t.Parallel()
	for _, exclusive := range []bool{false, true} {
		t.Run("exclusive="+strconv.FormatBool(exclusive), func(t *testing.T) {
			srv := respooltest.StartServer(t)
			proxy := respooltest.StartFaultProxy(t, srv.Addr)
			ctx := context.Background()
			c := NewClient(&Options{Addr: proxy.Addr(), Exclusive: exclusive})
			defer c.Close()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}

			proxy.CutOnCommand("INCR")
			err := c.Incr(ctx, "n").Err()
			if err == nil || OutcomeOf(err) != OutcomeUnknown {
				t.Fatalf("INCR cut after it reached the server: %v (outcome %v), want unknown", err, OutcomeOf(err))
			}
			if got := proxy.Commands("INCR"); got != 1 {
				t.Fatalf("the server received INCR %d times, want exactly 1", got)
			}
			proxy.CutOnCommand("")
			if v := srv.CLI(t, "GET", "n"); v != "1" {
				t.Fatalf("n = %q on the server, want 1", v)
			}

			proxy.CutOnCommand("GET")
			done := make(chan error, 1)
			go func() {
				s, err := c.Get(ctx, "k").Result()
				if err == nil && s != "v" {
					t.Errorf("GET = %q", s)
				}
				done <- err
			}()
			// The first GET is cut; turn the fault off once it was, so the
			// retry goes through.
			if err := proxy.WaitCommand(ctx, "GET", 1); err != nil {
				t.Fatal(err)
			}
			proxy.CutOnCommand("")
			if err := <-done; err != nil {
				t.Fatalf("GET cut once should be retried and succeed: %v", err)
			}
			if got := proxy.Commands("GET"); got < 2 {
				t.Fatalf("GET reached the server %d times, want a retry", got)
			}
		})
	}
}
