//go:build unix

package respooltest_test

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// pidGone reports whether no process has the given id (it was reaped, not
// left a zombie).
func pidGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestStartServer(t *testing.T) {
	s := respooltest.StartServer(t)

	if got := s.CLI(t, "PING"); got != "PONG" {
		t.Fatalf("PING = %q, want PONG", got)
	}
	if want := "127.0.0.1:" + strconv.Itoa(s.Port); s.Addr != want {
		t.Errorf("Addr = %q, want %q", s.Addr, want)
	}
	if want := "redis://" + s.Addr; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	info := s.Info(t, "server")
	if info["tcp_port"] != strconv.Itoa(s.Port) {
		t.Errorf("INFO server tcp_port = %q, want %d", info["tcp_port"], s.Port)
	}
	if info["process_id"] != strconv.Itoa(s.PID()) {
		t.Errorf("INFO server process_id = %q, PID() = %d", info["process_id"], s.PID())
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		t.Errorf("Dir %q: %v", s.Dir, err)
	}
	// The base flags are in effect.
	if got := s.CLI(t, "CONFIG", "GET", "save"); got != "save" {
		t.Errorf("CONFIG GET save = %q, want an empty value", got)
	}
	if got := s.CLI(t, "CONFIG", "GET", "appendonly"); got != "appendonly\nno" {
		t.Errorf("CONFIG GET appendonly = %q", got)
	}
	if got := s.CLI(t, "DEBUG", "SLEEP", "0"); got != "OK" {
		t.Errorf("DEBUG SLEEP 0 = %q, want OK (debug command enabled)", got)
	}
}

func TestServerKillRestart(t *testing.T) {
	s := respooltest.StartServer(t)
	if got := s.CLI(t, "SET", "k", "v"); got != "OK" {
		t.Fatalf("SET = %q", got)
	}
	oldPID := s.PID()

	s.Kill(t)
	if !pidGone(oldPID) {
		t.Fatalf("pid %d still exists after Kill", oldPID)
	}
	if s.PID() != 0 {
		t.Errorf("PID() = %d after Kill, want 0", s.PID())
	}
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded after Kill", s.Addr)
	}

	port := s.Port
	s.Restart(t)
	if s.Port != port {
		t.Fatalf("Restart moved the server from port %d to %d", port, s.Port)
	}
	if s.PID() == oldPID || s.PID() == 0 {
		t.Errorf("PID() = %d after Restart, old %d", s.PID(), oldPID)
	}
	if got := s.CLI(t, "PING"); got != "PONG" {
		t.Fatalf("PING after Restart = %q", got)
	}
	if got := s.CLI(t, "EXISTS", "k"); got != "0" {
		t.Errorf("EXISTS k after Restart = %q, want 0 (nothing persisted)", got)
	}

	// Restart of a running server kills it first.
	runningPID := s.PID()
	s.Restart(t)
	if !pidGone(runningPID) {
		t.Errorf("pid %d still exists after Restart", runningPID)
	}
	if got := s.CLI(t, "PING"); got != "PONG" {
		t.Fatalf("PING after second Restart = %q", got)
	}
}

// procState reads the state letter from /proc/PID/stat.
func procState(t *testing.T, pid int) byte {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	s := string(b)
	return s[strings.LastIndexByte(s, ')')+2]
}

func TestServerPauseResume(t *testing.T) {
	s := respooltest.StartServer(t)
	pid := s.PID()

	// A connection opened before the pause stays open across it.
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)

	s.Pause(t)
	if st := procState(t, pid); st != 'T' {
		t.Fatalf("process state after Pause = %q, want 'T'", st)
	}
	// A stopped process cannot answer, however long we wait; the deadline
	// only bounds the test.
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("paused server answered %q", line)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("read from paused server: %v, want a timeout", err)
	}

	s.Resume(t)
	if st := procState(t, pid); st == 'T' {
		t.Fatalf("process state after Resume = %q", st)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || line != "+PONG\r\n" {
		t.Fatalf("reply after Resume = %q, %v; want +PONG", line, err)
	}
	if got := s.CLI(t, "PING"); got != "PONG" {
		t.Fatalf("PING after Resume = %q", got)
	}
}

func TestServerCloseReaps(t *testing.T) {
	s, err := respooltest.NewServer()
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	pid := s.PID()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !pidGone(pid) {
		t.Errorf("pid %d still exists after Close", pid)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("Dir %s still there after Close: %v", s.Dir, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Close also ends a paused server.
	s2, err := respooltest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	pid = s2.PID()
	s2.Pause(t)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if !pidGone(pid) {
		t.Errorf("pid %d (paused) still exists after Close", pid)
	}
}

func TestServerCleanup(t *testing.T) {
	var pid int
	t.Run("inner", func(t *testing.T) {
		pid = respooltest.StartServer(t).PID()
	})
	if pid == 0 || !pidGone(pid) {
		t.Errorf("pid %d not gone after the test's cleanup", pid)
	}
}

func TestServerWithArgs(t *testing.T) {
	s := respooltest.StartServer(t, respooltest.WithArgs("--requirepass", "s3cret", "--maxclients", "20"))

	// The kit's own helpers authenticate.
	if got := s.CLI(t, "CONFIG", "GET", "maxclients"); got != "maxclients\n20" {
		t.Errorf("CONFIG GET maxclients = %q", got)
	}
	if got := s.Info(t, "server")["tcp_port"]; got != strconv.Itoa(s.Port) {
		t.Errorf("INFO server tcp_port = %q", got)
	}
	// A client without the password is refused.
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("PING\r\n"))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "-NOAUTH") {
		t.Errorf("PING without password = %q, %v; want -NOAUTH", line, err)
	}
}

func TestServerWithPortTaken(t *testing.T) {
	respooltest.RequireRedis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	s, err := respooltest.NewServer(respooltest.WithPort(port))
	if err == nil {
		s.Close()
		t.Fatalf("NewServer on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("error does not quote the log: %v", err)
	}
}

func TestServerWithPort(t *testing.T) {
	respooltest.RequireRedis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	s := respooltest.StartServer(t, respooltest.WithPort(port))
	if s.Port != port {
		t.Fatalf("Port = %d, want %d", s.Port, port)
	}
	if got := s.CLI(t, "PING"); got != "PONG" {
		t.Fatalf("PING = %q", got)
	}
}
