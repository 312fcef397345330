package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// waitWriter collects output written by one goroutine while another waits
// for some text to appear in it.
type waitWriter struct {
	mu      sync.Mutex // guards buf and changed
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at each write
}

func newWaitWriter() *waitWriter { return &waitWriter{changed: make(chan struct{})} }

func (w *waitWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *waitWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the output matches re, or fails the test after
// the deadline (a bound for a broken program, not a synchronisation).
func (w *waitWriter) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	return w.waitUntil(t, re.String(), re.MatchString)
}

// waitUntil waits until done accepts the output, as waitFor.
func (w *waitWriter) waitUntil(t *testing.T, what string, done func(string) bool) string {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		w.mu.Lock()
		out, changed := w.buf.String(), w.changed
		w.mu.Unlock()
		if done(out) {
			return out
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("no output matching %q; got:\n%q", what, out)
		}
	}
}

// startRespool runs the CLI in process on its own goroutine until the
// returned function is called, which interrupts it (as SIGINT does) and
// returns its exit status.
func startRespool(t *testing.T, stdout *waitWriter, args ...string) func() int {
	ctx, cancel := context.WithCancel(context.Background())
	status := make(chan int, 1)
	go func() {
		status <- runCLIContext(ctx, args, bytes.NewReader(nil), stdout, stdout)
	}()
	return func() int {
		cancel()
		return <-status
	}
}

// hostPort is the -h and -p arguments for addr.
func hostPort(addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	return []string{"-h", host, "-p", port}
}

// TestCLIRepeatAndStdinMatchRedisCLI checks -r, -i, -x, -X and
// --quoted-input against redis-cli: output, stderr, status, and what the
// command left on the server.
func TestCLIRepeatAndStdinMatchRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	tests := []struct {
		args  []string
		stdin []byte
		check []string // a command whose output must match after the case
	}{
		{args: cliArgs("--no-raw", "-r", "3", "PING")},
		{args: cliArgs("--no-raw", "-r", "3", "-i", "0.01", "INCR", "rep")},
		{args: cliArgs("-r", "2", "RPUSH", "replist", "a"), check: cliArgs("LRANGE", "replist", "0", "-1")},
		{args: cliArgs("-x", "SET", "xkey"), stdin: []byte("line one\nline two\x00end\n"), check: cliArgs("--no-raw", "GET", "xkey")},
		{args: cliArgs("--no-raw", "-x", "GET"), stdin: []byte("xkey")},
		{args: cliArgs("-X", "TAG", "SET", "TAG", "value"), stdin: []byte("from stdin"), check: cliArgs("--no-raw", "GET", "from stdin")},
		{args: cliArgs("-X", "TAG", "SET", "k", "v"), stdin: []byte("x")},
		{args: cliArgs("-x", "-X", "TAG", "GET", "TAG"), stdin: []byte("x")},
		{args: cliArgs("--quoted-input", "SET", `"bin\x00key"`, `'v a l'`), check: cliArgs("--no-raw", "--quoted-input", "GET", `"bin\x00key"`)},
		{args: cliArgs("--quoted-input", "SET", `"open`, "v")},
	}
	for _, tc := range tests {
		want, wantErr, wantStatus, err := redisCLIStdin(srv.Addr, tc.stdin, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var wantCheck []byte
		if tc.check != nil {
			wantCheck, _, _ = respoolCLI(srv.Addr, tc.check...)
		}
		srv.CLI(t, "FLUSHALL")
		got, gotErr, status := respoolCLIStdin(srv.Addr, tc.stdin, tc.args...)
		if !bytes.Equal(got, want) || !bytes.Equal(gotErr, wantErr) || status != wantStatus {
			t.Errorf("%q:\nredis-cli (%d): %q %q\nrespool (%d): %q %q", tc.args, wantStatus, want, wantErr, status, got, gotErr)
		}
		if tc.check != nil {
			if gotCheck, _, _ := respoolCLI(srv.Addr, tc.check...); !bytes.Equal(gotCheck, wantCheck) {
				t.Errorf("%q then %q: redis-cli left %q, respool %q", tc.args, tc.check, wantCheck, gotCheck)
			}
		}
		srv.CLI(t, "FLUSHALL")
	}
}

