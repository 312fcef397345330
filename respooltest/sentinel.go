package respooltest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	sentinelCount        = 3
	sentinelQuorum       = 2
	sentinelReadyTimeout = 20 * time.Second // hello messages go out every 2 s
	defaultMasterName    = "mymaster"
)

// SentinelOption configures StartSentinel and NewSentinel.
type SentinelOption func(*sentinelConfig)

type sentinelConfig struct {
	masterName       string
	args             []string // extra flags for the primary and the replica
	sentinelPassword string   // requirepass of the sentinels
}

// WithMasterName sets the name the sentinels monitor the primary under;
// the default is "mymaster".
func WithMasterName(name string) SentinelOption {
	return func(c *sentinelConfig) { c.masterName = name }
}

// WithSentinelArgs appends flags to the command lines of the primary and the
// replica (not the sentinels). With --requirepass the kit also sets
// --masterauth on both and `sentinel auth-pass` in the sentinels' config.
func WithSentinelArgs(args ...string) SentinelOption {
	return func(c *sentinelConfig) { c.args = append(c.args, args...) }
}

// WithSentinelPassword makes the sentinels require password from their
// clients (requirepass in their config, and sentinel-pass so that they
// authenticate to each other). The kit's helpers and Server.CLI on a
// sentinel use it. The data nodes' password is WithSentinelArgs's
// --requirepass.
func WithSentinelPassword(password string) SentinelOption {
	return func(c *sentinelConfig) { c.sentinelPassword = password }
}

// Sentinel is a primary, one replica of it, and 3 sentinels monitoring it
// with a quorum of 2.
type Sentinel struct {
	MasterName string // the name the sentinels monitor the primary under
	// SentinelPassword is the sentinels' password (WithSentinelPassword),
	// "" when they require none.
	SentinelPassword string
	Primary          *Server   // the primary when the set was started
	Replica          *Server   // its replica (--replicaof) when the set was started
	Sentinels        []*Server // 3 sentinels, each with its own config file in its Dir
}

