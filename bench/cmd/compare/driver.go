package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/respool/respool/respooltest"
)

// config is the driver's parsed command line.
type config struct {
	clients   []clientInfo
	scenarios []scenario
	reps      int
	dur       time.Duration
	warmup    time.Duration
	tick      time.Duration // every worker keeps a runtime timer ticking at this period
	addr      string
	out       string
	plots     string
	quick     bool
	note      string
	reference bool
	refBin    string
	args      []string // the command line, for the report
}

// sample is one run of one client (or of redis-benchmark) as the report
// sees it.
type sample struct {
	opsPerSec   float64
	p50, p99    time.Duration
	cpuPerMOps  float64 // client CPU seconds per million operations
	bytesPerOp  float64
	allocsPerOp float64
	errors      int64
	wrong       int64
	verified    int // SET keys read back holding their writer's value
	firstError  string
	firstWrong  string
	reference   bool // redis-benchmark: no client CPU, memory or check figures

	// serverCPUPerMOps is the server's (the cluster's: all its nodes')
	// CPU seconds per million operations; NaN when its processes are
	// unknown.
	serverCPUPerMOps float64

	// The timeout scenario's figures over the window (scenario_timeout.go).
	timeouts, newConns, stalls, windowOps int64
	drains, drainFailures                 int64 // respool's
}

// runKey identifies the runs that one median is taken over.
type runKey struct{ scenario, client string }

// results holds every sample of a comparison.
type results map[runKey][]sample

