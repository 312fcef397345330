package respoolprom

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

// gather gathers reg, by metric name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// labelsOf returns a metric's labels.
func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, lp := range m.GetLabel() {
		l[lp.GetName()] = lp.GetValue()
	}
	return l
}

// value returns the value of the metric of family name whose labels
// include want; it fails the test when there is none.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range mf.GetMetric() {
		l := labelsOf(m)
		match := true
		for k, v := range want {
			if l[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("%s: no metric with labels %v", name, want)
	return 0
}

func TestCollectorClient(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := testContext(t)
	c := respool.NewClient(&respool.Options{Addr: srv.Addr, Exclusive: true, PoolSize: 3})
	defer c.Close()
	col := NewCollector(c, WithConstLabels(prometheus.Labels{"client": "cache"}))
	c.AddHook(col.Hook())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)

	mfs := gather(t, reg)
	addr := map[string]string{"addr": srv.Addr, "client": "cache"}
	for _, name := range []string{"respool_pool_open_connections", "respool_pool_idle_connections", "respool_pool_in_use_connections",
		"respool_pool_dialing_connections", "respool_pool_waiting_gets", "respool_pool_hits_total", "respool_pool_misses_total",
		"respool_pool_waits_total", "respool_pool_wait_seconds_total", "respool_pool_timeouts_total", "respool_pool_dial_errors_total",
		"respool_pool_reauths_total", "respool_pool_draining_connections"} {
		if v := value(t, mfs, name, addr); v != 0 {
			t.Errorf("%s = %v before any command, want 0", name, v)
		}
	}
	if v := value(t, mfs, "respool_pool_max_connections", addr); v != 3 {
		t.Fatalf("respool_pool_max_connections = %v, want the PoolSize 3", v)
	}
	if _, ok := mfs["respool_command_duration_seconds"]; ok {
		t.Fatal("a duration before any command")
	}

	// Two connections taken, one given back, one closed as unusable.
	a, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mfs = gather(t, reg)
	if o, u := value(t, mfs, "respool_pool_open_connections", addr), value(t, mfs, "respool_pool_in_use_connections", addr); o != 2 || u != 2 {
		t.Fatalf("with two connections taken: %v open, %v in use", o, u)
	}
	if v := value(t, mfs, "respool_pool_dials_total", map[string]string{"addr": srv.Addr, "reason": "get"}); v != 2 {
		t.Fatalf("respool_pool_dials_total{reason=get} = %v, want 2", v)
	}
	c.Pool().Put(a)
	_ = b.Close()
	c.Pool().Put(b)

	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "missing").Err(); !errors.Is(err, respool.Nil) {
		t.Fatal(err)
	}
	if err := c.LPush(ctx, "k", "x").Err(); err == nil {
		t.Fatal("LPUSH on a string succeeded")
	}
	if _, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		p.Get(ctx, "k")
		p.Get(ctx, "k")
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	mfs = gather(t, reg)
	if o, i := value(t, mfs, "respool_pool_open_connections", addr), value(t, mfs, "respool_pool_idle_connections", addr); o != 1 || i != 1 {
		t.Fatalf("after the commands: %v open, %v idle; want 1 and 1", o, i)
	}
	if v := value(t, mfs, "respool_pool_closed_total", map[string]string{"addr": srv.Addr, "reason": "unusable"}); v != 1 {
		t.Fatalf("respool_pool_closed_total{reason=unusable} = %v, want 1", v)
	}
	if v := value(t, mfs, "respool_pool_hits_total", addr); v != 4 {
		t.Fatalf("respool_pool_hits_total = %v, want 4 (SET, GET, LPUSH, the pipeline)", v)
	}
	for _, want := range []struct {
		command, outcome string
	}{{"SET", "ok"}, {"GET", "ok"}, {"LPUSH", "rejected"}, {"BATCH GET", "ok"}} {
		if n := value(t, mfs, "respool_command_duration_seconds", map[string]string{"command": want.command, "outcome": want.outcome, "client": "cache"}); n != 1 {
			t.Errorf("respool_command_duration_seconds{command=%q,outcome=%q} counted %v, want 1", want.command, want.outcome, n)
		}
	}
	if n := len(mfs["respool_command_duration_seconds"].GetMetric()); n != 4 {
		t.Errorf("%d duration series, want 4", n)
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
	mfs = gather(t, reg)
	if v := value(t, mfs, "respool_pool_draining_connections", addr); v != 1 {
		t.Fatalf("respool_pool_draining_connections = %v, want 1", v)
	}
	if v := value(t, mfs, "respool_pool_drains_total", map[string]string{"addr": srv.Addr, "result": "failed"}); v != 0 {
		t.Fatalf("respool_pool_drains_total{result=failed} = %v, want 0", v)
	}

	// Close closes the one connection, idle once drained (or stops its
	// drain).
	_ = c.Close()
	mfs = gather(t, reg)
	if v := value(t, mfs, "respool_pool_closed_total", map[string]string{"addr": srv.Addr, "reason": "pool_closed"}); v != 1 {
		t.Fatalf("respool_pool_closed_total{reason=pool_closed} = %v after Close, want 1", v)
	}
	if v := value(t, mfs, "respool_pool_open_connections", addr); v != 0 {
		t.Fatalf("respool_pool_open_connections = %v after Close", v)
	}
}

