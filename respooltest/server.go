package respooltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bounds on the waits the kit does. They are generous for a loaded machine;
// the loops that use them poll and return as soon as the condition holds.
const (
	readyTimeout   = 10 * time.Second       // a started server answers
	stopGrace      = 5 * time.Second        // SIGTERM before SIGKILL
	reapTimeout    = 10 * time.Second       // a killed process is reaped
	commandTimeout = 5 * time.Second        // one admin command
	probeTimeout   = 250 * time.Millisecond // one readiness probe; retried
	cliTimeout     = 30 * time.Second       // one redis-cli run
	pollInterval   = 10 * time.Millisecond  // between readiness probes
	portAttempts   = 5                      // fresh ports tried when one is taken
	logTailBytes   = 4096                   // how much of a log an error quotes
	stateTimeout   = 5 * time.Second        // SIGSTOP/SIGCONT take effect
	statePoll      = 1 * time.Millisecond   // between /proc/PID/stat reads
)

// errAddrInUse marks a start that failed because the port was taken.
var errAddrInUse = errors.New("respooltest: address already in use")

// Option configures StartServer and NewServer.
type Option func(*config)

type config struct {
	args []string // extra redis-server flags, after the base flags
	port int      // fixed port; 0 picks a free one

	tls            *TLSFiles // non-nil: also listen for TLS (WithTLS)
	tlsAuthClients bool

	// pickPort returns a port believed free. Tests replace it to provoke
	// the retry on a taken port.
	pickPort func() (int, error)
}

func newConfig(opts []Option) *config {
	c := &config{pickPort: freePort}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithArgs appends flags to the redis-server command line, after the base
// flags (so a repeated flag overrides the base one), for example
// WithArgs("--requirepass", "secret", "--maxclients", "20"). When the flags
// contain --requirepass, the Server remembers the password and uses it in
// CLI, Info and its readiness checks.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithPort starts the server on a fixed port instead of a free one. A start
// on a fixed port that is taken fails instead of trying another port.
func WithPort(port int) Option {
	return func(c *config) { c.port = port }
}

// WithTLS makes a data server also listen for TLS connections, on a second
// free port (Server.TLSAddr), with the server certificate of files. With
// requireClientCert the server refuses clients that do not present a
// certificate signed by files' authority. The plain port (Server.Addr)
// stays open; the kit's own helpers use it.
func WithTLS(files *TLSFiles, requireClientCert bool) Option {
	return func(c *config) { c.tls, c.tlsAuthClients = files, requireClientCert }
}

// Server is one redis-server process (a data node or a sentinel) that the kit
// started and owns. Its exported fields are fixed once it is returned; its
// methods are safe for concurrent use.
type Server struct {
	Addr string // "127.0.0.1:PORT"
	Port int    // the TCP port it listens on; Restart keeps it
	// TLSAddr is "127.0.0.1:TLSPORT" for a server started WithTLS, else
	// empty; Restart keeps it.
	TLSAddr string
	Dir     string // its private temporary directory: working dir, config, log

	bin      string   // absolute path of redis-server
	cli      string   // absolute path of redis-cli
	args     []string // command line of the last start; Restart reuses it
	logPath  string   // stdout and stderr of every start, appended
	password string   // from --requirepass, for probes and CLI

	// mu guards the process state below; it is held across starts and
	// stops so that they do not interleave.
	mu     sync.Mutex
	proc   *process // nil when not running
	paused bool     // SIGSTOP sent and not yet resumed
	closed bool     // Close was called; the server cannot start again
}

// process is one run of the server binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait returned
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartServer starts a private redis-server for the test and returns it once
// it answers commands. The command line is
//
//	redis-server --port PORT --bind 127.0.0.1 --save "" --appendonly no
//	    --enable-debug-command local --repl-diskless-sync-delay 0
//	    --dir DIR [WithArgs flags]
//
// on a free loopback port (unless WithPort), in a temporary directory of its
// own. It skips or fails the test as RequireRedis does when redis-server is
// missing, and fails the test, quoting the server's log, when the server
// does not come up within 10 s. t.Cleanup stops the server (SIGTERM, then
// SIGKILL after 5 s, by PID), reaps it and removes its directory.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	RequireRedis(t)
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// NewServer is StartServer without a testing.TB, for TestMain and for
// servers shared across tests. The caller must call Close.
func NewServer(opts ...Option) (*Server, error) {
	cfg := newConfig(opts)
	return startServer(cfg, "redis-", func(port int, dir string) ([]string, error) {
		return dataServerArgs(port, dir, cfg.args), nil
	})
}

// dataServerArgs is the command line of a data node (standalone, cluster
// node, or a sentinel set's primary or replica).
func dataServerArgs(port int, dir string, extra []string) []string {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--enable-debug-command", "local",
		"--repl-diskless-sync-delay", "0",
		"--dir", dir,
	}
	return append(args, extra...)
}