func parseConfig(args []string) (*config, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	clients := fs.String("clients", "respool,respool-exclusive,respool-otel,respool-cache,goredis,goredis-auto,goredis-otel,redigo,rueidis,rueidis-cache", "comma-separated clients: respool (alias respool-mux), respool-exclusive, respool-otel, respool-cache, goredis-otel and rueidis-cache (only in their own rows), goredis, goredis-auto, redigo, rueidis")
	scens := fs.String("scenarios", "", "comma-separated scenarios (default: all, or the quick set with -quick): "+scenarioNames())
	cfg := &config{args: args}
	fs.BoolVar(&cfg.quick, "quick", false, "a short run for development: a few scenarios, 1 repetition, 1s windows (under 2 minutes)")
	fs.IntVar(&cfg.reps, "reps", 3, "repetitions per client and scenario; the report gives medians")
	fs.DurationVar(&cfg.dur, "dur", 3*time.Second, "measured window of each run")
	fs.DurationVar(&cfg.warmup, "warmup", 700*time.Millisecond, "warm-up before each measured window")
	fs.DurationVar(&cfg.tick, "tick", 0, "keep a runtime timer ticking at this period in every worker, whatever its client (0: none)")
	fs.StringVar(&cfg.addr, "addr", "", "use this server instead of starting one (its bench:* keys are overwritten); the cluster scenarios always start their own cluster")
	fs.StringVar(&cfg.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&cfg.plots, "plots", "", "write PNG plots into this directory (the report links them)")
	fs.StringVar(&cfg.note, "note", "", "conditions of the run, printed in the report's header")
	fs.BoolVar(&cfg.reference, "reference", true, "run redis-benchmark as the reference row")
	fs.StringVar(&cfg.refBin, "redis-benchmark", "redis-benchmark", "redis-benchmark binary")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("compare: unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		if !set["reps"] {
			cfg.reps = 1
		}
		if !set["dur"] {
			cfg.dur = time.Second
		}
		if !set["warmup"] {
			cfg.warmup = 300 * time.Millisecond
		}
		if *scens == "" {
			*scens = strings.Join(quickScenarios, ",")
		}
	}
	if *scens == "" {
		*scens = scenarioNames()
	}
	if cfg.reps < 1 || cfg.dur <= 0 || cfg.warmup < 0 {
		return nil, errors.New("compare: -reps must be at least 1, -dur positive and -warmup not negative")
	}
	seen := map[string]bool{}
	for _, name := range splitList(*clients) {
		c, err := lookupClient(name)
		if err != nil {
			return nil, err
		}
		if !seen[c.name] {
			seen[c.name] = true
			cfg.clients = append(cfg.clients, c)
		}
	}
	for _, name := range splitList(*scens) {
		s, err := lookupScenario(name)
		if err != nil {
			return nil, err
		}
		if !seen["scenario:"+s.name] {
			seen["scenario:"+s.name] = true
			cfg.scenarios = append(cfg.scenarios, s)
		}
	}
	if len(cfg.clients) == 0 || len(cfg.scenarios) == 0 {
		return nil, errors.New("compare: no clients or no scenarios")
	}
	if cfg.reference {
		if _, err := exec.LookPath(cfg.refBin); err != nil {
			return nil, fmt.Errorf("compare: %w (or run with -reference=false)", err)
		}
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// task is one run of the plan.
type task struct {
	s      scenario
	rep    int
	client string // a client name, or referenceName
}

// participants lists who runs a scenario, in the configured order, with
// redis-benchmark last.
func (cfg *config) participants(s scenario) []string {
	var out []string
	for _, c := range cfg.clients {
		if s.runs(c.name) {
			out = append(out, c.name)
		}
	}
	if cfg.reference && hasReference(s) {
		out = append(out, referenceName)
	}
	return out
}

// plan lists every run: scenario by scenario, each repetition runs every
// participant once. The clients' order rotates by one place per
// repetition, so that no client always runs first or last; the
// reference (redis-benchmark) opens every repetition, outside the
// rotation. The run after redis-benchmark's tends to be a little slower
// (2-3% on average in the 14:26 UTC run, up to a quarter), and inside the
// rotation the same client would follow it in most repetitions: the one
// listed first, respool. Opening each repetition with it hands that
// place to a different client every repetition, which the median absorbs.
func (cfg *config) plan() []task {
	var tasks []task
	for _, s := range cfg.scenarios {
		who := cfg.participants(s)
		var ref []string
		if n := len(who); n > 0 && who[n-1] == referenceName {
			who, ref = who[:n-1], who[n-1:]
		}
		for rep := range cfg.reps {
			for _, c := range ref {
				tasks = append(tasks, task{s: s, rep: rep, client: c})
			}
			for i := range who {
				tasks = append(tasks, task{s: s, rep: rep, client: who[(i+rep)%len(who)]})
			}
		}
	}
	return tasks
}

// estimate is how long a task is expected to take, for the progress
// display: process start, dial and warm-up, the window, and the exit.
func (cfg *config) estimate(t task) time.Duration {
	if t.client == referenceName {
		return cfg.dur + 200*time.Millisecond
	}
	return cfg.warmup + cfg.dur + 350*time.Millisecond + time.Duration(t.s.goroutines)*200*time.Microsecond
}

// runEnv is what the report says about where and how the run happened.
type runEnv struct {
	machine      machineInfo
	redisVersion string
	refVersion   string
	started      time.Time
	elapsed      time.Duration
	loadStart    string
	loadEnd      string
}

func runDriver(args []string) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	env := runEnv{machine: readMachine(), started: time.Now(), loadStart: loadAverage()}
	if cfg.reference {
		env.refVersion = referenceVersion(cfg.refBin)
	}
	d := &driver{cfg: cfg, res: results{}, refRate: map[string]float64{}}
	if d.self, err = os.Executable(); err != nil {
		return err
	}
	if cfg.needs(false) {
		dep, version, stop, err := startSingle(cfg)
		if err != nil {
			return err
		}
		defer stop()
		d.single, env.redisVersion = dep, version
	}
	// The cluster starts just before its first scenario, so that its six
	// idle servers take nothing from the single-server rows before it.
	defer func() {
		if d.stopCluster != nil {
			d.stopCluster()
		}
	}()

	tasks := cfg.plan()
	prog := newProgress(os.Stderr, cfg, tasks)
	defer prog.close()
	for i, t := range tasks {
		if t.s.cluster && d.cluster == nil {
			dep, version, stop, err := startCluster(cfg, prog.note)
			if err != nil {
				prog.note("compare: the cluster did not start")
				return err
			}
			d.cluster, d.stopCluster = dep, stop
			if env.redisVersion == "" {
				env.redisVersion = version
			}
		}
		prog.begin(i, t)
		s, err := d.run(ctx, t)
		if err != nil {
			prog.fail(err)
			return err
		}
		prog.end(s)
		k := runKey{t.s.name, t.client}
		d.res[k] = append(d.res[k], s)
	}
	prog.close()
	env.elapsed = time.Since(env.started)
	env.loadEnd = loadAverage()

	rep := &report{cfg: cfg, env: env, res: d.res}
	if cfg.plots != "" {
		if rep.plots, err = writePlots(cfg, d.res, cfg.plots); err != nil {
			return err
		}
	}
	text := rep.render(previousNotes(cfg.out))
	if cfg.out == "" {
		fmt.Print(text)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "compare: wrote %s\n", cfg.out)
	return os.WriteFile(cfg.out, []byte(text), 0o644)
}

