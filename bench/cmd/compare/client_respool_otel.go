package main

import (
	"context"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/respool/respool/extra/respoolotel"
)

// newRespoolOtelRunner is the respool runner (the default, multiplexing
// Client) with respoolotel's tracing and metrics hooks installed, as a
// program that exports both would run it: every span is sampled, recorded
// and handed to a batch span processor, whose exporter drops it; every
// duration is aggregated by the meter, whose reader is never asked. What
// the row measures is the cost of the hooks and the SDK, not of a network
// exporter.
func newRespoolOtelRunner(opt runnerOptions) (*respoolRunner, error) {
	r := newRespoolRunner(opt, false)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	r.shutdown = func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}
	c := r.client
	if err := respoolotel.InstrumentTracing(c, respoolotel.WithTracerProvider(tp)); err != nil {
		r.shutdown()
		return nil, err
	}
	if _, err := respoolotel.InstrumentMetrics(c, respoolotel.WithMeterProvider(mp)); err != nil {
		r.shutdown()
		return nil, err
	}
	return r, nil
}

// discardSpans is a span exporter that drops every span.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }
