package respooltest_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	flags            []string
	slots            []string
}

func parseClusterNodes(t *testing.T, text string) []clusterNode {
	t.Helper()
	var out []clusterNode
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			t.Fatalf("short CLUSTER NODES line %q", line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out = append(out, clusterNode{id: f[0], addr: addr, flags: strings.Split(f[2], ","), master: f[3], slots: f[8:]})
	}
	return out
}

func addrsOf(servers []*respooltest.Server) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.Addr)
	}
	slices.Sort(out)
	return out
}

// checkTopology checks, from every running node's point of view, that the
// 16384 slots are each served once by a primary, that there are 3 primaries
// with exactly one replica each, and that the roles match Primaries and
// Replicas. It returns the nodes as the first node sees them.
func checkTopology(t *testing.T, c *respooltest.Cluster, down *respooltest.Server) {
	t.Helper()
	primaries, replicas := c.Primaries(t), c.Replicas(t)
	if len(primaries) != 3 {
		t.Fatalf("Primaries = %v, want 3", addrsOf(primaries))
	}
	wantReplicas := 3
	if down != nil {
		wantReplicas = 2
	}
	if len(replicas) != wantReplicas {
		t.Fatalf("Replicas = %v, want %d", addrsOf(replicas), wantReplicas)
	}

	for _, n := range c.Nodes {
		if n == down {
			continue
		}
		info := parseCLIInfo(n.CLI(t, "CLUSTER", "INFO"))
		if info["cluster_state"] != "ok" || info["cluster_slots_ok"] != "16384" {
			t.Errorf("node %s: cluster_state:%s cluster_slots_ok:%s", n.Addr, info["cluster_state"], info["cluster_slots_ok"])
		}

		nodes := parseClusterNodes(t, n.CLI(t, "CLUSTER", "NODES"))
		var covered [16384]int
		byID := map[string]clusterNode{}
		var owners []string
		for _, cn := range nodes {
			byID[cn.id] = cn
			if !slices.Contains(cn.flags, "master") || len(cn.slots) == 0 {
				continue
			}
			owners = append(owners, cn.addr)
			for _, r := range cn.slots {
				lo, hi, isRange := strings.Cut(r, "-")
				if !isRange {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 != nil || err2 != nil {
					t.Fatalf("node %s: bad slot range %q", n.Addr, r)
				}
				for s := a; s <= b; s++ {
					covered[s]++
				}
			}
		}
		for s, k := range covered {
			if k != 1 {
				t.Fatalf("node %s: slot %d served %d times", n.Addr, s, k)
			}
		}
		slices.Sort(owners)
		if want := addrsOf(primaries); !slices.Equal(owners, want) {
			t.Errorf("node %s: slot owners %v, Primaries %v", n.Addr, owners, want)
		}
		// Each primary has exactly one replica that is not failed.
		perPrimary := map[string][]string{}
		for _, cn := range nodes {
			if slices.Contains(cn.flags, "slave") && !slices.Contains(cn.flags, "fail") {
				perPrimary[byID[cn.master].addr] = append(perPrimary[byID[cn.master].addr], cn.addr)
			}
		}
		for _, p := range primaries {
			want := 1
			if down != nil && len(perPrimary[p.Addr]) == 0 {
				want = 0 // the primary whose replica is down, or the promoted one
			}
			if len(perPrimary[p.Addr]) != want {
				t.Errorf("node %s: primary %s has replicas %v", n.Addr, p.Addr, perPrimary[p.Addr])
			}
		}
	}

	// Every replica is linked to a current primary.
	for _, r := range replicas {
		repl := r.Info(t, "replication")
		if repl["role"] != "slave" || repl["master_link_status"] != "up" {
			t.Errorf("replica %s: role:%s master_link_status:%s", r.Addr, repl["role"], repl["master_link_status"])
		}
		master := repl["master_host"] + ":" + repl["master_port"]
		if !slices.Contains(addrsOf(primaries), master) {
			t.Errorf("replica %s follows %s, not a primary %v", r.Addr, master, addrsOf(primaries))
		}
	}
	for _, p := range primaries {
		if got := p.Info(t, "replication")["role"]; got != "master" {
			t.Errorf("primary %s: role:%s", p.Addr, got)
		}
	}
}

// parseCLIInfo parses "field:value" lines.
func parseCLIInfo(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

func TestStartCluster(t *testing.T) {
	start := time.Now()
	c := respooltest.StartCluster(t)
	elapsed := time.Since(start)
	t.Logf("6-node cluster ready in %v", elapsed.Round(time.Millisecond))
	if elapsed > 5*time.Second {
		t.Errorf("cluster took %v to start, want under 5s", elapsed)
	}
	if len(c.Nodes) != 6 || len(c.Addrs()) != 6 {
		t.Fatalf("%d nodes, %d addrs; want 6", len(c.Nodes), len(c.Addrs()))
	}

	t.Run("topology", func(t *testing.T) {
		checkTopology(t, c, nil)
		// The primaries are the first three nodes given to redis-cli.
		if got, want := addrsOf(c.Primaries(t)), addrsOf(c.Nodes[:3]); !slices.Equal(got, want) {
			t.Errorf("Primaries = %v, want %v", got, want)
		}
		// A key routed through any node lands (redis-cli -c follows MOVED).
		for i, n := range c.Nodes {
			key := "key" + strconv.Itoa(i)
			if got := n.CLI(t, "-c", "SET", key, "v"); got != "OK" {
				t.Errorf("SET %s via %s = %q", key, n.Addr, got)
			}
		}
	})

	t.Run("failover", func(t *testing.T) {
		if testing.Short() {
			t.Skip("failover takes a few seconds")
		}
		victim := c.Primaries(t)[0]
		victim.Kill(t)
		start := time.Now()
		c.WaitHealthy(t)
		t.Logf("failover done in %v", time.Since(start).Round(time.Millisecond))
		if slices.Contains(c.Primaries(t), victim) {
			t.Fatalf("killed node %s is still listed as a primary", victim.Addr)
		}
		checkTopology(t, c, victim)

		victim.Restart(t)
		start = time.Now()
		c.WaitHealthy(t)
		t.Logf("old primary rejoined as a replica in %v", time.Since(start).Round(time.Millisecond))
		if !slices.Contains(c.Replicas(t), victim) {
			t.Errorf("restarted node %s is not a replica; replicas %v", victim.Addr, addrsOf(c.Replicas(t)))
		}
		checkTopology(t, c, nil)
	})
}