// needs reports whether a selected scenario runs on the cluster (cluster
// true) or on the single server (cluster false).
func (cfg *config) needs(cluster bool) bool {
	return slices.ContainsFunc(cfg.scenarios, func(s scenario) bool { return s.cluster == cluster })
}

// getSizes lists the value sizes of the GET keyspaces that the selected
// scenarios read on the cluster (cluster true) or on the single server.
func (cfg *config) getSizes(cluster bool) []int {
	var sizes []int
	for _, s := range cfg.scenarios {
		if s.cluster == cluster && s.kind != opSet && !slices.Contains(sizes, s.valueSize) {
			sizes = append(sizes, s.valueSize)
		}
	}
	return sizes
}

// deployment is what scenarios run against: the single server or the
// cluster.
type deployment struct {
	addrs []string // the server, or every node of the cluster
	store keyStore // the driver's own connections, to write and check keys
	admin *rawConn // the single server's connection; nil for the cluster
	// servers reads the CPU time of the server processes; nil when they
	// are unknown (-addr) or cannot be read (no /proc).
	servers *serverProcs
}

// startSingle starts the private redis-server (or, with -addr, connects
// to the given one) and writes the GET keyspaces of the single-server
// scenarios. It returns the server's version and a function that stops
// what it started.
func startSingle(cfg *config) (dep *deployment, version string, stop func(), err error) {
	addr, stopServer := cfg.addr, func() {}
	var pids []int
	if addr == "" {
		srv, err := respooltest.NewServer()
		if err != nil {
			return nil, "", nil, err
		}
		addr, stopServer, pids = srv.Addr, func() { srv.Close() }, []int{srv.PID()}
	}
	admin, err := dialRaw(addr)
	if err != nil {
		stopServer()
		return nil, "", nil, err
	}
	stop = func() {
		admin.Close()
		stopServer()
	}
	if version, err = serverVersion(admin); err != nil {
		stop()
		return nil, "", nil, err
	}
	fmt.Fprintf(os.Stderr, "compare: redis-server %s at %s; writing the keyspace\n", version, addr)
	if err := preloadGetKeys(admin, cfg.getSizes(false)); err != nil {
		stop()
		return nil, "", nil, err
	}
	dep = &deployment{addrs: []string{addr}, store: admin, admin: admin, servers: watchServers(pids, stderrf)}
	return dep, version, stop, nil
}

