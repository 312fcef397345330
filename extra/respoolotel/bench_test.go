package respoolotel

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
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
		{name: "sdk-sampled",
			tp: func() (trace.TracerProvider, func()) {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}),
					sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
				return tp, func() { _ = tp.Shutdown(context.Background()) }
			},
			mp: func() (metric.MeterProvider, func()) {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				return mp, func() { _ = mp.Shutdown(context.Background()) }
			}},
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

// BenchmarkSDKFloor measures what the OpenTelemetry SDK alone costs for
// one command, with no client and no server: starting and ending a span
// with the attributes respoolotel gives a GET, and recording its duration
// in a histogram, on the providers of BenchmarkGetParallel's sdk and
// sdk-sampled cases. No instrumentation of any client can cost less than
// this per command on the same providers.
func BenchmarkSDKFloor(b *testing.B) {
	attrs := append([]attribute.KeyValue{systemRedis, keyNamespace.String("0")}, serverAttrs("127.0.0.1:6379")...)
	attrs = append(attrs, keyOperation.String("GET"))
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler
	}{
		{"sampled-all", sdktrace.AlwaysSample()},
		{"sampled-1pct", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}), sdktrace.WithSampler(bc.sampler))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			defer func() { _ = mp.Shutdown(context.Background()) }()
			tracer := tp.Tracer(scope)
			hist, err := mp.Meter(scope).Float64Histogram("db.client.operation.duration")
			if err != nil {
				b.Fatal(err)
			}
			start := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
			record := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
			b.SetParallelism(128)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					_, span := tracer.Start(ctx, "GET", start...)
					span.End()
					hist.Record(ctx, 0.0001, record...)
				}
			})
		})
	}
}