// tlsServerArgs are the flags of a TLS listener on port.
func tlsServerArgs(port int, f *TLSFiles, authClients bool) []string {
	auth := "no"
	if authClients {
		auth = "yes"
	}
	return []string{
		"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", f.ServerCert,
		"--tls-key-file", f.ServerKey,
		"--tls-ca-cert-file", f.CA,
		"--tls-auth-clients", auth,
	}
}

// startServer creates a directory, builds the command line for a port with
// argv and starts the server, trying fresh ports when the chosen one turns
// out to be taken (unless cfg fixes the port).
func startServer(cfg *config, dirPrefix string, argv func(port int, dir string) ([]string, error)) (*Server, error) {
	bin, cli, err := lookupBinaries(exec.LookPath)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "respooltest-"+dirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("respooltest: %w", err)
	}
	s := &Server{
		Dir:      dir,
		bin:      bin,
		cli:      cli,
		logPath:  filepath.Join(dir, "server.log"),
		password: passwordFromArgs(cfg.args),
	}
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			os.Remove(s.logPath) // so the next tail is about the next try
		}
		port := cfg.port
		if port == 0 {
			if port, err = cfg.pickPort(); err != nil {
				break
			}
		}
		s.Port = port
		s.Addr = "127.0.0.1:" + strconv.Itoa(port)
		if s.args, err = argv(port, dir); err != nil {
			break
		}
		if cfg.tls != nil {
			var tlsPort int
			if tlsPort, err = cfg.pickPort(); err != nil {
				break
			}
			s.TLSAddr = "127.0.0.1:" + strconv.Itoa(tlsPort)
			s.args = append(s.args, tlsServerArgs(tlsPort, cfg.tls, cfg.tlsAuthClients)...)
		}
		s.mu.Lock()
		err = s.launchLocked()
		s.mu.Unlock()
		if err == nil {
			return s, nil
		}
		if cfg.port != 0 || !errors.Is(err, errAddrInUse) || attempt == portAttempts {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// freePort returns a loopback port that was free a moment ago. Another
// process may take it before the server binds it; startServer retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("respooltest: find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port, nil
}

// passwordFromArgs returns the value of the last --requirepass flag.
func passwordFromArgs(args []string) string {
	var pw string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--requirepass" {
			pw = args[i+1]
		}
	}
	return pw
}

// launchLocked starts the process with s.args and waits until it answers. On failure the process is stopped and the error quotes its log.
func (s *Server) launchLocked() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("respooltest: %w", err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	logf.Close() // the child holds its own copy
	if err != nil {
		return fmt.Errorf("respooltest: start %s: %w", s.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait() // the exit status of a server we stop is of no interest
		close(p.done)
	}()
	s.proc = p
	s.paused = false

	if err := s.waitReadyLocked(p); err != nil {
		s.killLocked()
		return err
	}
	return nil
}

// waitReadyLocked polls the process until it answers (INFO server, with its
// own process id), exits, or readyTimeout passes.
func (s *Server) waitReadyLocked(p *process) error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for {
		if p.exited() {
			tail := s.logTail()
			if strings.Contains(tail, "Address already in use") {
				return fmt.Errorf("%w: port %d: %s log:\n%s", errAddrInUse, s.Port, s.bin, tail)
			}
			return fmt.Errorf("respooltest: %s on port %d exited during startup; log:\n%s", s.bin, s.Port, tail)
		}
		// INFO rather than PING: the answer must come from this process,
		// not from whoever else may hold the port.
		v, err := rawCommand(s.Addr, s.password, probeTimeout, "INFO", "server")
		if text, ok := v.(string); ok && err == nil {
			pid := parseInfo(text)["process_id"]
			if pid == strconv.Itoa(p.pid()) {
				return nil
			}
			err = fmt.Errorf("port %d answered by process %s, not %d", s.Port, pid, p.pid())
		}
		lastErr = err
		if time.Now().After(deadline) {
			return fmt.Errorf("respooltest: %s on port %d not ready after %v (last probe: %v); log:\n%s",
				s.bin, s.Port, readyTimeout, lastErr, s.logTail())
		}
		time.Sleep(pollInterval)
	}
}

// waitFor polls check until it returns nil or timeout passes.
func waitFor(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// logTail returns the end of the server's log.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

// stopLocked asks the process to shut down (SIGTERM), kills it if it is
// still there after stopGrace, and reaps it.
func (s *Server) stopLocked() error {
	p := s.proc
	if p == nil {
		return nil
	}
	if err := terminateGroup(p.pid()); err != nil {
		return s.killLocked()
	}
	select {
	case <-p.done:
		s.proc, s.paused = nil, false
		return nil
	case <-time.After(stopGrace):
	}
	return s.killLocked()
}

// killLocked sends SIGKILL and reaps the process.
func (s *Server) killLocked() error {
	p := s.proc
	if p == nil {
		return nil
	}
	if err := killGroup(p.pid()); err != nil {
		return fmt.Errorf("respooltest: kill pid %d: %w", p.pid(), err)
	}
	select {
	case <-p.done:
	case <-time.After(reapTimeout):
		return fmt.Errorf("respooltest: pid %d not reaped %v after SIGKILL", p.pid(), reapTimeout)
	}
	s.proc, s.paused = nil, false
	return nil
}

// Close stops the server (SIGTERM, then SIGKILL after 5 s), reaps it and
// removes its directory. It is idempotent; the server cannot be restarted
// afterwards.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stopLocked()
	if rmErr := os.RemoveAll(s.Dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("respooltest: %w", rmErr))
	}
	return err
}

// URL returns "redis://127.0.0.1:PORT", without the password.
func (s *Server) URL() string { return "redis://" + s.Addr }

// PID returns the process id of the running server, or 0 when it is down.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// running reports whether the process is up and not paused.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.exited() && !s.paused
}

// Kill sends SIGKILL to the server (kill -9) and reaps it. The server stays
// down until Restart.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.killLocked(); err != nil {
		t.Fatal(err)
	}
}

// Restart starts the server again on the same port, with the same command
// line and directory, and waits until it answers commands. A running server is
// killed first (SIGKILL). Data is not kept (the server does not persist),
// but a cluster node keeps its nodes.conf and a sentinel its config file.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		t.Fatalf("respooltest: restart %s: server is closed", s.Addr)
	}
	if err := s.killLocked(); err != nil {
		t.Fatal(err)
	}
	if err := s.launchLocked(); err != nil {
		t.Fatal(err)
	}
}

// Pause stops the server with SIGSTOP: it keeps its connections and its port
// but answers nothing until Resume. On Linux, Pause returns once the process
// is in the stopped state.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signalAndWait(t, "pause", stopGroup, true)
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signalAndWait(t, "resume", resumeGroup, false)
}

func (s *Server) signalAndWait(t testing.TB, what string, signal func(pid int) error, stopped bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		t.Fatalf("respooltest: %s %s: server is not running", what, s.Addr)
	}
	pid := s.proc.pid()
	if err := signal(pid); err != nil {
		t.Fatalf("respooltest: %s %s: %v", what, s.Addr, err)
	}
	s.paused = stopped
	deadline := time.Now().Add(stateTimeout)
	for {
		state, ok := processState(pid)
		if !ok || (state == 'T') == stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("respooltest: %s %s: process state %q after %v", what, s.Addr, state, stateTimeout)
		}
		time.Sleep(statePoll)
	}
}

// CLI runs `redis-cli -h 127.0.0.1 -p PORT args...` against the server and
// returns its standard output with surrounding white space trimmed. The
// output is redis-cli's raw format (its default when not on a terminal), so
// an error reply comes back as text such as "ERR unknown command ...", not as
// a failure. The password from --requirepass, if any, is passed through the
// REDISCLI_AUTH environment variable. CLI fails the test when redis-cli
// cannot run or exits with an error (for example when the server is down),
// or runs longer than 30 s.
func (s *Server) CLI(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.runCLI(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *Server) runCLI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	argv := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, args...)
	cmd := exec.CommandContext(ctx, s.cli, argv...)
	cmd.Env = os.Environ()
	if s.password != "" {
		cmd.Env = append(cmd.Env, "REDISCLI_AUTH="+s.password)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("respooltest: redis-cli -p %d %s: %w: %s",
			s.Port, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Info returns the fields of one INFO section ("server", "replication",
// "sentinel", ...; "" for the default set) as a map from field name to
// value. It fails the test when the server does not answer within 5 s.
func (s *Server) Info(t testing.TB, section string) map[string]string {
	t.Helper()
	m, err := s.info(section)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (s *Server) info(section string) (map[string]string, error) {
	args := []string{"INFO"}
	if section != "" {
		args = append(args, section)
	}
	text, err := s.commandString(args...)
	if err != nil {
		return nil, err
	}
	return parseInfo(text), nil
}

// command sends one command on a fresh connection (see rawCommand).
func (s *Server) command(args ...string) (any, error) {
	v, err := rawCommand(s.Addr, s.password, commandTimeout, args...)
	if err != nil {
		return nil, fmt.Errorf("respooltest: %s %s: %w", s.Addr, strings.Join(args, " "), err)
	}
	return v, nil
}

// commandString is command for a reply that must be a string.
func (s *Server) commandString(args ...string) (string, error) {
	v, err := s.command(args...)
	if err != nil {
		return "", err
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("respooltest: %s %s: reply %T, want a string", s.Addr, strings.Join(args, " "), v)
	}
	return str, nil
}

// parseInfo parses the "field:value" lines of INFO and CLUSTER INFO,
// skipping "# Section" headers and blank lines.
func parseInfo(text string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}