// startCluster starts the private 6-node cluster (respooltest.NewCluster:
// 3 primaries, 3 replicas) and writes the GET keyspaces of the cluster
// scenarios on the primaries. It returns the nodes' version and a function
// that stops the cluster; logf reports progress.
func startCluster(cfg *config, logf func(format string, args ...any)) (dep *deployment, version string, stop func(), err error) {
	logf("compare: starting a 6-node cluster")
	cl, err := respooltest.NewCluster()
	if err != nil {
		return nil, "", nil, err
	}
	st, err := newClusterStore(cl.Addrs()[0])
	if err != nil {
		cl.Close()
		return nil, "", nil, err
	}
	stop = func() {
		st.Close()
		cl.Close()
	}
	if version, err = serverVersion(st.primaries[0]); err != nil {
		stop()
		return nil, "", nil, err
	}
	logf("compare: cluster of %d nodes, %d of them primaries, at %s; writing the keyspace",
		len(cl.Nodes), len(st.primaries), strings.Join(cl.Addrs(), ","))
	if err := preloadGetKeys(st, cfg.getSizes(true)); err != nil {
		stop()
		return nil, "", nil, err
	}
	pids := make([]int, len(cl.Nodes))
	for i, n := range cl.Nodes {
		pids[i] = n.PID()
	}
	return &deployment{addrs: cl.Addrs(), store: st, servers: watchServers(pids, logf)}, version, stop, nil
}

// watchServers returns a reader of the CPU time of the server processes
// pids; nil, after saying why through logf, when they cannot be read.
func watchServers(pids []int, logf func(format string, args ...any)) *serverProcs {
	p, err := newServerProcs(pids)
	if err != nil {
		logf("compare: the servers' CPU time will not be reported: %v", err)
		return nil
	}
	return p
}

// stderrf prints a line of the driver's own on stderr.
func stderrf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// driver runs tasks against the single server and the cluster.
type driver struct {
	cfg     *config
	self    string
	single  *deployment // nil when no scenario runs on the single server
	cluster *deployment // nil until the first cluster scenario
	// stopCluster stops the cluster; nil while none was started.
	stopCluster func()
	res         results
	// refRate is the requests per second redis-benchmark last reached per
	// scenario, to size its next run to the window.
	refRate map[string]float64
}

// on is the deployment a scenario runs against.
func (d *driver) on(s scenario) *deployment {
	if s.cluster {
		return d.cluster
	}
	return d.single
}

func (d *driver) run(ctx context.Context, t task) (sample, error) {
	if t.client == referenceName {
		return d.runReference(ctx, t.s)
	}
	dep := d.on(t.s)
	if t.s.cache {
		if err := d.resetTracking(dep); err != nil {
			return sample{}, err
		}
	}
	if t.s.kind == opSet {
		if err := resetSetKeys(dep.store, t.s); err != nil {
			return sample{}, err
		}
	}
	s, err := d.runWorker(ctx, t.client, t.s)
	if err != nil {
		return s, err
	}
	if t.s.kind == opSet {
		chk, err := checkSetKeys(dep.store, t.s)
		if err != nil {
			return s, err
		}
		s.verified = chk.written
		s.wrong += int64(chk.wrong)
		if s.firstWrong == "" {
			s.firstWrong = chk.first
		}
	}
	return s, nil
}

// resetTracking gives a run of a cache scenario the server's tracking
// table empty, as the first run had it. The server keeps the keys a
// client read while tracking after that client is gone, until they change;
// a cache scenario's cold keys never do, so each run would find those of
// the runs before it, up to tracking-table-max-keys, past which the server
// evicts keys from the table, sending invalidations, at every command.
// FLUSHALL empties the table; the GET keyspace is loaded again.
func (d *driver) resetTracking(dep *deployment) error {
	rc, ok := dep.store.(*rawConn)
	if !ok {
		return fmt.Errorf("compare: the cache scenarios run on the single server")
	}
	if _, err := rc.do("FLUSHALL"); err != nil {
		return fmt.Errorf("compare: FLUSHALL before a cache run: %w", err)
	}
	return preloadGetKeys(rc, d.cfg.getSizes(false))
}

