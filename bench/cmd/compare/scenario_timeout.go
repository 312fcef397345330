package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/respool/respool"
)

// The timeout scenario: about 1% of commands time out, and the question
// is what each client pays for it. Every client has its read timeout set
// to timeoutRead (respool ReadTimeout, go-redis ReadTimeout, redigo
// DialReadTimeout; rueidis, which has none for pipelined replies, gets a
// context deadline on every call) and its retries off, so every read that
// times out is a call that fails. A staller in the worker process, on a
// connection of its own, stalls the server with DEBUG SLEEP for
// timeoutStall every timeoutEvery completed calls. New connections are
// counted by the server (INFO stats total_connections_received at the
// window's edges), so every client is counted the same way.

// opTimeoutGet is the operation of the timeout scenario: one GET on a
// client whose read timeout is short, while the server stalls now and
// then. It sits outside the opKind list of scenario.go on purpose, so
// that this scenario lives in files of its own.
const opTimeoutGet opKind = 100

const (
	timeoutRead = 10 * time.Millisecond // every client's read timeout
	// timeoutStall is each DEBUG SLEEP: well over timeoutRead, since a
	// client may let a read timeout fire late (respool up to half of it).
	timeoutStall = 25 * time.Millisecond
	// timeoutPerMille is the share of calls, per 1,000, that should time
	// out (see timeoutEvery).
	timeoutPerMille = 10
)

func init() {
	scenarios = append(scenarios, scenario{
		name:  "timeout1pct",
		title: fmt.Sprintf("GET, 8 goroutines, read timeout %s, ~1%% of calls timed out by %s server stalls", timeoutRead, timeoutStall),
		kind:  opTimeoutGet, goroutines: 8, valueSize: size16, noReference: true,
	})
}

// isTimeoutScenario reports whether s is the timeout scenario.
func isTimeoutScenario(s scenario) bool { return s.kind == opTimeoutGet }

// newScenarioRunner builds the named client for s: with the read timeout
// and no retries in the timeout scenario, with the defaults otherwise.
func newScenarioRunner(name string, s scenario, opt runnerOptions) (runner, error) {
	if !isTimeoutScenario(s) {
		return newRunner(name, opt)
	}
	switch name {
	case "respool", "respool-exclusive":
		c := respool.NewClient(&respool.Options{Addr: opt.addr, Exclusive: name == "respool-exclusive",
			ReadTimeout: timeoutRead, MaxRetries: -1})
		return &respoolRunner{client: c, single: c}, nil
	case "goredis", "goredis-auto":
		c := goredis.NewClient(&goredis.Options{Addr: opt.addr, ReadTimeout: timeoutRead, MaxRetries: -1})
		return goRedisRunnerOf(c, name == "goredis-auto")
	case "redigo":
		p := &redigo.Pool{
			MaxIdle: opt.goroutines,
			Dial: func() (redigo.Conn, error) {
				return redigo.Dial("tcp", opt.addr, redigo.DialReadTimeout(timeoutRead))
			},
		}
		return &redigoRunner{pool: p}, nil
	case "rueidis":
		// rueidis has no read timeout for pipelined replies (its
		// ConnWriteTimeout bounds writes and a background PING, and lets
		// a 25ms stall pass): a context deadline is its way to bound a
		// call.
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{opt.addr}, DisableRetry: true})
		if err != nil {
			return nil, err
		}
		return deadlineRunner{runner: &rueidisRunner{client: c}, d: timeoutRead}, nil
	}
	return nil, fmt.Errorf("compare: client %q has no configuration for %s", name, s.name)
}

// deadlineRunner gives every GET a context deadline of d: the timeout
// scenario's read timeout, for a library that bounds a call by its
// context only.
type deadlineRunner struct {
	runner
	d time.Duration
}

func (r deadlineRunner) get(ctx context.Context, key string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.d)
	defer cancel()
	return r.runner.get(ctx, key)
}

// timeoutRun is the worker's side of the timeout scenario: the staller,
// the timeout counters and the server's connection count at the window's
// edges. A nil *timeoutRun (every other scenario) does nothing.
type timeoutRun struct {
	stall *rawConn // the staller's connection
	info  *rawConn // reads INFO at the window's edges

	window atomic.Int64 // calls that timed out in the window
	stalls atomic.Int64 // DEBUG SLEEPs in the window
	warm   atomic.Int64 // DEBUG SLEEPs before the window
	phase  *atomic.Int32

	conns0 int64
	// stats, for respool, reads its pool's drain counters; stats0 is
	// their value as the window opened.
	stats  func() respool.PoolStats
	stats0 respool.PoolStats
	stop   chan struct{}
	done   chan error
}

