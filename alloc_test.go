package respool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// allocPaths are the paths a command of a Client can take: a shared
// connection (the Client made SharedOnly, so that a command alone in
// flight is measured there too), the multiplexed Client's own choice (a
// command alone in flight borrows a pooled connection), and
// Options.Exclusive.
var allocPaths = []struct {
	name      string
	exclusive bool
	shared    bool
}{{"shared", false, true}, {"multiplexed", false, false}, {"exclusive", true, false}}

// newAllocClient returns a Client on addr, exclusive or made SharedOnly as
// asked, closed by the test's cleanup.
func newAllocClient(t *testing.T, addr string, exclusive, shared bool) *respool.Client {
	c := respool.NewClient(&respool.Options{Addr: addr, Exclusive: exclusive})
	t.Cleanup(func() { _ = c.Close() })
	if shared {
		respool.SharedOnly(c)
	}
	return c
}

// TestTypedCommandAllocations holds the typed fast paths to their promise:
// a GET or HGET through the Client allocates its reply's string and
// nothing else, and a SET of a string, an INCR, a one-key DEL and a
// one-key EXISTS allocate nothing (the reply of SET is the shared "OK"),
// on each path a command can take. The race detector allocates on its
// own, so the test runs only without it (scripts/test.sh runs it so). It
// is an external test: what keeps a *Cmd on the caller's stack must hold
// across packages, as users call it.
func TestTypedCommandAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	srv := respooltest.StartServer(t)
	for _, mode := range allocPaths {
		t.Run(mode.name, func(t *testing.T) {
			c := newAllocClient(t, srv.Addr, mode.exclusive, mode.shared)
			ctx := context.Background()
			key, value := "alloc:"+mode.name, "0123456789abcdef"
			counter, hash := key+":n", key+":h"
			checkBytes := func(name string, maxAllocs float64, maxBytes uint64, f func() error) {
				t.Helper()
				checkAllocs(t, name, maxAllocs, f)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for range 100 {
					_ = f()
				}
				runtime.ReadMemStats(&after)
				if n := (after.TotalAlloc - before.TotalAlloc) / 100; n > maxBytes {
					t.Errorf("%s: %d bytes allocated per call, want at most %d", name, n, maxBytes)
				}
			}
			checkAllocs(t, "SET", 0, func() error { return c.Set(ctx, key, "0123456789abcdef", 0).Err() })
			checkAllocs(t, "GET", 1, func() error {
				v, err := c.Get(ctx, key).Result()
				if err == nil && v != value {
					t.Fatalf("GET %s = %q, want %q", key, v, value)
				}
				return err
			})
			checkAllocs(t, "INCR", 0, func() error { return c.Incr(ctx, counter).Err() })
			checkAllocs(t, "EXISTS", 0, func() error { return c.Exists(ctx, key).Err() })
			checkAllocs(t, "DEL", 0, func() error { return c.Del(ctx, counter).Err() })
			if err := c.HSet(ctx, hash, "f", value).Err(); err != nil {
				t.Fatal(err)
			}
			// A pipeline of GETs: per command its Cmd and its reply, and
			// a few allocations per batch (the Pipeline itself...). The
			// queue and the request list are recycled, not regrown.
			keys := make([]string, 100)
			for i := range keys {
				keys[i] = key
			}
			checkAllocs(t, "pipeline of 100 GETs", 2*100+5, func() error {
				p := c.Pipeline()
				for _, k := range keys {
					p.Get(ctx, k)
				}
				return p.Exec(ctx)
			})
			// The same on a Pipeline the caller keeps: what the caller
			// keeps (each command's Cmd and its reply's string) and nothing
			// else. A Cmd of GET is 80 bytes and a 16-byte reply 16; the
			// 100 bytes over them are the recycled queues and requests a
			// garbage collection takes from their sync.Pool now and then.
			p := c.Pipeline()
			got := make([]*respool.Cmd[string], len(keys))
			checkBytes("pipeline of 100 GETs, Pipeline reused", 2*100, 100*(80+16)+100, func() error {
				for i, k := range keys {
					got[i] = p.Get(ctx, k)
				}
				err := p.Exec(ctx)
				if v := got[99].Val(); err == nil && v != value {
					t.Fatalf("pipelined GET %s = %q, want %q", key, v, value)
				}
				return err
			})
			// An MGET of 100 keys: per key its boxed name and its reply,
			// and one allocation each for the argument list (built once,
			// at its final size) and the result; the reply's elements are
			// read into a recycled buffer. Bytes are held too: 18.7 KB
			// when the argument list grew by doubling and was copied
			// again and the elements had a slice of their own, 7.8 KB now.
			checkBytes("MGET of 100 keys", 2*100+5, 9000, func() error {
				vals, err := c.MGet(ctx, keys...).Result()
				if err == nil && (len(vals) != len(keys) || vals[99].Val != value) {
					t.Fatalf("MGET returned %d values, the last %+v, want %d times %q", len(vals), vals[len(vals)-1], len(keys), value)
				}
				return err
			})
			checkAllocs(t, "HGET", 1, func() error {
				v, err := c.HGet(ctx, hash, "f").Result()
				if err == nil && v != value {
					t.Fatalf("HGET = %q, want %q", v, value)
				}
				return err
			})
		})
	}
}

