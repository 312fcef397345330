// Package respoolprom exports the figures of a respool client to
// Prometheus: a prometheus.Collector over the PoolStats of its pools (a
// ClusterClient's: every node's), and, through a hook, a histogram of the
// duration of its commands. It is a module of its own, so that the respool
// module keeps importing only the standard library.
//
//	c := respool.NewClient(&respool.Options{Addr: "127.0.0.1:6379"})
//	col := respoolprom.NewCollector(c)
//	c.AddHook(col.Hook()) // optional: command durations
//	prometheus.MustRegister(col)
//
// The metrics, each with the label addr (the server of the pool):
//
//	respool_pool_open_connections          gauge    connections open (idle + in use)
//	respool_pool_idle_connections          gauge    idle connections
//	respool_pool_in_use_connections        gauge    connections taken and not given back
//	respool_pool_dialing_connections       gauge    dials in flight
//	respool_pool_waiting_gets              gauge    Gets waiting for a connection
//	respool_pool_max_connections           gauge    PoolSize
//	respool_pool_hits_total                counter  Gets served by an idle connection
//	respool_pool_misses_total              counter  Gets served by a new connection
//	respool_pool_waits_total               counter  Gets that had to wait
//	respool_pool_wait_seconds_total        counter  the time they waited
//	respool_pool_timeouts_total            counter  Gets that failed with a pool timeout
//	respool_pool_dials_total               counter  dial attempts, by reason: get, min_idle, shared
//	respool_pool_dial_errors_total         counter  dial attempts that failed
//	respool_pool_closed_total              counter  connections closed, by reason: idle_timeout,
//	                                                lifetime, unusable, health_check, max_idle, pool_closed
//	respool_pool_reauths_total             counter  re-authentications after RotateCredentials
//	respool_pool_draining_connections      gauge    connections being drained of the replies owed to
//	                                                a caller that timed out (counted in use)
//	respool_pool_drains_total              counter  drains ended, by result: drained (reused), failed
//	                                                (closed)
//	respool_command_duration_seconds       histogram (with Hook) by command ("GET"; "BATCH GET" or
//	                                                "BATCH" for a pipeline, "MULTI" for a transaction)
//	                                                and outcome: ok, not_sent, rejected, unknown
//	                                                (respool.OutcomeOf; a null reply is ok)
package respoolprom

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/respool/respool"
)

// Option configures a Collector.
type Option func(*config)

type config struct {
	constLabels prometheus.Labels
	buckets     []float64
	timeout     time.Duration
}

// WithConstLabels adds labels to every metric, such as the name of the
// client when a program has several.
func WithConstLabels(l prometheus.Labels) Option {
	return func(c *config) { c.constLabels = l }
}

// WithBuckets sets the buckets of respool_command_duration_seconds, in
// seconds. The default is prometheus.DefBuckets.
func WithBuckets(b []float64) Option {
	return func(c *config) { c.buckets = b }
}

// WithClusterTimeout bounds how long a scrape of a ClusterClient waits for
// its slot map when it has none yet. Default 2s.
func WithClusterTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// pool is one pool's figures at a scrape.
type pool struct {
	addr     string
	poolSize int
	stats    respool.PoolStats
}

