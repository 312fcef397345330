package respoolotel

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// discardSpans is a span exporter that drops every span.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// BenchmarkGetParallel measures a GET from many goroutines without the
// hooks, with them on the no-op providers (the hooks' own cost), and with
// them on the SDK exporting nowhere (what a program that exports pays,
// less the network).
func BenchmarkGetParallel(b *testing.B) {
	srv := respooltest.StartServer(b)
	setup := respool.NewClient(&respool.Options{Addr: srv.Addr})
	if err := setup.Set(context.Background(), "bench", "0123456789abcdef", 0).Err(); err != nil {
		b.Fatal(err)
	}
	_ = setup.Close()
	for _, bc := range []struct {
		name string
		tp   func() (trace.TracerProvider, func())
		mp   func() (metric.MeterProvider, func())
	}{
		{name: "none"},
		{name: "noop",
			tp: func() (trace.TracerProvider, func()) { return tracenoop.NewTracerProvider(), func() {} },
			mp: func() (metric.MeterProvider, func()) { return metricnoop.NewMeterProvider(), func() {} }},
		{name: "sdk",
			tp: func() (trace.TracerProvider, func()) {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
				return tp, func() { _ = tp.Shutdown(context.Background()) }
			},
			mp: func() (metric.MeterProvider, func()) {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				return mp, func() { _ = mp.Shutdown(context.Background()) }
			}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := respool.NewClient(&respool.Options{Addr: srv.Addr})
			defer c.Close()
			if bc.tp != nil {
				tp, stopT := bc.tp()
				defer stopT()
				mp, stopM := bc.mp()
				defer stopM()
				if err := InstrumentTracing(c, WithTracerProvider(tp)); err != nil {
					b.Fatal(err)
				}
				if _, err := InstrumentMetrics(c, WithMeterProvider(mp)); err != nil {
					b.Fatal(err)
				}
			}
			b.SetParallelism(128)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := c.Get(ctx, "bench").Err(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
