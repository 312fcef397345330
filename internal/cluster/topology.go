package cluster

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
)

// The health of a node as CLUSTER SHARDS reports it. CLUSTER SLOTS does not
// report health: nodes parsed from it have an empty Health, which callers
// treat as online.
const (
	HealthOnline  = "online"  // serving
	HealthFailed  = "failed"  // marked failed by the cluster (the server sends "fail")
	HealthLoading = "loading" // a replica whose replication offset is still 0
)

// Node is one server of the cluster.
type Node struct {
	// ID is the node's 40-character cluster ID. It can be empty in a
	// CLUSTER SLOTS reply from servers older than 4.0.
	ID string
	// Addr is where clients reach the node, "host:port" as net.JoinHostPort
	// builds it (IPv6 hosts in brackets). The host is the node's preferred
	// endpoint (its announced hostname when the cluster prefers hostnames,
	// else its IP), or the host the reply came from when the node's endpoint
	// is unknown; see ParseShards and ParseSlots.
	Addr string
	// TLSAddr is the node's TLS address when CLUSTER SHARDS reported a
	// "tls-port" (the cluster runs tls-cluster), "" otherwise. CLUSTER SLOTS
	// reports the port matching the connection that asked, in Addr.
	TLSAddr string
	// Primary is true for the node that owns the shard's slots.
	Primary bool
	// Health is HealthOnline, HealthFailed, HealthLoading or, when the reply
	// did not say (CLUSTER SLOTS), "".
	Health string
	// ReplicaOf is the ID of the shard's primary for a replica, "" for a
	// primary.
	ReplicaOf string
}

// Usable reports whether commands may be sent to n: its health is online
// or unknown.
func (n Node) Usable() bool { return n.Health == HealthOnline || n.Health == "" }

// SlotRange is the slots Start through End, both included.
type SlotRange struct {
	Start, End int
}

// Len returns the number of slots in r.
func (r SlotRange) Len() int { return r.End - r.Start + 1 }

// String returns "start-end".
func (r SlotRange) String() string { return strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End) }

// Shard is a primary, its replicas and the slots the primary serves.
type Shard struct {
	// Primary serves the shard's slots.
	Primary Node
	// Replicas copy the primary, sorted by address. Failed or loading
	// replicas are included with their Health.
	Replicas []Node
	// Ranges are the shard's slots, sorted, with adjacent ranges merged. A
	// shard may have none (a primary that was given no slots).
	Ranges []SlotRange
}

// Topology is the slot map of a cluster: its shards and, for each slot, the
// shard that serves it. A Topology is immutable once built (by NewTopology,
// ParseShards or ParseSlots): it can be shared between goroutines, and the
// cluster client replaces it whole when the cluster changes.
type Topology struct {
	// Shards are sorted by their first slot; shards without slots come last,
	// sorted by primary address. Callers must not modify them.
	Shards []Shard

	// index maps a slot to 1 + the index of its shard in Shards, or 0 when
	// no shard serves it: 32 KiB for an O(1) Lookup.
	index   [NumSlots]uint16
	covered int
}

// Topology validation errors, matched with errors.Is.
var (
	// ErrSlotRange: a slot range outside [0, NumSlots) or with its start
	// after its end.
	ErrSlotRange = errors.New("respool: cluster: slot range out of bounds")
	// ErrSlotOverlap: two ranges, in one shard or in two, share a slot.
	ErrSlotOverlap = errors.New("respool: cluster: overlapping slot ranges")
	// ErrNoPrimary: a shard serves slots but has no primary.
	ErrNoPrimary = errors.New("respool: cluster: shard without a primary")
	// ErrMalformed: a CLUSTER SHARDS or CLUSTER SLOTS reply of the wrong
	// shape.
	ErrMalformed = errors.New("respool: cluster: malformed topology reply")
)

// maxShards bounds the number of shards so that an index entry fits a
// uint16. A real cluster has at most NumSlots shards with slots.
const maxShards = 1<<16 - 1

