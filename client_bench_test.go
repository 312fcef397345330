package respool

import (
	"context"
	"runtime"
	"strconv"
	"testing"
)

func benchClient(b *testing.B, exclusive bool) *Client {
	b.Helper()
	c := NewClient(&Options{Addr: sharedServer(b).Addr, Exclusive: exclusive})
	b.Cleanup(func() { _ = c.Close() })
	if _, err := c.Do(context.Background(), "SET", "bench:k", "0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkClientDoGet(b *testing.B) {
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		c := benchClient(b, mode.exclusive)
		ctx := context.Background()
		b.Run(mode.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Do(ctx, "GET", "bench:k"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode.name+"/parallel256", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(128)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Do(ctx, "GET", "bench:k"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkClientTyped(b *testing.B) {
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		c := benchClient(b, mode.exclusive)
		ctx := context.Background()
		b.Run(mode.name+"/get", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Get(ctx, "bench:k").Result(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode.name+"/incr", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Incr(ctx, "bench:n").Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, g := range []int{256, 1024} {
			b.Run(mode.name+"/get-parallel"+strconv.Itoa(g), func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(g / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.Get(ctx, "bench:k").Result(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

func BenchmarkClientPipeline(b *testing.B) {
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "bench:k"
	}
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		c := benchClient(b, mode.exclusive)
		ctx := context.Background()
		for _, n := range []int{10, 100} {
			b.Run(mode.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				b.ReportAllocs()
				cmds := make([]*Cmd[string], n)
				for b.Loop() {
					p := c.Pipeline()
					for i, k := range keys[:n] {
						cmds[i] = p.Get(ctx, k)
					}
					if err := p.Exec(ctx); err != nil {
						b.Fatal(err)
					}
					for _, cmd := range cmds {
						if cmd.Val() != "0123456789abcdef" {
							b.Fatalf("got %q", cmd.Val())
						}
					}
				}
			})
		}
	}
}

// BenchmarkClientPoolContention runs GETs from 256 goroutines through an
// Exclusive Client whose pool has 10 connections: most callers wait in the
// pool's queue, as in the bench module's pool-of-10 scenario.
func BenchmarkClientPoolContention(b *testing.B) {
	c := NewClient(&Options{Addr: sharedServer(b).Addr, Exclusive: true, PoolSize: 10})
	b.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := c.Set(ctx, "bench:k", "0123456789abcdef", 0).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(128)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, "bench:k").Result(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