// TestCollectorCluster checks that a ClusterClient's collector reports
// every node's pool.
func TestCollectorCluster(t *testing.T) {
	cl := respooltest.StartCluster(t)
	ctx := testContext(t)
	c := respool.NewClusterClient(&respool.ClusterOptions{Addrs: cl.Addrs()[:1], Options: respool.Options{Exclusive: true}})
	defer c.Close()
	col := NewCollector(c)
	c.AddHook(col.Hook())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	for i := range 30 {
		if err := c.Set(ctx, "spread:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	mfs := gather(t, reg)
	addrs := map[string]bool{}
	for _, m := range mfs["respool_pool_max_connections"].GetMetric() {
		addrs[labelsOf(m)["addr"]] = true
	}
	if len(addrs) != 6 {
		t.Fatalf("pools of %d nodes reported, want 6: %v", len(addrs), addrs)
	}
	for _, p := range cl.Primaries(t) {
		if v := value(t, mfs, "respool_pool_idle_connections", map[string]string{"addr": p.Addr}); v < 1 {
			t.Errorf("primary %s: %v idle connections, want its connection", p.Addr, v)
		}
	}
	if n := value(t, mfs, "respool_command_duration_seconds", map[string]string{"command": "SET", "outcome": "ok"}); n != 30 {
		t.Fatalf("%v SETs timed, want 30", n)
	}
}

func TestNewCollectorRefusesOtherTypes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewCollector of a string did not panic")
		}
	}()
	NewCollector("127.0.0.1:6379")
}

// TestCollectorFailover checks that a FailoverClient's collector reports
// its primary's pool, under the name the sentinels monitor it by.
func TestCollectorFailover(t *testing.T) {
	set := respooltest.StartSentinel(t)
	ctx := testContext(t)
	c := respool.NewFailoverClient(&respool.FailoverOptions{MasterName: "mymaster", SentinelAddrs: set.Addrs()})
	defer c.Close()
	col := NewCollector(c)
	c.AddHook(col.Hook())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	for i := range 5 {
		if err := c.Set(ctx, "failover:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	mfs := gather(t, reg)
	if v := value(t, mfs, "respool_pool_open_connections", map[string]string{"addr": "mymaster"}); v < 1 {
		t.Fatalf("respool_pool_open_connections = %v, want the primary's connection", v)
	}
	if n := value(t, mfs, "respool_command_duration_seconds", map[string]string{"command": "SET", "outcome": "ok"}); n != 5 {
		t.Fatalf("%v SETs timed, want 5", n)
	}
}
