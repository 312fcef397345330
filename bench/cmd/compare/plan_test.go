package main

import "testing"

// TestPlanHandsTheRunAfterTheReferenceAround checks the order of the runs:
// every repetition runs each client once, opens with redis-benchmark, and
// the client right after it is a different one every repetition.
func TestPlanHandsTheRunAfterTheReferenceAround(t *testing.T) {
	cfg := &config{
		clients:   []clientInfo{{name: "respool"}, {name: "goredis"}, {name: "redigo"}, {name: "rueidis"}},
		scenarios: []scenario{{name: "get1", goroutines: 1}},
		reps:      3,
		reference: true,
	}
	tasks := cfg.plan()
	if len(tasks) != 3*5 {
		t.Fatalf("%d tasks, want 15", len(tasks))
	}
	afterRef := map[string]int{}
	for rep := range 3 {
		runs := tasks[rep*5 : rep*5+5]
		if runs[0].client != referenceName {
			t.Errorf("repetition %d opens with %s, want the reference", rep, runs[0].client)
		}
		for i, r := range runs[:len(runs)-1] {
			if r.client == referenceName {
				afterRef[runs[i+1].client]++
			}
		}
		seen := map[string]bool{}
		for _, r := range runs {
			if r.rep != rep || seen[r.client] {
				t.Errorf("repetition %d: run %+v out of place", rep, r)
			}
			seen[r.client] = true
		}
		if len(seen) != 5 {
			t.Errorf("repetition %d runs %d participants, want 5", rep, len(seen))
		}
	}
	for c, n := range afterRef {
		if n > 1 {
			t.Errorf("%s follows the reference in %d of 3 repetitions", c, n)
		}
	}
}
