package respoolotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/respool/respool"
)

// InstrumentTracing adds a hook to c that makes a span for each command,
// pipeline and transaction (see the package documentation). The span
// covers the whole call: waiting for a connection, retries and, for a
// ClusterClient, redirections. Spans are children of the span in the
// command's context, if any.
func InstrumentTracing(c Instrumentable, opts ...Option) error {
	cfg := newConfig(opts)
	h := &tracingHook{
		tracer:    cfg.tracerProvider.Tracer(scope),
		queryText: cfg.queryText,
		base:      baseAttrs(c, cfg.attrs),
	}
	c.AddHook(respool.Hook{Process: h.process, ProcessPipeline: h.processPipeline})
	return nil
}

type tracingHook struct {
	tracer    trace.Tracer
	base      []attribute.KeyValue // the client's attributes
	queryText func([]any) string
	names     opNames
	starts    cache[string, []trace.SpanStartOption] // by operation
}

// startOptions returns the options of the span of a single command op:
// its kind and attributes, made once per operation.
func (h *tracingHook) startOptions(op string) []trace.SpanStartOption {
	return h.starts.get(op, func(op string) []trace.SpanStartOption {
		return h.spanOptions(keyOperation.String(op))
	})
}

// spanOptions returns the options of a span with the client's attributes
// and attrs.
func (h *tracingHook) spanOptions(attrs ...attribute.KeyValue) []trace.SpanStartOption {
	all := append(append([]attribute.KeyValue(nil), h.base...), attrs...)
	return []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(all...)}
}

func (h *tracingHook) process(next respool.ProcessFunc) respool.ProcessFunc {
	return func(ctx context.Context, cmd respool.Cmder) error {
		op := h.names.of(cmd.Name())
		ctx, span := h.tracer.Start(ctx, op, h.startOptions(op)...)
		if h.queryText != nil && span.IsRecording() {
			span.SetAttributes(keyQueryText.String(h.queryText(cmd.Args())))
		}
		err := next(ctx, cmd)
		endSpan(span, cmd.Err())
		return err
	}
}

func (h *tracingHook) processPipeline(next respool.ProcessPipelineFunc) respool.ProcessPipelineFunc {
	return func(ctx context.Context, cmds []respool.Cmder) error {
		op, size := h.names.batchOperation(cmds)
		attrs := []attribute.KeyValue{keyOperation.String(op)}
		if size >= 2 || size == 0 {
			attrs = append(attrs, keyBatchSize.Int(size))
		}
		ctx, span := h.tracer.Start(ctx, op, h.spanOptions(attrs...)...)
		if h.queryText != nil && span.IsRecording() {
			span.SetAttributes(keyQueryText.String(batchQueryText(h.queryText, cmds)))
		}
		err := next(ctx, cmds)
		endSpan(span, firstFailure(cmds, err))
		return err
	}
}

// endSpan ends span, as an error when err is a failure.
func endSpan(span trace.Span, err error) {
	if f, failed := failureOf(err); failed {
		span.SetAttributes(f.attrs()...)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