// TestCLIScanMatchesRedisCLI checks --scan with --pattern in both output
// modes (SCAN's order is the server's: the lines are compared sorted), and
// --count.
func TestCLIScanMatchesRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	var load bytes.Buffer
	for i := range 300 {
		fmt.Fprintf(&load, "SET scan:%d v\n", i)
	}
	load.WriteString("SET \"scan:quoted \\\"key\\\"\\n\" v\nSET other v\n")
	if out, errOut, status := respoolCLIStdin(srv.Addr, load.Bytes(), "--pipe"); status != 0 {
		t.Fatalf("loading: %d %q %q", status, out, errOut)
	}
	for _, args := range [][]string{
		cliArgs("--scan"),
		cliArgs("--scan", "--pattern", "scan:1*"),
		cliArgs("--no-raw", "--scan", "--pattern", "scan:q*"),
		cliArgs("--scan", "--quoted-pattern", `"scan:\x31*"`),
		cliArgs("--scan", "--quoted-pattern", `"scan:`),
	} {
		want, _, wantStatus, err := redisCLI(srv.Addr, args...)
		if err != nil {
			t.Fatal(err)
		}
		got, gotErr, status := respoolCLI(srv.Addr, args...)
		if !slices.Equal(sortedLines(got), sortedLines(want)) || status != wantStatus {
			t.Errorf("%q:\nredis-cli (%d): %q\nrespool (%d): %q %q", args, wantStatus, want, status, got, gotErr)
		}
	}
	got, _, _ := respoolCLI(srv.Addr, "--scan", "--count", "1000", "--pattern", "scan:2??")
	if lines := sortedLines(got); len(lines) != 100 || lines[0] != "scan:200" {
		t.Errorf("--count 1000: %d keys, %q...", len(lines), lines[:min(3, len(lines))])
	}
}

func sortedLines(b []byte) []string {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(lines)
	return lines
}

