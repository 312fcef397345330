package cmdinfo

import (
	"slices"
	"strings"
	"testing"
)

// keyIndexTests are command lines and the positions of their keys, as the
// server's COMMAND GETKEYS reports them (TestKeyIndexesMatchServer checks
// the ones the server accepts against a live server).
var keyIndexTests = []struct {
	line string
	want []int
}{
	{"GET k", []int{1}},
	{"SET k v EX 10", []int{1}},
	{"MGET a b c", []int{1, 2, 3}},
	{"MSET a 1 b 2 c 3", []int{1, 3, 5}},
	{"DEL a b", []int{1, 2}},
	{"BLPOP l1 l2 l3 0", []int{1, 2, 3}},
	{"BRPOPLPUSH src dst 0", []int{1, 2}},
	{"BLMOVE src dst LEFT RIGHT 0", []int{1, 2}},
	{"EVAL script 2 k1 k2 a1 a2", []int{3, 4}},
	{"EVAL script 0 a1", nil},
	{"EVALSHA sha 1 k1 a1", []int{3}},
	{"FCALL fn 2 k1 k2 a", []int{3, 4}},
	{"ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 2", []int{1, 3, 4}},
	{"ZINTER 2 z1 z2 WITHSCORES", []int{2, 3}},
	{"ZDIFFSTORE dst 3 a b c", []int{1, 3, 4, 5}},
	{"LMPOP 2 l1 l2 LEFT COUNT 2", []int{2, 3}},
	{"BZMPOP 0 2 z1 z2 MIN", []int{3, 4}},
	{"SINTERCARD 2 s1 s2 LIMIT 1", []int{2, 3}},
	{"XREAD COUNT 2 STREAMS s1 s2 0 0", []int{4, 5}},
	{"XREAD STREAMS s1 0", []int{2}},
	{"xread block 0 streams s1 $", []int{4}},
	{"XREADGROUP GROUP g c STREAMS s1 >", []int{5}},
	{"XADD s * f v", []int{1}},
	{"MIGRATE host 6379 k 0 1000", []int{3}},
	// The key specs name position 3 even when it is "" and KEYS follows;
	// the server's own MIGRATE key finder skips it.
	{`MIGRATE host 6379 "" 0 1000 COPY KEYS a b`, []int{3, 8, 9}},
	{"RENAME a b", []int{1, 2}},
	{"LCS a b", []int{1, 2}},
	{"OBJECT ENCODING k", []int{2}},
	{"MEMORY USAGE k", []int{2}},
	{"XINFO STREAM s FULL", []int{2}},
	{"GEORADIUS g 0 0 1 km STORE dst", []int{1, 7}},
	{"SORT k LIMIT 0 1", []int{1}},
	{"PING", nil},
	{"CLIENT KILL ID 1", nil},
	{"PUBLISH ch msg", nil},
	{"WATCH a b", []int{1, 2}},
	// Invalid lines: the server rejects them; KeyIndexes finds what it can.
	{"EVAL script notanumber k1", nil},
	{"EVAL script 5 k1", nil},
	{"XREAD COUNT 2", nil},
	{"NOSUCH a b", nil},
}

func TestKeyIndexes(t *testing.T) {
	for _, tt := range keyIndexTests {
		args := splitLine(tt.line)
		if got := KeyIndexes(args); !slices.Equal(got, tt.want) {
			t.Errorf("KeyIndexes(%s) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestKeyIndexesDoesNotPanic(t *testing.T) {
	// Every command with too few, too many and odd arguments.
	shapes := [][]string{{}, {"x"}, {"1"}, {"-1"}, {"x", "STREAMS"}, {"STREAMS", "x"},
		{"KEYS"}, {"x", "x", "x", "KEYS"}, {"2", "a"}, {"99999999999999999999", "a"}}
	for _, info := range All() {
		name, sub, _ := strings.Cut(info.Name, "|")
		for _, shape := range shapes {
			args := []string{name}
			if sub != "" {
				args = append(args, sub)
			}
			args = append(args, shape...)
			for _, k := range KeyIndexes(args) {
				if k <= 0 || k >= len(args) {
					t.Errorf("KeyIndexes(%q) returns %d, out of range", args, k)
				}
			}
		}
	}
}

// splitLine splits a test command line at spaces; "" stands for an empty
// argument.
func splitLine(line string) []string {
	args := strings.Fields(line)
	for i, a := range args {
		if a == `""` {
			args[i] = ""
		}
	}
	return args
}
