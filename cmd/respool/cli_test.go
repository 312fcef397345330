package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// cliArgs builds a command line.
func cliArgs(args ...string) []string { return args }

func TestParseCLIArgs(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		args   []string
		tty    bool
		env    map[string]string
		check  func(c *cliConfig) bool
		errMsg string
	}{
		{args: cliArgs("GET", "k"), check: func(c *cliConfig) bool {
			return c.host == "127.0.0.1" && c.port == 6379 && c.mode == outputRaw && c.protocol == 2 &&
				slices.Equal(c.command, cliArgs("GET", "k"))
		}},
		{args: cliArgs("GET", "k"), tty: true, check: func(c *cliConfig) bool { return c.mode == outputTTY }},
		{args: cliArgs("--raw", "GET"), tty: true, check: func(c *cliConfig) bool { return c.mode == outputRaw }},
		{args: cliArgs("--no-raw", "GET"), check: func(c *cliConfig) bool { return c.mode == outputTTY }},
		{args: cliArgs("GET"), env: map[string]string{"FAKETTY": "1"}, check: func(c *cliConfig) bool { return c.mode == outputTTY }},
		{args: cliArgs("-h", "10.0.0.1", "-p", "7000", "-n", "2", "-3", "PING", "-p", "x"), check: func(c *cliConfig) bool {
			return c.host == "10.0.0.1" && c.port == 7000 && c.db == 2 && c.protocol == 3 &&
				slices.Equal(c.command, cliArgs("PING", "-p", "x"))
		}},
		{args: cliArgs("-3", "-2", "PING"), check: func(c *cliConfig) bool { return c.protocol == 2 }},
		{args: cliArgs("-2", "-3", "--json", "PING"), check: func(c *cliConfig) bool { return c.protocol == 2 && !c.resp3Soft }},
		{args: cliArgs("-a", "secret", "--user", "bob", "PING"), check: func(c *cliConfig) bool {
			return c.password == "secret" && c.hasPassword && c.user == "bob" && c.passInArgs
		}},
		{args: cliArgs("PING"), env: map[string]string{"REDISCLI_AUTH": "envpass"}, check: func(c *cliConfig) bool {
			return c.password == "envpass" && c.hasPassword && !c.passInArgs
		}},
		{args: cliArgs("-a", "cli", "PING"), env: map[string]string{"REDISCLI_AUTH": "envpass"}, check: func(c *cliConfig) bool {
			return c.password == "cli"
		}},
		{args: cliArgs("-p", "12abc", "PING"), check: func(c *cliConfig) bool { return c.port == 12 }},
		{args: cliArgs("-d", `\t`, "-D", "|", "PING"), check: func(c *cliConfig) bool {
			return c.delims.bulk == `\t` && c.delims.reply == "|"
		}},
		{args: cliArgs("-e", "PING"), check: func(c *cliConfig) bool { return c.errorStatus }},
		{args: cliArgs("--help"), check: func(c *cliConfig) bool { return c.printUsage }},
		{args: cliArgs(), check: func(c *cliConfig) bool { return len(c.command) == 0 }},
		{args: cliArgs("-p"), errMsg: "Unrecognized option or bad number of args for: '-p'"},
		{args: cliArgs("-x", "-c", "-r", "5", "-i", "0.25", "SET", "k"), check: func(c *cliConfig) bool {
			return c.stdinLastArg && c.cluster && c.repeat == 5 && c.interval == 250*time.Millisecond
		}},
		{args: cliArgs("--json", "PING"), check: func(c *cliConfig) bool { return c.mode == outputJSON && c.resp3Soft }},
		{args: cliArgs("-3", "--quoted-json", "PING"), check: func(c *cliConfig) bool { return c.mode == outputQuotedJSON && !c.resp3Soft }},
		{args: cliArgs("--csv", "--scan", "--pattern", "a*", "--count", "7"), check: func(c *cliConfig) bool {
			return c.mode == outputCSV && c.scan && c.pattern == "a*" && c.count == 7 && len(c.command) == 0
		}},
		{args: cliArgs("-s", "/tmp/x.sock", "--tls", "--insecure", "--sni", "h", "--pipe", "--pipe-timeout", "3"), check: func(c *cliConfig) bool {
			return c.socket == "/tmp/x.sock" && c.tls.enabled && c.tls.insecure && c.tls.sni == "h" && c.pipe && c.pipeTimeout == 3*time.Second
		}},
		{args: cliArgs("--latency-history", "--stat"), check: func(c *cliConfig) bool { return c.latency && c.history && c.stat }},
		{args: cliArgs("-r"), errMsg: "Unrecognized option or bad number of args for: '-r'"},
	}
	for _, tt := range tests {
		env := noEnv
		if tt.env != nil {
			env = func(k string) string { return tt.env[k] }
		}
		c, err := parseCLIArgs(tt.args, tt.tty, env)
		if tt.errMsg != "" {
			if err == nil || err.Error() != tt.errMsg {
				t.Errorf("parseCLIArgs(%q) error = %v, want %q", tt.args, err, tt.errMsg)
			}
			continue
		}
		if err != nil || !tt.check(c) {
			t.Errorf("parseCLIArgs(%q) = %+v, %v", tt.args, c, err)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := runCLI(cliArgs("-p"), &stdout, &stderr); status != 1 || stdout.Len() != 0 ||
		stderr.String() != "Unrecognized option or bad number of args for: '-p'\n" {
		t.Errorf("runCLI(-p) = %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if status := runCLI(cliArgs("--help"), &stdout, &stderr); status != 0 || !strings.Contains(stdout.String(), "Usage: respool") {
		t.Errorf("runCLI(--help) = %d, stdout %q", status, stdout.String())
	}
}

func TestCLIConnectionRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Port 1 on loopback: nothing listens there.
	status := runCLI(cliArgs("-p", "1", "PING"), &stdout, &stderr)
	if status != 1 || stdout.Len() != 0 || stderr.String() != "Could not connect to Redis at 127.0.0.1:1: Connection refused\n" {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}
}
