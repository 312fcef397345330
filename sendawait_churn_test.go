//go:build unix

package respool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// Round trips that wait for their reply inside the flush, under random
// cancellations, random deadlines and connections cut or killed in
// between: every call gets its own reply or an error, a connection that
// saw an error (other than a refusal before anything was written) is
// never handed out again, and a call bounded by nothing
// but a long ReadTimeout never ends in a timeout (a wake-up that the wait
// missed would end it that way).
func TestSendAwaitChurn(t *testing.T) {
	respooltest.RequireRedis(t)
	sock := filepath.Join(t.TempDir(), "redis.sock")
	srv := respooltest.StartServer(t, respooltest.WithArgs("--unixsocket", sock, "--unixsocketperm", "700"))
	leakCheck(t)
	proxy := respooltest.StartFaultProxy(t, srv.Addr)
	admin := newServerPool(t, &Options{Addr: srv.Addr, PoolSize: 1})

	for _, tc := range []struct {
		name    string
		network string
		addr    string
		cut     func()
	}{
		{"TCPProxyDrop", "tcp", proxy.Addr(), proxy.DropAll},
		{"TCPProxyReset", "tcp", proxy.Addr(), proxy.ResetAll},
		{"TCPClientKill", "tcp", srv.Addr, nil},
		{"UnixClientKill", "unix", sock, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cut := tc.cut
			if cut == nil {
				cut = func() {
					cn := mustGet(t, admin)
					defer admin.Put(cn)
					if _, err := cn.Do(context.Background(), "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"); err != nil {
						t.Errorf("CLIENT KILL: %v", err)
					}
				}
			}
			runAwaitChurn(t, &Options{Network: tc.network, Addr: tc.addr, PoolSize: 4,
				ReadTimeout: time.Minute, DrainTimeout: -1}, cut)
		})
	}
	// With draining on, a connection whose call was cut short after the
	// write may come back once its owed replies were read: what matters
	// then is that every later call still gets its own reply.
	t.Run("TCPProxyDropDrain", func(t *testing.T) {
		runAwaitChurn(t, &Options{Addr: proxy.Addr(), PoolSize: 4, ReadTimeout: time.Minute}, proxy.DropAll)
	})
}

// runAwaitChurn runs the churn of TestSendAwaitChurn on a pool with opt,
// calling cut now and then from a goroutine of its own.
func runAwaitChurn(t *testing.T, opt *Options, cut func()) {
	p := newServerPool(t, opt)
	drains := opt.DrainTimeout >= 0
	const workers = 4
	iters := soakSize(400, 5000)
	key := testKey(t, "v")
	cn := mustGet(t, p)
	do(t, cn, "SET", key, "value-of-"+key)
	p.Put(cn)

	var (
		mu  sync.Mutex
		bad = map[*Conn]bool{} // connections that saw an error
	)
	var stats struct{ ok, failed, awaited, drainedOK, drainedFailed atomic.Int64 }
	tick, stopCutter := churnCutter(40, cut)

	churnWorkers(workers, func(w int, rng *rand.Rand) {
		for i := range iters {
			cn, err := p.Get(context.Background())
			if err != nil {
				stats.failed.Add(1)
				tick()
				continue // the server or proxy refused a dial for now
			}
			mu.Lock()
			reused := bad[cn]
			mu.Unlock()
			if reused && !drains {
				t.Errorf("a connection that saw an error was handed out again")
			}
			before := cn.tr.aw.waits
			ctx, cancel, plain := awaitChurnContext(rng)
			var want string
			var v interface{ Text() string }
			if rng.IntN(3) == 0 {
				want = "value-of-" + key
				r, e := cn.Do(ctx, "GET", key)
				v, err = r, e
			} else {
				want = fmt.Sprintf("echo-%d-%d-%d", w, i, rng.Uint64())
				r, e := cn.Do(ctx, "ECHO", want)
				v, err = r, e
			}
			cancel()
			if cn.tr.aw.waits != before {
				stats.awaited.Add(1)
			}
			switch {
			case err == nil && v.Text() != want:
				t.Errorf("a call got %q, want %q", v.Text(), want)
			case err == nil:
				stats.ok.Add(1)
				if reused {
					stats.drainedOK.Add(1)
				}
			default:
				stats.failed.Add(1)
				if plain && isTimeoutErr(err) {
					t.Errorf("a call bounded only by ReadTimeout timed out: %v", err)
				}
				var ce *ConnError
				if errors.As(err, &ce) && ce.Outcome == OutcomeNotSent && cn.Err() == nil {
					break // refused before anything was written: still clean
				}
				if cn.Err() == nil {
					t.Errorf("a call failed with %v and left its connection usable", err)
				}
				if reused {
					stats.drainedFailed.Add(1)
				}
				mu.Lock()
				bad[cn] = true
				mu.Unlock()
			}
			p.Put(cn)
			tick()
		}
	})
	stopCutter()
	t.Logf("ok %d, failed %d, waited in the flush %d; on drained connections: ok %d, failed %d",
		stats.ok.Load(), stats.failed.Load(), stats.awaited.Load(), stats.drainedOK.Load(), stats.drainedFailed.Load())
	if stats.awaited.Load() == 0 || stats.ok.Load() == 0 || stats.failed.Load() == 0 {
		t.Fatalf("the churn did not exercise the wait, successes and failures: %d, %d, %d",
			stats.awaited.Load(), stats.ok.Load(), stats.failed.Load())
	}
	if drains && stats.drainedOK.Load() == 0 {
		t.Fatal("no drained connection served a call")
	}
}

