package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// demoUsage is printed by `respool demo -help`.
const demoUsage = `Usage: respool demo [-u URL | -sentinel HOST:PORT -master NAME] [-duration D] [-workers N]

Shows a respool Client at work, explaining each step as it goes: many
goroutines sharing one Client with the pool's statistics shown live, a
pipeline, a transaction with WATCH broken by a concurrent writer, a Lua
script, a SCAN iteration, and a summary, in under 10 seconds.

Without -u it starts a private redis-server (from PATH) on a free port and
stops it at the end, also when interrupted. With -u it uses that server:
it writes keys under "respool:demo:" only and deletes them at the end, but
it also runs SCRIPT FLUSH, so use a server whose script cache you can spare.
With -sentinel and -master, or a -u URL with master_name=NAME (the format of
go-redis's ParseFailoverURL), every client of the demo is a FailoverClient
that asks those sentinels where the primary is and follows its failovers.

`

// demoKeyPrefix is the prefix of every key the demo writes.
const demoKeyPrefix = "respool:demo:"

// demoConfig is the demo's command line.
type demoConfig struct {
	url       string
	sentinels []string      // -sentinel, in order
	master    string        // -master
	duration  time.Duration // of each load run in step 1
	workers   int           // goroutines of step 1
	poolSize  int           // PoolSize of step 1's client
}

// runDemo runs `respool demo`, stopping early on SIGINT, and returns the
// process's exit status: 0, 1 on a failure, 2 for a bad command line, 130
// when interrupted.
func runDemo(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runDemoContext(ctx, args, stdout, stderr)
}

// runDemoContext is runDemo until ctx ends, which interrupts it.
func runDemoContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := demoConfig{poolSize: 8}
	fs := flag.NewFlagSet("respool demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, demoUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.url, "u", "", "server `URL` (redis://...); default: a private redis-server")
	fs.Func("sentinel", "a Redis Sentinel (`HOST:PORT`; repeat for several) to ask where the primary of -master is", func(s string) error {
		cfg.sentinels = append(cfg.sentinels, s)
		return nil
	})
	fs.StringVar(&cfg.master, "master", "", "the `NAME` the sentinels monitor the primary under")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Second, "how long each load run of step 1 lasts")
	fs.IntVar(&cfg.workers, "workers", 64, "goroutines sharing the client in step 1")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || cfg.duration <= 0 || cfg.workers <= 0 {
		fs.Usage()
		return 2
	}

	if (cfg.master == "") != (len(cfg.sentinels) == 0) || (cfg.master != "" && cfg.url != "") {
		fmt.Fprintln(stderr, "respool demo: -sentinel and -master go together, without -u")
		return 2
	}
	d := &demo{cfg: cfg, out: stdout, private: cfg.url == "" && cfg.master == ""}
	opt, cleanup, err := d.server()
	if err != nil {
		fmt.Fprintln(stderr, "respool demo:", err)
		return 1
	}
	defer cleanup()
	err = d.run(ctx, opt)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stdout, "\nInterrupted: the demo stopped early.")
		return 130
	case err != nil:
		fmt.Fprintln(stderr, "respool demo:", err)
		return 1
	}
	return 0
}

// demo is one run of the demo: its configuration, where it prints, and
// what it counted along the way.
type demo struct {
	cfg     demoConfig
	out     io.Writer // written by one goroutine at a time
	private bool      // the server is the demo's own
	addr    string
	// failover, when set, makes every client of the demo a
	// FailoverClient (its Options are replaced by each client's).
	failover *respool.FailoverOptions
	trace    *commandTrace

	mu        sync.Mutex // guards failovers
	failovers map[*respool.Client]*respool.FailoverClient

	load      []loadResult
	pipelined time.Duration
	oneByOne  time.Duration
	attempts  int
	scanCalls int64
	scanKeys  int
}

