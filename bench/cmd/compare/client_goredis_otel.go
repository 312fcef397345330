package main

import (
	"context"

	"github.com/redis/go-redis/extra/redisotel/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newGoRedisOtelRunner is go-redis (a plain Client, whose hooks see every
// command: one span per command, as for respool) with redisotel's tracing
// and metrics installed on the same SDK set-up as respool-otel's: every
// span sampled and handed to a batch processor whose exporter drops it,
// every duration aggregated by a meter whose reader is never asked.
func newGoRedisOtelRunner(opt runnerOptions) (*goRedisRunner, error) {
	r, err := newGoRedisRunner(opt, false)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	r.shutdown = func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}
	if err := redisotel.InstrumentTracing(r.client, redisotel.WithTracerProvider(tp)); err != nil {
		_ = r.close()
		return nil, err
	}
	if err := redisotel.InstrumentMetrics(r.client, redisotel.WithMeterProvider(mp)); err != nil {
		_ = r.close()
		return nil, err
	}
	return r, nil
}
