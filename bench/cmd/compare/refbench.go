package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The reference row: redis-benchmark, the server's own load generator
// (C, one thread, its own event loop), run on the same server with the
// same concurrency and value size as the scenario. It reads and writes the
// single key "key:__rand_int__" (no -r), which the driver sets to a value
// of the scenario's size first, so a GET reference finds a value to read.
//
// On the cluster, redis-benchmark runs with --cluster: it asks the node it
// is given for the slot map, spreads its connections over the primaries,
// and gives each primary's commands a hash tag of a slot that primary
// serves, "key:{tag}:__rand_int__", one key per primary. The driver cannot
// name those keys, so before a GET reference it has redis-benchmark write
// them (primeClusterReference).

// refKey is the key redis-benchmark uses without -r.
const refKey = "key:__rand_int__"

// refResult is one test line of redis-benchmark's output.
type refResult struct {
	test     string        // "GET", "SET", "MGET", as redis-benchmark names it
	rps      float64       // requests per second
	p50, p99 time.Duration // p99 is zero when the output had none (-q)
}

// referenceArgs builds redis-benchmark's command line for a scenario:
// requests is -n. Explicit pipelines become -P; MGET is passed as the
// command to run.
func referenceArgs(s scenario, host string, port int, requests int) []string {
	args := []string{"-h", host, "-p", strconv.Itoa(port), "-c", strconv.Itoa(s.goroutines), "-n", strconv.Itoa(requests)}
	if s.cluster {
		args = append(args, "--cluster")
	}
	switch s.kind {
	case opGet, opSet:
		args = append(args, "-t", strings.ToLower(s.kind.String()), "-d", strconv.Itoa(s.valueSize))
	case opPipe:
		args = append(args, "-P", strconv.Itoa(s.batch), "-t", "get", "-d", strconv.Itoa(s.valueSize))
	}
	args = append(args, "--csv")
	if s.kind == opMGet {
		args = append(args, "MGET")
		for i := range s.batch {
			args = append(args, getKey(s.valueSize, i))
		}
	}
	return args
}

// referenceCommandText is the command line as the report prints it, with
// the MGET key list abbreviated.
func referenceCommandText(s scenario, requests string) string {
	args := referenceArgs(s, "HOST", 0, 0)
	args[3], args[7] = "PORT", requests
	if s.kind == opMGet {
		args = append(args[:len(args)-s.batch], getKey(s.valueSize, 0), "...", getKey(s.valueSize, s.batch-1))
	}
	return "redis-benchmark " + strings.Join(args, " ")
}

// hasReference reports whether the scenario has a redis-benchmark row.
func hasReference(s scenario) bool { return !s.noReference }

// guessRequestRate is the requests per second a first reference run is
// sized for; later repetitions use the rate the previous ones measured.
func guessRequestRate(s scenario) float64 {
	switch {
	case s.kind == opPipe:
		return 15000 * float64(s.batch)
	case s.kind == opMGet:
		return 10000
	case s.valueSize > 64<<10:
		return 4000
	case s.goroutines == 1:
		return 20000
	}
	return 40000
}

// runReference runs redis-benchmark once and parses its result.
func runReference(ctx context.Context, bin string, s scenario, host string, port, requests int) (refResult, error) {
	cmd := exec.CommandContext(ctx, bin, referenceArgs(s, host, port, requests)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return refResult{}, fmt.Errorf("compare: redis-benchmark: %w", err)
	}
	results, err := parseReference(string(out))
	if err != nil {
		return refResult{}, err
	}
	if len(results) != 1 {
		return refResult{}, fmt.Errorf("compare: redis-benchmark printed %d results, want 1:\n%s", len(results), out)
	}
	return results[0], nil
}

// primeClusterReference has redis-benchmark SET, on the cluster, the keys
// its GET reference for s will read, to values of s's size.
func primeClusterReference(ctx context.Context, bin string, s scenario, host string, port int) error {
	prime := scenario{kind: opSet, goroutines: 6, valueSize: s.valueSize, cluster: true}
	args := referenceArgs(prime, host, port, 600)
	cmd := exec.CommandContext(ctx, bin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compare: redis-benchmark %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// quietLine matches a result line of redis-benchmark -q, as Redis 7 prints
// it: "GET: 45662.10 requests per second, p50=0.287 msec".
var quietLine = regexp.MustCompile(`^\s*(.+?): ([0-9.]+) requests per second(?:, p50=([0-9.]+) msec)?`)

// parseReference reads redis-benchmark's output in either of its terse
// forms: --csv (a header line, then "test","rps","avg_latency_ms",
// "min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",
// "max_latency_ms" per test) or -q (one line per test, after progress
// lines separated by carriage returns). The test name is cut to its first
// word, so a custom command's line is named by the command.
func parseReference(out string) ([]refResult, error) {
	out = strings.ReplaceAll(out, "\r", "\n")
	if strings.Contains(out, `"test","rps"`) {
		return parseReferenceCSV(out)
	}
	var res []refResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := quietLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := refResult{test: firstWord(m[1])}
		var err error
		if r.rps, err = strconv.ParseFloat(m[2], 64); err != nil {
			return nil, fmt.Errorf("compare: redis-benchmark: %q: %w", sc.Text(), err)
		}
		if m[3] != "" {
			if r.p50, err = parseMillis(m[3]); err != nil {
				return nil, err
			}
		}
		res = append(res, r)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("compare: redis-benchmark: no result in %q", out)
	}
	return res, nil
}

func parseReferenceCSV(out string) ([]refResult, error) {
	rd := csv.NewReader(strings.NewReader(out[strings.Index(out, `"test","rps"`):]))
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("compare: redis-benchmark: %w", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"test", "rps", "p50_latency_ms", "p99_latency_ms"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("compare: redis-benchmark: no %q column in %q", name, rows[0])
		}
	}
	var res []refResult
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			continue
		}
		r := refResult{test: firstWord(row[col["test"]])}
		if r.rps, err = strconv.ParseFloat(row[col["rps"]], 64); err != nil {
			return nil, fmt.Errorf("compare: redis-benchmark: rps %q: %w", row[col["rps"]], err)
		}
		if r.p50, err = parseMillis(row[col["p50_latency_ms"]]); err != nil {
			return nil, err
		}
		if r.p99, err = parseMillis(row[col["p99_latency_ms"]]); err != nil {
			return nil, err
		}
		res = append(res, r)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("compare: redis-benchmark: no result in %q", out)
	}
	return res, nil
}

func parseMillis(s string) (time.Duration, error) {
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("compare: redis-benchmark: latency %q: %w", s, err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// referenceVersion asks redis-benchmark for its version.
func referenceVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
