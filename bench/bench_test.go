package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// The keyspace every benchmark reads: numKeys keys holding a 16-byte value,
// written once by TestMain.
const (
	numKeys   = 1000
	pipeDepth = 100
)

// parallelGoroutines is about how many goroutines the RunParallel
// benchmarks use (b.SetParallelism rounds it to a multiple of GOMAXPROCS):
// 16, or RESPOOL_BENCH_GOROUTINES.
var parallelGoroutines = func() int {
	if n, err := strconv.Atoi(os.Getenv("RESPOOL_BENCH_GOROUTINES")); err == nil && n > 0 {
		return n
	}
	return 16
}()

var benchValue = strings.Repeat("v", 16)

// serverAddr is the private redis-server that TestMain starts for the package.
var serverAddr string

// TestMain starts a private server and loads the keys, or, when
// RESPOOL_BENCH_ADDR names a running server, loads them there: a benchmark
// run under valgrind (whose callgrind counts instructions, repeatable on a
// busy machine) must not start or stop child processes.
func TestMain(m *testing.M) {
	if addr := os.Getenv("RESPOOL_BENCH_ADDR"); addr != "" {
		serverAddr = addr
		if err := preload(serverAddr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(m.Run())
	}
	srv, err := respooltest.NewServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverAddr = srv.Addr
	if err := preload(serverAddr); err != nil {
		srv.Close()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func keyName(i int) string { return fmt.Sprintf("bench:key:%04d", i) }

func benchKeys() []string {
	keys := make([]string, numKeys)
	for i := range keys {
		keys[i] = keyName(i)
	}
	return keys
}

// preload writes every key with one MSET.
func preload(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	args := []any{"MSET"}
	for _, k := range benchKeys() {
		args = append(args, k, benchValue)
	}
	buf, err := resp.AppendCommand(nil, args...)
	if err != nil {
		return err
	}
	if _, err := conn.Write(buf); err != nil {
		return err
	}
	v, err := resp.NewReader(conn).ReadValue()
	if err != nil {
		return err
	}
	if v.IsError() {
		return fmt.Errorf("bench: MSET: %s", v.String())
	}
	return nil
}

// target is one client under test, with the three operations the
// benchmarks time. get returns the value read; pipe sends one GET per key
// in one pipeline and checks every reply.
type target struct {
	get   func(ctx context.Context, key string) (string, error)
	set   func(ctx context.Context, key, value string) error
	pipe  func(ctx context.Context, keys []string) error
	close func()
}

// clientMaker builds a target for a benchmark that runs goroutines
// goroutines at once.
type clientMaker struct {
	name string
	open func(addr string, goroutines int) (target, error)
}

// allClients lists respool's clients (respool_test.go) and the peers.
func allClients() []clientMaker {
	return append(respoolClients(), peerClients()...)
}

// peerClients builds the peers with default options, as cmd/compare does:
// go-redis plain and with its AutoPipeline, redigo through a Pool whose
// MaxIdle matches the goroutine count (its default 0 keeps no connection),
// rueidis as is.
func peerClients() []clientMaker {
	return []clientMaker{
		{"goredis", func(addr string, _ int) (target, error) { return openGoRedis(addr, false) }},
		{"goredis-auto", func(addr string, _ int) (target, error) { return openGoRedis(addr, true) }},
		{"redigo", openRedigo},
		{"rueidis", func(addr string, _ int) (target, error) { return openRueidis(addr) }},
	}
}

func openGoRedis(addr string, auto bool) (target, error) {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	var cmds goredis.Cmdable = c
	closeAll := func() { c.Close() }
	if auto {
		ap, err := c.AutoPipeline()
		if err != nil {
			c.Close()
			return target{}, err
		}
		cmds = ap
		closeAll = func() { ap.Close(); c.Close() }
	}
	return target{
		get: func(ctx context.Context, key string) (string, error) { return cmds.Get(ctx, key).Result() },
		set: func(ctx context.Context, key, value string) error { return cmds.Set(ctx, key, value, 0).Err() },
		pipe: func(ctx context.Context, keys []string) error {
			p := c.Pipeline()
			for _, k := range keys {
				p.Get(ctx, k)
			}
			_, err := p.Exec(ctx)
			return err
		},
		close: closeAll,
	}, nil
}

func openRedigo(addr string, goroutines int) (target, error) {
	pool := &redis.Pool{
		MaxIdle: goroutines,
		Dial:    func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	}
	return redigoTarget(pool), nil
}

// redigoTarget drives redigo through pool.
func redigoTarget(pool *redis.Pool) target {
	return target{
		get: func(ctx context.Context, key string) (string, error) {
			c, err := pool.GetContext(ctx)
			if err != nil {
				return "", err
			}
			defer c.Close()
			return redis.String(c.Do("GET", key))
		},
		set: func(ctx context.Context, key, value string) error {
			c, err := pool.GetContext(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Do("SET", key, value)
			return err
		},
		pipe: func(ctx context.Context, keys []string) error {
			c, err := pool.GetContext(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			for _, k := range keys {
				if err := c.Send("GET", k); err != nil {
					return err
				}
			}
			if err := c.Flush(); err != nil {
				return err
			}
			for range keys {
				if _, err := redis.String(c.Receive()); err != nil {
					return err
				}
			}
			return nil
		},
		close: func() { pool.Close() },
	}
}

func openRueidis(addr string) (target, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		return target{}, err
	}
	return target{
		get: func(ctx context.Context, key string) (string, error) {
			return c.Do(ctx, c.B().Get().Key(key).Build()).ToString()
		},
		set: func(ctx context.Context, key, value string) error {
			return c.Do(ctx, c.B().Set().Key(key).Value(value).Build()).Error()
		},
		pipe: func(ctx context.Context, keys []string) error {
			cmds := make(rueidis.Commands, len(keys))
			for i, k := range keys {
				cmds[i] = c.B().Get().Key(k).Build()
			}
			for _, r := range c.DoMulti(ctx, cmds...) {
				if _, err := r.ToString(); err != nil {
					return err
				}
			}
			return nil
		},
		close: c.Close,
	}, nil
}

// TestClients checks that every client reads the preloaded value, writes,
// and answers a whole pipeline, so that the benchmarks time working code.
func TestClients(t *testing.T) {
	ctx := context.Background()
	keys := benchKeys()
	for _, cm := range allClients() {
		t.Run(cm.name, func(t *testing.T) {
			tg, err := cm.open(serverAddr, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer tg.close()
			if v, err := tg.get(ctx, keys[1]); err != nil || v != benchValue {
				t.Fatalf("GET %s = %q, %v; want %q", keys[1], v, err, benchValue)
			}
			if _, err := tg.get(ctx, "bench:missing"); err == nil {
				t.Fatal("GET of a missing key returned no error")
			}
			if err := tg.set(ctx, keys[2], benchValue); err != nil {
				t.Fatalf("SET: %v", err)
			}
			if err := tg.pipe(ctx, keys[:pipeDepth]); err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			if err := tg.pipe(ctx, []string{keys[0], "bench:missing"}); err == nil {
				t.Fatal("pipeline with a missing key returned no error")
			}
		})
	}
}

// openFor builds cm's client for b, closed when b ends.
func openFor(b *testing.B, cm clientMaker, goroutines int) target {
	b.Helper()
	tg, err := cm.open(serverAddr, goroutines)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tg.close)
	// One call outside the timed loop opens the first connection.
	if _, err := tg.get(context.Background(), keyName(0)); err != nil {
		b.Fatal(err)
	}
	return tg
}

// parallelism is the b.SetParallelism value that gives about
// parallelGoroutines goroutines.
func parallelism() int {
	return max(1, parallelGoroutines/runtime.GOMAXPROCS(0))
}

// keyCursor hands each RunParallel goroutine a different start in the keyspace.
type keyCursor struct{ next atomic.Int64 }

func (c *keyCursor) start() int { return int(c.next.Add(97)) % numKeys }

func BenchmarkGet(b *testing.B) {
	keys := benchKeys()
	ctx := context.Background()
	for _, cm := range allClients() {
		b.Run(cm.name, func(b *testing.B) {
			tg := openFor(b, cm, 1)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := tg.get(ctx, keys[i%numKeys]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGetParallel(b *testing.B) {
	for _, cm := range allClients() {
		b.Run(cm.name, func(b *testing.B) { benchGetParallel(b, cm, parallelism()) })
	}
}

// benchGetParallel times GETs of cm's client from p goroutines per P.
func benchGetParallel(b *testing.B, cm clientMaker, p int) {
	keys := benchKeys()
	benchParallel(b, cm, p, func(ctx context.Context, tg target, i int) error {
		_, err := tg.get(ctx, keys[i%numKeys])
		return err
	})
}

// benchParallel times op on cm's client from p goroutines per P, each
// calling it with i counting up from a start of its own in the keyspace.
func benchParallel(b *testing.B, cm clientMaker, p int, op func(ctx context.Context, tg target, i int) error) {
	ctx := context.Background()
	tg := openFor(b, cm, p*runtime.GOMAXPROCS(0))
	var cur keyCursor
	b.SetParallelism(p)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := cur.start()
		for pb.Next() {
			if err := op(ctx, tg, i); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkSet(b *testing.B) {
	keys := benchKeys()
	ctx := context.Background()
	for _, cm := range allClients() {
		b.Run(cm.name, func(b *testing.B) {
			tg := openFor(b, cm, 1)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := tg.set(ctx, keys[i%numKeys], benchValue); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkSetParallel(b *testing.B) {
	for _, cm := range allClients() {
		b.Run(cm.name, func(b *testing.B) {
			keys := benchKeys()
			benchParallel(b, cm, parallelism(), func(ctx context.Context, tg target, i int) error {
				return tg.set(ctx, keys[i%numKeys], benchValue)
			})
		})
	}
}

// pipeWindow returns the pipeDepth keys of the i-th pipeline.
func pipeWindow(keys []string, i int) []string {
	start := (i * pipeDepth) % (numKeys - pipeDepth + 1)
	return keys[start : start+pipeDepth]
}

// reportPerCommand adds ns/cmd: one op of the pipeline benchmarks is a
// pipeline of pipeDepth GETs.
func reportPerCommand(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pipeDepth), "ns/cmd")
}

func BenchmarkPipeline100(b *testing.B) {
	keys := benchKeys()
	ctx := context.Background()
	for _, cm := range allClients() {
		b.Run(cm.name, func(b *testing.B) {
			tg := openFor(b, cm, 1)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := tg.pipe(ctx, pipeWindow(keys, i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportPerCommand(b)
		})
	}
}

func BenchmarkPipeline100Parallel(b *testing.B) {
	keys := benchKeys()
	for _, cm := range allClients() {
		b.Run(cm.name, func(b *testing.B) {
			benchParallel(b, cm, parallelism(), func(ctx context.Context, tg target, i int) error {
				return tg.pipe(ctx, pipeWindow(keys, i))
			})
			reportPerCommand(b)
		})
	}
}
