package cluster

import (
	"errors"
	"testing"

	"github.com/respool/respool/resp"
)

// slotsNode is a node of CLUSTER SLOTS: [endpoint, port, id, metadata].
func slotsNode(resp3 bool, endpoint resp.Value, port int64, id string, meta ...resp.Value) resp.Value {
	return resp.Array(endpoint, num(port), bulk(id), mapOf(resp3, meta...))
}

func slotsEntry(start, end int64, nodes ...resp.Value) resp.Value {
	return resp.Array(append([]resp.Value{num(start), num(end)}, nodes...)...)
}

func TestParseSlots(t *testing.T) {
	ip := bulk("127.0.0.1")
	for _, resp3 := range []bool{false, true} {
		v := resp.Array(
			slotsEntry(10923, 16383, slotsNode(resp3, ip, 7002, "c"), slotsNode(resp3, ip, 7005, "f")),
			slotsEntry(0, 100, slotsNode(resp3, ip, 7000, "a"), slotsNode(resp3, ip, 7003, "d")),
			slotsEntry(101, 5460, slotsNode(resp3, ip, 7000, "a"), slotsNode(resp3, ip, 7003, "d")),
			slotsEntry(5461, 10922, slotsNode(resp3, ip, 7001, "b"), slotsNode(resp3, ip, 7004, "e")),
		)
		got, err := ParseSlots(v, "seed")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := NewTopology([]Shard{
			{Primary: Node{ID: "a", Addr: "127.0.0.1:7000", Primary: true}, Ranges: []SlotRange{{0, 5460}},
				Replicas: []Node{{ID: "d", Addr: "127.0.0.1:7003", ReplicaOf: "a"}}},
			{Primary: Node{ID: "b", Addr: "127.0.0.1:7001", Primary: true}, Ranges: []SlotRange{{5461, 10922}},
				Replicas: []Node{{ID: "e", Addr: "127.0.0.1:7004", ReplicaOf: "b"}}},
			{Primary: Node{ID: "c", Addr: "127.0.0.1:7002", Primary: true}, Ranges: []SlotRange{{10923, 16383}},
				Replicas: []Node{{ID: "f", Addr: "127.0.0.1:7005", ReplicaOf: "c"}}},
		})
		if !got.Equal(want) || got.Covered() != NumSlots {
			t.Fatalf("resp3=%v:\n got %+v\nwant %+v", resp3, got.Shards, want.Shards)
		}
	}
}

func TestParseSlotsEndpoints(t *testing.T) {
	tests := []struct {
		name     string
		node     resp.Value
		wantAddr string
	}{
		{"ip", slotsNode(true, bulk("10.0.0.1"), 7000, "a"), "10.0.0.1:7000"},
		{"hostname", slotsNode(true, bulk("a.example"), 7000, "a", bulk("ip"), bulk("10.0.0.1")), "a.example:7000"},
		{"null endpoint (unknown)", slotsNode(true, resp.Null(), 7000, "a", bulk("ip"), bulk("10.0.0.1")), "seed:7000"},
		{"RESP2 null endpoint", slotsNode(false, resp.NullBulk(), 7000, "a"), "seed:7000"},
		{"empty endpoint", slotsNode(true, bulk(""), 7000, "a"), "seed:7000"},
		{"? uses metadata ip", slotsNode(false, bulk("?"), 7000, "a", bulk("ip"), bulk("10.0.0.9")), "10.0.0.9:7000"},
		{"? without ip", slotsNode(true, bulk("?"), 7000, "a"), "seed:7000"},
		{"ipv6", slotsNode(true, bulk("::1"), 7000, "a"), "[::1]:7000"},
		{"pre-4.0 node: no id", resp.Array(bulk("10.0.0.1"), num(7000)), "10.0.0.1:7000"},
		{"pre-7.0 node: no metadata", resp.Array(bulk("10.0.0.1"), num(7000), bulk("a")), "10.0.0.1:7000"},
		{"port as string", resp.Array(bulk("10.0.0.1"), bulk("7000"), bulk("a")), "10.0.0.1:7000"},
	}
	for _, tt := range tests {
		top, err := ParseSlots(resp.Array(slotsEntry(0, 16383, tt.node)), "seed")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if p := top.Shards[0].Primary; p.Addr != tt.wantAddr {
			t.Errorf("%s: Addr %q, want %q", tt.name, p.Addr, tt.wantAddr)
		}
	}
}

// TestParseSlotsNoIDs: servers before 4.0 send no IDs; ranges are grouped
// by primary address.
func TestParseSlotsNoIDs(t *testing.T) {
	n := func(port int64) resp.Value { return resp.Array(bulk("10.0.0.1"), num(port)) }
	v := resp.Array(slotsEntry(0, 9, n(7000), n(7001)), slotsEntry(20, 29, n(7000), n(7001)), slotsEntry(10, 19, n(7002)))
	top, err := ParseSlots(v, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Shards) != 2 || len(top.Shards[0].Ranges) != 2 || top.Lookup(25).Primary.Addr != "10.0.0.1:7000" {
		t.Fatalf("%+v", top.Shards)
	}
}

func TestParseSlotsErrors(t *testing.T) {
	ok := slotsNode(true, bulk("10.0.0.1"), 7000, "a")
	tests := []struct {
		name string
		v    resp.Value
		want error
	}{
		{"not an array", resp.Map(), ErrMalformed},
		{"entry not an array", resp.Array(bulk("x")), ErrMalformed},
		{"short entry", resp.Array(resp.Array(num(0), num(1))), ErrMalformed},
		{"start not int", resp.Array(resp.Array(bulk("x"), num(1), ok)), ErrMalformed},
		{"end not int", resp.Array(resp.Array(num(0), resp.Null(), ok)), ErrMalformed},
		{"out of range", resp.Array(slotsEntry(0, NumSlots, ok)), ErrSlotRange},
		{"reversed", resp.Array(slotsEntry(5, 4, ok)), ErrSlotRange},
		{"overlap", resp.Array(slotsEntry(0, 10, ok), slotsEntry(5, 20, slotsNode(true, bulk("10.0.0.2"), 7000, "b"))), ErrSlotOverlap},
		{"overlap same primary", resp.Array(slotsEntry(0, 10, ok), slotsEntry(5, 20, ok)), ErrSlotOverlap},
		{"node not array", resp.Array(slotsEntry(0, 1, num(1))), ErrMalformed},
		{"short node", resp.Array(slotsEntry(0, 1, resp.Array(bulk("h")))), ErrMalformed},
		{"endpoint not string", resp.Array(slotsEntry(0, 1, resp.Array(num(1), num(7000)))), ErrMalformed},
		{"bad port", resp.Array(slotsEntry(0, 1, resp.Array(bulk("h"), num(0)))), ErrMalformed},
		{"bad replica", resp.Array(slotsEntry(0, 1, ok, num(1))), ErrMalformed},
		{"bad metadata", resp.Array(slotsEntry(0, 1, resp.Array(bulk("?"), num(7000), bulk("a"), num(1)))), ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := ParseSlots(tt.v, "seed"); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}
