package respool

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/respool/respool/respooltest"
)

// BenchmarkClusterGetSet runs GET and SET from 256 goroutines against a
// local 6-node cluster.
func BenchmarkClusterGetSet(b *testing.B) {
	cl := respooltest.StartCluster(b)
	c := NewClusterClient(&ClusterOptions{Addrs: cl.Addrs()[:1]})
	defer c.Close()
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "bench:" + strconv.Itoa(i)
		if err := c.Set(ctx, keys[i], "v", 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	b.SetParallelism(max(1, 256/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1)
		for pb.Next() {
			i++
			k := keys[i%uint64(len(keys))]
			var err error
			if i%2 == 0 {
				err = c.Set(ctx, k, "v", 0).Err()
			} else {
				err = c.Get(ctx, k).Err()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClusterRoute measures routing alone.
func BenchmarkClusterRoute(b *testing.B) {
	c := NewClusterClient(&ClusterOptions{Addrs: []string{"127.0.0.1:1"}, RefreshInterval: -1})
	defer c.Close()
	argv := []any{"SET", "user:1234", "value"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.routeOf(argv); err != nil {
			b.Fatal(err)
		}
	}
}
