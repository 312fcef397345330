package cluster

import (
	"fmt"

	"github.com/respool/respool/resp"
)

// ParseSlots builds the topology from a CLUSTER SLOTS reply (deprecated
// since Redis 7.0 in favour of CLUSTER SHARDS, which ParseShards reads, but
// the only topology command of older servers). seedHost is the host of the
// node that sent the reply.
//
// The reply is an array of slot ranges, each
//
//	[start, end, primary, replica...]
//
// where a node is [endpoint, port, id, metadata]: id is missing before
// Redis 4.0 and metadata (a map, or a flat array in RESP2, with "ip" and/or
// "hostname") before 7.0. The endpoint is the one the cluster prefers; a
// null or empty endpoint means it is unknown and, as the cluster
// specification says, the client uses seedHost; "?" (hostnames preferred
// but none announced) falls back to the metadata's "ip", else seedHost.
//
// Ranges with the same primary (by ID, or by address when IDs are missing)
// form one shard, whose replicas are those listed with its first range. The
// reply has no health: every node's Health is "". Errors wrap ErrMalformed,
// or those of NewTopology.
func ParseSlots(v resp.Value, seedHost string) (*Topology, error) {
	list, err := elems(v, "CLUSTER SLOTS reply")
	if err != nil {
		return nil, err
	}
	var shards []Shard
	byPrimary := make(map[string]int) // primary ID (or address) -> index in shards
	for i, ev := range list {
		r, primary, replicas, err := parseSlotsEntry(ev, seedHost)
		if err != nil {
			return nil, fmt.Errorf("slots entry %d: %w", i, err)
		}
		key := primary.ID
		if key == "" {
			key = primary.Addr
		}
		if j, ok := byPrimary[key]; ok {
			shards[j].Ranges = append(shards[j].Ranges, r)
			continue
		}
		byPrimary[key] = len(shards)
		shards = append(shards, Shard{Primary: primary, Replicas: replicas, Ranges: []SlotRange{r}})
	}
	return NewTopology(shards)
}

// parseSlotsEntry parses [start, end, primary, replica...].
func parseSlotsEntry(v resp.Value, seedHost string) (r SlotRange, primary Node, replicas []Node, err error) {
	fields, err := elems(v, "slots entry")
	if err != nil {
		return r, primary, nil, err
	}
	if len(fields) < 3 {
		return r, primary, nil, fmt.Errorf("%w: slots entry of %d elements", ErrMalformed, len(fields))
	}
	start, err := integer(fields[0], "slot range start")
	if err != nil {
		return r, primary, nil, err
	}
	end, err := integer(fields[1], "slot range end")
	if err != nil {
		return r, primary, nil, err
	}
	if start < 0 || end >= NumSlots || start > end {
		return r, primary, nil, fmt.Errorf("%w: %d-%d", ErrSlotRange, start, end)
	}
	r = SlotRange{Start: int(start), End: int(end)}

	if primary, err = parseSlotsNode(fields[2], seedHost); err != nil {
		return r, primary, nil, fmt.Errorf("primary: %w", err)
	}
	primary.Primary = true
	for i, nv := range fields[3:] {
		n, err := parseSlotsNode(nv, seedHost)
		if err != nil {
			return r, primary, nil, fmt.Errorf("replica %d: %w", i, err)
		}
		n.ReplicaOf = primary.ID
		replicas = append(replicas, n)
	}
	return r, primary, replicas, nil
}

// parseSlotsNode parses [endpoint, port, id, metadata].
func parseSlotsNode(v resp.Value, seedHost string) (Node, error) {
	fields, err := elems(v, "node")
	if err != nil {
		return Node{}, err
	}
	if len(fields) < 2 {
		return Node{}, fmt.Errorf("%w: node of %d elements", ErrMalformed, len(fields))
	}
	host, err := text(fields[0], "node endpoint")
	if err != nil {
		return Node{}, err
	}
	p, err := integer(fields[1], "node port")
	if err != nil {
		return Node{}, err
	}
	if p, err = port(p, "node port"); err != nil {
		return Node{}, err
	}
	var n Node
	if len(fields) > 2 {
		if n.ID, err = text(fields[2], "node id"); err != nil {
			return Node{}, err
		}
	}
	if host == "?" && len(fields) > 3 {
		meta, err := pairs(fields[3], "node metadata")
		if err != nil {
			return Node{}, err
		}
		for _, m := range meta {
			if m[0].Text() == "ip" {
				host = m[1].Text()
			}
		}
	}
	n.Addr = nodeAddr(host, p, seedHost)
	return n, nil
}
