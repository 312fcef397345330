package cmdinfo

import (
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startServer starts a private redis-server on a free loopback port for
// the test and returns its port. Without redis-server the test is skipped,
// or fails under CI=true.
func startServer(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		_, err = exec.LookPath("redis-cli")
	}
	if err != nil {
		const msg = "redis-server or redis-cli not found; install with apt-get install -y redis-server redis-tools"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "--save", "", "--appendonly", "no", "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--dir", dir, "--logfile", dir+"/redis.log")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(dir + "/redis.log")
			t.Fatalf("redis-server on %s did not start: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cli runs redis-cli against the server; its output is raw (one line per
// element) because stdout is not a terminal.
func cli(t *testing.T, port int, args ...string) []string {
	t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port)}, args...)...).Output()
	if err != nil {
		t.Fatalf("redis-cli %q: %v", args, err)
	}
	s := strings.TrimSuffix(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestTableMatchesServer checks the checked-in table against the installed
// server: the same commands and subcommands (so a stale table, or a server of
// another version, is caught), and the same keys as COMMAND GETKEYS.
func TestTableMatchesServer(t *testing.T) {
	port := startServer(t)

	version := strings.TrimPrefix(cli(t, port, "INFO", "server")[1], "redis_version:")
	version = strings.TrimSpace(version)
	if version != ServerVersion {
		t.Logf("server is %s, table is from %s", version, ServerVersion)
	}

	serverNames := cli(t, port, "COMMAND", "LIST")
	slices.Sort(serverNames)
	// COMMAND LIST names subcommands too ("client|kill").
	var tableNames []string
	topLevel := 0
	for _, info := range All() {
		tableNames = append(tableNames, info.Name)
		if !strings.Contains(info.Name, "|") {
			topLevel++
		}
	}
	if !slices.Equal(serverNames, tableNames) {
		for _, n := range serverNames {
			if _, ok := Lookup(n); !ok {
				t.Errorf("server command %q is not in the table", n)
			}
		}
		for _, n := range tableNames {
			if !slices.Contains(serverNames, n) {
				t.Errorf("table command %q is not on the server", n)
			}
		}
		t.Fatalf("COMMAND LIST of redis-server %s differs from the table (generated from %s): run go generate", version, ServerVersion)
	}
	if count := cli(t, port, "COMMAND", "COUNT"); len(count) != 1 || count[0] != strconv.Itoa(topLevel) {
		t.Errorf("COMMAND COUNT = %q, table has %d top-level commands", count, topLevel)
	}

	// Every subcommand the server knows of each container.
	for _, info := range All() {
		if !info.IsContainer() {
			continue
		}
		lines := cli(t, port, "COMMAND", "INFO", info.Name)
		var subs []string
		for _, l := range lines {
			if strings.HasPrefix(l, info.Name+"|") {
				subs = append(subs, l)
			}
		}
		slices.Sort(subs)
		if !slices.Equal(subs, info.Subcommands) {
			t.Errorf("%s: server subcommands %q, table %q", info.Name, subs, info.Subcommands)
		}
	}

	for _, tt := range keyIndexTests {
		args := splitLine(tt.line)
		if strings.HasPrefix(tt.line, "MIGRATE") {
			continue // the server's MIGRATE key finder differs from its key specs; see keyIndexTests
		}
		got := cli(t, port, append([]string{"COMMAND", "GETKEYS"}, args...)...)
		if len(got) > 0 && strings.HasPrefix(got[0], "ERR ") {
			if tt.want != nil {
				t.Errorf("COMMAND GETKEYS %s: %s, but the test expects keys %v", tt.line, got[0], tt.want)
			}
			continue
		}
		var mine []string
		for _, k := range KeyIndexes(args) {
			mine = append(mine, args[k])
		}
		if !slices.Equal(mine, got) {
			t.Errorf("%s: KeyIndexes finds %q, COMMAND GETKEYS %q", tt.line, mine, got)
		}
	}
}
