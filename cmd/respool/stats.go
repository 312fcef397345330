package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/respool/respool"
)

// statsUsage is printed by `respool stats -help`.
const statsUsage = `Usage: respool stats -u URL [-workers N] [-pool-size N] [-exclusive]
                     [-command "GET key"] [-interval D] [-duration D]

Runs a load on a respool Client and prints its pool's statistics (Pool.Stats)
every interval: the gauges (open, idle, in use, dialling, waiting) and what
the counters grew by since the previous line (hits, misses, waits, timeouts,
dials), with the commands completed per second. Stops after -duration, or
on Ctrl-C when -duration is 0.

The load is -workers goroutines sending -command in a loop through one
Client (multiplexed, or one pooled connection per command with -exclusive).
The command is split as the interactive mode splits a line; "{n}" in it
becomes a number from 0 to 999, different from command to command. Mind
what it writes: the default, GET respool:stats:{n}, only reads.

`

// statsConfig is the command line of `respool stats`.
type statsConfig struct {
	url       string
	workers   int
	poolSize  int
	exclusive bool
	command   string
	interval  time.Duration
	duration  time.Duration
}

// runStats runs `respool stats`, stopping on SIGINT.
func runStats(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return runStatsContext(ctx, args, stdout, stderr)
}

// runStatsContext is runStats until ctx ends. It returns the exit status:
// 0, 1 when the server cannot be reached, 2 for a bad command line.
func runStatsContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg statsConfig
	fs := flag.NewFlagSet("respool stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, statsUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.url, "u", "redis://127.0.0.1:6379", "server `URL` (redis://..., with any of ParseURL's options)")
	fs.IntVar(&cfg.workers, "workers", 16, "goroutines sending commands")
	fs.IntVar(&cfg.poolSize, "pool-size", 0, "the Client's PoolSize (0: the URL's, or respool's default)")
	fs.BoolVar(&cfg.exclusive, "exclusive", false, "one pooled connection per command instead of multiplexing")
	fs.StringVar(&cfg.command, "command", "GET respool:stats:{n}", "the `command` each worker sends")
	fs.DurationVar(&cfg.interval, "interval", time.Second, "time between two lines")
	fs.DurationVar(&cfg.duration, "duration", 0, "how long to run (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	argv, ok := splitArgs(cfg.command)
	if fs.NArg() > 0 || !ok || len(argv) == 0 || cfg.workers <= 0 || cfg.interval <= 0 || cfg.duration < 0 {
		fs.Usage()
		return 2
	}
	opt, err := respool.ParseURL(cfg.url)
	if err != nil {
		fmt.Fprintln(stderr, "respool stats:", err)
		return 2
	}
	if cfg.poolSize > 0 {
		opt.PoolSize = cfg.poolSize
	}
	opt.Exclusive = opt.Exclusive || cfg.exclusive
	client := respool.NewClient(opt)
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		fmt.Fprintf(stderr, "respool stats: cannot reach %s: %v\n", opt.Addr, err)
		return 1
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}

	mode := "multiplexed"
	if opt.Exclusive {
		mode = "exclusive"
	}
	fmt.Fprintf(stdout, "respool %s: %d goroutines sending %q to %s (%s, PoolSize %d)\n",
		respool.Version, cfg.workers, cfg.command, opt.Addr, mode, client.Pool().Options().PoolSize)
	io.WriteString(stdout, statsHeader)
	prev := client.Pool().Stats()
	var done, failed atomic.Uint64
	var wg sync.WaitGroup
	for w := range cfg.workers {
		wg.Go(func() {
			args := make([]any, len(argv))
			for i := uint64(w); ctx.Err() == nil; i += uint64(cfg.workers) {
				for j, a := range argv {
					args[j] = strings.ReplaceAll(a, "{n}", fmt.Sprint(i%1000))
				}
				_, err := client.Do(ctx, args...)
				if err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
					return // the run is over
				}
				if err != nil {
					var serverErr *respool.Error
					if !errors.As(err, &serverErr) {
						failed.Add(1)
						continue
					}
				}
				done.Add(1)
			}
		})
	}

	prevDone, prevFailed := uint64(0), uint64(0)
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	last := time.Now()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		now := time.Now()
		st := client.Pool().Stats()
		d, f := done.Load(), failed.Load()
		io.WriteString(stdout, statsLine(prev, st, d-prevDone, f-prevFailed, now.Sub(last)))
		prev, prevDone, prevFailed, last = st, d, f, now
	}
	wg.Wait()
	return 0
}

const statsHeader = "" +
	"     cmd/s   errors   open   idle  inuse  dial  wait |     hits   misses    waits  wait-ms  timeouts  dials  closed\n"

// statsLine is one line of `respool stats`: the gauges of st, and how much
// the counters grew since prev.
func statsLine(prev, st respool.PoolStats, done, failed uint64, elapsed time.Duration) string {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	return fmt.Sprintf("%10.0f %8d %6d %6d %6d %5d %5d | %8d %8d %8d %8.1f %9d %6d %7d\n",
		rate, failed, st.Open, st.Idle, st.InUse, st.Dialing, st.Waiting,
		st.Hits-prev.Hits, st.Misses-prev.Misses, st.Waits-prev.Waits,
		float64(st.WaitTime-prev.WaitTime)/float64(time.Millisecond),
		st.Timeouts-prev.Timeouts, st.Dials-prev.Dials, st.Closed.Total()-prev.Closed.Total())
}