// Collector is a prometheus.Collector of a respool client's figures (see
// the package documentation). Create it with NewCollector.
type Collector struct {
	pools func() []pool

	open, idle, inUse, dialing, waiting, max          *prometheus.Desc
	hits, misses, waits, waitSeconds, timeouts, dials *prometheus.Desc
	dialErrors, closed, reauths                       *prometheus.Desc
	draining, drains                                  *prometheus.Desc

	duration *prometheus.HistogramVec

	names sync.Map // lower-case command name -> upper-case
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector of the pools of src: a
// *respool.Client's, a *respool.Pool, every node's of a
// *respool.ClusterClient, or the primary's of a *respool.FailoverClient. It panics on any other type. Register it with a
// prometheus.Registerer; add Hook to the client for command durations.
func NewCollector(src any, opts ...Option) *Collector {
	cfg := &config{buckets: prometheus.DefBuckets, timeout: 2 * time.Second}
	for _, o := range opts {
		o(cfg)
	}
	col := &Collector{}
	switch s := src.(type) {
	case *respool.Client:
		col.pools = func() []pool { return []pool{poolOf(s.Pool())} }
	case *respool.Pool:
		col.pools = func() []pool { return []pool{poolOf(s)} }
	case *respool.FailoverClient:
		// The pool of the primary, whichever server that is now.
		col.pools = func() []pool { return []pool{poolOf(s.Pool())} }
	case *respool.ClusterClient:
		col.pools = func() []pool {
			ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
			defer cancel()
			var mu sync.Mutex
			var out []pool
			_ = s.ForEachNode(ctx, func(_ context.Context, node *respool.Client) error {
				p := poolOf(node.Pool())
				mu.Lock()
				out = append(out, p)
				mu.Unlock()
				return nil
			})
			return out
		}
	default:
		panic(fmt.Sprintf("respoolprom: NewCollector of a %T: want a *respool.Client, *respool.ClusterClient, *respool.FailoverClient or *respool.Pool", src))
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("respool_pool_"+name, help, append([]string{"addr"}, labels...), cfg.constLabels)
	}
	col.open = desc("open_connections", "Connections open: idle and in use.")
	col.idle = desc("idle_connections", "Idle connections.")
	col.inUse = desc("in_use_connections", "Connections taken from the pool and not given back yet.")
	col.dialing = desc("dialing_connections", "New connections being dialled.")
	col.waiting = desc("waiting_gets", "Gets waiting for a connection because PoolSize are busy.")
	col.max = desc("max_connections", "The most connections the pool may open (PoolSize).")
	col.hits = desc("hits_total", "Gets served by an idle connection.")
	col.misses = desc("misses_total", "Gets served by a newly dialled connection.")
	col.waits = desc("waits_total", "Gets that waited for a connection.")
	col.waitSeconds = desc("wait_seconds_total", "Time Gets spent waiting for a connection.")
	col.timeouts = desc("timeouts_total", "Gets that failed with a pool timeout (PoolTimeout).")
	col.dials = desc("dials_total", "Dial attempts, by reason: get, min_idle, shared.", "reason")
	col.dialErrors = desc("dial_errors_total", "Dial attempts that failed.")
	col.closed = desc("closed_total", "Connections the pool closed, by reason.", "reason")
	col.reauths = desc("reauths_total", "Connections that authenticated again after RotateCredentials.")
	col.draining = desc("draining_connections", "Connections being drained of the replies owed to a caller that timed out (counted in use).")
	col.drains = desc("drains_total", "Drains ended, by result: drained (the connection reused) or failed (closed).", "result")
	col.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "respool_command_duration_seconds",
		Help:        "Duration of commands, pipelines and transactions, by command and outcome.",
		Buckets:     cfg.buckets,
		ConstLabels: cfg.constLabels,
	}, []string{"command", "outcome"})
	return col
}

func poolOf(p *respool.Pool) pool {
	opt := p.Options()
	return pool{addr: opt.Addr, poolSize: opt.PoolSize, stats: p.Stats()}
}

// Describe sends the descriptions of every metric.
func (col *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{col.open, col.idle, col.inUse, col.dialing, col.waiting, col.max,
		col.hits, col.misses, col.waits, col.waitSeconds, col.timeouts, col.dials, col.dialErrors, col.closed, col.reauths,
		col.draining, col.drains} {
		ch <- d
	}
	col.duration.Describe(ch)
}

