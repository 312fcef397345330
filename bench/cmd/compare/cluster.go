package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/respool/respool/resp"
)

// hashSlots is the number of hash slots of a Redis Cluster.
const hashSlots = 16384

// clusterStore reaches the primaries of a Redis Cluster on plain
// connections of the driver's own, so that it writes and checks keys
// without any client under test. Every key goes to the primary that
// serves its hash slot, as one single-key command in a pipeline of that
// primary's commands (a multi-key command would have to keep to one
// slot). A key sent to the wrong node fails the run with the server's
// MOVED reply: the driver's cluster has no failovers, so its slot map
// does not change.
type clusterStore struct {
	primaries []*rawConn          // in the order CLUSTER SLOTS first names them
	owner     [hashSlots]*rawConn // the primary serving each slot
	slots     map[string]int      // key -> hash slot, as the server computed it
	addrs     map[*rawConn]string // for error messages
}

// newClusterStore asks the node at seed for the slot map and connects to
// every primary in it.
func newClusterStore(seed string) (*clusterStore, error) {
	c, err := dialRaw(seed)
	if err != nil {
		return nil, err
	}
	v, err := c.do("CLUSTER", "SLOTS")
	c.Close()
	if err != nil {
		return nil, err
	}
	ranges, err := parseClusterSlots(v)
	if err != nil {
		return nil, err
	}
	st := &clusterStore{slots: map[string]int{}, addrs: map[*rawConn]string{}}
	byAddr := map[string]*rawConn{}
	for _, r := range ranges {
		conn, ok := byAddr[r.primary]
		if !ok {
			if conn, err = dialRaw(r.primary); err != nil {
				st.Close()
				return nil, err
			}
			byAddr[r.primary], st.addrs[conn] = conn, r.primary
			st.primaries = append(st.primaries, conn)
		}
		for slot := r.first; slot <= r.last; slot++ {
			st.owner[slot] = conn
		}
	}
	for slot, conn := range st.owner {
		if conn == nil {
			st.Close()
			return nil, fmt.Errorf("compare: cluster at %s: no node serves slot %d", seed, slot)
		}
	}
	return st, nil
}

// Close closes the connections to the primaries.
func (st *clusterStore) Close() error {
	var errs []error
	for _, c := range st.primaries {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// slotRange is one entry of CLUSTER SLOTS: slots first to last, served by
// primary ("host:port").
type slotRange struct {
	first, last int
	primary     string
}

// parseClusterSlots reads the reply of CLUSTER SLOTS: an array of
// [first slot, last slot, [primary host, port, id, ...], replicas...].
func parseClusterSlots(v resp.Value) ([]slotRange, error) {
	entries, err := v.Elems()
	if err != nil {
		return nil, fmt.Errorf("compare: CLUSTER SLOTS: %w", err)
	}
	out := make([]slotRange, 0, len(entries))
	for _, e := range entries {
		f, err := e.Elems()
		if err != nil || len(f) < 3 {
			return nil, fmt.Errorf("compare: CLUSTER SLOTS: bad entry %s", e.Format())
		}
		first, err1 := f[0].Int()
		last, err2 := f[1].Int()
		node, err3 := f[2].Elems()
		if err := errors.Join(err1, err2, err3); err != nil || len(node) < 2 {
			return nil, fmt.Errorf("compare: CLUSTER SLOTS: bad entry %s", e.Format())
		}
		host, err1 := node[0].Str()
		port, err2 := node[1].Int()
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("compare: CLUSTER SLOTS: bad node %s", f[2].Format())
		}
		if first < 0 || last < first || last >= hashSlots {
			return nil, fmt.Errorf("compare: CLUSTER SLOTS: bad range %d-%d", first, last)
		}
		out = append(out, slotRange{first: int(first), last: int(last), primary: net.JoinHostPort(host, strconv.FormatInt(port, 10))})
	}
	return out, nil
}

// learnSlots asks the server for the hash slot of every key not seen
// before (CLUSTER KEYSLOT, pipelined), so that the driver needs no copy of
// the hash function.
func (st *clusterStore) learnSlots(keys []string) error {
	var unknown []string
	for _, k := range keys {
		if _, ok := st.slots[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	c := st.primaries[0]
	for start := 0; start < len(unknown); start += preloadBatch {
		batch := unknown[start:min(len(unknown), start+preloadBatch)]
		for _, k := range batch {
			if err := c.queue("CLUSTER", "KEYSLOT", k); err != nil {
				return err
			}
		}
		replies, err := c.send(len(batch))
		if err != nil {
			return err
		}
		for i, v := range replies {
			slot, err := v.Int()
			if err != nil || slot < 0 || slot >= hashSlots {
				return fmt.Errorf("compare: CLUSTER KEYSLOT %s: bad reply %s", batch[i], v.Format())
			}
			st.slots[batch[i]] = int(slot)
		}
	}
	return nil
}

// each sends command(i) for every key i to the primary serving keys[i],
// pipelined per primary, and returns the replies in the order of keys. A
// server error reply fails the whole call.
func (st *clusterStore) each(keys []string, command func(i int) []any) ([]resp.Value, error) {
	if err := st.learnSlots(keys); err != nil {
		return nil, err
	}
	byNode := map[*rawConn][]int{}
	for i, k := range keys {
		c := st.owner[st.slots[k]]
		byNode[c] = append(byNode[c], i)
	}
	out := make([]resp.Value, len(keys))
	for _, c := range st.primaries {
		idx := byNode[c]
		for start := 0; start < len(idx); start += preloadBatch {
			batch := idx[start:min(len(idx), start+preloadBatch)]
			for _, i := range batch {
				if err := c.queue(command(i)...); err != nil {
					return nil, err
				}
			}
			replies, err := c.send(len(batch))
			if err != nil {
				return nil, fmt.Errorf("compare: cluster node %s: %w", st.addrs[c], err)
			}
			for j, i := range batch {
				out[i] = replies[j]
			}
		}
	}
	return out, nil
}

// setKeys writes every key with SET on its primary.
func (st *clusterStore) setKeys(keys, values []string) error {
	_, err := st.each(keys, func(i int) []any { return []any{"SET", keys[i], values[i]} })
	return err
}

// unlinkKeys deletes every key with UNLINK on its primary.
func (st *clusterStore) unlinkKeys(keys []string) error {
	_, err := st.each(keys, func(i int) []any { return []any{"UNLINK", keys[i]} })
	return err
}

// getKeys reads every key with GET on its primary.
func (st *clusterStore) getKeys(keys []string) ([]resp.Value, error) {
	return st.each(keys, func(i int) []any { return []any{"GET", keys[i]} })
}
