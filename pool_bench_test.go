package respool

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkPoolGetPut measures taking an idle connection and giving it
// back, from one goroutine and from 64 at once (PoolSize is large enough
// that no Get waits), with the default health check at every Get and
// without it. It must report 0 allocs/op.
func BenchmarkPoolGetPut(b *testing.B) {
	for _, check := range []bool{true, false} {
		opt := Options{PoolSize: 64 + runtime.GOMAXPROCS(0)}
		name := "check"
		if !check {
			opt.HealthCheckInterval = -1
			name = "nocheck"
		}
		for _, goroutines := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", name, goroutines), func(b *testing.B) {
				p := newServerPool(b, &opt)
				ctx := context.Background()
				runGoroutines(b, goroutines, func() {
					cn, err := p.Get(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					p.Put(cn)
				})
			})
		}
	}
}

// BenchmarkPoolPing measures a PING round trip through the pool: Get,
// Do, Put.
func BenchmarkPoolPing(b *testing.B) {
	for _, goroutines := range []int{1, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			p := newServerPool(b, &Options{PoolSize: 64 + runtime.GOMAXPROCS(0)})
			ctx := context.Background()
			runGoroutines(b, goroutines, func() {
				cn, err := p.Get(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := cn.Do(ctx, "PING"); err != nil {
					b.Error(err)
				}
				p.Put(cn)
			})
		})
	}
}

// runGoroutines runs op b.N times, from one goroutine (n == 1) or from n
// goroutines with RunParallel (rounded to a multiple of GOMAXPROCS:
// RunParallel starts parallelism x GOMAXPROCS of them), reporting
// allocations.
func runGoroutines(b *testing.B, n int, op func()) {
	b.ReportAllocs()
	if n == 1 {
		for b.Loop() {
			op()
		}
		return
	}
	b.SetParallelism(max(1, n/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
}