// TestCLIPipeMatchesRedisCLI loads 100,000 SETs with --pipe, in the
// protocol and inline, as redis-cli does: same summary, every key loaded.
// Error replies are counted and printed on stderr as redis-cli does.
func TestCLIPipeMatchesRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	const n = 100_000
	var raw, inline bytes.Buffer
	for i := range n {
		k, v := fmt.Sprintf("key:%06d", i), fmt.Sprintf("value %d", i)
		fmt.Fprintf(&raw, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
		if i < 1000 {
			fmt.Fprintf(&inline, "SET %s \"%s\"\n", k, v)
		}
	}
	withErrors := []byte("SET a 1\r\nINCR a\nLPUSH a x\n\nINCR a\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
	for _, tc := range []struct {
		name  string
		input []byte
		keys  int64
	}{
		{"protocol", raw.Bytes(), n},
		{"inline", inline.Bytes(), 1000},
		{"errors", withErrors, 1},
	} {
		srv.CLI(t, "FLUSHALL")
		want, wantErr, wantStatus, err := redisCLIStdin(srv.Addr, tc.input, "--pipe")
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.CLI(t, "DBSIZE"); got != fmt.Sprint(tc.keys) {
			t.Fatalf("%s: redis-cli loaded %s keys", tc.name, got)
		}
		srv.CLI(t, "FLUSHALL")
		got, gotErr, status := respoolCLIStdin(srv.Addr, tc.input, "--pipe")
		if !bytes.Equal(got, want) || !bytes.Equal(gotErr, wantErr) || status != wantStatus {
			t.Errorf("%s:\nredis-cli (%d): %q %q\nrespool (%d): %q %q", tc.name, wantStatus, want, wantErr, status, got, gotErr)
		}
		if got := srv.CLI(t, "DBSIZE"); got != fmt.Sprint(tc.keys) {
			t.Errorf("%s: respool loaded %s keys, want %d", tc.name, got, tc.keys)
		}
	}
	if got := srv.CLI(t, "GET", "a"); got != "3" {
		t.Errorf("after the errors case a = %q, want 3", got)
	}

	// A malformed input is refused where it goes wrong, before the rest.
	for _, bad := range []string{"*2\r\n$3\r\nGET\r\n", "*1\r\n$999999999999\r\n", "*1\r\n:1\r\n", "SET \"open\n"} {
		got, gotErr, status := respoolCLIStdin(srv.Addr, []byte(bad), "--pipe")
		if status != 1 || len(got) != 0 || !strings.HasPrefix(string(gotErr), "respool: --pipe: ") {
			t.Errorf("%q: status %d, stdout %q, stderr %q", bad, status, got, gotErr)
		}
	}
}

// TestCLILatency checks the lines of --latency and --latency-history
// outside a terminal, which redis-cli prints in the same format.
func TestCLILatency(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	line := regexp.MustCompile(`^\d+ \d+ \d+\.\d\d \d+\n$`)
	want, _, _, err := redisCLI(srv.Addr, "--latency", "--raw", "-i", "0.1")
	if err != nil {
		t.Fatal(err)
	}
	got, _, status := respoolCLI(srv.Addr, "--latency", "--raw", "-i", "0.1")
	if !line.Match(want) || !line.Match(got) || status != 0 {
		t.Errorf("--latency: redis-cli %q, respool (%d) %q", want, status, got)
	}
	got, _, _ = respoolCLI(srv.Addr, "--latency", "--csv", "-i", "0.05")
	if !regexp.MustCompile(`^\d+,\d+,\d+\.\d\d,\d+\n$`).Match(got) {
		t.Errorf("--latency --csv: %q", got)
	}

	out := newWaitWriter()
	stop := startRespool(t, out, append(hostPort(srv.Addr), "--latency-history", "--raw", "-i", "0.05")...)
	text := out.waitFor(t, regexp.MustCompile(`(?s)^(\d+ \d+ \d+\.\d\d \d+\n)+ -- \d+\.\d\d seconds range\n\d+ \d+ \d+\.\d\d 1\n`))
	if status := stop(); status != 130 {
		t.Errorf("interrupted --latency-history: status %d:\n%s", status, text)
	}
}

// TestCLIStat checks --stat's header (redis-cli's text) and lines.
func TestCLIStat(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	srv.CLI(t, "MSET", "a", "1", "b", "2", "c", "3")
	srv.CLI(t, "-n", "2", "MSET", "d", "4", "e", "5")
	out := newWaitWriter()
	stop := startRespool(t, out, append(hostPort(srv.Addr), "--stat", "-i", "0.05")...)
	text := out.waitFor(t, regexp.MustCompile(`(?m)(^5 .*\n){2}`))
	stop()
	header := "------- data ------ --------------------- load -------------------- - child -\n" +
		"keys       mem      clients blocked requests            connections          \n"
	line := regexp.MustCompile(`^5 {10}[\d.]+[BKMG] +\s1 {7}0 {7}\d+ \(\+\d+\) +\s\d+ +\n$`)
	lines := strings.SplitAfter(strings.TrimPrefix(text, header), "\n")
	if !strings.HasPrefix(text, header) || len(lines) < 2 || !line.MatchString(lines[0]) || !line.MatchString(lines[1]) ||
		!strings.Contains(lines[0], " (+0) ") || strings.Contains(lines[1], " (+0) ") {
		t.Errorf("--stat output:\n%s", text)
	}
}

// TestCLIStreamingMatchesRedisCLI runs SUBSCRIBE, PSUBSCRIBE and
// SSUBSCRIBE with redis-cli and respool side by side, publishes, and
// requires the same output; MONITOR's lines carry times and addresses, so
// their shape is checked.
func TestCLIStreamingMatchesRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	for _, tc := range []struct {
		args     []string
		channels int
		publish  []string
	}{
		{cliArgs("--no-raw", "SUBSCRIBE", "news", "alerts"), 2, cliArgs("PUBLISH", "news", "hello \"world\"")},
		{cliArgs("--raw", "SUBSCRIBE", "news"), 1, cliArgs("PUBLISH", "news", "raw")},
		{cliArgs("-3", "--no-raw", "PSUBSCRIBE", "n*"), 1, cliArgs("PUBLISH", "news", "pattern")},
		{cliArgs("--csv", "SSUBSCRIBE", "shard"), 1, cliArgs("SPUBLISH", "shard", "sharded")},
	} {
		ready := regexp.MustCompile(`(?s)(subscribe.*){` + fmt.Sprint(tc.channels) + `}\d`)
		message := regexp.MustCompile(`(?s)message.*` + strings.Fields(tc.publish[2])[0])

		host, port, _ := net.SplitHostPort(srv.Addr)
		cmd := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, tc.args...)...)
		cmd.Env = []string{"HOME=/nonexistent"}
		want := newWaitWriter()
		cmd.Stdout = want
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := newWaitWriter()
		stop := startRespool(t, got, append(hostPort(srv.Addr), tc.args...)...)
		want.waitFor(t, ready)
		got.waitFor(t, ready)
		srv.CLI(t, tc.publish...)
		want.waitFor(t, message)
		got.waitFor(t, message)
		cmd.Process.Kill()
		cmd.Wait()
		if status := stop(); status != 130 {
			t.Errorf("%q: status %d after the interruption", tc.args, status)
		}
		if got.String() != want.String() {
			t.Errorf("%q:\nredis-cli: %q\nrespool:   %q", tc.args, want.String(), got.String())
		}
	}

	got := newWaitWriter()
	stop := startRespool(t, got, append(hostPort(srv.Addr), "MONITOR")...)
	got.waitFor(t, regexp.MustCompile(`^OK\n`))
	srv.CLI(t, "SET", "monitored", "1")
	got.waitFor(t, regexp.MustCompile(`\n\d+\.\d+ \[0 127\.0\.0\.1:\d+\] "SET" "monitored" "1"\n`))
	stop()
}

