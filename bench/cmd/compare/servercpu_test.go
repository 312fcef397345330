package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// statLine is a /proc/<pid>/stat line as Linux 6 prints it, with name in
// field 2, utime 1234 and stime 567.
func statLine(name string) string {
	return "4242 (" + name + ") S 1 4242 4242 0 -1 4194560 1073 0 0 0 1234 567 0 0 20 0 5 0 123456 " +
		"99999744 2345 18446744073709551615 1 1 0 0 0 0 0 4097 17642 0 0 0 17 1 0 0 0 0 0\n"
}

func TestParseProcStatTicks(t *testing.T) {
	for _, name := range []string{
		"redis-server",
		"redis server",                      // a space shifts every field
		"x) R 1 2 3 4 5 6 7 8 9 10 11 12 (", // a name that reads like fields
		"((a)) (b",
		"",
	} {
		got, err := parseProcStatTicks(statLine(name))
		if err != nil || got != 1234+567 {
			t.Errorf("name %q: got %d, %v; want %d", name, got, err, 1234+567)
		}
	}
	for _, bad := range []string{
		"",
		"4242 redis-server S 1 4242",          // no parentheses
		"4242 (redis-server) S 1 4242 4242 0", // cut short
		strings.Replace(statLine("redis-server"), " 1234 ", " 12x4 ", 1),
		strings.Replace(statLine("redis-server"), " 567 ", " -5 ", 1),
	} {
		if got, err := parseProcStatTicks(bad); err == nil {
			t.Errorf("%q parsed as %d", bad, got)
		}
	}
}

func TestTicksToDuration(t *testing.T) {
	for _, c := range []struct {
		ticks uint64
		hz    int64
		want  time.Duration
	}{
		{0, 100, 0},
		{1, 100, 10 * time.Millisecond},
		{12345, 100, 123450 * time.Millisecond},
		{1030, 1024, time.Second + 6*time.Second/1024},
	} {
		if got := ticksToDuration(c.ticks, c.hz); got != c.want {
			t.Errorf("%d ticks at %d Hz: %s, want %s", c.ticks, c.hz, got, c.want)
		}
	}
}

func TestParsePIDs(t *testing.T) {
	got, err := parsePIDs("12, 34,56")
	if err != nil || len(got) != 3 || got[0] != 12 || got[1] != 34 || got[2] != 56 {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := parsePIDs(""); err != nil || got != nil {
		t.Errorf("empty: got %v, %v", got, err)
	}
	for _, bad := range []string{"12,x", "0", "-3", "1.5"} {
		if _, err := parsePIDs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p := &serverProcs{pids: []int{12, 34}}
	if p.flag() != "12,34" || (*serverProcs)(nil).flag() != "" {
		t.Errorf("flag %q", p.flag())
	}
}

func linuxOnly(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the servers' CPU time is read from /proc, on Linux only")
	}
}

// The tick rate is the kernel's, as the C library reports it.
func TestClockTicks(t *testing.T) {
	linuxOnly(t)
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		t.Skipf("getconf: %v", err)
	}
	want, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if got := clockTicks(); got != want {
		t.Errorf("clockTicks() = %d, getconf CLK_TCK = %d", got, want)
	}
}