// startTimeoutRun starts the staller for the timeout scenario, whose
// goroutines count their completed calls in slots; nil for any other
// scenario.
func startTimeoutRun(s scenario, addr string, phase *atomic.Int32, slots []slot, r runner) (*timeoutRun, error) {
	if !isTimeoutScenario(s) {
		return nil, nil
	}
	ops := func() int64 {
		var n int64
		for i := range slots {
			n += slots[i].ops.Load()
		}
		return n
	}
	stall, err := dialRaw(addr)
	if err != nil {
		return nil, err
	}
	info, err := dialRaw(addr)
	if err != nil {
		stall.Close()
		return nil, err
	}
	t := &timeoutRun{stall: stall, info: info, phase: phase, stop: make(chan struct{}), done: make(chan error, 1)}
	if rr, ok := r.(*respoolRunner); ok && rr.single != nil {
		t.stats = rr.single.Pool().Stats
	}
	go func() { t.done <- t.staller(ops, s.goroutines) }()
	return t, nil
}

// staller stalls the server every timeoutEvery(goroutines) completed
// calls, until stop is closed.
func (t *timeoutRun) staller(ops func() int64, goroutines int) error {
	sleep := strconv.FormatFloat(timeoutStall.Seconds(), 'f', -1, 64)
	gap := timeoutEvery(goroutines)
	for {
		from := ops()
		for ops()-from < gap {
			select {
			case <-t.stop:
				return nil
			case <-time.After(time.Millisecond):
			}
		}
		if _, err := t.stall.do("DEBUG", "SLEEP", sleep); err != nil {
			return err
		}
		if t.phase.Load() == phaseMeasure {
			t.stalls.Add(1)
		} else {
			t.warm.Add(1)
		}
	}
}

// timeoutEvery is how many completed calls the staller lets pass between
// two stalls: the same for every client, so that each spends the same
// share of its calls stalled. A client whose reads time out exactly at
// timeoutRead loses two calls per goroutine to a stall (at 10 and 20 ms of
// the 25), so 99 calls per lost one make about 1% of calls time out; a
// client that lets a read timeout fire late loses fewer.
func timeoutEvery(goroutines int) int64 {
	return int64(1000/timeoutPerMille-1) * 2 * int64(goroutines)
}

// failed counts a call that failed.
func (t *timeoutRun) failed(ph int32) {
	if ph == phaseMeasure {
		t.window.Add(1)
	}
}

// timeoutWarmStalls is how many stalls the client goes through before its
// window opens, whatever the warm-up: a client that keeps connections
// aside while they drain grows its pool during the first stalls, once,
// and the window measures what each timeout costs afterwards.
const timeoutWarmStalls = 20

// windowStart waits for timeoutWarmStalls stalls (at most 30s), then
// notes the server's connection count as the window opens.
func (t *timeoutRun) windowStart() error {
	if t == nil {
		return nil
	}
	for give := time.Now().Add(30 * time.Second); t.warm.Load() < timeoutWarmStalls && time.Now().Before(give); {
		time.Sleep(time.Millisecond)
	}
	n, err := connectionsReceived(t.info)
	t.conns0 = n
	if t.stats != nil {
		t.stats0 = t.stats()
	}
	return err
}

// timeoutWindow is the timeout scenario's figures over the window.
type timeoutWindow struct {
	timeouts, newConns, stalls int64
	drains, drainFailures      int64 // respool's
}

// fill copies the figures into the worker's report.
func (w timeoutWindow) fill(res *workerResult) {
	res.Timeouts, res.NewConns, res.Stalls = w.timeouts, w.newConns, w.stalls
	res.Drains, res.DrainFailures = w.drains, w.drainFailures
}

// windowEnd returns the scenario's figures as the window closes; zero
// for any other scenario.
func (t *timeoutRun) windowEnd() (timeoutWindow, error) {
	if t == nil {
		return timeoutWindow{}, nil
	}
	n, err := connectionsReceived(t.info)
	w := timeoutWindow{timeouts: t.window.Load(), newConns: n - t.conns0, stalls: t.stalls.Load()}
	if t.stats != nil {
		st := t.stats()
		w.drains = int64(st.Drains - t.stats0.Drains)
		w.drainFailures = int64(st.DrainFailures - t.stats0.DrainFailures)
	}
	return w, err
}

