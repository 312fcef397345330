package cluster

import (
	"bytes"
	"testing"

	"github.com/respool/respool/resp"
)

func FuzzParseRedirect(f *testing.F) {
	for _, s := range []string{"MOVED 3999 127.0.0.1:6381", "ASK 1 [::1]:7000", "MOVED 3999 ::1:6381",
		"MOVED 3999 :6380", "ASK 16383 ?:1 x", "MOVED 99999999999999999999 a:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		kind, slot, addr, ok := ParseRedirect(msg)
		if !ok {
			if kind != NoRedirect || slot != 0 || addr != "" {
				t.Fatalf("not ok but %v %d %q", kind, slot, addr)
			}
			return
		}
		if kind != Moved && kind != Ask || slot < 0 || slot >= NumSlots || addr == "" {
			t.Fatalf("ParseRedirect(%q) = %v %d %q", msg, kind, slot, addr)
		}
		_ = FillHost(addr, "10.0.0.1:1")
	})
}

// FuzzParseTopology feeds ParseShards and ParseSlots whatever RESP values
// the fuzzer's bytes decode to: they must return an error or a valid
// topology, never panic.
func FuzzParseTopology(f *testing.F) {
	for _, resp3 := range []bool{false, true} {
		f.Add(encode(f, threeShardsValue(resp3)))
	}
	f.Add(encode(f, resp.Array(
		slotsEntry(0, 5460, slotsNode(true, bulk("127.0.0.1"), 7000, "a"), slotsNode(false, bulk("?"), 7003, "d", bulk("ip"), bulk("::1"))),
		slotsEntry(5461, 16383, slotsNode(true, resp.Null(), 7001, "b")),
	)))
	f.Add([]byte("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := resp.NewReader(bytes.NewReader(data)).ReadValue()
		if err != nil {
			return
		}
		for _, parse := range []func(resp.Value, string) (*Topology, error){ParseShards, ParseSlots} {
			top, err := parse(v, "seed")
			if err != nil {
				continue
			}
			covered := 0
			for s := range NumSlots {
				if sh := top.Lookup(s); sh != nil {
					covered++
					if sh.Primary.Addr == "" {
						t.Fatalf("slot %d served by a shard without primary", s)
					}
				}
			}
			if covered != top.Covered() {
				t.Fatalf("Covered = %d, Lookup finds %d", top.Covered(), covered)
			}
			if !top.Equal(top) {
				t.Fatal("not Equal to itself")
			}
		}
	})
}

func encode(tb testing.TB, v resp.Value) []byte {
	var buf bytes.Buffer
	w := resp.NewWriter(&buf)
	if err := w.WriteValue(v); err != nil {
		tb.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
