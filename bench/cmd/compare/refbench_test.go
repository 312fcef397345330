package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseReferenceCSV(t *testing.T) {
	out := `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","35335.69","0.279","0.064","0.239","0.439","0.631","5.455"
"MGET bench:get16:0000 bench:get16:0001","1000.00","0.294","0.048","0.263","0.479","0.863","4.831"
`
	got, err := parseReference(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []refResult{
		{test: "SET", rps: 35335.69, p50: 239 * time.Microsecond, p99: 631 * time.Microsecond},
		{test: "MGET", rps: 1000, p50: 263 * time.Microsecond, p99: 863 * time.Microsecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseReferenceQuiet(t *testing.T) {
	out := " GET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r" +
		" GET: rps=25290.8 (overall: 26534.2) avg_msec=0.405 (overall: 0.380)\r" +
		"GET: 29673.59 requests per second, p50=0.231 msec\n"
	got, err := parseReference(out)
	if err != nil {
		t.Fatal(err)
	}
	want := refResult{test: "GET", rps: 29673.59, p50: 231 * time.Microsecond}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want [%+v]", got, want)
	}
	if _, err := parseReference("Could not connect to Redis at 127.0.0.1:1: Connection refused\n"); err == nil {
		t.Error("output without a result parsed")
	}
}

func TestReferenceArgs(t *testing.T) {
	s, _ := lookupScenario("pipe100")
	args := referenceArgs(s, "127.0.0.1", 7000, 5000)
	want := []string{"-h", "127.0.0.1", "-p", "7000", "-c", "1", "-n", "5000", "-P", "100", "-t", "get", "-d", "16", "--csv"}
	if !slices.Equal(args, want) {
		t.Errorf("pipe100: %q, want %q", args, want)
	}
	s, _ = lookupScenario("mget100")
	args = referenceArgs(s, "127.0.0.1", 7000, 5000)
	if i := slices.Index(args, "MGET"); i < 0 || len(args)-i-1 != 100 || args[len(args)-1] != getKey(16, 99) {
		t.Errorf("mget100: %q", args)
	}
	if text := referenceCommandText(s, "N"); !strings.Contains(text, "MGET "+getKey(16, 0)+" ... "+getKey(16, 99)) {
		t.Errorf("mget100 command text %q", text)
	}
}