// TestClusterTypedCommandAllocations holds the ClusterClient's typed fast
// paths to the Client's promise: the command is routed by its key without
// boxing it, and a GET allocates only its reply's string. Its checks repeat
// TestTypedCommandAllocations's: sharing them through an interface of the
// two clients would hide what is measured, as a method called through an
// interface is not inlined and its *Cmd escapes.
func TestClusterTypedCommandAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	cl := respooltest.StartCluster(t)
	c := respool.NewClusterClient(&respool.ClusterOptions{Addrs: cl.Addrs()})
	defer c.Close()
	ctx := context.Background()
	key, value := "alloc:cluster", "0123456789abcdef"
	counter, hash := "{alloc:cluster}:n", "{alloc:cluster}:h"
	checkAllocs(t, "SET", 0, func() error { return c.Set(ctx, key, "0123456789abcdef", 0).Err() })
	checkAllocs(t, "GET", 1, func() error {
		v, err := c.Get(ctx, key).Result()
		if err == nil && v != value {
			t.Fatalf("GET %s = %q, want %q", key, v, value)
		}
		return err
	})
	checkAllocs(t, "INCR", 0, func() error { return c.Incr(ctx, counter).Err() })
	checkAllocs(t, "EXISTS", 0, func() error { return c.Exists(ctx, key).Err() })
	checkAllocs(t, "DEL", 0, func() error { return c.Del(ctx, counter).Err() })
	if err := c.HSet(ctx, hash, "f", value).Err(); err != nil {
		t.Fatal(err)
	}
	checkAllocs(t, "HGET", 1, func() error {
		v, err := c.HGet(ctx, hash, "f").Result()
		if err == nil && v != value {
			t.Fatalf("HGET = %q, want %q", v, value)
		}
		return err
	})
}

