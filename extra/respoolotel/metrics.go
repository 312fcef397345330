package respoolotel

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/respool/respool"
)

// durationBuckets are the bucket boundaries, in seconds, that the
// conventions recommend for db.client.operation.duration.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// InstrumentMetrics adds a hook to c that records the duration of each
// command, pipeline and transaction, and registers callbacks that observe
// the figures of c's pools (a ClusterClient's: every node's; a FailoverClient's: the primary's) when the
// meter collects (see the package documentation). The Registration
// unregisters the callbacks; the hook stays, as hooks cannot be removed.
func InstrumentMetrics(c Instrumentable, opts ...Option) (metric.Registration, error) {
	cfg := newConfig(opts)
	meter := cfg.meterProvider.Meter(scope)
	duration, err := meter.Float64Histogram("db.client.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of database client operations: commands, pipelines and transactions."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	h := &metricsHook{duration: duration, base: baseAttrs(c, cfg.attrs)}
	c.AddHook(respool.Hook{Process: h.process, ProcessPipeline: h.processPipeline})

	pm := &poolMetrics{attrs: make(map[string]*poolAttrs)}
	switch c := c.(type) {
	case *respool.Client:
		pm.pools = func(context.Context) ([]poolFigures, error) {
			return []poolFigures{figuresOf(c)}, nil
		}
	case *respool.FailoverClient:
		// The pool of the primary, whichever server that is now.
		pm.pools = func(context.Context) ([]poolFigures, error) {
			return []poolFigures{figuresOf(c.Client)}, nil
		}
	case *respool.ClusterClient:
		pm.pools = func(ctx context.Context) ([]poolFigures, error) {
			var mu sync.Mutex
			var out []poolFigures
			err := c.ForEachNode(ctx, func(_ context.Context, node *respool.Client) error {
				f := figuresOf(node)
				mu.Lock()
				out = append(out, f)
				mu.Unlock()
				return nil
			})
			if errors.Is(err, respool.ErrClosed) {
				err = nil
			}
			return out, err
		}
	default:
		return noRegistration{}, nil
	}
	return pm.register(meter)
}

// noRegistration is the Registration of a client whose pools are unknown.
type noRegistration struct{ metric.Registration }

func (noRegistration) Unregister() error { return nil }

type metricsHook struct {
	duration metric.Float64Histogram
	base     []attribute.KeyValue
	names    opNames
	records  cache[durationKey, []metric.RecordOption]
}

// durationKey identifies the attributes of one measurement.
type durationKey struct {
	op      string
	failure failure
}

// options returns the attributes of a measurement of op that ended with
// err, made once for each operation and kind of failure (and passed on
// as a slice of their own, so that recording allocates nothing).
func (h *metricsHook) options(op string, err error) []metric.RecordOption {
	f, _ := failureOf(err)
	return h.records.get(durationKey{op: op, failure: f}, func(k durationKey) []metric.RecordOption {
		attrs := append(append([]attribute.KeyValue(nil), h.base...), keyOperation.String(k.op))
		if k.failure.errorType != "" {
			attrs = append(attrs, keyErrorType.String(k.failure.errorType))
			if k.failure.statusCode != "" {
				attrs = append(attrs, keyStatusCode.String(k.failure.statusCode))
			}
		}
		return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
	})
}

func (h *metricsHook) process(next respool.ProcessFunc) respool.ProcessFunc {
	return func(ctx context.Context, cmd respool.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.duration.Record(ctx, time.Since(start).Seconds(), h.options(h.names.of(cmd.Name()), cmd.Err())...)
		return err
	}
}

func (h *metricsHook) processPipeline(next respool.ProcessPipelineFunc) respool.ProcessPipelineFunc {
	return func(ctx context.Context, cmds []respool.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		op, _ := h.names.batchOperation(cmds)
		h.duration.Record(ctx, time.Since(start).Seconds(), h.options(op, firstFailure(cmds, err))...)
		return err
	}
}

// poolFigures is one pool's state, as a callback observes it.
type poolFigures struct {
	addr     string
	db       int
	poolSize int
	stats    respool.PoolStats
}

func figuresOf(c *respool.Client) poolFigures {
	opt := c.Pool().Options()
	return poolFigures{addr: opt.Addr, db: opt.DB, poolSize: opt.PoolSize, stats: c.Pool().Stats()}
}

// poolAttrs are the attributes of one pool's observations.
type poolAttrs struct {
	pool, idle, used metric.ObserveOption
	dials            [3]metric.ObserveOption // get, min_idle, shared
	closed           [6]metric.ObserveOption // in the order of closeReasons
	drains           [2]metric.ObserveOption // drained, failed
}

// closeReasons are the values of respool.close.reason.
var closeReasons = [6]string{"idle_timeout", "lifetime", "unusable", "health_check", "max_idle", "pool_closed"}

func newPoolAttrs(addr string, db int) *poolAttrs {
	base := append([]attribute.KeyValue{systemRedis, keyPoolName.String(addr + "/" + strconv.Itoa(db))}, serverAttrs(addr)...)
	with := func(kv ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue(nil), base...), kv...)...))
	}
	a := &poolAttrs{
		pool: with(),
		idle: with(keyConnState.String("idle")),
		used: with(keyConnState.String("used")),
	}
	for i, r := range [3]string{"get", "min_idle", "shared"} {
		a.dials[i] = with(keyDialReason.String(r))
	}
	for i, r := range closeReasons {
		a.closed[i] = with(keyCloseReason.String(r))
	}
	for i, r := range [2]string{"drained", "failed"} {
		a.drains[i] = with(keyDrainResult.String(r))
	}
	return a
}