// Collect reads the pools' figures and sends them, with the command
// durations.
func (col *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range col.pools() {
		s := &p.stats
		gauge := func(d *prometheus.Desc, v int, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), append([]string{p.addr}, labels...)...)
		}
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{p.addr}, labels...)...)
		}
		gauge(col.open, s.Open)
		gauge(col.idle, s.Idle)
		gauge(col.inUse, s.InUse)
		gauge(col.dialing, s.Dialing)
		gauge(col.waiting, s.Waiting)
		gauge(col.max, p.poolSize)
		counter(col.hits, s.Hits)
		counter(col.misses, s.Misses)
		counter(col.waits, s.Waits)
		ch <- prometheus.MustNewConstMetric(col.waitSeconds, prometheus.CounterValue, s.WaitTime.Seconds(), p.addr)
		counter(col.timeouts, s.Timeouts)
		counter(col.dials, s.Dials-s.MinIdleDials-s.SharedDials, "get")
		counter(col.dials, s.MinIdleDials, "min_idle")
		counter(col.dials, s.SharedDials, "shared")
		counter(col.dialErrors, s.DialErrors)
		counter(col.closed, s.Closed.IdleTimeout, "idle_timeout")
		counter(col.closed, s.Closed.Lifetime, "lifetime")
		counter(col.closed, s.Closed.Unusable, "unusable")
		counter(col.closed, s.Closed.HealthCheck, "health_check")
		counter(col.closed, s.Closed.MaxIdle, "max_idle")
		counter(col.closed, s.Closed.PoolClosed, "pool_closed")
		counter(col.reauths, s.Reauths)
		gauge(col.draining, s.Draining)
		counter(col.drains, s.Drained, "drained")
		counter(col.drains, s.DrainFailures, "failed")
	}
	col.duration.Collect(ch)
}

// Hook returns a hook that observes the duration of each command,
// pipeline and transaction of the client it is added to, into
// respool_command_duration_seconds. Add it to one client.
func (col *Collector) Hook() respool.Hook {
	return respool.Hook{
		Process: func(next respool.ProcessFunc) respool.ProcessFunc {
			return func(ctx context.Context, cmd respool.Cmder) error {
				start := time.Now()
				err := next(ctx, cmd)
				col.observe(col.command(cmd.Name()), cmd.Err(), start)
				return err
			}
		},
		ProcessPipeline: func(next respool.ProcessPipelineFunc) respool.ProcessPipelineFunc {
			return func(ctx context.Context, cmds []respool.Cmder) error {
				start := time.Now()
				err := next(ctx, cmds)
				col.observe(col.batchCommand(cmds), firstFailure(cmds, err), start)
				return err
			}
		},
	}
}

func (col *Collector) observe(command string, err error, start time.Time) {
	col.duration.WithLabelValues(command, outcomeLabel(err)).Observe(time.Since(start).Seconds())
}

// command returns the upper-case name of a command, made once per name.
func (col *Collector) command(name string) string {
	if c, ok := col.names.Load(name); ok {
		return c.(string)
	}
	c := strings.ToUpper(name)
	col.names.Store(name, c)
	return c
}

// batchCommand names a pipeline: "BATCH <command>" when all its commands
// are the same, "BATCH" otherwise, "MULTI" for a transaction, the command
// itself for a pipeline of one.
func (col *Collector) batchCommand(cmds []respool.Cmder) string {
	switch {
	case len(cmds) >= 2 && cmds[0].Name() == "multi" && cmds[len(cmds)-1].Name() == "exec":
		return "MULTI"
	case len(cmds) == 0:
		return "BATCH"
	case len(cmds) == 1:
		return col.command(cmds[0].Name())
	}
	for _, cmd := range cmds[1:] {
		if cmd.Name() != cmds[0].Name() {
			return "BATCH"
		}
	}
	return "BATCH " + col.command(cmds[0].Name())
}

// outcomeLabel is the outcome label of a command that ended with err.
func outcomeLabel(err error) string {
	if err == nil || errors.Is(err, respool.Nil) {
		return "ok"
	}
	switch respool.OutcomeOf(err) {
	case respool.OutcomeNotSent:
		return "not_sent"
	case respool.OutcomeRejected:
		return "rejected"
	}
	return "unknown"
}

// firstFailure returns the error of a pipeline: the first command's that
// failed, or the pipeline's own.
func firstFailure(cmds []respool.Cmder, err error) error {
	for _, cmd := range cmds {
		if e := cmd.Err(); e != nil && !errors.Is(e, respool.Nil) {
			return e
		}
	}
	return err
}