// TestCLITLSAndSocket reaches a server over TLS (--tls, --cacert, --cert,
// --key, --insecure) and over a Unix socket (-s), as redis-cli does.
func TestCLITLSAndSocket(t *testing.T) {
	respooltest.RequireRedis(t)
	dir := t.TempDir()
	files, err := respooltest.NewTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "redis.sock")
	srv := respooltest.StartServer(t, respooltest.WithTLS(files, true),
		respooltest.WithArgs("--unixsocket", sock, "--unixsocketperm", "700"))
	srv.CLI(t, "SET", "k", "over tls")
	tlsArgs := append(hostPort(srv.TLSAddr), "--tls", "--cacert", files.CA, "--cert", files.ClientCert, "--key", files.ClientKey)
	for _, args := range [][]string{
		append(slices.Clone(tlsArgs), "--no-raw", "GET", "k"),
		append(hostPort(srv.TLSAddr), "--tls", "--insecure", "--cert", files.ClientCert, "--key", files.ClientKey, "GET", "k"),
		cliArgs("-s", sock, "--no-raw", "GET", "k"),
	} {
		want, _, wantStatus, err := redisCLIStdin("127.0.0.1:0", nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		var got, gotErr bytes.Buffer
		status := runCLIContext(context.Background(), args, bytes.NewReader(nil), &got, &gotErr)
		if !bytes.Equal(got.Bytes(), want) || status != wantStatus || len(want) == 0 {
			t.Errorf("%q:\nredis-cli (%d): %q\nrespool (%d): %q %q", args, wantStatus, want, status, got.String(), gotErr.String())
		}
	}
	// Without the client certificate the server refuses the handshake;
	// with a missing CA file the command line is refused.
	var out, errOut bytes.Buffer
	args := append(hostPort(srv.TLSAddr), "--tls", "--cacert", files.CA, "PING")
	if status := runCLIContext(context.Background(), args, nil, &out, &errOut); status != 1 || out.Len() != 0 || errOut.Len() == 0 {
		t.Errorf("no client certificate: status %d, %q, %q", status, out.String(), errOut.String())
	}
	errOut.Reset()
	args = append(hostPort(srv.TLSAddr), "--tls", "--cacert", filepath.Join(dir, "missing.pem"), "PING")
	if status := runCLIContext(context.Background(), args, nil, &out, &errOut); status != 1 ||
		!strings.Contains(errOut.String(), "Failed to load CA Certificates") {
		t.Errorf("missing CA file: status %d, %q", status, errOut.String())
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatal(err)
	}
}

// TestStatsCommand runs `respool stats` briefly and checks its lines add
// up: commands completed and pool hits and misses.
func TestStatsCommand(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	var out, errOut bytes.Buffer
	status := runStatsContext(context.Background(), []string{"-u", srv.URL(), "-workers", "8", "-pool-size", "2",
		"-exclusive", "-command", "SET stats:{n} x", "-interval", "50ms", "-duration", "300ms"}, &out, &errOut)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if status != 0 || len(lines) < 4 || lines[1] != strings.TrimSuffix(statsHeader, "\n") {
		t.Fatalf("status %d, stderr %q, stdout:\n%s", status, errOut.String(), out.String())
	}
	// The counters add up from the first line on: the first connection
	// was dialled by the PING before it, each other one is a miss.
	var hits, misses, waits, closed int
	for _, l := range lines[2:] {
		var rate, waitMS float64
		var failed, open, idle, inUse, dialing, waiting, h, m, w, timeouts, dials, c int
		if _, err := fmt.Sscanf(l, "%f %d %d %d %d %d %d | %d %d %d %f %d %d %d", &rate, &failed, &open, &idle, &inUse,
			&dialing, &waiting, &h, &m, &w, &waitMS, &timeouts, &dials, &c); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if failed != 0 || open > 2 || open != idle+inUse {
			t.Errorf("line %q: errors, more than PoolSize connections, or open != idle + in use", l)
		}
		hits, misses, waits, closed = hits+h, misses+m, waits+w, closed+c
	}
	// A connection broken by the end of the run may be dialled again.
	if misses > 1+closed || hits == 0 || waits == 0 {
		t.Errorf("hits %d, misses %d, waits %d, closed %d:\n%s", hits, misses, waits, closed, out.String())
	}
	if n := srv.CLI(t, "DBSIZE"); n == "0" {
		t.Error("no key was written")
	}
	if status := runStatsContext(context.Background(), []string{"-u", "redis://127.0.0.1:1", "-duration", "1s"}, &out, &errOut); status != 1 {
		t.Errorf("unreachable server: status %d", status)
	}
}
