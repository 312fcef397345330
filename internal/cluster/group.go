package cluster

// Group is the keys of one slot: the slot and the positions of its keys in
// the slice that was grouped, in increasing order.
type Group struct {
	// Slot is the slot every key of the group hashes to.
	Slot int
	// Indexes are the positions of the group's keys, increasing.
	Indexes []int
}

// GroupBySlot splits keys by slot, for a multi-key command (MGET, MSET,
// DEL, EXISTS...) that must be sent as one command per slot. Groups come in
// the order their slot first appears in keys, and each group's Indexes are
// increasing, so the caller can send the groups and put each reply back at
// keys' positions. It allocates the result; a Grouper reuses its memory.
func GroupBySlot(keys []string) []Group {
	var g Grouper
	return g.Group(keys)
}

// Grouper is GroupBySlot with memory reused from call to call: once warmed
// up to the largest key count, Group does not allocate. The zero Grouper is
// ready to use. A Grouper is not safe for concurrent use.
type Grouper struct {
	groups  []Group
	indexes []int       // backing array of every group's Indexes
	of      []int       // of[i] is the group of keys[i]
	counts  []int       // counts[gi] is the number of keys of group gi
	bySlot  map[int]int // slot -> group, used when there are many groups
}

// linearGroups is how many groups Group searches linearly before it uses
// its map: most multi-key commands touch a handful of slots.
const linearGroups = 8

// Group splits keys by slot as GroupBySlot does. The result, and the
// Indexes slices in it, are valid until the next call to Group.
func (g *Grouper) Group(keys []string) []Group {
	g.groups = g.groups[:0]
	g.of = grow(g.of, len(keys))
	g.indexes = grow(g.indexes, len(keys))
	if g.bySlot != nil {
		clear(g.bySlot)
	}

	// Assign each key its group.
	for i, key := range keys {
		slot := Slot(key)
		gi := g.find(slot)
		if gi < 0 {
			gi = len(g.groups)
			g.groups = append(g.groups, Group{Slot: slot})
			if gi >= linearGroups {
				if g.bySlot == nil {
					g.bySlot = make(map[int]int)
				}
				if gi == linearGroups {
					for j, grp := range g.groups[:linearGroups] {
						g.bySlot[grp.Slot] = j
					}
				}
				g.bySlot[slot] = gi
			}
		}
		g.of[i] = gi
	}

	// Count each group's keys, carve each group's Indexes out of one
	// array, then fill them in order.
	g.counts = grow(g.counts, len(g.groups))
	clear(g.counts)
	for _, gi := range g.of {
		g.counts[gi]++
	}
	offset := 0
	for gi := range g.groups {
		n := g.counts[gi]
		g.groups[gi].Indexes = g.indexes[offset : offset : offset+n]
		offset += n
	}
	for i, gi := range g.of {
		g.groups[gi].Indexes = append(g.groups[gi].Indexes, i)
	}
	return g.groups
}

// find returns the group of slot among those made so far, or -1.
func (g *Grouper) find(slot int) int {
	if len(g.groups) > linearGroups {
		if gi, ok := g.bySlot[slot]; ok {
			return gi
		}
		return -1
	}
	for gi := range g.groups {
		if g.groups[gi].Slot == slot {
			return gi
		}
	}
	return -1
}

// grow returns s with length n, reusing its array when it is large enough.
func grow(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}
