package respoolotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the tracer and the meter.
const scope = "github.com/respool/respool/extra/respoolotel"

// Option configures InstrumentTracing and InstrumentMetrics.
type Option func(*config)

type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	queryText      func(args []any) string // nil: no db.query.text
	attrs          []attribute.KeyValue
}

func newConfig(opts []Option) *config {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.tracerProvider == nil {
		cfg.tracerProvider = otel.GetTracerProvider()
	}
	if cfg.meterProvider == nil {
		cfg.meterProvider = otel.GetMeterProvider()
	}
	return cfg
}

// WithTracerProvider makes spans with tp instead of the global
// TracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithMeterProvider records metrics with mp instead of the global
// MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProvider = mp }
}

// WithQueryText records db.query.text on spans: the command's name
// followed by one "?" for each argument ("SET ? ?"), so that neither keys
// nor values leave the process. Off by default.
func WithQueryText() Option {
	return func(c *config) { c.queryText = RedactedQueryText }
}

// WithQueryTextFunc records db.query.text on spans as f makes it from a
// command's arguments (the command's name first, as sent). f runs for
// every command: keep it cheap, and mind what it lets out of the process.
func WithQueryTextFunc(f func(args []any) string) Option {
	return func(c *config) { c.queryText = f }
}

// WithAttributes adds attrs to every span and to every measurement of
// the operation duration.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}
