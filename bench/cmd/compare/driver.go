package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// config is the driver's parsed command line.
type config struct {
	clients   []clientInfo
	workloads []workload
	reps      int
	dur       time.Duration
	warmup    time.Duration
	addr      string
	out       string
}

// sample is one worker run as the driver sees it.
type sample struct {
	opsPerSec   float64
	cpuPerMOps  float64 // user+sys seconds of the worker process per million commands
	bytesPerOp  float64
	allocsPerOp float64
	errors      int64
	firstError  string
}

// runKey identifies the runs that one median is taken over.
type runKey struct{ workload, client string }

func parseConfig(args []string) (*config, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	clients := fs.String("clients", "respool,respool-exclusive,goredis,goredis-auto,redigo,rueidis", "comma-separated clients: respool (alias respool-mux), respool-exclusive, goredis, goredis-auto, redigo, rueidis")
	wls := fs.String("workloads", "get16,get256,set256,pipe100,cpu-get256", "comma-separated workloads: "+workloadNames())
	cfg := &config{}
	fs.IntVar(&cfg.reps, "reps", 3, "repetitions per client and workload; the report gives medians")
	fs.DurationVar(&cfg.dur, "dur", 5*time.Second, "measured window of each run")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "warm-up before each measured window")
	fs.StringVar(&cfg.addr, "addr", "", "use this server instead of starting one (its keys bench:key:* are overwritten)")
	fs.StringVar(&cfg.out, "out", "", "also write the Markdown report to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("compare: unexpected arguments %q", fs.Args())
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
	for _, name := range splitList(*wls) {
		w, err := lookupWorkload(name)
		if err != nil {
			return nil, err
		}
		if !seen["workload:"+w.name] {
			seen["workload:"+w.name] = true
			cfg.workloads = append(cfg.workloads, w)
		}
	}
	if len(cfg.clients) == 0 || len(cfg.workloads) == 0 {
		return nil, errors.New("compare: no clients or no workloads")
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

// runsNeeded lists the workloads that must actually run: cpu-get256 is
// read from get256's runs.
func runsNeeded(ws []workload) []workload {
	var out []workload
	have := map[string]bool{}
	for _, w := range ws {
		if w.cpuOnlyRow {
			w, _ = lookupWorkload(w.measuredAs)
		}
		if !have[w.name] {
			have[w.name] = true
			out = append(out, w)
		}
	}
	return out
}

func runDriver(args []string) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	addr := cfg.addr
	if addr == "" {
		srv, err := respooltest.NewServer()
		if err != nil {
			return err
		}
		defer srv.Close()
		addr = srv.Addr
	}
	version, err := preload(addr)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	results := map[runKey][]sample{}
	for _, w := range runsNeeded(cfg.workloads) {
		for rep := 0; rep < cfg.reps; rep++ {
			for i := range cfg.clients {
				c := cfg.clients[(i+rep)%len(cfg.clients)]
				fmt.Fprintf(os.Stderr, "%s rep %d/%d %-18s ", w.name, rep+1, cfg.reps, c.name)
				s, err := runOne(ctx, self, cfg, addr, c.name, w)
				if err != nil {
					fmt.Fprintln(os.Stderr, "failed")
					return err
				}
				fmt.Fprintf(os.Stderr, "%s  %.1f CPU s/M  %.0f B/op  %.2f allocs/op\n",
					formatRate(s.opsPerSec), s.cpuPerMOps, s.bytesPerOp, s.allocsPerOp)
				k := runKey{w.name, c.name}
				results[k] = append(results[k], s)
			}
		}
	}

	report := renderReport(cfg, version, results)
	fmt.Print(report)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runOne runs one worker process and turns its report and resource usage
// into a sample.
func runOne(ctx context.Context, self string, cfg *config, addr, client string, w workload) (sample, error) {
	limit := cfg.warmup + cfg.dur + time.Minute
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "worker",
		"-client", client, "-workload", w.name, "-addr", addr,
		"-dur", cfg.dur.String(), "-warmup", cfg.warmup.String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("compare: worker %s/%s: %w\n%s", client, w.name, err, stderr.String())
	}
	var res workerResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		return sample{}, fmt.Errorf("compare: worker %s/%s: bad report %q: %w", client, w.name, stdout.String(), err)
	}
	if res.Ops == 0 || res.TotalOps == 0 {
		return sample{}, fmt.Errorf("compare: worker %s/%s completed no command (%d errors; first: %s)", client, w.name, res.Errors, res.FirstError)
	}
	ps := cmd.ProcessState
	cpu := (ps.UserTime() + ps.SystemTime()).Seconds()
	return sample{
		opsPerSec:   float64(res.Ops) / res.Seconds,
		cpuPerMOps:  cpu / float64(res.TotalOps) * 1e6,
		bytesPerOp:  float64(res.AllocBytes) / float64(res.Ops),
		allocsPerOp: float64(res.Mallocs) / float64(res.Ops),
		errors:      res.Errors,
		firstError:  res.FirstError,
	}, nil
}

// preload writes every key of the keyspace with its 16-byte value in one
// MSET and returns the server's version.
func preload(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("compare: preload: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	args := []any{"MSET"}
	value := benchValue()
	for _, k := range benchKeys() {
		args = append(args, k, value)
	}
	buf, err := resp.AppendCommand(nil, args...)
	if err != nil {
		return "", err
	}
	buf, err = resp.AppendCommand(buf, "INFO", "server")
	if err != nil {
		return "", err
	}
	if _, err := conn.Write(buf); err != nil {
		return "", fmt.Errorf("compare: preload: %w", err)
	}
	rd := resp.NewReader(conn)
	v, err := rd.ReadValue()
	if err != nil {
		return "", fmt.Errorf("compare: preload: %w", err)
	}
	if v.IsError() {
		return "", fmt.Errorf("compare: preload: MSET: %s", v.String())
	}
	info, err := rd.ReadValue()
	if err != nil {
		return "", fmt.Errorf("compare: preload: %w", err)
	}
	text, err := info.Str()
	if err != nil {
		return "", fmt.Errorf("compare: preload: INFO: %w", err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "unknown", nil
}