// server returns the options for the demo's server, starting a private one
// when no URL was given, and a function that stops it.
func (d *demo) server() (*respool.Options, func(), error) {
	switch {
	case d.cfg.master != "":
		d.failover = &respool.FailoverOptions{MasterName: d.cfg.master, SentinelAddrs: d.cfg.sentinels}
	case isFailoverURL(d.cfg.url):
		fo, err := respool.ParseFailoverURL(d.cfg.url)
		if err != nil {
			return nil, nil, err
		}
		d.failover = fo
	case !d.private:
		opt, err := respool.ParseURL(d.cfg.url)
		if err != nil {
			return nil, nil, err
		}
		d.addr = opt.Addr
		return opt, func() {}, nil
	}
	if d.failover != nil {
		d.addr = fmt.Sprintf("%q through the sentinels at %s", d.failover.MasterName, strings.Join(d.failover.SentinelAddrs, ", "))
		opt := d.failover.Options
		return &opt, func() {}, nil
	}
	srv, err := respooltest.NewServer()
	if err != nil {
		return nil, nil, fmt.Errorf("starting a private redis-server (or pass -u redis://host:port): %w", err)
	}
	d.addr = srv.Addr
	opt, err := respool.ParseURL(srv.URL())
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return opt, func() { srv.Close() }, nil
}

// printf writes to the demo's output.
func (d *demo) printf(format string, args ...any) {
	fmt.Fprintf(d.out, format, args...)
}

// run runs the steps in order, stopping at the first failure.
func (d *demo) run(ctx context.Context, opt *respool.Options) error {
	d.trace = &commandTrace{}
	// The default Client: commands from many goroutines share a few
	// multiplexed connections; pipelines and transactions use the pool.
	client, closeClient := d.newClient(opt)
	defer closeClient()
	client.AddHook(d.trace.hook())

	version, err := serverVersion(ctx, client)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", d.addr, err)
	}
	where := "the server at " + d.addr + " (keys under " + demoKeyPrefix + " are removed at the end)"
	if fc, ok := d.failoverOf(client); ok {
		where = "the primary " + d.addr + ", now at " + fc.Stats().Primary +
			" (keys under " + demoKeyPrefix + " are removed at the end)"
	}
	if d.private {
		where = "a private redis-server at " + d.addr + " (stopped at the end)"
	}
	d.printf("respool %s demo, against redis-server %s: %s\n", respool.Version, version, where)
	if err := deleteDemoKeys(ctx, client); err != nil {
		return err
	}
	defer func() {
		// Also after an interruption, but not for long.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		deleteDemoKeys(ctx, client)
	}()

	steps := []func(context.Context, *respool.Client) error{
		func(ctx context.Context, _ *respool.Client) error { return d.stepLoad(ctx, opt) },
		d.stepPipeline,
		func(ctx context.Context, c *respool.Client) error { return d.stepWatch(ctx, c, opt) },
		d.stepScript,
		d.stepScan,
	}
	for _, step := range steps {
		if err := step(ctx, client); err != nil {
			return err
		}
	}
	d.summary(client)
	return nil
}

// newClient returns a Client for opt and the function that closes it: a
// plain one, or, when the demo follows a Sentinel-managed primary, the
// Client of a FailoverClient built on opt (which must be closed through
// the function, not the Client).
func (d *demo) newClient(opt *respool.Options) (*respool.Client, func()) {
	if d.failover == nil {
		c := respool.NewClient(opt)
		return c, func() { c.Close() }
	}
	fo := *d.failover
	fo.Options = *opt
	fc := respool.NewFailoverClient(&fo)
	d.mu.Lock()
	if d.failovers == nil {
		d.failovers = make(map[*respool.Client]*respool.FailoverClient)
	}
	d.failovers[fc.Client] = fc
	d.mu.Unlock()
	return fc.Client, func() {
		d.mu.Lock()
		delete(d.failovers, fc.Client)
		d.mu.Unlock()
		fc.Close()
	}
}

// failoverOf returns the FailoverClient whose Client c is.
func (d *demo) failoverOf(c *respool.Client) (*respool.FailoverClient, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fc, ok := d.failovers[c]
	return fc, ok
}

// serverVersion returns the server's redis_version.
func serverVersion(ctx context.Context, c *respool.Client) (string, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "(unknown version)", nil
}