// NewTopology validates shards and builds their Topology. It sorts each
// shard's replicas and ranges, merges adjacent ranges and sorts the shards,
// so that two descriptions of the same cluster give Equal topologies. It
// returns an error wrapping ErrSlotRange, ErrSlotOverlap or ErrNoPrimary
// when a range is out of bounds, two ranges overlap, or a shard with slots
// has no primary (an empty Primary.Addr). Slots no shard serves are allowed:
// Covered counts the others. NewTopology takes ownership of shards and of
// the slices in them.
func NewTopology(shards []Shard) (*Topology, error) {
	if len(shards) > maxShards {
		return nil, fmt.Errorf("%w: %d shards", ErrMalformed, len(shards))
	}
	for i := range shards {
		sh := &shards[i]
		for _, r := range sh.Ranges {
			if r.Start < 0 || r.End >= NumSlots || r.Start > r.End {
				return nil, fmt.Errorf("%w: %d-%d", ErrSlotRange, r.Start, r.End)
			}
		}
		if len(sh.Ranges) > 0 && sh.Primary.Addr == "" {
			return nil, fmt.Errorf("%w: slots %v", ErrNoPrimary, sh.Ranges[0])
		}
		slices.SortFunc(sh.Ranges, func(a, b SlotRange) int { return cmp.Compare(a.Start, b.Start) })
		var err error
		if sh.Ranges, err = mergeRanges(sh.Ranges); err != nil {
			return nil, err
		}
		slices.SortFunc(sh.Replicas, func(a, b Node) int {
			return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.ID, b.ID))
		})
	}
	slices.SortStableFunc(shards, compareShards)

	t := &Topology{Shards: shards}
	for i := range shards {
		for _, r := range shards[i].Ranges {
			for s := r.Start; s <= r.End; s++ {
				if t.index[s] != 0 {
					return nil, fmt.Errorf("%w: slot %d served by %s and %s", ErrSlotOverlap, s,
						shards[t.index[s]-1].Primary.Addr, shards[i].Primary.Addr)
				}
				t.index[s] = uint16(i + 1)
			}
			t.covered += r.Len()
		}
	}
	return t, nil
}

// mergeRanges merges the adjacent ranges of sorted, reusing the slice, and
// reports ranges that overlap.
func mergeRanges(sorted []SlotRange) ([]SlotRange, error) {
	if len(sorted) == 0 {
		return nil, nil
	}
	out := sorted[:1]
	for _, r := range sorted[1:] {
		last := &out[len(out)-1]
		switch {
		case r.Start <= last.End:
			return nil, fmt.Errorf("%w: %v and %v", ErrSlotOverlap, *last, r)
		case r.Start == last.End+1:
			last.End = r.End
		default:
			out = append(out, r)
		}
	}
	return out, nil
}

// compareShards orders shards by first slot, slotless shards last by address.
func compareShards(a, b Shard) int {
	switch {
	case len(a.Ranges) > 0 && len(b.Ranges) > 0:
		return cmp.Compare(a.Ranges[0].Start, b.Ranges[0].Start)
	case len(a.Ranges) > 0:
		return -1
	case len(b.Ranges) > 0:
		return 1
	}
	return cmp.Or(cmp.Compare(a.Primary.Addr, b.Primary.Addr), cmp.Compare(a.Primary.ID, b.Primary.ID))
}

// Lookup returns the shard that serves slot, or nil when no shard serves it
// or slot is outside [0, NumSlots). The shard belongs to t and must not be
// modified. Lookup runs in constant time.
func (t *Topology) Lookup(slot int) *Shard {
	if uint(slot) >= NumSlots {
		return nil
	}
	i := t.index[slot]
	if i == 0 {
		return nil
	}
	return &t.Shards[i-1]
}

// Covered returns how many of the NumSlots slots some shard serves. A
// healthy cluster covers all of them; fewer means slots are unassigned (and
// commands on them fail with CLUSTERDOWN).
func (t *Topology) Covered() int { return t.covered }

// Primaries returns the primary of every shard, in Shards order, in a new
// slice.
func (t *Topology) Primaries() []Node {
	nodes := make([]Node, len(t.Shards))
	for i := range t.Shards {
		nodes[i] = t.Shards[i].Primary
	}
	return nodes
}

// Nodes returns every node, primaries and replicas, shard by shard, in a
// new slice.
func (t *Topology) Nodes() []Node {
	var nodes []Node
	for i := range t.Shards {
		nodes = append(nodes, t.Shards[i].Primary)
		nodes = append(nodes, t.Shards[i].Replicas...)
	}
	return nodes
}

// Equal reports whether t and o describe the same cluster: the same shards
// with the same nodes (IDs, addresses, roles and health) and slots. Topologies
// built from CLUSTER SHARDS and from CLUSTER SLOTS differ in Health, so
// compare topologies parsed from the same command. Two nil topologies are
// equal.
func (t *Topology) Equal(o *Topology) bool {
	if t == nil || o == nil {
		return t == o
	}
	return slices.EqualFunc(t.Shards, o.Shards, func(a, b Shard) bool {
		return a.Primary == b.Primary && slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.Ranges, b.Ranges)
	})
}

// nodeAddr joins host and port into an address, substituting seedHost when
// the host is unknown ("" or "?"): the cluster specification tells clients
// to use the host the reply came from when a node's endpoint is unknown.
func nodeAddr(host string, port int64, seedHost string) string {
	if host == "" || host == "?" {
		host = seedHost
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10))
}