// awaitChurnContext returns a context for one call of the churn: none,
// one cancelled at once, by a timer, or from another goroutine at a
// random moment, or one with a short deadline. plain says that only
// ReadTimeout bounds the call.
func awaitChurnContext(rng *rand.Rand) (ctx context.Context, cancel func(), plain bool) {
	bg := context.Background()
	switch rng.IntN(6) {
	case 0:
		ctx, cancel := context.WithCancel(bg)
		cancel()
		return ctx, cancel, false
	case 1:
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(time.Duration(rng.IntN(200))*time.Microsecond, cancel)
		return ctx, cancel, false
	case 2:
		ctx, cancel := context.WithCancel(bg)
		go cancel()
		return ctx, cancel, false
	case 3:
		ctx, cancel := context.WithTimeout(bg, time.Duration(rng.IntN(300))*time.Microsecond)
		return ctx, cancel, false
	}
	return bg, func() {}, true
}

// The churn through a Client in Exclusive mode: single commands,
// pipelines and transactions (MULTI/EXEC in one round trip) under random
// cancellations and deadlines, with the proxy dropping every connection
// now and then. Every command gets its own reply or an error, and a
// command bounded only by a long ReadTimeout never times out.
func TestSendAwaitChurnClient(t *testing.T) {
	srv := faultTest(t)
	proxy := respooltest.StartFaultProxy(t, srv.Addr)
	c := newReliabilityClient(t, reliabilityMode{name: "exclusive", exclusive: true}, proxy.Addr(),
		Options{PoolSize: 4, ReadTimeout: time.Minute})
	const workers = 4
	iters := soakSize(300, 3000)
	var failed atomic.Int64
	tick, stopCutter := churnCutter(30, proxy.DropAll)
	churnWorkers(workers, func(w int, rng *rand.Rand) {
		for i := range iters {
			ctx, cancel, plain := awaitChurnContext(rng)
			n := 1 + rng.IntN(4)
			want := make([]string, n)
			for j := range want {
				want[j] = fmt.Sprintf("echo-%d-%d-%d-%d", w, i, j, rng.Uint64())
			}
			var got []string
			var errs []error
			switch rng.IntN(3) {
			case 0:
				v, err := c.Do(ctx, "ECHO", want[0])
				want = want[:1]
				got, errs = []string{v.Text()}, []error{err}
			default:
				pipe := c.Pipeline()
				if rng.IntN(2) == 0 {
					pipe = c.TxPipeline()
				}
				cmds := make([]*Cmd[resp.Value], n)
				for j := range cmds {
					cmds[j] = pipe.Do(ctx, "ECHO", want[j])
				}
				_ = pipe.Exec(ctx)
				for _, cmd := range cmds {
					v, err := cmd.Result()
					got, errs = append(got, v.Text()), append(errs, err)
				}
			}
			cancel()
			for j := range want {
				switch {
				case errs[j] == nil && got[j] != want[j]:
					t.Errorf("a command got %q, want %q", got[j], want[j])
				case errs[j] != nil:
					failed.Add(1)
					if plain && isTimeoutErr(errs[j]) {
						t.Errorf("a command bounded only by ReadTimeout timed out: %v", errs[j])
					}
				}
			}
			tick()
		}
	})
	stopCutter()
	t.Logf("%d failed commands, %d connections", failed.Load(), proxy.Accepted())
	if failed.Load() == 0 || proxy.Accepted() < 2 {
		t.Fatalf("the churn cut nothing: %d failures, %d connections", failed.Load(), proxy.Accepted())
	}
	// The Client's commands take the awaited path: once the cuts stopped,
	// a command leaves a connection in the pool that waited in its flush.
	if v, err := c.Do(context.Background(), "PING"); err != nil || v.Text() != "PONG" {
		t.Fatalf("PING after the churn: %v, %v", v, err)
	}
	c.pool.mu.Lock()
	var waits int64
	for _, cn := range c.pool.idle {
		waits += cn.tr.aw.waits
	}
	idle := len(c.pool.idle)
	c.pool.mu.Unlock()
	if idle == 0 || waits == 0 {
		t.Fatalf("%d idle connections waited %d times in their flushes", idle, waits)
	}
}

// churnCutter calls cut, from a goroutine of its own, once every `every`
// calls of tick: the workers' progress, not a clock, paces the cuts. stop
// ends the goroutine and waits for it.
func churnCutter(every int, cut func()) (tick, stop func()) {
	ticks := make(chan struct{}, 1)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 1; ; n++ {
			select {
			case <-quit:
				return
			case <-ticks:
			}
			if n%every == 0 {
				cut()
			}
		}
	}()
	tick = func() {
		select {
		case ticks <- struct{}{}:
		default: // a tick already waits, or the cutter is cutting: this one does not count
		}
	}
	stop = func() {
		close(quit)
		<-done
	}
	return tick, stop
}

// churnWorkers runs body in n goroutines, each with a random source of its
// own, and waits for them.
func churnWorkers(n int, body func(w int, rng *rand.Rand)) {
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(w, rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano()))))
		}()
	}
	wg.Wait()
}
