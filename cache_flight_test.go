package respool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// invalidatePush is the RESP3 push of an invalidation of key.
func invalidatePush(key string) resp.Value {
	return resp.Push(resp.BulkString("invalidate"), resp.Array(resp.BulkString(key)))
}

// newFakeCacheClient returns a Client with a cache on a fake server
// running h (behind FakeDefaults, which answers the handshake and CLIENT
// TRACKING).
func newFakeCacheClient(t *testing.T, h respooltest.FakeHandler) (*Client, *respooltest.FakeServer) {
	t.Helper()
	srv := respooltest.StartFakeServer(t, respooltest.FakeDefaults(h))
	c := NewClient(&Options{Addr: srv.Addr(), MultiplexConns: 1, MaxRetries: -1, ClientCache: &CacheOptions{}})
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

// TestCacheInvalidationCrossesRead: an invalidation of a key that the
// server sends while a read of that key is in flight (before its reply,
// or between the reply and the PTTL sent with it) means the reply is not
// kept: the next read goes to the server again. A real server's timing
// cannot be chosen, so a scripted one places the push.
func TestCacheInvalidationCrossesRead(t *testing.T) {
	for _, where := range []string{"none", "before-reply", "before-pttl", "other-key"} {
		t.Run(where, func(t *testing.T) {
			leakCheck(t)
			c, srv := newFakeCacheClient(t, func(fc *respooltest.FakeConn, cmd []string) {
				switch strings.ToUpper(cmd[0]) {
				case "GET":
					switch where {
					case "before-reply":
						fc.WriteValue(invalidatePush(cmd[1]))
					case "other-key":
						fc.WriteValue(invalidatePush("other"))
					}
					fc.WriteValue(resp.BulkString("v"))
				case "PTTL":
					if where == "before-pttl" {
						fc.WriteValue(invalidatePush(cmd[1]))
					}
					fc.WriteValue(resp.Integer(-1))
				}
			})
			ctx := context.Background()
			cv := c.Cached(time.Hour)
			for range 2 {
				if v, err := cv.Get(ctx, "k").Result(); err != nil || v != "v" {
					t.Fatalf("read: %q, %v", v, err)
				}
			}
			want := 1
			if where == "before-reply" || where == "before-pttl" {
				want = 2
			}
			if got := srv.Commands("GET"); got != want {
				t.Fatalf("GETs sent: %d, want %d", got, want)
			}
		})
	}
}

// TestCacheSingleFlight: concurrent misses of one key send one read; the
// others wait for it, each within its own context.
func TestCacheSingleFlight(t *testing.T) {
	leakCheck(t)
	release := make(chan struct{})
	c, srv := newFakeCacheClient(t, func(fc *respooltest.FakeConn, cmd []string) {
		switch strings.ToUpper(cmd[0]) {
		case "GET":
			select {
			case <-release:
			case <-fc.Done():
			}
			fc.WriteValue(resp.BulkString("v"))
		case "PTTL":
			fc.WriteValue(resp.Integer(-1))
		}
	})
	ctx := context.Background()
	cv := c.Cached(time.Hour)
	const readers = 20
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := cv.Get(ctx, "k").Result()
			if err == nil && v != "v" {
				err = errors.New("wrong value " + v)
			}
			errs <- err
		}()
	}
	// Every reader has missed (a reader that waits counts as a miss)
	// before the one read is answered.
	waitUntil(t, "every reader missed", func() bool { return c.CacheStats().Misses == readers })
	// A reader whose context ends while it waits gives up alone.
	short, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cv.Get(short, "k").Err() }()
	waitUntil(t, "the impatient reader waits", func() bool { return c.CacheStats().Misses == readers+1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("impatient reader: %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Commands("GET"); got != 1 {
		t.Fatalf("GETs sent: %d, want 1", got)
	}
	if st := c.CacheStats(); st.Entries != 1 {
		t.Fatalf("after the flight: %+v", st)
	}
}

// TestCacheRESP2Server: a server without HELLO (RESP2 only) refuses
// caching with ErrCacheNeedsRESP3, once: later cached reads fail at once
// without dialling again.
func TestCacheRESP2Server(t *testing.T) {
	srv := respooltest.StartFakeServer(t, func(fc *respooltest.FakeConn, cmd []string) {
		switch strings.ToUpper(cmd[0]) {
		case "HELLO":
			fc.Write("-ERR unknown command 'HELLO'\r\n")
		case "GET":
			fc.WriteValue(resp.BulkString("v"))
		default:
			respooltest.FakeDefaults(nil)(fc, cmd)
		}
	})
	c := NewClient(&Options{Addr: srv.Addr(), ClientCache: &CacheOptions{}})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	err := c.Cached(0).Get(ctx, "k").Err()
	if !errors.Is(err, ErrCacheNeedsRESP3) || !strings.Contains(err.Error(), "RESP2") {
		t.Fatalf("cached read on a RESP2 server: %v", err)
	}
	t.Logf("the error: %v", err)
	accepted := srv.Accepted()
	if err := c.Cached(0).Get(ctx, "k").Err(); !errors.Is(err, ErrCacheNeedsRESP3) {
		t.Fatalf("second cached read: %v", err)
	}
	if srv.Accepted() != accepted {
		t.Fatalf("the second cached read dialled again")
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("plain GET on the same client: %q, %v", v, err)
	}
}
