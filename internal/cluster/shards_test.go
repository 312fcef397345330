package cluster

import (
	"errors"
	"fmt"
	"testing"

	"github.com/respool/respool/resp"
)

var (
	bulk = resp.BulkString
	num  = func(n int64) resp.Value { return resp.Integer(n) }
)

// mapOf is a RESP3 map, or the flat array RESP2 sends for one.
func mapOf(resp3 bool, kv ...resp.Value) resp.Value {
	if resp3 {
		return resp.Map(kv...)
	}
	return resp.Array(kv...)
}

// shardNodeValue is one node of CLUSTER SHARDS as Redis 7.0 sends it, with
// extra fields appended.
func shardNodeValue(resp3 bool, id string, port int64, ip, endpoint, role, health string, extra ...resp.Value) resp.Value {
	kv := []resp.Value{
		bulk("id"), bulk(id),
		bulk("port"), num(port),
		bulk("ip"), bulk(ip),
		bulk("endpoint"), bulk(endpoint),
		bulk("role"), bulk(role),
		bulk("replication-offset"), num(12345),
		bulk("health"), bulk(health),
	}
	return mapOf(resp3, append(kv, extra...)...)
}

func shardValue(resp3 bool, slots []int64, nodes ...resp.Value) resp.Value {
	sv := make([]resp.Value, len(slots))
	for i, s := range slots {
		sv[i] = num(s)
	}
	return mapOf(resp3, bulk("slots"), resp.Array(sv...), bulk("nodes"), resp.Array(nodes...))
}

func threeShardsValue(resp3 bool) resp.Value {
	return resp.Array(
		shardValue(resp3, []int64{10923, 16383},
			shardNodeValue(resp3, "c", 7002, "127.0.0.1", "127.0.0.1", "master", "online"),
			shardNodeValue(resp3, "f", 7005, "127.0.0.1", "127.0.0.1", "replica", "online")),
		shardValue(resp3, []int64{0, 5460},
			shardNodeValue(resp3, "d", 7003, "127.0.0.1", "127.0.0.1", "replica", "loading"),
			shardNodeValue(resp3, "a", 7000, "127.0.0.1", "127.0.0.1", "master", "online")),
		shardValue(resp3, []int64{5461, 10922},
			shardNodeValue(resp3, "b", 7001, "127.0.0.1", "127.0.0.1", "master", "online"),
			shardNodeValue(resp3, "e", 7004, "127.0.0.1", "127.0.0.1", "replica", "failed")),
	)
}

