package cluster

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// rawConn is a bare RESP connection for the tests that read real replies.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	w  *resp.Writer
	r  *resp.Reader
}

// dialRaw connects to addr and switches to protocol (2 or 3) with HELLO.
func dialRaw(t *testing.T, addr string, protocol int) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{t: t, nc: nc, w: resp.NewWriter(nc), r: resp.NewReader(nc)}
	if v := c.do("HELLO", protocol); v.IsError() {
		t.Fatalf("HELLO %d: %s", protocol, v.Text())
	}
	return c
}

// pipeline sends cmds in one write and returns their replies.
func (c *rawConn) pipeline(cmds ...[]any) []resp.Value {
	c.t.Helper()
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	for _, cmd := range cmds {
		if err := c.w.WriteArgs(cmd); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.w.Flush(); err != nil {
		c.t.Fatal(err)
	}
	replies := make([]resp.Value, len(cmds))
	for i := range replies {
		v, err := c.r.ReadValue()
		if err != nil {
			c.t.Fatal(err)
		}
		replies[i] = v
	}
	return replies
}

func (c *rawConn) do(args ...any) resp.Value {
	c.t.Helper()
	return c.pipeline(args)[0]
}

// TestRealCluster parses CLUSTER SHARDS and CLUSTER SLOTS as a real 6-node
// cluster sends them, in RESP2 and RESP3, and checks Slot against
// CLUSTER KEYSLOT.
func TestRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 6-node cluster")
	}
	c := respooltest.StartCluster(t)
	const seedHost = "127.0.0.1"
	seed := c.Nodes[0].Addr
	allAddrs := c.Addrs()
	var primaryAddrs []string
	for _, s := range c.Primaries(t) {
		primaryAddrs = append(primaryAddrs, s.Addr)
	}
	slices.Sort(allAddrs)
	slices.Sort(primaryAddrs)

	// CLUSTER SHARDS reports a replica "loading" while its replication
	// offset is 0, which on an idle new cluster lasts until the primary's
	// first replication ping (up to 10 s): a write on every primary moves
	// the offsets on. Then wait for the cluster bus to spread them.
	for _, addr := range primaryAddrs {
		if v := dialRaw(t, addr, 3).do("FLUSHALL"); v.IsError() {
			t.Fatal(v.Text())
		}
	}
	start := time.Now()
	var shardsReplies, slotsReplies [2]resp.Value
	deadline := time.Now().Add(15 * time.Second)
	for {
		for i, protocol := range []int{2, 3} {
			shardsReplies[i] = dialRaw(t, seed, protocol).do("CLUSTER", "SHARDS")
			// CLUSTER SLOTS from a replica this time.
			slotsReplies[i] = dialRaw(t, c.Nodes[5].Addr, protocol).do("CLUSTER", "SLOTS")
		}
		// Both protocols' replies must show every node online: the RESP2
		// one was read first and may still show a replica loading.
		shards2, err0 := ParseShards(shardsReplies[0], seedHost)
		shards, err1 := ParseShards(shardsReplies[1], seedHost)
		slots, err2 := ParseSlots(slotsReplies[1], seedHost)
		slots2, err3 := ParseSlots(slotsReplies[0], seedHost)
		if err0 == nil && err1 == nil && err2 == nil && err3 == nil &&
			allOnline(shards2) && allOnline(shards) && len(slots.Nodes()) == 6 && len(slots2.Nodes()) == 6 {
			t.Logf("all nodes online and known after %v", time.Since(start))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not all online: %v %v %v %v\n%v\n%v\n%v\n%v", err0, err1, err2, err3,
				shardsReplies[0], shardsReplies[1], slotsReplies[0], slotsReplies[1])
		}
		time.Sleep(100 * time.Millisecond)
	}

	var tops []*Topology
	for i, protocol := range []int{2, 3} {
		v := shardsReplies[i]
		wantKind := resp.KindMap
		if protocol == 2 {
			wantKind = resp.KindArray
		}
		if es, _ := v.Elems(); len(es) == 0 || es[0].Kind() != wantKind {
			t.Fatalf("HELLO %d: CLUSTER SHARDS shard is not a %s: %v", protocol, wantKind, v)
		}
		shards, err := ParseShards(v, seedHost)
		if err != nil {
			t.Fatalf("HELLO %d: ParseShards: %v\n%v", protocol, err, v)
		}
		checkRealTopology(t, fmt.Sprintf("SHARDS/HELLO %d", protocol), shards, allAddrs, primaryAddrs, true)

		v = slotsReplies[i]
		slots, err := ParseSlots(v, seedHost)
		if err != nil {
			t.Fatalf("HELLO %d: ParseSlots: %v\n%v", protocol, err, v)
		}
		checkRealTopology(t, fmt.Sprintf("SLOTS/HELLO %d", protocol), slots, allAddrs, primaryAddrs, false)
		if !sameLayout(shards, slots) {
			t.Errorf("HELLO %d: SHARDS and SLOTS disagree:\n%+v\n%+v", protocol, shards.Shards, slots.Shards)
		}
		tops = append(tops, shards, slots)
	}
	if !tops[0].Equal(tops[2]) || !tops[1].Equal(tops[3]) {
		t.Error("RESP2 and RESP3 replies parse to different topologies")
	}

	// Slot agrees with the server's CLUSTER KEYSLOT, and the topology sends
	// each key to the node that accepts it.
	keys := []string{"", "foo", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "{", "}{", "é\x00\xff"}
	for i := range 500 {
		keys = append(keys, fmt.Sprintf("key:%d", i), fmt.Sprintf("{t%d}x", i%37))
	}
	cmds := make([][]any, len(keys))
	for i, k := range keys {
		cmds[i] = []any{"CLUSTER", "KEYSLOT", k}
	}
	conn := dialRaw(t, seed, 3)
	for i, v := range conn.pipeline(cmds...) {
		if n, err := v.Int(); err != nil || int(n) != Slot(keys[i]) {
			t.Fatalf("Slot(%q) = %d, CLUSTER KEYSLOT = %v", keys[i], Slot(keys[i]), v)
		}
	}
	for _, k := range []string{"foo", "bar", "hello", "key:1", "key:2"} {
		v := conn.do("GET", k)
		kind, slot, addr, ok := ParseRedirect(v.Text())
		owner := tops[1].Lookup(Slot(k)).Primary.Addr
		if ok {
			if kind != Moved || slot != Slot(k) || addr != owner {
				t.Errorf("GET %s on %s: %s, topology says %s", k, seed, v.Text(), owner)
			}
		} else if owner != seed {
			t.Errorf("GET %s served by %s, topology says %s: %v", k, seed, owner, v)
		}
	}

	// Kill a replica: once the cluster marks it failed, CLUSTER SHARDS
	// reports it (as "fail", which becomes HealthFailed) and CLUSTER SLOTS
	// leaves it out.
	var victim string
	for _, n := range tops[1].Nodes() {
		if !n.Primary && n.Addr != seed {
			victim = n.Addr
			break
		}
	}
	for _, s := range c.Nodes {
		if s.Addr == victim {
			s.Kill(t)
		}
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		v := dialRaw(t, seed, 3).do("CLUSTER", "SHARDS")
		top, err := ParseShards(v, seedHost)
		if err != nil {
			t.Fatal(err)
		}
		if failed := nodeByAddr(top, victim); failed.Health == HealthFailed {
			if failed.Usable() || top.Covered() != NumSlots {
				t.Fatalf("after the kill: %+v", top.Shards)
			}
			slots, err := ParseSlots(dialRaw(t, seed, 3).do("CLUSTER", "SLOTS"), seedHost)
			if err != nil {
				t.Fatal(err)
			}
			if n := nodeByAddr(slots, victim); n.Addr != "" {
				t.Errorf("CLUSTER SLOTS still lists the failed replica")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not reported failed: %v", victim, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func nodeByAddr(top *Topology, addr string) Node {
	for _, n := range top.Nodes() {
		if n.Addr == addr {
			return n
		}
	}
	return Node{}
}

func allOnline(top *Topology) bool {
	for _, n := range top.Nodes() {
		if n.Health != HealthOnline {
			return false
		}
	}
	return len(top.Nodes()) == 6
}

// checkRealTopology checks a topology of respooltest's cluster: 3 shards of
// one replica each, covering every slot, on the cluster's addresses.
func checkRealTopology(t *testing.T, what string, top *Topology, allAddrs, primaryAddrs []string, health bool) {
	t.Helper()
	if top.Covered() != NumSlots {
		t.Errorf("%s: Covered = %d", what, top.Covered())
	}
	if len(top.Shards) != 3 {
		t.Fatalf("%s: %d shards: %+v", what, len(top.Shards), top.Shards)
	}
	var addrs, prim []string
	for _, sh := range top.Shards {
		if len(sh.Replicas) != 1 || len(sh.Ranges) == 0 || !sh.Primary.Primary || len(sh.Primary.ID) != 40 {
			t.Errorf("%s: shard %+v", what, sh)
		}
		for _, r := range sh.Replicas {
			if r.ReplicaOf != sh.Primary.ID || r.Primary || len(r.ID) != 40 {
				t.Errorf("%s: replica %+v of %+v", what, r, sh.Primary)
			}
		}
		prim = append(prim, sh.Primary.Addr)
	}
	for _, n := range top.Nodes() {
		addrs = append(addrs, n.Addr)
		if health && n.Health != HealthOnline || !health && n.Health != "" {
			t.Errorf("%s: health of %+v", what, n)
		}
	}
	slices.Sort(addrs)
	slices.Sort(prim)
	if !slices.Equal(addrs, allAddrs) || !slices.Equal(prim, primaryAddrs) {
		t.Errorf("%s: nodes %v primaries %v, want %v and %v", what, addrs, prim, allAddrs, primaryAddrs)
	}
}

// sameLayout compares topologies from SHARDS and SLOTS, which differ only
// in Health.
func sameLayout(a, b *Topology) bool {
	strip := func(t *Topology) *Topology {
		shards := slices.Clone(t.Shards)
		for i := range shards {
			shards[i].Primary.Health = ""
			shards[i].Replicas = slices.Clone(shards[i].Replicas)
			for j := range shards[i].Replicas {
				shards[i].Replicas[j].Health = ""
			}
		}
		return &Topology{Shards: shards}
	}
	return strip(a).Equal(strip(b))
}