// TestConcurrentCommandAllocations holds the typed fast paths to the same
// promise under concurrency: many goroutines at once, which is when the
// multiplexer gathers several callers' commands into one write, hands
// replies over from its reader goroutine, and recycles its requests
// across goroutines. Per call, the whole process may allocate what one
// call alone may (the reply's string for GET and HGET, nothing for the
// others), and a small remainder for what a garbage collection during
// the run takes from the recycling pools: at most concurrentAllocSlack,
// a twentieth of an allocation (the runs measure a few thousandths), so
// a new allocation per command fails the test, and so does one per write
// of a batch of up to twenty commands.
func TestConcurrentCommandAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	srv := respooltest.StartServer(t)
	const goroutines, calls = 16, 1000
	for _, mode := range allocPaths {
		t.Run(mode.name, func(t *testing.T) {
			c := newAllocClient(t, srv.Addr, mode.exclusive, mode.shared)
			ctx := context.Background()
			prefix := "alloc:concurrent:" + mode.name
			// Per goroutine: its keys, and the values it expects, made
			// beforehand. SET's value is boxed beforehand too: Go boxes
			// a string that is not a constant when a call converts it to
			// an `any`, which the caller pays (see Client.Set).
			var (
				keys, counters, hashes = make([]string, goroutines), make([]string, goroutines), make([]string, goroutines)
				values, fields         = make([]string, goroutines), make([]string, goroutines)
				boxed                  = make([]any, goroutines)
			)
			for w := range goroutines {
				keys[w] = fmt.Sprintf("%s:%d", prefix, w)
				counters[w], hashes[w] = keys[w]+":n", keys[w]+":h"
				values[w], fields[w] = "v<"+keys[w]+">", "f<"+hashes[w]+">"
				boxed[w] = values[w]
				if err := c.HSet(ctx, hashes[w], "f", fields[w]).Err(); err != nil {
					t.Fatal(err)
				}
			}
			before := c.Pool().Stats()
			check := func(name string, max float64, f func(w int) error) {
				t.Helper()
				n, err := concurrentAllocs(goroutines, calls, f)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				t.Logf("%s: %.3f allocations per call, %d goroutines at once", name, n, goroutines)
				if n > max+concurrentAllocSlack {
					t.Errorf("%s: %.3f allocations per call with %d goroutines at once, want at most %v", name, n, goroutines, max)
				}
			}
			check("SET", 0, func(w int) error { return c.Set(ctx, keys[w], boxed[w], 0).Err() })
			check("GET", 1, func(w int) error {
				v, err := c.Get(ctx, keys[w]).Result()
				if err == nil && v != values[w] {
					return fmt.Errorf("GET %s = %q: another command's reply", keys[w], v)
				}
				return err
			})
			check("HGET", 1, func(w int) error {
				v, err := c.HGet(ctx, hashes[w], "f").Result()
				if err == nil && v != fields[w] {
					return fmt.Errorf("HGET %s = %q: another command's reply", hashes[w], v)
				}
				return err
			})
			check("INCR", 0, func(w int) error { return c.Incr(ctx, counters[w]).Err() })
			check("EXISTS", 0, func(w int) error {
				n, err := c.Exists(ctx, keys[w]).Result()
				if err == nil && n != 1 {
					return fmt.Errorf("EXISTS %s = %d: another command's reply", keys[w], n)
				}
				return err
			})
			check("DEL", 0, func(w int) error { return c.Del(ctx, counters[w]).Err() })
			after := c.Pool().Stats()
			if mode.shared && (after.SharedDials == 0 || after.Hits+after.Misses+after.Waits != before.Hits+before.Misses+before.Waits) {
				t.Fatalf("the calls did not all run on shared connections: stats before %+v, after %+v", before, after)
			}
		})
	}
}

// concurrentAllocSlack is what TestConcurrentCommandAllocations allows per
// call beyond a command's own allocations.
const concurrentAllocSlack = 0.05

// concurrentAllocs runs f(w) calls times in each of goroutines goroutines
// (w is the goroutine's number) all at once, after each has warmed up
// with a tenth as many calls, and returns the heap allocations of the
// whole process per call meanwhile, and the calls' errors.
func concurrentAllocs(goroutines, calls int, f func(w int) error) (float64, error) {
	errs := make([]error, goroutines)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for w := range goroutines {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			for range calls / 10 {
				if err := f(w); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
			ready.Done()
			<-start
			for range calls {
				if err := f(w); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		}()
	}
	ready.Wait()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	close(start)
	done.Wait()
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(goroutines*calls), errors.Join(errs...)
}

// checkAllocs runs f once (it must succeed), then fails the test if a
// call of f allocates more than max times on average.
func checkAllocs(t *testing.T, name string, max float64, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if n := testing.AllocsPerRun(500, func() { _ = f() }); n > max {
		t.Errorf("%s: %.2f allocations per call, want at most %v", name, n, max)
	}
}

// TestConnSendAllocations: Conn.Send, the pipelining of a connection
// held by the caller (respool --pipe writes through it), buffers a
// command given as ready arguments without allocating.
func TestConnSendAllocations(t *testing.T) {
	if respool.RaceEnabled {
		t.Skip("the race detector allocates; scripts/test.sh runs this test without it")
	}
	srv := respooltest.StartServer(t)
	c := newAllocClient(t, srv.Addr, true, false)
	ctx := context.Background()
	cn, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	args := []any{"SET", "alloc:send", "0123456789abcdef"}
	sent := 0
	checkAllocs(t, "Send", 0, func() error {
		sent++
		return cn.Send(ctx, args...)
	})
	if err := cn.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for range sent {
		if v, err := cn.Receive(ctx); err != nil || v.Text() != "OK" {
			t.Fatalf("reply to a sent SET: %v %v", v, err)
		}
	}
	c.Pool().Put(cn)
}