// close stops the staller and closes its connections.
func (t *timeoutRun) close() error {
	if t == nil {
		return nil
	}
	close(t.stop)
	err := <-t.done
	t.stall.Close()
	t.info.Close()
	return err
}

// connectionsReceived reads total_connections_received from INFO stats.
func connectionsReceived(c *rawConn) (int64, error) {
	v, err := c.do("INFO", "stats")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(v.Text(), "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "total_connections_received:"); ok {
			return strconv.ParseInt(n, 10, 64)
		}
	}
	return 0, errors.New("compare: INFO stats has no total_connections_received")
}

// probeScenario is probe, tried up to 50 times in the timeout scenario,
// whose 10ms read timeout a loaded machine can exceed before any stall
// (the first call also dials and runs the handshake).
func (j *workerJob) probeScenario() error {
	err := j.probe()
	for try := 1; err != nil && isTimeoutScenario(j.s) && isTimeoutError(err) && try < 50; try++ {
		err = j.probe()
	}
	return err
}

// getFailed counts a GET that failed. In the timeout scenario it counts
// as timed out (the stalls are the only fault), and as an error too only
// when it failed otherwise than by a timeout, to be seen in the report;
// elsewhere it is an error.
func (j *workerJob) getFailed(sl *slot, ph int32, err error) {
	if j.timeouts != nil {
		j.timeouts.failed(ph)
		if isTimeoutError(err) {
			return
		}
	}
	sl.errors++
	j.fail.err(err)
}

