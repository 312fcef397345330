package cluster

import (
	"fmt"
	"reflect"
	"testing"
)

func TestGroupBySlot(t *testing.T) {
	keys := []string{"{a}1", "{b}1", "{a}2", "{c}1", "{b}2", "{a}3"}
	want := []Group{
		{Slot: Slot("a"), Indexes: []int{0, 2, 5}},
		{Slot: Slot("b"), Indexes: []int{1, 4}},
		{Slot: Slot("c"), Indexes: []int{3}},
	}
	if got := GroupBySlot(keys); !reflect.DeepEqual(got, want) {
		t.Fatalf("GroupBySlot = %v, want %v", got, want)
	}
	if got := GroupBySlot(nil); len(got) != 0 {
		t.Fatalf("GroupBySlot(nil) = %v, want none", got)
	}
}

// TestGrouperManySlots goes past linearGroups, so the map takes over, and
// checks every key lands once, in its slot, in order.
func TestGrouperManySlots(t *testing.T) {
	var g Grouper
	for _, n := range []int{1, 7, 8, 9, 10, 100, 3, 1000, 0, 50} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("{tag%d}:%d", i%23, i)
		}
		groups := g.Group(keys)
		seen := make([]bool, n)
		slots := make(map[int]bool)
		for _, grp := range groups {
			if slots[grp.Slot] {
				t.Fatalf("n=%d: slot %d in two groups", n, grp.Slot)
			}
			slots[grp.Slot] = true
			for j, i := range grp.Indexes {
				if j > 0 && i <= grp.Indexes[j-1] {
					t.Fatalf("n=%d: indexes not increasing: %v", n, grp.Indexes)
				}
				if Slot(keys[i]) != grp.Slot || seen[i] {
					t.Fatalf("n=%d: key %d misplaced", n, i)
				}
				seen[i] = true
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("n=%d: key %d in no group", n, i)
			}
		}
		if want := min(n, 23); len(groups) != want {
			t.Fatalf("n=%d: %d groups, want %d", n, len(groups), want)
		}
		// Groups come in order of first appearance.
		for gi, grp := range groups {
			if gi > 0 && grp.Indexes[0] <= groups[gi-1].Indexes[0] {
				t.Fatalf("n=%d: groups out of order", n)
			}
		}
	}
}

func TestGrouperAllocs(t *testing.T) {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%d", i) // many slots: the map path
	}
	few := []string{"{a}1", "{b}1", "{a}2"}
	var g Grouper
	g.Group(keys)
	if n := testing.AllocsPerRun(100, func() { g.Group(keys); g.Group(few) }); n != 0 {
		t.Fatalf("warm Grouper allocates %v times per call", n)
	}
}

func BenchmarkGrouper(b *testing.B) {
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%d", i)
	}
	var g Grouper
	b.ReportAllocs()
	for b.Loop() {
		g.Group(keys)
	}
}