// startServerConn starts a private redis-server for the test and opens a
// connection of the test's own to it; both end with the test.
func startServerConn(t *testing.T) (*respooltest.Server, *rawConn) {
	t.Helper()
	srv := respooltest.StartServer(t)
	c, err := dialRaw(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

// usedCPU is the server's own account of its CPU time (INFO cpu:
// used_cpu_user + used_cpu_sys, getrusage in the server).
func usedCPU(t *testing.T, c *rawConn) time.Duration {
	t.Helper()
	v, err := c.do("INFO", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(v.Text(), "\n") {
		for _, field := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if x, ok := strings.CutPrefix(strings.TrimSpace(line), field); ok {
				f, err := strconv.ParseFloat(x, 64)
				if err != nil {
					t.Fatalf("INFO cpu: %q: %v", line, err)
				}
				sum += f
			}
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// What serverProcs reads agrees with the server's own account, to the
// ticks' resolution: a reading taken before INFO is at most INFO's figure,
// one taken after it at least INFO's figure less the truncation of utime
// and stime to whole ticks.
func TestServerCPUMatchesInfo(t *testing.T) {
	linuxOnly(t)
	srv, c := startServerConn(t)
	p, err := newServerProcs([]int{srv.PID()})
	if err != nil {
		t.Fatal(err)
	}
	// Make the server work until its own account says 300 ms, so that a
	// wrong unit (a tick rate off by any factor) shows.
	for usedCPU(t, c) < 300*time.Millisecond {
		if _, err := c.do("EVAL", "local i = 0 while i < 2000000 do i = i + 1 end return i", "0"); err != nil {
			t.Fatal(err)
		}
	}
	tick := time.Second / time.Duration(p.hz)
	before, err := p.cpu()
	if err != nil {
		t.Fatal(err)
	}
	info := usedCPU(t, c)
	after, err := p.cpu()
	if err != nil {
		t.Fatal(err)
	}
	if before > info+time.Millisecond || after < info-2*tick {
		t.Errorf("read %s before INFO and %s after it; INFO says %s (tick %s)", before, after, info, tick)
	}
}

// A worker given the server's process id reports the server's CPU over
// its window, and no figure without it; the report prints "-" for none.
func TestWorkerReportsServerCPU(t *testing.T) {
	linuxOnly(t)
	srv, c := startServerConn(t)
	s, err := lookupScenario("get16")
	if err != nil {
		t.Fatal(err)
	}
	if err := preloadGetKeys(c, []int{s.valueSize}); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) workerResult {
		t.Helper()
		args := append([]string{"-client", "redigo", "-scenario", s.name, "-addr", srv.Addr, "-dur", "300ms", "-warmup", "0s"}, extra...)
		var out bytes.Buffer
		if err := runWorker(args, &out); err != nil {
			t.Fatal(err)
		}
		var res workerResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}

	info0 := usedCPU(t, c)
	with := run("-server-pids", strconv.Itoa(srv.PID()))
	info1 := usedCPU(t, c)
	if with.ServerCPUSeconds == nil {
		t.Fatalf("no server CPU in %+v", with)
	}
	// The server served GETs for the whole window; its whole account over
	// the worker's run (dial and probe included) bounds the window's.
	tick := time.Second / time.Duration(clockTicks())
	got := time.Duration(*with.ServerCPUSeconds * float64(time.Second))
	if got <= 0 || got > info1-info0+2*tick {
		t.Errorf("server CPU over the window %s; the server's own account over the run %s", got, info1-info0)
	}
	if without := run(); without.ServerCPUSeconds != nil {
		t.Errorf("server CPU %v reported without -server-pids", *without.ServerCPUSeconds)
	}
	if err := runWorker([]string{"-client", "redigo", "-scenario", s.name, "-addr", srv.Addr, "-server-pids", "x"}, &bytes.Buffer{}); err == nil {
		t.Error("a bad -server-pids was accepted")
	}
}

// The Every cell table has the server's column, "-" where it is unknown,
// and filled for redis-benchmark.
func TestEveryCellServerColumn(t *testing.T) {
	s, err := lookupScenario("get16")
	if err != nil {
		t.Fatal(err)
	}
	rp, err := lookupClient("respool")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := lookupClient("redigo")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config{clients: []clientInfo{rp, rd}, scenarios: []scenario{s}, reference: true}
	nan := math.NaN()
	res := results{
		{s.name, "respool"}: {
			{opsPerSec: 1e5, cpuPerMOps: 4, serverCPUPerMOps: 2.2},
			{opsPerSec: 1e5, cpuPerMOps: 5, serverCPUPerMOps: 2.6},
			{opsPerSec: 1e5, cpuPerMOps: 6, serverCPUPerMOps: 9},
		},
		{s.name, "redigo"}:      {{opsPerSec: 1e5, cpuPerMOps: 7, serverCPUPerMOps: nan}},
		{s.name, referenceName}: {{opsPerSec: 1e5, cpuPerMOps: nan, bytesPerOp: nan, allocsPerOp: nan, serverCPUPerMOps: 1.9, reference: true}},
	}
	var b strings.Builder
	(&report{cfg: cfg, res: res}).renderCells(&b)
	text := b.String()
	for _, want := range []string{
		"| CPU s / M ops | server CPU s / M ops | B / op |",
		"| 5.0 | 2.6 | 0 |",   // respool: the medians
		"| 7.0 | - | 0 |",     // redigo: not measured
		"| - | 1.9 | - | - |", // redis-benchmark
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}