// isTimeoutError reports an error caused by a deadline.
func isTimeoutError(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// addTimeoutFigures copies the timeout scenario's figures of a worker's
// report into the sample.
func (s *sample) addTimeoutFigures(res workerResult) {
	s.timeouts, s.newConns, s.stalls, s.windowOps = res.Timeouts, res.NewConns, res.Stalls, res.Ops
	s.drains, s.drainFailures = res.Drains, res.DrainFailures
}

// timeoutFigures are the medians of one client in the timeout scenario.
type timeoutFigures struct {
	ok                 bool
	opsPerSec          float64
	timeouts, newConns float64 // per window
	perMille           float64 // timeouts per 1,000 calls
	perThousand        float64 // new connections per 1,000 timeouts
	stalls             float64
	drains, failures   float64 // respool's drains started and failed
}

// timeoutCell returns the medians of client in the timeout scenario s.
func (r results) timeoutCell(s scenario, client string) timeoutFigures {
	ss := r[runKey{s.name, client}]
	if len(ss) == 0 {
		return timeoutFigures{}
	}
	return timeoutFigures{
		ok:        true,
		opsPerSec: median(ss, opsPerSec),
		timeouts:  median(ss, func(x sample) float64 { return float64(x.timeouts) }),
		newConns:  median(ss, func(x sample) float64 { return float64(x.newConns) }),
		stalls:    median(ss, func(x sample) float64 { return float64(x.stalls) }),
		drains:    median(ss, func(x sample) float64 { return float64(x.drains) }),
		failures:  median(ss, func(x sample) float64 { return float64(x.drainFailures) }),
		perMille: median(ss, func(x sample) float64 {
			return 1000 * float64(x.timeouts) / float64(x.timeouts+x.windowOps)
		}),
		perThousand: median(ss, func(x sample) float64 {
			if x.timeouts == 0 {
				return 0
			}
			return 1000 * float64(x.newConns) / float64(x.timeouts)
		}),
	}
}

// timeoutTargetMax is the most new connections per 1,000 timeouts the
// issue allows respool.
const timeoutTargetMax = 10

// timeoutTargets judges respool's new connections per 1,000 timeouts, in
// both modes.
func timeoutTargets(cfg *config, res results) []targetResult {
	var s scenario
	found := false
	for _, x := range cfg.scenarios {
		if isTimeoutScenario(x) {
			s, found = x, true
		}
	}
	var out []targetResult
	for _, c := range []string{"respool", "respool-exclusive"} {
		t := targetResult{target: fmt.Sprintf("timeout1pct: %s opens at most %d new connections per 1,000 timeouts", clientTitle(c), timeoutTargetMax)}
		x := res.timeoutCell(s, c)
		if !found || !x.ok {
			out = append(out, notMeasured(t))
			continue
		}
		t.measured = fmt.Sprintf("%.1f (%.0f new connections, %.0f timeouts)", x.perThousand, x.newConns, x.timeouts)
		t.state = verdict(x.timeouts > 0 && x.perThousand <= timeoutTargetMax)
		t.sentence = fmt.Sprintf("%s opened %.1f new connections per 1,000 timed-out calls (%.0f for %.0f timeouts in the window); the target is at most %d.",
			clientTitle(c), x.perThousand, x.newConns, x.timeouts, timeoutTargetMax)
		out = append(out, t)
	}
	return out
}

// renderTimeouts writes the timeout scenario's section of the report.
func (r *report) renderTimeouts(b *strings.Builder) {
	var s scenario
	found := false
	for _, x := range r.cfg.scenarios {
		if isTimeoutScenario(x) {
			s, found = x, true
		}
	}
	if !found {
		return
	}
	b.WriteString("## When commands time out\n\n")
	fmt.Fprintf(b, "Scenario `%s`: %d goroutines GET 16-byte values on a client whose read timeout is %s and whose retries are off: ", s.name, s.goroutines, timeoutRead)
	fmt.Fprintf(b, "respool `ReadTimeout`, go-redis `ReadTimeout`, redigo `DialReadTimeout`; rueidis has no read timeout for pipelined replies (its `ConnWriteTimeout` bounds writes and a background PING, and lets such a stall pass), so each of its calls gets a context deadline of %s instead. ", timeoutRead)
	fmt.Fprintf(b, "A staller in the worker process, on a connection of its own, stalls the server with `DEBUG SLEEP` for %s every %s completed calls, the same for every client: a client whose reads time out exactly at %s loses two calls per goroutine to each stall, about %d in 1,000 calls; one that lets a read timeout fire late (respool's may fire up to half of it late) loses fewer. ",
		timeoutStall, groupThousands(int(timeoutEvery(s.goroutines))), timeoutRead, timeoutPerMille)
	fmt.Fprintf(b, "The window opens after the warm-up and at least %d stalls, so that a pool that grows during the first stalls (respool Exclusive keeps a draining connection's slot, and the calls meanwhile use others) has grown. ", timeoutWarmStalls)
	b.WriteString("New connections are counted by the server (`INFO stats` `total_connections_received` at the window's edges), the same way for every client. Medians over the repetitions.\n\n")
	b.WriteString("| client | ops/s | timed-out calls | per 1,000 calls | stalls | new connections | new connections per 1,000 timeouts | drains (failed) |\n")
	b.WriteString("| --- | --: | --: | --: | --: | --: | --: | --: |\n")
	for _, c := range r.cfg.clients {
		x := r.res.timeoutCell(s, c.name)
		if !x.ok {
			continue
		}
		name := c.title
		if !c.peer {
			name = "**" + name + "**"
		}
		drains := "-"
		if !c.peer {
			drains = fmt.Sprintf("%.0f (%.0f)", x.drains, x.failures)
		}
		fmt.Fprintf(b, "| %s | %s | %.0f | %.1f | %.0f | %.0f | %.1f | %s |\n", name, formatRate(x.opsPerSec),
			x.timeouts, x.perMille, x.stalls, x.newConns, x.perThousand, drains)
	}
	b.WriteString("\nrespool drains instead of reconnecting: a pooled connection whose read timed out between two replies is read to the end of the replies it owes in the background, within `DrainTimeout` (default: the read timeout, but at least 1 s), and goes back to the pool; a shared connection hands the replies its callers were owed to a stand-in and keeps going. respool Exclusive's new connections, when it has any, are its pool growing: a draining connection keeps its slot, so the calls made meanwhile need others, and the pool grows up to `PoolSize` (20 here) over the first hundred or so stalls, once; after that a timeout costs it none. The last column counts respool's drains in the window (`PoolStats.Drains`: pooled connections drained, and stand-ins of shared ones) and those that did not end in time and closed their connection (`DrainFailures`). go-redis and redigo close the connection and dial a new one; go-redis's AutoPipeline loses the one connection a stall catches; rueidis, whose callers leave on their context and whose connection reads the late replies, keeps its connections too.\n\n")
}
