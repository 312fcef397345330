package respoolotel_test

import (
	"context"
	"fmt"
	"sort"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/respool/respool"
	"github.com/respool/respool/extra/respoolotel"
	"github.com/respool/respool/respooltest"
)

// A Client traced and measured. A program would give its TracerProvider
// an exporter and its MeterProvider a periodic reader; here a span
// recorder and a manual reader show what they would receive.
func Example() {
	srv, err := respooltest.NewServer() // a private redis-server, for the example
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	c := respool.NewClient(&respool.Options{Addr: srv.Addr})
	defer c.Close()
	if err := respoolotel.InstrumentTracing(c, respoolotel.WithTracerProvider(tp), respoolotel.WithQueryText()); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := respoolotel.InstrumentMetrics(c, respoolotel.WithMeterProvider(mp)); err != nil {
		fmt.Println(err)
		return
	}

	c.Set(ctx, "greeting", "hello", 0)
	c.LPush(ctx, "greeting", "world") // WRONGTYPE: the key holds a string
	c.Pipelined(ctx, func(p *respool.Pipeline) error {
		p.Get(ctx, "greeting")
		p.Get(ctx, "other")
		return nil
	})

	for _, s := range spans.Ended() {
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		fmt.Printf("span %q status %s query %q error.type %q\n", s.Name(), s.Status().Code, attrs["db.query.text"], attrs["error.type"])
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		fmt.Println(err)
		return
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println("metric", n)
	}
	// Output:
	// span "SET" status Unset query "SET ? ?" error.type ""
	// span "LPUSH" status Error query "LPUSH ? ?" error.type "WRONGTYPE"
	// span "BATCH GET" status Unset query "GET ?; GET ?" error.type ""
	// metric db.client.connection.count
	// metric db.client.connection.max
	// metric db.client.connection.pending_requests
	// metric db.client.connection.timeouts
	// metric db.client.operation.duration
	// metric respool.pool.closed
	// metric respool.pool.dial_errors
	// metric respool.pool.dialing
	// metric respool.pool.dials
	// metric respool.pool.draining
	// metric respool.pool.drains
	// metric respool.pool.reauths
	// metric respool.pool.wait_time
	// metric respool.pool.waits
}
