package respooltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	clusterNodes        = 6     // 3 primaries, 3 replicas
	clusterSlots        = 16384 // hash slots a cluster must cover
	clusterReadyTimeout = 15 * time.Second
)

// ClusterOption configures StartCluster and NewCluster.
type ClusterOption func(*clusterConfig)

type clusterConfig struct {
	args []string // extra flags for every node
}

// WithClusterArgs appends flags to every node's command line, after the
// cluster flags (so a repeated flag, such as --cluster-node-timeout,
// overrides the kit's). With --requirepass the kit also sets --masterauth to
// the same password, unless the flags set it.
func WithClusterArgs(args ...string) ClusterOption {
	return func(c *clusterConfig) { c.args = append(c.args, args...) }
}

// Cluster is a Redis Cluster of 6 nodes, 3 primaries with one replica each,
// created with `redis-cli --cluster create --cluster-replicas 1`.
type Cluster struct {
	// Nodes are the 6 servers in the order they were passed to
	// redis-cli --cluster create: Nodes[0:3] were the primaries and
	// Nodes[3:6] the replicas when it was created. Failovers change the
	// roles; use Primaries and Replicas for the current ones.
	Nodes []*Server
}

// StartCluster starts a 6-node cluster for the test and returns it once it is
// healthy (see WaitHealthy). Every node is a data server as in StartServer
// (whose flags include --repl-diskless-sync-delay 0), with
//
//	--cluster-enabled yes --cluster-config-file nodes.conf
//	--cluster-node-timeout 2000 --cluster-port BUSPORT [WithClusterArgs flags]
//
// where BUSPORT is a second free port. It skips or fails the test as
// RequireRedis does when redis-server is missing. t.Cleanup stops every node.
// A cluster takes about 2 s to start (Redis keeps a new primary out of
// service for its first 2 s); a suite that needs one in many
// tests can share one made by NewCluster in TestMain.
func StartCluster(t testing.TB, opts ...ClusterOption) *Cluster {
	t.Helper()
	RequireRedis(t)
	c, err := NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// NewCluster is StartCluster without a testing.TB, for TestMain and for a
// cluster shared across tests. The caller must call Close.
func NewCluster(opts ...ClusterOption) (*Cluster, error) {
	var ccfg clusterConfig
	for _, o := range opts {
		o(&ccfg)
	}
	extra := withMasterAuth(ccfg.args)

	c := &Cluster{Nodes: make([]*Server, clusterNodes)}
	errs := make([]error, clusterNodes)
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Go(func() {
			cfg := newConfig([]Option{WithArgs(extra...)})
			c.Nodes[i], errs[i] = startServer(cfg, "cluster-", func(port int, dir string) ([]string, error) {
				busPort, err := freePort()
				if err != nil {
					return nil, err
				}
				flags := []string{
					"--cluster-enabled", "yes",
					"--cluster-config-file", "nodes.conf",
					"--cluster-node-timeout", "2000",
					"--cluster-port", strconv.Itoa(busPort),
				}
				return dataServerArgs(port, dir, append(flags, extra...)), nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Close()
		return nil, err
	}

	if err := c.create(); err != nil {
		c.Close()
		return nil, err
	}
	// redis-cli makes the replicas follow their primaries last; tell every
	// node about the new roles now rather than at the next gossip round.
	c.meetAll()
	if err := c.waitHealthy(clusterReadyTimeout); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// withMasterAuth adds --masterauth when args set --requirepass and not
// --masterauth, so that replicas can authenticate to their primary.
func withMasterAuth(args []string) []string {
	pw := passwordFromArgs(args)
	if pw == "" || slices.Contains(args, "--masterauth") {
		return args
	}
	return append(slices.Clip(args), "--masterauth", pw)
}

// create runs redis-cli --cluster create over the nodes.
//
// redis-cli makes every node meet the first one, then waits in steps of one
// second until gossip has told every node about every other, which takes one
// to three steps. Meanwhile introduceAll makes every pair of nodes meet
// directly, so that the first step usually finds the cluster joined.
func (c *Cluster) create() error {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	first := c.Nodes[0]
	cmd := exec.CommandContext(ctx, first.cli, args...)
	cmd.Env = os.Environ()
	if first.password != "" {
		cmd.Env = append(cmd.Env, "REDISCLI_AUTH="+first.password)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("respooltest: redis-cli --cluster create: %w", err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.introduceAll(done) })
	err := cmd.Wait()
	close(done)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("respooltest: redis-cli --cluster create: %w; output:\n%s", err, tail(out.String()))
	}
	return nil
}

// introduceAll waits until redis-cli has sent its CLUSTER MEETs (every node
// but the first knows another node; before that redis-cli requires the nodes
// to know nobody), then sends CLUSTER MEET between every pair of nodes. It
// is only a speed-up: errors are ignored, and a MEET for a node already known
// is harmless. It gives up when done is closed.
func (c *Cluster) introduceAll(done <-chan struct{}) {
	for {
		met := true
		for _, n := range c.Nodes[1:] {
			text, err := n.commandString("CLUSTER", "INFO")
			if known, _ := strconv.Atoi(parseInfo(text)["cluster_known_nodes"]); err != nil || known < 2 {
				met = false
				break
			}
		}
		if met {
			break
		}
		select {
		case <-done:
			return
		case <-time.After(pollInterval):
		}
	}
	c.meetAll()
}

// meetAll sends CLUSTER MEET from every node to every other, ignoring
// errors. A node that meets one it already knows only exchanges a message
// with it, which tells the other node its current role at once instead of at
// the next gossip round (about a second with a node timeout of 2 s).
func (c *Cluster) meetAll() {
	for _, a := range c.Nodes {
		for _, b := range c.Nodes {
			if a != b {
				a.command("CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(b.Port), b.busPort())
			}
		}
	}
}

// busPort returns the node's --cluster-port value.
func (s *Server) busPort() string {
	for i := 0; i+1 < len(s.args); i++ {
		if s.args[i] == "--cluster-port" {
			return s.args[i+1]
		}
	}
	return strconv.Itoa(s.Port + 10000)
}

// tail returns the last logTailBytes of s.
func tail(s string) string {
	if len(s) > logTailBytes {
		s = s[len(s)-logTailBytes:]
	}
	return strings.TrimRight(s, "\n")
}

// Close stops every node concurrently and removes their directories. It is
// idempotent.
func (c *Cluster) Close() error {
	return closeAll(c.Nodes)
}

// closeAll closes the non-nil servers concurrently.
func closeAll(servers []*Server) error {
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		if s == nil {
			continue
		}
		wg.Go(func() { errs[i] = s.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Addrs returns the addresses of all 6 nodes, in the order of Nodes.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Primaries returns the running nodes that report the primary role (ROLE),
// in the order of Nodes. After a failover or a restart, call WaitHealthy
// first so that the roles have settled.
func (c *Cluster) Primaries(t testing.TB) []*Server {
	t.Helper()
	return c.withRole(t, "master")
}

// Replicas returns the running nodes that report the replica role (ROLE), in
// the order of Nodes.
func (c *Cluster) Replicas(t testing.TB) []*Server {
	t.Helper()
	return c.withRole(t, "slave")
}

func (c *Cluster) withRole(t testing.TB, role string) []*Server {
	t.Helper()
	var out []*Server
	for _, n := range c.Nodes {
		if !n.running() {
			continue
		}
		r, err := n.role()
		if err != nil {
			t.Fatal(err)
		}
		if r == role {
			out = append(out, n)
		}
	}
	return out
}

// role returns the first element of ROLE: "master", "slave" or "sentinel".
func (s *Server) role() (string, error) {
	v, err := s.command("ROLE")
	if err != nil {
		return "", err
	}
	if a, ok := v.([]any); ok && len(a) > 0 {
		if r, ok := a[0].(string); ok {
			return r, nil
		}
	}
	return "", fmt.Errorf("respooltest: %s ROLE: unexpected reply %v", s.Addr, v)
}

// WaitHealthy waits up to 15 s until the cluster is healthy, and fails the
// test otherwise, saying what is not. Healthy means, for every running node
// (killed and paused nodes are left out):
//   - CLUSTER INFO reports cluster_state:ok, all 16384 slots assigned and
//     ok, and all 6 nodes known;
//   - CLUSTER NODES shows the same topology (which primary serves which
//     slots, which replica follows which primary) as on every other running
//     node; every slot owner is a running node, and every running node is in
//     the topology as a slot owner or a replica;
//   - a replica reports master_link_status:up.
//
// Use it after killing, pausing or restarting nodes, to wait for the failover
// or the rejoin to finish.
func (c *Cluster) WaitHealthy(t testing.TB) {
	t.Helper()
	if err := c.waitHealthy(clusterReadyTimeout); err != nil {
		t.Fatal(err)
	}
}

func (c *Cluster) waitHealthy(timeout time.Duration) error {
	if err := waitFor(timeout, c.checkHealthy); err != nil {
		return fmt.Errorf("respooltest: cluster: %w", err)
	}
	return nil
}

// checkHealthy returns nil when the cluster is healthy (see WaitHealthy), or
// an error saying the first thing that is not.
func (c *Cluster) checkHealthy() error {
	live := make(map[string]bool)
	for _, n := range c.Nodes {
		if n.running() {
			live[n.Addr] = true
		}
	}
	var first *topology // as the first running node sees it
	var firstFrom string
	for _, n := range c.Nodes {
		if !live[n.Addr] {
			continue
		}
		text, err := n.commandString("CLUSTER", "INFO")
		if err != nil {
			return err
		}
		info := parseInfo(text)
		if st := info["cluster_state"]; st != "ok" {
			// What the node thinks of the others says why: a peer it still
			// flags fail, a slot it sees no owner for.
			nodes, _ := n.commandString("CLUSTER", "NODES")
			return fmt.Errorf("node %s: cluster_state:%s (slots ok %s, pfail %s, fail %s, epoch %s); CLUSTER NODES:\n%s",
				n.Addr, st, info["cluster_slots_ok"], info["cluster_slots_pfail"], info["cluster_slots_fail"],
				info["cluster_current_epoch"], strings.TrimSpace(nodes))
		}
		for _, k := range []string{"cluster_slots_assigned", "cluster_slots_ok"} {
			if info[k] != strconv.Itoa(clusterSlots) {
				return fmt.Errorf("node %s: %s:%s", n.Addr, k, info[k])
			}
		}
		if info["cluster_known_nodes"] != strconv.Itoa(len(c.Nodes)) {
			return fmt.Errorf("node %s: cluster_known_nodes:%s", n.Addr, info["cluster_known_nodes"])
		}

		text, err = n.commandString("CLUSTER", "NODES")
		if err != nil {
			return err
		}
		topo, err := parseTopology(text)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Addr, err)
		}
		if first == nil {
			first, firstFrom = topo, n.Addr
		} else if !topo.equal(first) {
			return fmt.Errorf("node %s sees %s; node %s sees %s", n.Addr, topo, firstFrom, first)
		}

		repl, err := n.info("replication")
		if err != nil {
			return err
		}
		if repl["role"] == "slave" && repl["master_link_status"] != "up" {
			return fmt.Errorf("replica %s: master_link_status:%s", n.Addr, repl["master_link_status"])
		}
	}
	if first == nil {
		return errors.New("no node is running")
	}
	for addr, slots := range first.owners {
		if !live[addr] {
			return fmt.Errorf("slots %s served by %s, which is down", slots, addr)
		}
	}
	for addr := range live {
		if _, ok := first.owners[addr]; !ok && first.replicas[addr] == "" {
			return fmt.Errorf("node %s is neither a slot owner nor a replica in %s", addr, first)
		}
	}
	return nil
}

// topology is the cluster as one node's CLUSTER NODES describes it.
type topology struct {
	owners   map[string]string // primary address -> its slots, for primaries serving slots
	replicas map[string]string // replica address -> its primary's address
}

// parseTopology reads CLUSTER NODES output.
func parseTopology(clusterNodes string) (*topology, error) {
	type entry struct{ addr, flags, master, slots string }
	byID := make(map[string]entry)
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(clusterNodes), "\n") {
		// id addr flags master ping-sent pong-recv epoch link-state slots...
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("short CLUSTER NODES line %q", line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		byID[f[0]] = entry{addr: addr, flags: f[2], master: f[3], slots: strings.Join(f[8:], ",")}
		order = append(order, f[0])
	}
	t := &topology{owners: make(map[string]string), replicas: make(map[string]string)}
	for _, id := range order {
		e := byID[id]
		flags := strings.Split(e.flags, ",")
		switch {
		case slices.Contains(flags, "master") && e.slots != "":
			t.owners[e.addr] = e.slots
		case slices.Contains(flags, "slave"):
			t.replicas[e.addr] = byID[e.master].addr
		}
	}
	return t, nil
}

func (t *topology) equal(u *topology) bool {
	return maps.Equal(t.owners, u.owners) && maps.Equal(t.replicas, u.replicas)
}

// String lists the primaries with their slots and replicas, sorted.
func (t *topology) String() string {
	var parts []string
	for addr, slots := range t.owners {
		parts = append(parts, "primary "+addr+" slots "+slots)
	}
	for addr, master := range t.replicas {
		parts = append(parts, "replica "+addr+" of "+master)
	}
	slices.Sort(parts)
	return "[" + strings.Join(parts, "; ") + "]"
}
