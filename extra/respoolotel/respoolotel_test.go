package respoolotel

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a safety net
	t.Cleanup(cancel)
	return ctx
}

// spanAttrs returns a span's attributes as text, by key.
func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// wantSpan fails the test unless s has name, kind CLIENT, status code and
// every attribute of want ("-" asks that the attribute be absent).
func wantSpan(t *testing.T, s sdktrace.ReadOnlySpan, name string, code codes.Code, want map[string]string) {
	t.Helper()
	if s.Name() != name || s.SpanKind() != trace.SpanKindClient || s.Status().Code != code {
		t.Errorf("span %q kind %v status %v, want %q CLIENT %v", s.Name(), s.SpanKind(), s.Status(), name, code)
	}
	got := spanAttrs(s)
	for k, v := range want {
		g, ok := got[k]
		switch {
		case v == "-" && ok:
			t.Errorf("span %q: attribute %s = %q, want none", s.Name(), k, g)
		case v != "-" && (!ok || g != v):
			t.Errorf("span %q: attribute %s = %q (present %v), want %q; all: %v", s.Name(), k, g, ok, v, got)
		}
	}
}

func TestTracing(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := testContext(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	c := respool.NewClient(&respool.Options{Addr: srv.Addr, DB: 3})
	defer c.Close()
	if err := InstrumentTracing(c, WithTracerProvider(tp), WithQueryText()); err != nil {
		t.Fatal(err)
	}
	common := map[string]string{
		"db.system.name": "redis", "db.namespace": "3", "server.address": "127.0.0.1",
		"server.port": strconv.Itoa(srv.Port),
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	parentCtx, parent := tp.Tracer("test").Start(ctx, "request")
	if err := c.Set(parentCtx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "missing").Err(); !errors.Is(err, respool.Nil) {
		t.Fatal(err)
	}
	if _, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		p.Get(ctx, "greeting")
		p.Get(ctx, "missing")
		return nil
	}); err != nil && !errors.Is(err, respool.Nil) {
		t.Fatal(err)
	}
	if _, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		p.Set(ctx, "n", "1", 0)
		p.Incr(ctx, "n")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TxPipelined(ctx, func(p *respool.Pipeline) error {
		p.Incr(ctx, "n")
		p.Incr(ctx, "n")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := c.LPush(ctx, "greeting", "x").Err()
	var se *respool.Error
	if !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("LPUSH on a string: %v", err)
	}
	if _, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		p.Get(ctx, "greeting")
		p.LPush(ctx, "greeting", "x")
		return nil
	}); !errors.As(err, &se) {
		t.Fatalf("a pipeline with a WRONGTYPE: %v", err)
	}
	parent.End()
	_ = c.Close()
	if err := c.Ping(ctx).Err(); !errors.Is(err, respool.ErrClosed) {
		t.Fatal(err)
	}

	spans := rec.Ended()
	if len(spans) != 9 {
		names := make([]string, len(spans))
		for i, s := range spans {
			names[i] = s.Name()
		}
		t.Fatalf("%d spans %q, want 9", len(spans), names)
	}
	wantSpan(t, spans[0], "SET", codes.Unset, with("db.operation.name", "SET", "db.query.text", "SET ? ?", "error.type", "-", "db.operation.batch.size", "-"))
	if spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the SET span is not a child of the caller's span")
	}
	wantSpan(t, spans[1], "GET", codes.Unset, with("db.operation.name", "GET", "db.query.text", "GET ?", "error.type", "-"))
	wantSpan(t, spans[2], "BATCH GET", codes.Unset, with("db.operation.name", "BATCH GET", "db.operation.batch.size", "2", "db.query.text", "GET ?; GET ?"))
	wantSpan(t, spans[3], "BATCH", codes.Unset, with("db.operation.name", "BATCH", "db.operation.batch.size", "2", "db.query.text", "SET ? ?; INCR ?"))
	wantSpan(t, spans[4], "MULTI", codes.Unset, with("db.operation.name", "MULTI", "db.operation.batch.size", "2", "db.query.text", "MULTI; INCR ?; INCR ?; EXEC"))
	wantSpan(t, spans[5], "LPUSH", codes.Error, with("db.operation.name", "LPUSH", "error.type", "WRONGTYPE",
		"db.response.status_code", "WRONGTYPE", "respool.outcome", "rejected", "db.query.text", "LPUSH ? ?"))
	if !strings.HasPrefix(spans[5].Status().Description, "WRONGTYPE") {
		t.Errorf("the failed span's description: %q", spans[5].Status().Description)
	}
	wantSpan(t, spans[6], "BATCH", codes.Error, with("error.type", "WRONGTYPE", "respool.outcome", "rejected", "db.operation.batch.size", "2"))
	if spans[7].Name() != "request" {
		t.Errorf("span 7 is %q, want the caller's", spans[7].Name())
	}
	wantSpan(t, spans[8], "PING", codes.Error, with("respool.outcome", "not sent", "db.response.status_code", "-"))
}