// poolMetrics are the pool instruments of one client.
type poolMetrics struct {
	pools func(context.Context) ([]poolFigures, error)

	count, max, pending, dialing       metric.Int64ObservableUpDownCounter
	draining                           metric.Int64ObservableUpDownCounter
	timeouts, waits, dials, dialErrors metric.Int64ObservableCounter
	closed, reauths, drains            metric.Int64ObservableCounter
	waitTime                           metric.Float64ObservableCounter

	mu    sync.Mutex // guards attrs
	attrs map[string]*poolAttrs
}

func (pm *poolMetrics) register(meter metric.Meter) (metric.Registration, error) {
	var err error
	updown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		inst, e := meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		err = errors.Join(err, e)
		return inst
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		inst, e := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		err = errors.Join(err, e)
		return inst
	}
	pm.count = updown("db.client.connection.count", "{connection}", "Open connections of the pool, by state: idle or used.")
	pm.max = updown("db.client.connection.max", "{connection}", "The most connections the pool may open (PoolSize).")
	pm.pending = updown("db.client.connection.pending_requests", "{request}", "Gets waiting for a connection of the pool.")
	pm.dialing = updown("respool.pool.dialing", "{connection}", "Connections being dialled by the pool.")
	pm.timeouts = counter("db.client.connection.timeouts", "{timeout}", "Gets that timed out waiting for a connection (PoolTimeout).")
	pm.waits = counter("respool.pool.waits", "{wait}", "Gets that waited for a connection because the pool was busy.")
	pm.dials = counter("respool.pool.dials", "{dial}", "Dial attempts, by reason: get, min_idle or shared.")
	pm.dialErrors = counter("respool.pool.dial_errors", "{dial}", "Dial attempts that failed.")
	pm.closed = counter("respool.pool.closed", "{connection}", "Connections the pool closed, by reason.")
	pm.reauths = counter("respool.pool.reauths", "{connection}", "Connections that authenticated again after RotateCredentials.")
	pm.draining = updown("respool.pool.draining", "{connection}", "Connections being drained of the replies owed to a caller that timed out (counted as used).")
	pm.drains = counter("respool.pool.drains", "{drain}", "Drains ended, by result: drained (the connection reused) or failed (closed).")
	wt, e := meter.Float64ObservableCounter("respool.pool.wait_time", metric.WithUnit("s"),
		metric.WithDescription("Time Gets spent waiting for a connection, in total."))
	pm.waitTime, err = wt, errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(pm.observe, pm.count, pm.max, pm.pending, pm.dialing, pm.timeouts, pm.waits,
		pm.dials, pm.dialErrors, pm.closed, pm.reauths, pm.waitTime, pm.draining, pm.drains)
}

// attrsOf returns the attribute sets of the pool of addr and db.
func (pm *poolMetrics) attrsOf(addr string, db int) *poolAttrs {
	key := addr + "/" + strconv.Itoa(db)
	pm.mu.Lock()
	defer pm.mu.Unlock()
	a, ok := pm.attrs[key]
	if !ok {
		a = newPoolAttrs(addr, db)
		pm.attrs[key] = a
	}
	return a
}

func (pm *poolMetrics) observe(ctx context.Context, o metric.Observer) error {
	pools, err := pm.pools(ctx)
	for _, p := range pools {
		a := pm.attrsOf(p.addr, p.db)
		s := &p.stats
		o.ObserveInt64(pm.count, int64(s.Idle), a.idle)
		o.ObserveInt64(pm.count, int64(s.InUse), a.used)
		o.ObserveInt64(pm.max, int64(p.poolSize), a.pool)
		o.ObserveInt64(pm.pending, int64(s.Waiting), a.pool)
		o.ObserveInt64(pm.dialing, int64(s.Dialing), a.pool)
		o.ObserveInt64(pm.timeouts, int64(s.Timeouts), a.pool)
		o.ObserveInt64(pm.waits, int64(s.Waits), a.pool)
		o.ObserveFloat64(pm.waitTime, s.WaitTime.Seconds(), a.pool)
		o.ObserveInt64(pm.dials, int64(s.Dials-s.MinIdleDials-s.SharedDials), a.dials[0])
		o.ObserveInt64(pm.dials, int64(s.MinIdleDials), a.dials[1])
		o.ObserveInt64(pm.dials, int64(s.SharedDials), a.dials[2])
		o.ObserveInt64(pm.dialErrors, int64(s.DialErrors), a.pool)
		o.ObserveInt64(pm.reauths, int64(s.Reauths), a.pool)
		o.ObserveInt64(pm.draining, int64(s.Draining), a.pool)
		o.ObserveInt64(pm.drains, int64(s.Drained), a.drains[0])
		o.ObserveInt64(pm.drains, int64(s.DrainFailures), a.drains[1])
		for i, n := range closedByReason(s.Closed) {
			o.ObserveInt64(pm.closed, int64(n), a.closed[i])
		}
	}
	return err
}

// closedByReason returns the counts of c in the order of closeReasons.
func closedByReason(c respool.ClosedStats) [6]uint64 {
	return [6]uint64{c.IdleTimeout, c.Lifetime, c.Unusable, c.HealthCheck, c.MaxIdle, c.PoolClosed}
}
