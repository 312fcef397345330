package respool

import (
	"testing"
	"time"
)

// connState is the protocol state track keeps.
type connState struct {
	inMulti, watching, subscribed, sessionChanged bool
}

func stateOf(cn *Conn) connState {
	return connState{cn.inMulti, cn.watching, cn.subscribed, cn.sessionChanged}
}

// TestTrackByClass runs command sequences through track and checks the
// state it leaves, for every session effect of the command table.
func TestTrackByClass(t *testing.T) {
	tests := []struct {
		name string
		cmds [][]any
		want connState
	}{
		{"ordinary", [][]any{{"GET", "k"}, {"client", "id"}, {"PUBLISH", "c", "m"}, {"JSON.GET", "k"}}, connState{}},
		{"multi", [][]any{{"MULTI"}}, connState{inMulti: true}},
		{"exec ends multi and watch", [][]any{{"WATCH", "k"}, {"MULTI"}, {"EXEC"}}, connState{}},
		{"discard", [][]any{{"watch", "k"}, {"multi"}, {[]byte("discard")}}, connState{}},
		{"watch", [][]any{{[]byte("WATCH"), "k"}}, connState{watching: true}},
		{"unwatch", [][]any{{"WATCH", "k"}, {"UNWATCH"}}, connState{}},
		{"unwatch queued in multi", [][]any{{"WATCH", "k"}, {"MULTI"}, {"UNWATCH"}}, connState{inMulti: true, watching: true}},
		{"subscribe", [][]any{{"SUBSCRIBE", "c"}}, connState{subscribed: true}},
		{"unsubscribe keeps subscribed", [][]any{{"PSUBSCRIBE", "p"}, {"PUNSUBSCRIBE", "p"}}, connState{subscribed: true}},
		{"monitor", [][]any{{"MONITOR"}}, connState{subscribed: true}},
		{"sync", [][]any{{"SYNC"}}, connState{subscribed: true}},
		{"select", [][]any{{"SELECT", "1"}}, connState{sessionChanged: true}},
		{"client setname", [][]any{{"CLIENT", "SETNAME", "n"}}, connState{sessionChanged: true}},
		{"client of a newer server", [][]any{{"CLIENT", "SETINFO", "lib-name", "x"}}, connState{sessionChanged: true}},
		{"script debug", [][]any{{"SCRIPT", "DEBUG", "YES"}}, connState{sessionChanged: true}},
		{"quit", [][]any{{"QUIT"}}, connState{sessionChanged: true}},
		{"name of another type", [][]any{{42}, {nil}}, connState{}},
	}
	for _, tt := range tests {
		cn := &Conn{}
		for _, argv := range tt.cmds {
			cn.track(argv)
		}
		if got := stateOf(cn); got != tt.want {
			t.Errorf("%s: state %+v, want %+v", tt.name, got, tt.want)
		}
		// afterWrite tracks the same.
		cn = &Conn{}
		for _, argv := range tt.cmds {
			cn.afterWrite(argv)
		}
		if got := stateOf(cn); got != tt.want {
			t.Errorf("%s: afterWrite state %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestMuxableByClass(t *testing.T) {
	tests := []struct {
		argv []any
		want bool
	}{
		{[]any{"GET", "k"}, true},
		{[]any{[]byte("get"), "k"}, true},
		{fastOps[opGet].argv, true},
		{[]any{"hGetAll", "h"}, true},
		{[]any{"JSON.GET", "k"}, true}, // unknown: ordinary, as always
		{[]any{"CLIENT", "ID"}, true},
		{[]any{"CLIENT", []byte("info")}, true},
		{[]any{"PUBLISH", "c", "m"}, true},
		{[]any{"XREAD", "COUNT", "1", "STREAMS", "s", "0"}, true},
		{[]any{"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "0"}, false},
		{[]any{"xreadgroup", "GROUP", "g", "c", "block", "10", "STREAMS", "s", ">"}, false},
		{[]any{"CLIENT", "SETNAME", "n"}, false},
		{[]any{"CLIENT", "KILL", "ID", "1"}, false},
		{[]any{"CLIENT"}, false},
		{[]any{"BLPOP", "k1", "k2", "1.5"}, false},
		{[]any{"WAIT", "1", "100"}, false},
		{[]any{"MULTI"}, false},
		{[]any{"exec"}, false},
		{[]any{"UNSUBSCRIBE"}, false},
		{[]any{"ASKING"}, false},
		{[]any{"QUIT"}, false},
		{[]any{"DEBUG", "SLEEP", "0"}, false},
		{[]any{"GET", struct{}{}}, false}, // not writable
		{[]any{42}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := muxable(tt.argv); got != tt.want {
			t.Errorf("muxable(%v) = %v, want %v", tt.argv, got, tt.want)
		}
	}
}

func TestBlockForShapes(t *testing.T) {
	tests := []struct {
		argv []any
		want time.Duration
	}{
		{[]any{"BLPOP", "k1", "k2", "1.5"}, 1500 * time.Millisecond},
		{[]any{"blpop", "k1", "k2", 2}, 2 * time.Second},
		{[]any{[]byte("BRPOP"), "k", 0.25}, 250 * time.Millisecond},
		{[]any{"BZPOPMIN", "z", time.Second}, time.Second},
		{[]any{"BLMPOP", "0", "2", "k1", "k2", "LEFT"}, -1},
		{[]any{"BLMPOP", "3", "2", "k1", "k2", "LEFT"}, 3 * time.Second},
		{[]any{"bzmpop", []byte("0.5"), "1", "z", "MIN"}, 500 * time.Millisecond},
		{[]any{"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "0"}, -1},
		{[]any{"XREAD", "BLOCK", int64(20), "STREAMS", "s", "0"}, 20 * time.Millisecond},
		{[]any{"XREAD", "COUNT", "1", "STREAMS", "s", "0"}, 0},
		{[]any{"WAIT", "1", "100"}, 100 * time.Millisecond},
		{[]any{"WAIT", "1", "0"}, -1},
		{[]any{"BLPOP", "k", "soon"}, 0}, // not a number: the server refuses it
		{[]any{"GET", "k"}, 0},
		{[]any{"JSON.GET", "k", "1"}, 0},
		{[]any{42, "1"}, 0},
	}
	for _, tt := range tests {
		if got := blockFor(tt.argv); got != tt.want {
			t.Errorf("blockFor(%v) = %v, want %v", tt.argv, got, tt.want)
		}
		if got := (&Conn{}).afterWrite(tt.argv); got != tt.want {
			t.Errorf("afterWrite(%v) = %v, want %v", tt.argv, got, tt.want)
		}
	}
}

// The lookups run for every command: they must not allocate, whatever the
// case or type of the name.
func TestCommandClassLookupsDoNotAllocate(t *testing.T) {
	lines := [][]any{
		fastOps[opGet].argv,
		{"get", "k"},
		{[]byte("hgetall"), "h"},
		{"multi"},
		{"client", "setname", "n"},
		{"XREAD", "BLOCK", "10", "STREAMS", "s", "$"},
		{"BLPOP", "k", "1.5"},
	}
	cn := &Conn{}
	allocs := testing.AllocsPerRun(100, func() {
		for _, argv := range lines {
			muxable(argv)
			cn.afterWrite(argv)
			cn.track(argv)
			blockFor(argv)
		}
	})
	if allocs != 0 {
		t.Errorf("muxable, track and blockFor allocate %v times", allocs)
	}
}
