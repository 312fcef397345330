package respoolprom_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/respool/respool"
	"github.com/respool/respool/extra/respoolprom"
	"github.com/respool/respool/respooltest"
)

// A Client's figures in a Prometheus registry, which a program would
// serve with promhttp.HandlerFor.
func Example() {
	srv, err := respooltest.NewServer() // a private redis-server, for the example
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()

	c := respool.NewClient(&respool.Options{Addr: srv.Addr, PoolSize: 8})
	defer c.Close()
	col := respoolprom.NewCollector(c)
	c.AddHook(col.Hook()) // command durations
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)

	c.Set(ctx, "greeting", "hello", 0)
	c.Get(ctx, "greeting")

	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		switch name := mf.GetName(); name {
		case "respool_pool_max_connections", "respool_pool_open_connections":
			m := mf.GetMetric()[0]
			fmt.Println(name, m.GetGauge().GetValue())
		case "respool_command_duration_seconds":
			for _, m := range mf.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				fmt.Println(name, strings.Join(labels, ","), m.GetHistogram().GetSampleCount())
			}
		}
	}
	// Output:
	// respool_command_duration_seconds command=GET,outcome=ok 1
	// respool_command_duration_seconds command=SET,outcome=ok 1
	// respool_pool_max_connections 8
	// respool_pool_open_connections 1
}
