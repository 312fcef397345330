package respool

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// Issue 8, item 9: a 100 MiB value round-trips byte-exact, on a pooled
// connection and on the shared connection's reader (20 MiB there unless
// RESPOOL_SOAK=1). With ReplyLimits.MaxBulkLen 10 MiB the same GET fails
// with a typed error (errors.Is(err, resp.ErrLimit)), the connection is
// not used again (a pooled one is discarded, the shared one replaced by
// the next call), and the client allocates no more than the cap plus its
// buffers while refusing it: the length header alone decides.
func TestReliabilityLargeValue(t *testing.T) {
	faultTest(t)
	srv := respooltest.StartServer(t)
	const size = 100 << 20
	// A pattern that does not repeat with a power-of-two period, filled by
	// doubling (a byte loop is slow under -race).
	value := make([]byte, size)
	for i := range 4099 {
		value[i] = byte(i*7 + i>>5)
	}
	for n := 4099; n < size; n *= 2 {
		copy(value[n:], value[:n])
	}
	ctx := guardContext(t)
	key := "large"
	slow := Options{ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	writer := newReliabilityClient(t, reliabilityModes[1], srv.Addr, slow)
	start := time.Now()
	if err := writer.Set(ctx, key, value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("SET took %v", time.Since(start))
	// The shared connection's reader is slower with huge replies: by
	// default it reads a 20 MiB value, RESPOOL_SOAK=1 the 100 MiB one.
	smallKey := "large:20MiB"
	if err := writer.Set(ctx, smallKey, value[:20<<20], 0).Err(); err != nil {
		t.Fatal(err)
	}

	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			c := newReliabilityClient(t, m, srv.Addr, slow)
			initial := c.Pool().Stats()
			k, want := key, value
			if m.shared() && !reliabilitySoak() {
				k, want = smallKey, value[:20<<20]
			}
			start := time.Now()
			got, err := c.Get(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("GET of %d MiB took %v", len(want)>>20, time.Since(start))
			if !bytes.Equal([]byte(got), want) {
				t.Fatalf("the %d MiB value came back different (%d bytes)", len(want)>>20, len(got))
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
			got, want = "", nil // let the copy go

			limitOpt := slow
			limitOpt.ReplyLimits = resp.Limits{MaxBulkLen: 10 << 20}
			limitOpt.MaxRetries = -1
			limitOpt.MultiplexConns = 1
			lc := newReliabilityClient(t, m, srv.Addr, limitOpt)
			initial = lc.Pool().Stats()
			if err := lc.Ping(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			// refused checks a GET beyond MaxBulkLen, and that the next
			// call finds its connection gone: a PING then needs exactly
			// one new connection.
			refused := func(what string, err error, before PoolStats) {
				t.Helper()
				var pe *resp.ProtocolError
				if !errors.Is(err, resp.ErrLimit) || !errors.As(err, &pe) {
					t.Fatalf("%s beyond MaxBulkLen: %v, want a *resp.ProtocolError matching resp.ErrLimit", what, err)
				}
				if o := OutcomeOf(err); o != OutcomeUnknown {
					t.Fatalf("%s: outcome %v, want unknown: %v", what, o, err)
				}
				if m.exclusive {
					if closed := lc.Pool().Stats().Closed.Unusable - before.Closed.Unusable; closed != 1 {
						t.Fatalf("%s: %d connections discarded after the refused reply, want 1", what, closed)
					}
				}
				if v, err := lc.Ping(ctx).Result(); err != nil || v != "PONG" {
					t.Fatalf("after the refused reply of %s: %q %v", what, v, err)
				}
				if d := lc.Pool().Stats().Dials - before.Dials; d != 1 {
					t.Fatalf("%s: %d dials for the PING after the refused reply, want 1 (its connection replaced)", what, d)
				}
			}
			before := lc.Pool().Stats()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			allocBefore := ms.TotalAlloc
			_, err = lc.Get(ctx, key).Result()
			runtime.ReadMemStats(&ms)
			allocated := ms.TotalAlloc - allocBefore
			refused("GET", err, before)
			t.Logf("refusing the 100 MiB reply allocated %d bytes", allocated)
			if allocated > 11<<20 {
				t.Fatalf("refusing the reply allocated %d bytes, more than the cap plus buffers", allocated)
			}
			// The same in a pipeline, and the client goes on.
			before = lc.Pool().Stats()
			pl := lc.Pipeline()
			g := pl.Get(ctx, key)
			_ = pl.Exec(ctx)
			refused("pipelined GET", g.Err(), before)
			if m.shared() {
				checkShared(t, lc, initial)
			}
		})
	}
	if err := writer.Del(context.Background(), key, smallKey).Err(); err != nil {
		t.Fatal(err)
	}
}