// StartSentinel starts a sentinel set for the test and returns it once it is
// ready. The primary and replica are data servers as in StartServer (the
// replica with --replicaof); each sentinel runs `redis-server sentinel.conf
// --sentinel` in its own directory, with a writable config of
//
//	port PORT
//	bind 127.0.0.1
//	dir DIR
//	sentinel monitor mymaster 127.0.0.1 PRIMARYPORT 2
//	sentinel down-after-milliseconds mymaster 1000
//	sentinel failover-timeout mymaster 5000
//	sentinel parallel-syncs mymaster 1
//
// Ready means: the replica's master_link_status is up, and every sentinel
// names Primary.Addr for the master, lists the other 2 sentinels and the
// replica. Sentinels find each other through hello messages sent every 2 s,
// so this takes a few seconds. It skips or fails the test as RequireRedis
// does when redis-server is missing. t.Cleanup stops every process.
func StartSentinel(t testing.TB, opts ...SentinelOption) *Sentinel {
	t.Helper()
	RequireRedis(t)
	s, err := NewSentinel(opts...)
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

// NewSentinel is StartSentinel without a testing.TB, for TestMain and for a
// set shared across tests. The caller must call Close.
func NewSentinel(opts ...SentinelOption) (set *Sentinel, err error) {
	cfg := sentinelConfig{masterName: defaultMasterName}
	for _, o := range opts {
		o(&cfg)
	}
	extra := withMasterAuth(cfg.args)
	password := passwordFromArgs(extra)

	s := &Sentinel{MasterName: cfg.masterName, SentinelPassword: cfg.sentinelPassword, Sentinels: make([]*Server, sentinelCount)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if s.Primary, err = NewServer(WithArgs(extra...)); err != nil {
		return nil, err
	}
	replicaArgs := append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(s.Primary.Port)}, extra...)
	if s.Replica, err = NewServer(WithArgs(replicaArgs...)); err != nil {
		return nil, err
	}
	// Sentinels learn about replicas from the primary's INFO, which they
	// ask for every 10 s once connected: start them after the replica is
	// online so the first INFO already lists it.
	if err := waitFor(readyTimeout, s.checkReplicaOnline); err != nil {
		return nil, fmt.Errorf("respooltest: sentinel set: replica: %w", err)
	}

	errs := make([]error, sentinelCount)
	var wg sync.WaitGroup
	for i := range s.Sentinels {
		wg.Go(func() {
			s.Sentinels[i], errs[i] = newSentinelServer(cfg.masterName, s.Primary.Port, password, cfg.sentinelPassword)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if err := waitFor(sentinelReadyTimeout, s.checkReady); err != nil {
		return nil, fmt.Errorf("respooltest: sentinel set: %w", err)
	}
	return s, nil
}

// newSentinelServer writes a sentinel config and starts
// `redis-server sentinel.conf --sentinel`. password is the data nodes',
// own the sentinels'.
func newSentinelServer(masterName string, primaryPort int, password, own string) (*Server, error) {
	cfg := newConfig(nil)
	if own != "" {
		// Only for the kit's probes and CLI: the config file sets it.
		cfg.args = []string{"--requirepass", own}
	}
	return startServer(cfg, "sentinel-", func(port int, dir string) ([]string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "port %d\n", port)
		fmt.Fprintf(&b, "bind 127.0.0.1\n")
		fmt.Fprintf(&b, "dir %s\n", dir)
		fmt.Fprintf(&b, "sentinel monitor %s 127.0.0.1 %d %d\n", masterName, primaryPort, sentinelQuorum)
		fmt.Fprintf(&b, "sentinel down-after-milliseconds %s 1000\n", masterName)
		fmt.Fprintf(&b, "sentinel failover-timeout %s 5000\n", masterName)
		fmt.Fprintf(&b, "sentinel parallel-syncs %s 1\n", masterName)
		if password != "" {
			fmt.Fprintf(&b, "sentinel auth-pass %s %s\n", masterName, password)
		}
		if own != "" {
			fmt.Fprintf(&b, "requirepass %s\n", own)
			fmt.Fprintf(&b, "sentinel sentinel-pass %s\n", own)
		}
		conf := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
			return nil, fmt.Errorf("respooltest: %w", err)
		}
		return []string{conf, "--sentinel"}, nil
	})
}

// checkReplicaOnline reports whether the replica's link to the primary is up
// and the primary sees the replica online.
func (s *Sentinel) checkReplicaOnline() error {
	repl, err := s.Replica.info("replication")
	if err != nil {
		return err
	}
	if repl["master_link_status"] != "up" {
		return fmt.Errorf("replica %s: master_link_status:%s", s.Replica.Addr, repl["master_link_status"])
	}
	prim, err := s.Primary.info("replication")
	if err != nil {
		return err
	}
	if !strings.Contains(prim["slave0"], "state=online") {
		return fmt.Errorf("primary %s: slave0:%s", s.Primary.Addr, prim["slave0"])
	}
	return nil
}

// checkReady reports whether the set is ready (see StartSentinel).
func (s *Sentinel) checkReady() error {
	if err := s.checkReplicaOnline(); err != nil {
		return err
	}
	for _, sn := range s.Sentinels {
		addr, err := s.masterAddr(sn)
		if err != nil {
			return err
		}
		if addr != s.Primary.Addr {
			return fmt.Errorf("sentinel %s: master at %s, want %s", sn.Addr, addr, s.Primary.Addr)
		}
		for _, what := range []struct {
			sub  string
			want int
		}{{"SENTINELS", sentinelCount - 1}, {"REPLICAS", 1}} {
			v, err := sn.command("SENTINEL", what.sub, s.MasterName)
			if err != nil {
				return err
			}
			if a, _ := v.([]any); len(a) != what.want {
				return fmt.Errorf("sentinel %s: SENTINEL %s lists %d, want %d", sn.Addr, what.sub, len(a), what.want)
			}
		}
	}
	return nil
}

// masterAddr asks one sentinel for the master's "host:port".
func (s *Sentinel) masterAddr(sn *Server) (string, error) {
	v, err := sn.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.MasterName)
	if err != nil {
		return "", err
	}
	a, _ := v.([]any)
	if len(a) != 2 {
		return "", fmt.Errorf("sentinel %s: GET-MASTER-ADDR-BY-NAME %s: reply %v", sn.Addr, s.MasterName, v)
	}
	host, _ := a[0].(string)
	port, _ := a[1].(string)
	return host + ":" + port, nil
}

// Close stops the sentinels, then the replica, then the primary (so that no
// failover starts while the set shuts down), and removes their directories.
// It is idempotent.
func (s *Sentinel) Close() error {
	return errors.Join(closeAll(s.Sentinels), closeAll([]*Server{s.Replica}), closeAll([]*Server{s.Primary}))
}

// Addrs returns the sentinels' addresses, the ones a sentinel-aware client
// is given.
func (s *Sentinel) Addrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr
	}
	return addrs
}

// WaitPrimary waits up to 20 s until every running sentinel reports the same
// master address (SENTINEL GET-MASTER-ADDR-BY-NAME) and, when that address
// is the Primary or the Replica, that server reports the primary role; it
// returns the address. Use it after killing the primary to wait for the
// failover to finish. It fails the test when the sentinels do not agree in
// time.
func (s *Sentinel) WaitPrimary(t testing.TB) string {
	t.Helper()
	var agreed string
	err := waitFor(sentinelReadyTimeout, func() error {
		agreed = ""
		var from string
		for _, sn := range s.Sentinels {
			if !sn.running() {
				continue
			}
			addr, err := s.masterAddr(sn)
			if err != nil {
				return err
			}
			if from == "" {
				agreed, from = addr, sn.Addr
			} else if addr != agreed {
				return fmt.Errorf("sentinel %s says %s, sentinel %s says %s", sn.Addr, addr, from, agreed)
			}
		}
		if from == "" {
			return errors.New("no sentinel is running")
		}
		for _, n := range []*Server{s.Primary, s.Replica} {
			if n.Addr != agreed {
				continue
			}
			if !n.running() {
				return fmt.Errorf("sentinels name %s, which is down", agreed)
			}
			role, err := n.role()
			if err != nil {
				return err
			}
			if role != "master" {
				return fmt.Errorf("sentinels name %s, which reports role %s", agreed, role)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("respooltest: sentinels: %v", err)
	}
	return agreed
}