// deleteDemoKeys removes every key under demoKeyPrefix.
func deleteDemoKeys(ctx context.Context, c *respool.Client) error {
	var batch []string
	for key, err := range c.ScanAll(ctx, respool.ScanArgs{Match: demoKeyPrefix + "*", Count: 1000}) {
		if err != nil {
			return err
		}
		batch = append(batch, key)
	}
	for chunk := range slices.Chunk(batch, 500) {
		if err := c.Unlink(ctx, chunk...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// summary explains what happened.
func (d *demo) summary(c *respool.Client) {
	d.printf("\n6) Summary\n")
	for _, r := range d.load {
		d.printf("   %-34s %s commands in %s (%s/s), %d errors\n",
			r.title+":", commas(r.ops()), r.elapsed.Round(time.Millisecond), commas(r.rate()), r.errors)
	}
	if len(d.load) > 0 {
		st := d.load[0].stats
		d.printf("   %-34s %d connections served %s commands: %s hits, %s misses (dials), %s waits, %d timeouts\n",
			"pool of step 1 (PoolSize "+strconv.Itoa(d.cfg.poolSize)+"):",
			st.Misses, commas(d.load[0].ops()), commas(st.Hits), commas(st.Misses), commas(st.Waits), st.Timeouts)
	}
	d.printf("   %-34s %s pipelined, %s one by one\n", "pipeline of 1,000 commands:",
		d.pipelined.Round(time.Microsecond), d.oneByOne.Round(time.Microsecond))
	d.printf("   %-34s %d attempts, the update made exactly once\n", "WATCH transaction:", d.attempts)
	d.printf("   %-34s %s keys, each exactly once, in %d SCAN calls\n", "SCAN:", commas(uint64(d.scanKeys)), d.scanCalls)
	st := c.Pool().Stats()
	d.printf("   %-34s open %d, idle %d, in use %d; %s hits, %s misses, %s waits, %d timeouts\n",
		"pool of the default client:", st.Open, st.Idle, st.InUse, commas(st.Hits), commas(st.Misses), commas(st.Waits), st.Timeouts)
	d.printf("   %-34s %s\n", "commands sent through hooks:", d.trace.summary())
	d.printf("\n   Retries: a command is sent again only when it provably never reached the server, the server\n" +
		"   refused it unexecuted (LOADING...), or it is read-only; a write of unknown outcome is reported, never repeated.\n" +
		"   Transactions: EXEC applies all queued commands or none; Watch retries only when a watched key changed,\n" +
		"   at most MaxWatchRetries times, and never leaves a WATCH behind on a pooled connection.\n")
}

// commandTrace counts the commands a Client sends, by name, through a
// hook, and records the script commands of step 4 with their outcome.
type commandTrace struct {
	mu       sync.Mutex
	counts   map[string]uint64
	scripts  []string // "evalsha: NOSCRIPT", "eval: ok"...
	scanning bool     // count SCAN calls into scans
	scans    int64
}

// hook returns the Hook that feeds the trace.
func (t *commandTrace) hook() respool.Hook {
	return respool.Hook{
		Process: func(next respool.ProcessFunc) respool.ProcessFunc {
			return func(ctx context.Context, cmd respool.Cmder) error {
				err := next(ctx, cmd)
				t.record(cmd, err)
				return err
			}
		},
		ProcessPipeline: func(next respool.ProcessPipelineFunc) respool.ProcessPipelineFunc {
			return func(ctx context.Context, cmds []respool.Cmder) error {
				err := next(ctx, cmds)
				for _, cmd := range cmds {
					t.record(cmd, cmd.Err())
				}
				return err
			}
		},
	}
}

func (t *commandTrace) record(cmd respool.Cmder, err error) {
	name := cmd.Name()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = make(map[string]uint64)
	}
	t.counts[name]++
	switch {
	case name == "evalsha" || name == "eval":
		outcome := "ok"
		var se *respool.Error
		if errors.As(err, &se) {
			outcome = se.Prefix()
		} else if err != nil {
			outcome = err.Error()
		}
		t.scripts = append(t.scripts, strings.ToUpper(name)+" -> "+outcome)
	case name == "scan" && t.scanning:
		t.scans++
	}
}

// takeScripts returns the script commands recorded since the last call.
func (t *commandTrace) takeScripts() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.scripts
	t.scripts = nil
	return s
}

// countScans starts (on) or stops counting SCAN calls and returns the
// count so far.
func (t *commandTrace) countScans(on bool) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scanning = on
	n := t.scans
	if on {
		t.scans = 0
	}
	return n
}

// summary lists the most sent commands.
func (t *commandTrace) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	type count struct {
		name string
		n    uint64
	}
	var all []count
	var total uint64
	for name, n := range t.counts {
		all = append(all, count{name, n})
		total += n
	}
	slices.SortFunc(all, func(a, b count) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var b strings.Builder
	b.WriteString(commas(total))
	b.WriteString(" (")
	for i, c := range all {
		if i == 5 {
			fmt.Fprintf(&b, ", %d more kinds", len(all)-5)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", strings.ToUpper(c.name), commas(c.n))
	}
	b.WriteString(")")
	return b.String()
}

// commas formats n with thousands separators: 1234567 -> "1,234,567".
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