// runWorker runs one worker process and turns its report into a sample.
func (d *driver) runWorker(ctx context.Context, client string, s scenario) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.warmup+d.cfg.dur+time.Minute)
	defer cancel()
	dep := d.on(s)
	args := []string{"worker",
		"-client", client, "-scenario", s.name, "-addr", strings.Join(dep.addrs, ","),
		"-dur", d.cfg.dur.String(), "-warmup", d.cfg.warmup.String()}
	if dep.servers != nil {
		args = append(args, "-server-pids", dep.servers.flag())
	}
	if d.cfg.tick > 0 {
		args = append(args, "-tick", d.cfg.tick.String())
	}
	cmd := exec.CommandContext(ctx, d.self, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("compare: worker %s/%s: %w\n%s", client, s.name, err, stderr.String())
	}
	var res workerResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		return sample{}, fmt.Errorf("compare: worker %s/%s: bad report %q: %w", client, s.name, stdout.String(), err)
	}
	if res.Ops == 0 {
		return sample{}, fmt.Errorf("compare: worker %s/%s completed nothing in its window (%d errors; first: %s)", client, s.name, res.Errors, res.FirstError)
	}
	ops := float64(res.Ops)
	smp := sample{
		opsPerSec:        ops / res.Seconds,
		p50:              time.Duration(res.P50),
		p99:              time.Duration(res.P99),
		cpuPerMOps:       res.CPUSeconds / ops * 1e6,
		serverCPUPerMOps: math.NaN(),
		bytesPerOp:       float64(res.AllocBytes) / ops,
		allocsPerOp:      float64(res.Mallocs) / ops,
		errors:           res.Errors,
		wrong:            res.Wrong,
		firstError:       res.FirstError,
		firstWrong:       res.FirstWrong,
	}
	if res.ServerCPUSeconds != nil {
		smp.serverCPUPerMOps = *res.ServerCPUSeconds / ops * 1e6
	}
	smp.addTimeoutFigures(res)
	return smp, nil
}

// runReference runs redis-benchmark for a scenario, sized to last about
// one window. On the cluster it connects to the first node and finds the
// others itself (--cluster).
func (d *driver) runReference(ctx context.Context, s scenario) (sample, error) {
	dep := d.on(s)
	host, portText, err := net.SplitHostPort(dep.addrs[0])
	if err != nil {
		return sample{}, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return sample{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*d.cfg.dur+time.Minute)
	defer cancel()
	if s.kind == opGet || s.kind == opPipe {
		if s.cluster {
			err = primeClusterReference(ctx, d.cfg.refBin, s, host, port)
		} else {
			_, err = dep.admin.do("SET", refKey, strings.Repeat("x", s.valueSize))
		}
		if err != nil {
			return sample{}, err
		}
	}
	rate, ok := d.refRate[s.name]
	if !ok {
		rate = guessRequestRate(s)
	}
	requests := max(int(rate*d.cfg.dur.Seconds()), 20*s.goroutines, 1000)
	// The servers' CPU is read around the whole redis-benchmark run: it
	// includes the run's connects, a small share of its requests.
	srv0, err := dep.servers.cpu()
	if err != nil {
		return sample{}, err
	}
	r, err := runReference(ctx, d.cfg.refBin, s, host, port, requests)
	if err != nil {
		return sample{}, err
	}
	srv1, err := dep.servers.cpu()
	if err != nil {
		return sample{}, err
	}
	d.refRate[s.name] = r.rps
	// redis-benchmark counts every command of a pipeline as a request;
	// one MGET counts for its keys, as in the workers.
	perRequest := 1.0
	if s.kind == opMGet {
		perRequest = float64(s.batch)
	}
	nan := math.NaN()
	smp := sample{
		opsPerSec:        r.rps * perRequest,
		p50:              r.p50,
		p99:              r.p99,
		cpuPerMOps:       nan,
		serverCPUPerMOps: nan,
		bytesPerOp:       nan,
		allocsPerOp:      nan,
		reference:        true,
	}
	if dep.servers != nil {
		smp.serverCPUPerMOps = (srv1 - srv0).Seconds() / (float64(requests) * perRequest) * 1e6
	}
	return smp, nil
}
