package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/respool/respool/respooltest"
)

func TestParseCLISentinelArgs(t *testing.T) {
	noEnv := func(string) string { return "" }
	c, err := parseCLIArgs(cliArgs("--sentinel", "10.0.0.1:26379", "--sentinel", "10.0.0.2:26379", "--master", "mymaster", "-a", "pw", "GET", "k"), false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fo := c.failoverOptions()
	if fo == nil || fo.MasterName != "mymaster" || !slices.Equal(fo.SentinelAddrs, []string{"10.0.0.1:26379", "10.0.0.2:26379"}) ||
		fo.Password != "pw" || fo.SentinelPassword != "" {
		t.Fatalf("failover options %+v", fo)
	}
	c, err = parseCLIArgs(cliArgs("-u", "redis://:spw@10.0.0.1:26380/2?master_name=m&addr=10.0.0.2:26380&password=dpw", "GET", "k"), false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fo = c.failoverOptions()
	if fo == nil || fo.MasterName != "m" || len(fo.SentinelAddrs) != 2 || fo.SentinelPassword != "spw" ||
		fo.Password != "dpw" || fo.DB != 2 {
		t.Fatalf("failover options from a URL %+v", fo)
	}
	if c, _ := parseCLIArgs(cliArgs("GET", "k"), false, noEnv); c.failoverOptions() != nil {
		t.Fatal("failover options without sentinels")
	}
	if _, err := parseCLIArgs(cliArgs("-u", "redis://h:26379?master_name=m&bogus=1", "GET"), false, noEnv); err == nil ||
		!strings.Contains(err.Error(), `unknown query key "bogus"`) {
		t.Fatalf("bad failover URL: %v", err)
	}
}

// TestCLIAndDemoThroughSentinel runs a command, and the demo, on a
// Sentinel-managed primary.
func TestCLIAndDemoThroughSentinel(t *testing.T) {
	respooltest.RequireRedis(t)
	set := respooltest.StartSentinel(t)
	var stdout, stderr bytes.Buffer
	args := cliArgs("--sentinel", set.Sentinels[1].Addr, "--master", set.MasterName, "SET", "cli:k", "v")
	if status := runCLI(args, &stdout, &stderr); status != 0 || stdout.String() != "OK\n" {
		t.Fatalf("SET: status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}
	if got := set.Primary.CLI(t, "GET", "cli:k"); got != "v" {
		t.Fatalf("the primary has %q", got)
	}
	stdout.Reset()
	url := "redis://" + set.Sentinels[0].Addr + "?master_name=" + set.MasterName
	if status := runCLI(cliArgs("-u", url, "GET", "cli:k"), &stdout, &stderr); status != 0 || stdout.String() != "v\n" {
		t.Fatalf("GET: status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if status := runCLI(cliArgs("--sentinel", set.Sentinels[0].Addr, "--master", "nosuch", "PING"), &stdout, &stderr); status != 1 ||
		!strings.Contains(stderr.String(), "Could not find the primary through the sentinels: respool: master \"nosuch\"") {
		t.Fatalf("unknown master: status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}

	// The interactive mode (lines from standard input) through the sentinels.
	stdout.Reset()
	stderr.Reset()
	args = cliArgs("--sentinel", set.Sentinels[0].Addr, "--master", set.MasterName)
	if status := runCLIContext(context.Background(), args, strings.NewReader("SET cli:repl v2\nGET cli:repl\nSELECT 1\n"), &stdout, &stderr); status != 0 ||
		stdout.String() != "OK\nv2\nOK\n" || stderr.Len() != 0 {
		t.Fatalf("interactive: status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}
	if got := set.Primary.CLI(t, "GET", "cli:repl"); got != "v2" {
		t.Fatalf("the primary has %q", got)
	}

	stdout.Reset()
	stderr.Reset()
	status := runDemo([]string{"-sentinel", set.Sentinels[2].Addr, "-master", set.MasterName, "-duration", "200ms", "-workers", "8"}, &stdout, &stderr)
	out := stdout.String()
	if status != 0 {
		t.Fatalf("demo: status %d, stderr %q, stdout:\n%s", status, stderr.String(), out)
	}
	for _, want := range []string{"the primary \"" + set.MasterName + "\" through the sentinels at " + set.Sentinels[2].Addr + ", now at " + set.Primary.Addr, "6) Summary"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
