package respooltest

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// fakeTB records Skip and Fatal instead of ending the test. Methods it does
// not override panic (the embedded TB is nil), so the test notices any other
// use.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped, f.msg = true, fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any) { f.failed, f.msg = true, fmt.Sprint(args...) }

const wantHint = "install it with `apt-get update && apt-get install -y redis-server redis-tools redis-sentinel`"

func TestRequireRedis(t *testing.T) {
	found := func(name string) (string, error) { return "/usr/bin/" + name, nil }
	missing := func(absent string) func(string) (string, error) {
		return func(name string) (string, error) {
			if name == absent {
				return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
			}
			return found(name)
		}
	}
	env := func(ci string) func(string) string {
		return func(key string) string {
			if key == "CI" {
				return ci
			}
			return ""
		}
	}
	tests := []struct {
		name     string
		lookPath func(string) (string, error)
		ci       string
		skip     bool
		fail     bool
		wantName string
	}{
		{name: "all found", lookPath: found, ci: "true"},
		{name: "no server, local", lookPath: missing("redis-server"), skip: true, wantName: "redis-server"},
		{name: "no server, CI", lookPath: missing("redis-server"), ci: "true", fail: true, wantName: "redis-server"},
		{name: "no cli, CI=1", lookPath: missing("redis-cli"), ci: "1", fail: true, wantName: "redis-cli"},
		{name: "no cli, CI=false", lookPath: missing("redis-cli"), ci: "false", skip: true, wantName: "redis-cli"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTB{}
			requireRedis(f, tt.lookPath, env(tt.ci))
			if f.skipped != tt.skip || f.failed != tt.fail {
				t.Fatalf("skipped=%v failed=%v, want skipped=%v failed=%v (msg %q)",
					f.skipped, f.failed, tt.skip, tt.fail, f.msg)
			}
			if tt.wantName != "" {
				want := tt.wantName + " not found: " + wantHint
				if !strings.Contains(f.msg, want) {
					t.Errorf("message %q does not contain %q", f.msg, want)
				}
			}
		})
	}
}

// TestRequireRedisEmptyPath uses the real PATH lookup with PATH pointing to
// an empty directory.
func TestRequireRedisEmptyPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		f := &fakeTB{}
		requireRedis(f, exec.LookPath, func(string) string { return ci })
		if f.skipped != (ci == "") || f.failed != (ci == "true") {
			t.Errorf("CI=%q: skipped=%v failed=%v", ci, f.skipped, f.failed)
		}
		if !strings.Contains(f.msg, "redis-server not found: "+wantHint) {
			t.Errorf("CI=%q: message %q", ci, f.msg)
		}
	}
	if _, err := NewServer(); err == nil || !strings.Contains(err.Error(), "redis-server not found") {
		t.Errorf("NewServer with empty PATH: %v", err)
	}
}

// TestStartServerRetriesTakenPort makes the first picked port a taken one:
// the server must come up on the next.
func TestStartServerRetriesTakenPort(t *testing.T) {
	RequireRedis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port

	calls := 0
	cfg := newConfig(nil)
	cfg.pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return taken, nil
		}
		return freePort()
	}
	s, err := startServer(cfg, "retry-", func(port int, dir string) ([]string, error) {
		return dataServerArgs(port, dir, nil), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if calls != 2 || s.Port == taken {
		t.Errorf("picked %d ports, server on %d (taken %d); want 2 picks and another port", calls, s.Port, taken)
	}
	if v, err := rawCommand(s.Addr, "", commandTimeout, "PING"); v != "PONG" {
		t.Errorf("PING = %v, %v", v, err)
	}
}

func TestStartServerGivesUpOnOtherErrors(t *testing.T) {
	RequireRedis(t)
	calls := 0
	cfg := newConfig([]Option{WithArgs("--no-such-flag", "x")})
	cfg.pickPort = func() (int, error) { calls++; return freePort() }
	_, err := startServer(cfg, "bad-", func(port int, dir string) ([]string, error) {
		return dataServerArgs(port, dir, cfg.args), nil
	})
	if err == nil {
		t.Fatal("server with a bad flag started")
	}
	if errors.Is(err, errAddrInUse) || calls != 1 {
		t.Errorf("err %v after %d picks; want one attempt", err, calls)
	}
	if !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error does not quote the log: %v", err)
	}
}

func TestParseTopology(t *testing.T) {
	nodes := `a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b1 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922
c1 127.0.0.1:7003@17003,host master - 0 0 3 connected 10923-16000 16001-16383
d1 127.0.0.1:7004@17004 slave a1 0 0 1 connected
e1 127.0.0.1:7005@17005 master,fail - 0 0 1 disconnected
f1 127.0.0.1:7006@17006 slave,fail c1 0 0 1 disconnected
`
	got, err := parseTopology(nodes)
	if err != nil {
		t.Fatal(err)
	}
	want := "[primary 127.0.0.1:7001 slots 0-5460; primary 127.0.0.1:7002 slots 5461-10922; " +
		"primary 127.0.0.1:7003 slots 10923-16000,16001-16383; " +
		"replica 127.0.0.1:7004 of 127.0.0.1:7001; replica 127.0.0.1:7006 of 127.0.0.1:7003]"
	if got.String() != want {
		t.Errorf("topology\n got %s\nwant %s", got, want)
	}
	if !got.equal(got) {
		t.Error("topology not equal to itself")
	}
	if _, err := parseTopology("a1 127.0.0.1:7001 master"); err == nil {
		t.Error("short line accepted")
	}
}