func TestParseShards(t *testing.T) {
	want, err := NewTopology([]Shard{
		{Primary: node("a", "127.0.0.1:7000"), Ranges: []SlotRange{{0, 5460}},
			Replicas: []Node{{ID: "d", Addr: "127.0.0.1:7003", Health: HealthLoading, ReplicaOf: "a"}}},
		{Primary: node("b", "127.0.0.1:7001"), Ranges: []SlotRange{{5461, 10922}},
			Replicas: []Node{{ID: "e", Addr: "127.0.0.1:7004", Health: HealthFailed, ReplicaOf: "b"}}},
		{Primary: node("c", "127.0.0.1:7002"), Ranges: []SlotRange{{10923, 16383}},
			Replicas: []Node{replica("f", "127.0.0.1:7005", "c")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, resp3 := range []bool{false, true} {
		got, err := ParseShards(threeShardsValue(resp3), "seed")
		if err != nil {
			t.Fatalf("resp3=%v: %v", resp3, err)
		}
		if !got.Equal(want) || got.Covered() != NumSlots {
			t.Fatalf("resp3=%v:\n got %+v\nwant %+v", resp3, got.Shards, want.Shards)
		}
		if sh := got.Lookup(Slot("foo")); sh.Primary.ID != "c" {
			t.Fatalf("foo on %v", sh.Primary)
		}
	}
}

func TestParseShardsEndpoints(t *testing.T) {
	tests := []struct {
		name              string
		ip, endpoint      string
		extra             []resp.Value
		wantAddr, wantTLS string
	}{
		{"ip", "10.0.0.1", "10.0.0.1", nil, "10.0.0.1:7000", ""},
		{"hostname", "10.0.0.1", "redis-a.example", []resp.Value{bulk("hostname"), bulk("redis-a.example")}, "redis-a.example:7000", ""},
		{"? falls back to hostname", "10.0.0.1", "?", []resp.Value{bulk("hostname"), bulk("h.example")}, "h.example:7000", ""},
		{"? falls back to ip", "10.0.0.1", "?", nil, "10.0.0.1:7000", ""},
		{"? without ip", "", "?", nil, "seed.example:7000", ""},
		{"unknown endpoint", "10.0.0.1", "", nil, "seed.example:7000", ""},
		{"ipv6", "::1", "::1", nil, "[::1]:7000", ""},
		{"tls port", "10.0.0.1", "10.0.0.1", []resp.Value{bulk("tls-port"), num(8000)}, "10.0.0.1:7000", "10.0.0.1:8000"},
	}
	for _, tt := range tests {
		for _, resp3 := range []bool{false, true} {
			v := resp.Array(shardValue(resp3, []int64{0, 16383},
				shardNodeValue(resp3, "a", 7000, tt.ip, tt.endpoint, "master", "online", tt.extra...)))
			top, err := ParseShards(v, "seed.example")
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if p := top.Shards[0].Primary; p.Addr != tt.wantAddr || p.TLSAddr != tt.wantTLS {
				t.Errorf("%s resp3=%v: Addr %q TLSAddr %q, want %q %q", tt.name, resp3, p.Addr, p.TLSAddr, tt.wantAddr, tt.wantTLS)
			}
		}
	}

	// TLS only: "tls-port" without "port".
	v := resp.Array(shardValue(true, []int64{0, 1}, resp.Map(
		bulk("id"), bulk("a"), bulk("tls-port"), num(8000), bulk("ip"), bulk("10.0.0.1"),
		bulk("endpoint"), bulk("10.0.0.1"), bulk("role"), bulk("master"), bulk("health"), bulk("online"))))
	top, err := ParseShards(v, "seed")
	if err != nil || top.Shards[0].Primary.Addr != "10.0.0.1:8000" || top.Shards[0].Primary.TLSAddr != "10.0.0.1:8000" {
		t.Fatalf("tls only: %v %v", top, err)
	}
}

// TestParseShardsFailover: after a failover the failed old primary is still
// listed as a master, without slots (in its own shard on 7.0, in the same
// shard on 7.2+). It must not become the primary, nor count among Primaries.
func TestParseShardsFailover(t *testing.T) {
	for _, resp3 := range []bool{false, true} {
		v := resp.Array(
			shardValue(resp3, []int64{0, 16383},
				shardNodeValue(resp3, "old", 7000, "10.0.0.1", "10.0.0.1", "master", "fail"),
				shardNodeValue(resp3, "new", 7001, "10.0.0.2", "10.0.0.2", "master", "online")),
			shardValue(resp3, nil,
				shardNodeValue(resp3, "old2", 7002, "10.0.0.3", "10.0.0.3", "master", "failed")),
			shardValue(resp3, nil, // an online primary without slots stays
				shardNodeValue(resp3, "empty", 7003, "10.0.0.4", "10.0.0.4", "master", "online")),
		)
		top, err := ParseShards(v, "seed")
		if err != nil {
			t.Fatal(err)
		}
		prim := top.Primaries()
		if len(prim) != 2 || prim[0].ID != "new" || prim[1].ID != "empty" {
			t.Fatalf("resp3=%v: Primaries = %+v", resp3, prim)
		}
		if len(top.Shards[0].Replicas) != 0 {
			t.Fatalf("old primary kept as a replica: %+v", top.Shards[0].Replicas)
		}
	}
}

func TestParseShardsErrors(t *testing.T) {
	okNode := shardNodeValue(true, "a", 7000, "10.0.0.1", "10.0.0.1", "master", "online")
	tests := []struct {
		name string
		v    resp.Value
		want error
	}{
		{"not an array", bulk("x"), ErrMalformed},
		{"error reply", resp.ErrorValue("ERR unknown subcommand 'SHARDS'"), ErrMalformed},
		{"shard not a map", resp.Array(num(1)), ErrMalformed},
		{"odd shard array", resp.Array(resp.Array(bulk("slots"))), ErrMalformed},
		{"slots not array", resp.Array(resp.Map(bulk("slots"), num(1))), ErrMalformed},
		{"odd slots", resp.Array(shardValue(true, []int64{0}, okNode)), ErrMalformed},
		{"slot not int", resp.Array(resp.Map(bulk("slots"), resp.Array(bulk("a"), bulk("b")))), ErrMalformed},
		{"slot out of range", resp.Array(shardValue(true, []int64{0, NumSlots}, okNode)), ErrSlotRange},
		{"reversed range", resp.Array(shardValue(true, []int64{9, 1}, okNode)), ErrSlotRange},
		{"overlap", resp.Array(
			shardValue(true, []int64{0, 10}, okNode),
			shardValue(true, []int64{10, 20}, shardNodeValue(true, "b", 7001, "10.0.0.2", "10.0.0.2", "master", "online")),
		), ErrSlotOverlap},
		{"no primary", resp.Array(shardValue(true, []int64{0, 10},
			shardNodeValue(true, "r", 7001, "10.0.0.2", "10.0.0.2", "replica", "online"))), ErrNoPrimary},
		{"node not a map", resp.Array(shardValue(true, []int64{0, 10}, num(3))), ErrMalformed},
		{"bad port", resp.Array(shardValue(true, []int64{0, 10},
			shardNodeValue(true, "a", 70000, "10.0.0.1", "10.0.0.1", "master", "online"))), ErrMalformed},
		{"no port", resp.Array(shardValue(true, []int64{0, 10},
			shardNodeValue(true, "a", 0, "10.0.0.1", "10.0.0.1", "master", "online"))), ErrMalformed},
		{"id not a string", resp.Array(shardValue(true, []int64{0, 10}, resp.Map(bulk("id"), num(1)))), ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := ParseShards(tt.v, "seed"); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	// A replica-only shard without slots is dropped, not an error.
	v := resp.Array(shardValue(true, nil, shardNodeValue(true, "r", 7001, "10.0.0.2", "10.0.0.2", "replica", "online")))
	if top, err := ParseShards(v, "seed"); err != nil || len(top.Shards) != 0 {
		t.Fatalf("replica-only shard: %v, %v", top, err)
	}
}

// TestParseShardsManyRanges: a shard may own many ranges, and the reply
// lists them in any order.
func TestParseShardsManyRanges(t *testing.T) {
	var slots []int64
	for s := int64(NumSlots - 2); s >= 0; s -= 2 {
		slots = append(slots, s, s)
	}
	v := resp.Array(shardValue(false, slots, shardNodeValue(false, "a", 7000, "h", "h", "master", "online")))
	top, err := ParseShards(v, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if top.Covered() != NumSlots/2 || len(top.Shards[0].Ranges) != NumSlots/2 || top.Lookup(1) != nil || top.Lookup(2) == nil {
		t.Fatal(fmt.Sprint(top.Covered(), len(top.Shards[0].Ranges)))
	}
}
