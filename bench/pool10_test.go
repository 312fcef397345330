package bench

import (
	"context"
	"runtime"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/respool/respool"
)

// The pool10-get256 scenario of cmd/compare as a Go benchmark: GET from
// about 256 goroutines sharing at most pool10Size connections, so that
// nearly every command waits for a connection another goroutine gives
// back. It compares respool's Exclusive mode with redigo's Pool (Wait
// true), the hand-off from a Put to a waiting Get measured on both.
const (
	pool10Size       = 10
	pool10Goroutines = 256
)

// pool10Clients are respool Exclusive and redigo with pool10Size
// connections. Their targets are built by named functions, as
// respoolClients builds its own: a closure copied into the benchmark by
// inlining was once compiled with the Client's *Cmd on the heap.
func pool10Clients() []clientMaker {
	return []clientMaker{
		{"respool-exclusive", func(addr string, _ int) (target, error) { return openRespoolPool10(addr), nil }},
		{"redigo", func(addr string, _ int) (target, error) { return openRedigoPool10(addr), nil }},
	}
}

func openRespoolPool10(addr string) target {
	c := respool.NewClient(&respool.Options{Addr: addr, Exclusive: true, PoolSize: pool10Size})
	return target{
		get:   func(ctx context.Context, key string) (string, error) { return c.Get(ctx, key).Result() },
		close: func() { c.Close() },
	}
}

func openRedigoPool10(addr string) target {
	return redigoTarget(&redis.Pool{
		MaxIdle: pool10Size, MaxActive: pool10Size, Wait: true,
		Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	})
}

func BenchmarkGetPool10(b *testing.B) {
	for _, cm := range pool10Clients() {
		b.Run(cm.name, func(b *testing.B) {
			benchGetParallel(b, cm, max(1, pool10Goroutines/runtime.GOMAXPROCS(0)))
		})
	}
}
