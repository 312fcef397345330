package cluster

import (
	"fmt"

	"github.com/respool/respool/resp"
)

// ParseShards builds the topology from a CLUSTER SHARDS reply (Redis 7.0 and
// later), in its RESP3 shape (an array of maps) or its RESP2 shape (the same
// with every map sent as a flat array of keys and values). seedHost is the
// host of the node that sent the reply.
//
// Each shard is a map with "slots" (a flat list of start, end, start, end...)
// and "nodes", each node a map with "id", "port" and/or "tls-port", "ip",
// "endpoint", "hostname" (optional), "role" ("master" or "replica"),
// "replication-offset" and "health" ("online", "loading" for a replica whose
// replication offset is still 0, and "fail", which the command's
// documentation spells "failed" and which becomes HealthFailed). Unknown
// keys are ignored.
//
// A node's address is its "endpoint", the endpoint the cluster prefers
// (cluster-preferred-endpoint-type): its IP, or its announced hostname. An
// endpoint of "?" (hostnames preferred but none announced) falls back to the
// hostname, then the IP; an empty endpoint means the endpoint is unknown and,
// as the cluster specification says, the client uses seedHost. The port is
// "port", or "tls-port" when the reply has no plain port; Node.TLSAddr uses
// "tls-port" when there is one.
//
// The primary of a shard is its node with role "master", preferring an
// online one when a shard lists several (a failed primary that lost its
// slots to a promoted replica); the other masters are left out. A shard
// without slots is kept only when its primary is usable, so that a dead
// primary that lost its slots is not counted among Primaries. Errors wrap
// ErrMalformed, or those of NewTopology.
func ParseShards(v resp.Value, seedHost string) (*Topology, error) {
	list, err := elems(v, "CLUSTER SHARDS reply")
	if err != nil {
		return nil, err
	}
	shards := make([]Shard, 0, len(list))
	for i, sv := range list {
		sh, keep, err := parseShard(sv, seedHost)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		if keep {
			shards = append(shards, sh)
		}
	}
	return NewTopology(shards)
}

// parseShard parses one element of a CLUSTER SHARDS reply. keep is false
// for a shard that serves no slots and has no usable primary.
func parseShard(v resp.Value, seedHost string) (sh Shard, keep bool, err error) {
	fields, err := pairs(v, "shard")
	if err != nil {
		return Shard{}, false, err
	}
	var nodes []shardNode
	for _, f := range fields {
		switch f[0].Text() {
		case "slots":
			if sh.Ranges, err = parseRangeList(f[1]); err != nil {
				return Shard{}, false, err
			}
		case "nodes":
			list, err := elems(f[1], "shard nodes")
			if err != nil {
				return Shard{}, false, err
			}
			nodes = make([]shardNode, len(list))
			for i, nv := range list {
				if nodes[i], err = parseShardNode(nv, seedHost); err != nil {
					return Shard{}, false, fmt.Errorf("node %d: %w", i, err)
				}
			}
		}
	}

	primary := -1
	for i, n := range nodes {
		if n.role == "master" && (primary < 0 || !nodes[primary].Usable() && n.Usable()) {
			primary = i
		}
	}
	if primary < 0 {
		// No primary: an error from NewTopology if the shard has slots.
		return sh, len(sh.Ranges) > 0, nil
	}
	sh.Primary = nodes[primary].Node
	sh.Primary.Primary = true
	for _, n := range nodes {
		if n.role == "master" {
			continue
		}
		n.ReplicaOf = sh.Primary.ID
		sh.Replicas = append(sh.Replicas, n.Node)
	}
	return sh, len(sh.Ranges) > 0 || sh.Primary.Usable(), nil
}

// parseRangeList parses CLUSTER SHARDS' "slots": start, end, start, end...
// Bounds are checked by NewTopology.
func parseRangeList(v resp.Value) ([]SlotRange, error) {
	list, err := elems(v, "shard slots")
	if err != nil {
		return nil, err
	}
	if len(list)%2 != 0 {
		return nil, fmt.Errorf("%w: shard slots: odd length %d", ErrMalformed, len(list))
	}
	ranges := make([]SlotRange, 0, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		start, err := integer(list[i], "slot range start")
		if err != nil {
			return nil, err
		}
		end, err := integer(list[i+1], "slot range end")
		if err != nil {
			return nil, err
		}
		if start < 0 || end >= NumSlots || start > end {
			return nil, fmt.Errorf("%w: %d-%d", ErrSlotRange, start, end)
		}
		ranges = append(ranges, SlotRange{Start: int(start), End: int(end)})
	}
	return ranges, nil
}

// shardNode is a node of CLUSTER SHARDS with its role, which decides
// whether it becomes the shard's Primary.
type shardNode struct {
	Node
	role string
}

// parseShardNode parses one node map of CLUSTER SHARDS.
func parseShardNode(v resp.Value, seedHost string) (shardNode, error) {
	fields, err := pairs(v, "node")
	if err != nil {
		return shardNode{}, err
	}
	var (
		n                      shardNode
		ip, endpoint, hostname string
		hasEndpoint            bool
		plainPort, tlsPort     int64
	)
	for _, f := range fields {
		key := f[0].Text()
		switch key {
		case "id", "ip", "endpoint", "hostname", "role", "health":
			s, err := text(f[1], "node "+key)
			if err != nil {
				return shardNode{}, err
			}
			switch key {
			case "id":
				n.ID = s
			case "ip":
				ip = s
			case "endpoint":
				endpoint, hasEndpoint = s, true
			case "hostname":
				hostname = s
			case "role":
				n.role = s
			case "health":
				n.Health = s
				if s == "fail" {
					n.Health = HealthFailed // what the server sends, despite the docs
				}
			}
		case "port", "tls-port":
			p, err := integer(f[1], "node "+key)
			if err != nil {
				return shardNode{}, err
			}
			if p == 0 {
				continue // no such port
			}
			if p, err = port(p, "node "+key); err != nil {
				return shardNode{}, err
			}
			if key == "port" {
				plainPort = p
			} else {
				tlsPort = p
			}
		}
	}
	if plainPort == 0 && tlsPort == 0 {
		return shardNode{}, fmt.Errorf("%w: node %q has no port", ErrMalformed, n.ID)
	}

	host := endpoint
	switch {
	case !hasEndpoint:
		host = ip
	case endpoint == "?":
		host = hostname
		if host == "" || host == "?" {
			host = ip
		}
	}
	// "" (an unknown endpoint) and a remaining "?" become seedHost.
	if plainPort != 0 {
		n.Addr = nodeAddr(host, plainPort, seedHost)
	} else {
		n.Addr = nodeAddr(host, tlsPort, seedHost)
	}
	if tlsPort != 0 {
		n.TLSAddr = nodeAddr(host, tlsPort, seedHost)
	}
	return n, nil
}
