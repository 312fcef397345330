package cluster

import (
	"errors"
	"testing"
)

func node(id, addr string) Node { return Node{ID: id, Addr: addr, Primary: true, Health: HealthOnline} }

func replica(id, addr, of string) Node {
	return Node{ID: id, Addr: addr, Health: HealthOnline, ReplicaOf: of}
}

func threeShards() []Shard {
	return []Shard{
		{Primary: node("c", "h:3"), Ranges: []SlotRange{{10923, 16383}}, Replicas: []Node{replica("f", "h:6", "c")}},
		{Primary: node("a", "h:1"), Ranges: []SlotRange{{0, 5460}}, Replicas: []Node{replica("d", "h:4", "a")}},
		{Primary: node("b", "h:2"), Ranges: []SlotRange{{5461, 10922}}, Replicas: []Node{replica("e", "h:5", "b")}},
	}
}

func TestNewTopology(t *testing.T) {
	top, err := NewTopology(threeShards())
	if err != nil {
		t.Fatal(err)
	}
	if top.Covered() != NumSlots {
		t.Fatalf("Covered = %d", top.Covered())
	}
	for _, tt := range []struct {
		slot int
		addr string
	}{{0, "h:1"}, {5460, "h:1"}, {5461, "h:2"}, {10922, "h:2"}, {10923, "h:3"}, {16383, "h:3"}} {
		if sh := top.Lookup(tt.slot); sh == nil || sh.Primary.Addr != tt.addr {
			t.Errorf("Lookup(%d) = %v, want %s", tt.slot, sh, tt.addr)
		}
	}
	for _, s := range []int{-1, NumSlots, 1 << 40} {
		if sh := top.Lookup(s); sh != nil {
			t.Errorf("Lookup(%d) = %v, want nil", s, sh)
		}
	}
	// Sorted by first slot.
	prim := top.Primaries()
	if len(prim) != 3 || prim[0].ID != "a" || prim[1].ID != "b" || prim[2].ID != "c" {
		t.Fatalf("Primaries = %v", prim)
	}
	if n := top.Nodes(); len(n) != 6 {
		t.Fatalf("Nodes = %v", n)
	}
}

func TestNewTopologyMergesAndSorts(t *testing.T) {
	a := []Shard{{
		Primary:  node("a", "h:1"),
		Ranges:   []SlotRange{{100, 199}, {0, 99}, {300, 300}},
		Replicas: []Node{replica("z", "h:9", "a"), replica("y", "h:8", "a")},
	}}
	top, err := NewTopology(a)
	if err != nil {
		t.Fatal(err)
	}
	sh := top.Shards[0]
	if len(sh.Ranges) != 2 || sh.Ranges[0] != (SlotRange{0, 199}) || sh.Ranges[1] != (SlotRange{300, 300}) {
		t.Fatalf("Ranges = %v", sh.Ranges)
	}
	if sh.Replicas[0].Addr != "h:8" {
		t.Fatalf("Replicas not sorted: %v", sh.Replicas)
	}
	if top.Covered() != 201 || top.Lookup(200) != nil || top.Lookup(300) == nil {
		t.Fatalf("Covered = %d", top.Covered())
	}
}

func TestNewTopologyErrors(t *testing.T) {
	tests := []struct {
		name   string
		shards []Shard
		want   error
	}{
		{"overlap across shards", []Shard{
			{Primary: node("a", "h:1"), Ranges: []SlotRange{{0, 100}}},
			{Primary: node("b", "h:2"), Ranges: []SlotRange{{100, 200}}},
		}, ErrSlotOverlap},
		{"overlap in a shard", []Shard{
			{Primary: node("a", "h:1"), Ranges: []SlotRange{{0, 100}, {50, 60}}},
		}, ErrSlotOverlap},
		{"end past last slot", []Shard{{Primary: node("a", "h:1"), Ranges: []SlotRange{{0, NumSlots}}}}, ErrSlotRange},
		{"negative", []Shard{{Primary: node("a", "h:1"), Ranges: []SlotRange{{-1, 5}}}}, ErrSlotRange},
		{"reversed", []Shard{{Primary: node("a", "h:1"), Ranges: []SlotRange{{9, 5}}}}, ErrSlotRange},
		{"no primary", []Shard{{Ranges: []SlotRange{{0, 5}}}}, ErrNoPrimary},
	}
	for _, tt := range tests {
		if _, err := NewTopology(tt.shards); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Uncovered slots and slotless shards are fine.
	top, err := NewTopology([]Shard{{Primary: node("a", "h:1")}, {Primary: node("b", "h:2"), Ranges: []SlotRange{{7, 7}}}})
	if err != nil || top.Covered() != 1 || top.Shards[0].Primary.ID != "b" {
		t.Fatalf("got %v, %v", top, err)
	}
	if top, err := NewTopology(nil); err != nil || top.Covered() != 0 || top.Lookup(0) != nil {
		t.Fatalf("empty: %v, %v", top, err)
	}
}

func TestTopologyEqual(t *testing.T) {
	x, _ := NewTopology(threeShards())
	y, _ := NewTopology(threeShards())
	if !x.Equal(y) {
		t.Fatal("same shards in another order are not Equal")
	}
	changed := threeShards()
	changed[0].Replicas[0].Health = HealthFailed
	z, _ := NewTopology(changed)
	if x.Equal(z) {
		t.Fatal("a failed replica went unnoticed")
	}
	moved := threeShards()
	moved[0].Ranges = []SlotRange{{10924, 16383}}
	moved[2].Ranges = []SlotRange{{5461, 10923}}
	w, _ := NewTopology(moved)
	if x.Equal(w) {
		t.Fatal("a moved slot went unnoticed")
	}
	var nilTop *Topology
	if x.Equal(nil) || !nilTop.Equal(nil) {
		t.Fatal("nil handling")
	}
}

func TestSlotRangeString(t *testing.T) {
	if s := (SlotRange{0, 5460}).String(); s != "0-5460" {
		t.Fatal(s)
	}
	if n := (SlotRange{5, 5}).Len(); n != 1 {
		t.Fatal(n)
	}
}
