package respool

import (
	"context"
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
		b.Run(mode.name+"/get-parallel256", func(b *testing.B) {
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
		})
	}
}