// TestTracingQueryTextOff checks that db.query.text is off by default.
func TestTracingQueryTextOff(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := testContext(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	c := respool.NewClient(&respool.Options{Addr: srv.Addr})
	defer c.Close()
	if err := InstrumentTracing(c, WithTracerProvider(tp), WithAttributes(attribute.String("service.part", "cart"))); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "secret-key", "secret-value", 0).Err(); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	wantSpan(t, spans[0], "SET", codes.Unset, map[string]string{"db.query.text": "-", "service.part": "cart", "db.namespace": "0"})
}

// collect reads the meter's metrics, by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// intPoint returns the value of the data point of an integer metric whose
// attributes include every key and value of attrs.
func intPoint(t *testing.T, m metricdata.Metrics, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var points []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		points = d.DataPoints
	case metricdata.Gauge[int64]:
		points = d.DataPoints
	default:
		t.Fatalf("%s: data %T", m.Name, m.Data)
	}
	for _, p := range points {
		if hasAll(p.Attributes, attrs) {
			return p.Value
		}
	}
	t.Fatalf("%s: no data point with %v", m.Name, attrs)
	return 0
}

func hasAll(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func TestMetrics(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := testContext(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	c := respool.NewClient(&respool.Options{Addr: srv.Addr, Exclusive: true, PoolSize: 3, DB: 1})
	defer c.Close()
	reg, err := InstrumentMetrics(c, WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	pool := attribute.String("db.client.connection.pool.name", srv.Addr+"/1")
	idle := []attribute.KeyValue{pool, attribute.String("db.client.connection.state", "idle")}
	used := []attribute.KeyValue{pool, attribute.String("db.client.connection.state", "used")}

	m := collect(t, reader)
	if intPoint(t, m["db.client.connection.count"], idle...) != 0 || intPoint(t, m["db.client.connection.count"], used...) != 0 {
		t.Fatal("connections counted before any was opened")
	}
	if n := intPoint(t, m["db.client.connection.max"], pool, attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", srv.Port)); n != 3 {
		t.Fatalf("db.client.connection.max = %d, want the PoolSize 3", n)
	}

	// Two connections taken: in use. One back: idle.
	a, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m = collect(t, reader)
	if i, u := intPoint(t, m["db.client.connection.count"], idle...), intPoint(t, m["db.client.connection.count"], used...); i != 0 || u != 2 {
		t.Fatalf("with two connections taken: %d idle, %d used", i, u)
	}
	if n := intPoint(t, m["respool.pool.dials"], pool, attribute.String("respool.dial.reason", "get")); n != 2 {
		t.Fatalf("%d dials for Gets, want 2", n)
	}
	c.Pool().Put(a)
	_ = b.Close() // broken: closed when it comes back
	c.Pool().Put(b)
	m = collect(t, reader)
	if i, u := intPoint(t, m["db.client.connection.count"], idle...), intPoint(t, m["db.client.connection.count"], used...); i != 1 || u != 0 {
		t.Fatalf("with both given back: %d idle, %d used", i, u)
	}
	if n := intPoint(t, m["respool.pool.closed"], pool, attribute.String("respool.close.reason", "unusable")); n != 1 {
		t.Fatalf("%d connections closed as unusable, want 1", n)
	}

	// A read that timed out while the server sleeps: the connection is
	// drained of the late reply, not closed, and counted as draining.
	d, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err = d.Do(short, "DEBUG", "SLEEP", "0.1")
	cancel()
	if err == nil {
		t.Fatal("DEBUG SLEEP 0.1 within 20ms succeeded")
	}
	c.Pool().Put(d)
	m = collect(t, reader)
	if n := intPoint(t, m["respool.pool.draining"], pool); n != 1 {
		t.Fatalf("%d connections draining, want 1", n)
	}
	if n := intPoint(t, m["respool.pool.drains"], pool, attribute.String("respool.drain.result", "failed")); n != 0 {
		t.Fatalf("%d drains failed, want 0", n)
	}

	// Durations: one GET, one failed LPUSH.
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.LPush(ctx, "k", "x").Err(); err == nil {
		t.Fatal("LPUSH on a string succeeded")
	}
	m = collect(t, reader)
	hist, ok := m["db.client.operation.duration"].Data.(metricdata.Histogram[float64])
	if !ok || m["db.client.operation.duration"].Unit != "s" {
		t.Fatalf("db.client.operation.duration: %+v", m["db.client.operation.duration"])
	}
	counts := map[string]uint64{}
	for _, p := range hist.DataPoints {
		op, _ := p.Attributes.Value("db.operation.name")
		et, _ := p.Attributes.Value("error.type")
		ns, _ := p.Attributes.Value("db.namespace")
		if ns.AsString() != "1" {
			t.Errorf("a duration with db.namespace %q", ns.AsString())
		}
		counts[op.AsString()+"/"+et.AsString()] += p.Count
	}
	if counts["SET/"] != 1 || counts["LPUSH/WRONGTYPE"] != 1 || len(counts) != 2 {
		t.Fatalf("durations recorded: %v, want one SET and one LPUSH failed with WRONGTYPE", counts)
	}

	// Closing the client closes the idle connections (the drained one
	// too, or its drain if still running); after Unregister the pool is
	// no longer observed.
	_ = c.Close()
	m = collect(t, reader)
	if n := intPoint(t, m["respool.pool.closed"], pool, attribute.String("respool.close.reason", "pool_closed")); n != 2 {
		t.Fatalf("%d connections closed with the pool, want 2", n)
	}
	if i := intPoint(t, m["db.client.connection.count"], idle...); i != 0 {
		t.Fatalf("%d idle connections after Close", i)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if _, ok := collect(t, reader)["db.client.connection.count"]; ok {
		t.Fatal("the pool is still observed after Unregister")
	}
}

// TestMetricsCluster checks that a ClusterClient reports the pool of each
// node it uses.
func TestMetricsCluster(t *testing.T) {
	cl := respooltest.StartCluster(t)
	ctx := testContext(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	c := respool.NewClusterClient(&respool.ClusterOptions{Addrs: cl.Addrs()[:1], Options: respool.Options{Exclusive: true}})
	defer c.Close()
	if _, err := InstrumentMetrics(c, WithMeterProvider(mp)); err != nil {
		t.Fatal(err)
	}
	if err := InstrumentTracing(c, WithTracerProvider(tp)); err != nil {
		t.Fatal(err)
	}
	// Keys on every primary: each primary's pool gets a connection.
	for i := range 30 {
		if err := c.Set(ctx, "spread:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m := collect(t, reader)
	count, ok := m["db.client.connection.count"].Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("db.client.connection.count: %+v", m["db.client.connection.count"])
	}
	withIdle := map[string]bool{}
	pools := map[string]bool{}
	for _, p := range count.DataPoints {
		name, _ := p.Attributes.Value("db.client.connection.pool.name")
		state, _ := p.Attributes.Value("db.client.connection.state")
		pools[name.AsString()] = true
		if state.AsString() == "idle" && p.Value > 0 {
			withIdle[name.AsString()] = true
		}
	}
	primaries := cl.Primaries(t)
	for _, p := range primaries {
		if !withIdle[p.Addr+"/0"] {
			t.Errorf("no idle connection reported for primary %s; pools with one: %v", p.Addr, withIdle)
		}
	}
	if len(pools) != 6 {
		t.Errorf("%d pools reported, want the 6 nodes': %v", len(pools), pools)
	}
	spans := rec.Ended()
	if len(spans) != 30 {
		t.Fatalf("%d spans, want 30", len(spans))
	}
	wantSpan(t, spans[0], "SET", codes.Unset, map[string]string{"db.system.name": "redis", "db.namespace": "0", "server.address": "-"})
}

// TestFailoverClient checks that a FailoverClient's commands are traced
// and its primary's pool observed.
func TestFailoverClient(t *testing.T) {
	set := respooltest.StartSentinel(t)
	ctx := testContext(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	c := respool.NewFailoverClient(&respool.FailoverOptions{MasterName: "mymaster", SentinelAddrs: set.Addrs()})
	defer c.Close()
	if _, err := InstrumentMetrics(c, WithMeterProvider(mp)); err != nil {
		t.Fatal(err)
	}
	if err := InstrumentTracing(c, WithTracerProvider(tp)); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "failover", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	wantSpan(t, spans[0], "SET", codes.Unset, map[string]string{"db.system.name": "redis", "db.namespace": "0", "server.address": "-"})
	count, ok := collect(t, reader)["db.client.connection.count"].Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatal("no db.client.connection.count")
	}
	var open int64
	for _, p := range count.DataPoints {
		if name, _ := p.Attributes.Value("db.client.connection.pool.name"); name.AsString() == "mymaster/0" {
			open += p.Value
		}
	}
	if open < 1 {
		t.Fatalf("%d connections observed in pool mymaster/0, want the primary's: %+v", open, count.DataPoints)
	}
}
