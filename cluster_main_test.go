package respool

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/internal/cluster"
	"github.com/respool/respool/respooltest"
)

// TestCluster runs every test of the ClusterClient against one 6-node
// cluster: first the tests that leave the topology alone (in parallel,
// each with keys of its own), then, one at a time, those that change it:
// slot migrations, manual failovers and killing a primary, which is last.
func TestCluster(t *testing.T) {
	env := newClusterEnv(t)
	t.Run("FanOut", env.testFanOut) // FLUSHALL: before the others write
	t.Run("Steady", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			fn   func(*testing.T)
		}{
			{"Routing", env.testRouting},
			{"Families", env.testFamilies},
			{"CrossSlot", env.testCrossSlot},
			{"SplitMultiKey", env.testSplitMultiKey},
			{"Seeds", env.testSeeds},
			{"ReadOnly", env.testReadOnly},
			{"Hooks", env.testHooks},
			{"Close", env.testClose},
			{"Pipeline", env.testPipeline},
			{"TxPipeline", env.testTxPipeline},
			{"Watch", env.testWatch},
			{"ScanAll", env.testScanAll},
			{"SSubscribe", env.testSSubscribe},
			{"Logging", env.testLogging},
			{"RotateCredentials", env.testRotateCredentials},
			{"CacheReads", env.testCacheReads},
			{"Connect", env.testConnect},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t)
			})
		}
	})
	t.Run("Migration", env.testMigration)
	t.Run("Resharding", env.testResharding)
	t.Run("CacheStaleness", env.testCacheStaleness)
	t.Run("ManualFailover", env.testManualFailover)
	t.Run("KillPrimary", env.testKillPrimary)
}

// clusterEnv is the cluster of TestCluster and plain Clients to each of
// its nodes, for the CLUSTER commands the tests send themselves.
type clusterEnv struct {
	cl *respooltest.Cluster

	mu    sync.Mutex // guards admin
	admin map[string]*Client
}

func newClusterEnv(t *testing.T) *clusterEnv {
	env := &clusterEnv{cl: respooltest.StartCluster(t), admin: make(map[string]*Client)}
	t.Cleanup(func() {
		env.mu.Lock()
		defer env.mu.Unlock()
		for _, c := range env.admin {
			_ = c.Close()
		}
	})
	return env
}

// node returns a plain Client to the node at addr.
func (env *clusterEnv) node(addr string) *Client {
	env.mu.Lock()
	defer env.mu.Unlock()
	c, ok := env.admin[addr]
	if !ok {
		c = NewClient(&Options{Addr: addr, Exclusive: true, MaxRetries: -1})
		env.admin[addr] = c
	}
	return c
}

// server returns the respooltest server at addr.
func (env *clusterEnv) server(t testing.TB, addr string) *respooltest.Server {
	t.Helper()
	for _, s := range env.cl.Nodes {
		if s.Addr == addr {
			return s
		}
	}
	t.Fatalf("no server at %s", addr)
	return nil
}

// topology returns the slot map as the node at addr sees it.
func (env *clusterEnv) topology(t testing.TB, addr string) *cluster.Topology {
	t.Helper()
	v, err := env.node(addr).Do(context.Background(), "CLUSTER", "SHARDS")
	if err != nil {
		t.Fatalf("CLUSTER SHARDS at %s: %v", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	topo, err := cluster.ParseShards(v, host)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// primaryOf returns the address of the primary that serves slot, as the
// node at from sees it.
func (env *clusterEnv) primaryOf(t testing.TB, from string, slot int) string {
	t.Helper()
	sh := env.topology(t, from).Lookup(slot)
	if sh == nil {
		t.Fatalf("no shard serves slot %d", slot)
	}
	return sh.Primary.Addr
}

// nodeID returns the cluster ID of the node at addr.
func (env *clusterEnv) nodeID(t testing.TB, addr string) string {
	t.Helper()
	v, err := env.node(addr).Do(context.Background(), "CLUSTER", "MYID")
	if err != nil {
		t.Fatal(err)
	}
	return v.Text()
}

// newClient returns a ClusterClient seeded with the first node, closed
// when the test ends; mod, when not nil, adjusts its options.
func (env *clusterEnv) newClient(t testing.TB, mod func(*ClusterOptions)) *ClusterClient {
	t.Helper()
	opt := &ClusterOptions{Addrs: env.cl.Addrs()[:1]}
	if mod != nil {
		mod(opt)
	}
	c := NewClusterClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// spreadKeys returns n keys of the test, without hash tags, so that they
// spread over the slots, and checks that they reach every primary's
// range.
func spreadKeys(t testing.TB, n int) []string {
	keys := make([]string, n)
	prefix := strings.ReplaceAll(t.Name(), "/", ":")
	for i := range keys {
		keys[i] = fmt.Sprintf("%s:%d", prefix, i)
	}
	return keys
}

// tagged returns a key of the test in the slot of tag.
func tagged(t testing.TB, tag, name string) string {
	return "{" + strings.ReplaceAll(t.Name(), "/", ":") + ":" + tag + "}:" + name
}

// pollUntil calls cond until it holds, with a pause of a few
// milliseconds between calls, and fails the test if it still does not
// hold after limit (a safety net against a hang: the conditions polled
// are expected to come true long before).
func pollUntil(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not a synchronisation
	}
}

// clusterContext returns a context for a subtest's calls, bounded as a
// safety net.
func clusterContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
