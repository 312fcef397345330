package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/respool/respool/respooltest"
)

// This file runs the real redis-cli and respool's one-shot mode on the same
// server and requires the same stdout, byte for byte.

// cliModes are the output modes every case runs in. Both programs write to
// a pipe here, so the mode is always given.
var cliModes = [][]string{
	{"--no-raw"},
	{"--raw"},
	{"-3", "--no-raw"},
	{"-3", "--raw"},
	{"--csv"},
	{"-3", "--csv"},
	{"--json"},
	{"--quoted-json"},
}

// errorWhen says in which protocol a case's reply is an error reply, which
// respool (unlike redis-cli without -e) reports with exit status 1.
type errorWhen uint8

const (
	errorNever errorWhen = iota
	errorAlways
	errorRESP2 // the command exists in RESP3 only (DEBUG PROTOCOL push)
)

// cliCase is one command line run by redis-cli and by respool. setup runs
// (with respool) before each of the two runs, so commands that change
// data print the same thing both times. options go before the command, in
// both programs. A case that reads server-wide state (the number of keys)
// runs alone, after the others.
type cliCase struct {
	setup   [][]string
	options []string
	command []string
	errors  errorWhen
	alone   bool
}

var cliCases = []cliCase{
	// Simple strings, strings and nil.
	{command: cliArgs("PING")},
	{command: cliArgs("ECHO", "hello world")},
	{setup: [][]string{cliArgs("DEL", "k")}, command: cliArgs("SET", "k", "v")},
	{command: cliArgs("GET", "str")},
	{command: cliArgs("GET", "quotes")},
	{command: cliArgs("GET", "unicode")},
	{command: cliArgs("GET", "binary")},
	{command: cliArgs("GET", "ключ")},
	{command: cliArgs("GET", "missing")},
	{command: cliArgs("GET", "")},
	{command: cliArgs("TYPE", "str")},
	{command: cliArgs("OBJECT", "ENCODING", "long")},
	// Integers.
	{setup: [][]string{cliArgs("SET", "counter1", "10")}, command: cliArgs("INCR", "counter1")},
	{setup: [][]string{cliArgs("SET", "counter2", "10")}, command: cliArgs("INCRBY", "counter2", "-25")},
	{setup: [][]string{cliArgs("SET", "big", "1")}, command: cliArgs("INCRBY", "big", "9223372036854775806")},
	{command: cliArgs("EXISTS", "str", "missing", "list")},
	{command: cliArgs("TTL", "missing")},
	{command: cliArgs("SMISMEMBER", "set", "member", "other")},
	// Doubles (bulk strings in RESP2, doubles under -3 for ZSCORE).
	{setup: [][]string{cliArgs("SET", "float", "1")}, command: cliArgs("INCRBYFLOAT", "float", "1.5")},
	{command: cliArgs("ZSCORE", "zset", "m1")},
	{command: cliArgs("ZSCORE", "zset", "missing")},
	{command: cliArgs("ZMSCORE", "zset", "m0", "missing", "m2")},
	{setup: [][]string{cliArgs("ZADD", "zinc", "1", "m")}, command: cliArgs("ZINCRBY", "zinc", "0.25", "m")},
	{command: cliArgs("GEODIST", "geo", "Palermo", "Catania", "km")},
	// Arrays: null, empty, flat, nested, wide indexes.
	{command: cliArgs("BLPOP", "missing", "0.01")},
	{command: cliArgs("LRANGE", "list", "0", "-1")},
	{command: cliArgs("LRANGE", "missing", "0", "-1")},
	{command: cliArgs("LRANGE", "long", "0", "-1")},
	{command: cliArgs("MGET", "str", "missing", "unicode")},
	{command: cliArgs("ZRANGE", "zset", "0", "-1", "WITHSCORES")},
	{command: cliArgs("XRANGE", "stream", "-", "+")},
	{command: cliArgs("XREAD", "COUNT", "1", "STREAMS", "stream", "0")},
	{command: cliArgs("LCS", "lcs1", "lcs2", "IDX", "MINMATCHLEN", "2", "WITHMATCHLEN")},
	{command: cliArgs("GEOPOS", "geo", "Palermo", "nowhere")},
	{command: cliArgs("EVAL", "return {1,{2,{3,'a'}},{},'x',false}", "0")},
	{command: cliArgs("EVAL", "return {redis.call('lrange','long',0,-1),{1}}", "0")},
	{command: cliArgs("EVAL", "return {1, redis.error_reply('E nested'), redis.status_reply('FINE')}", "0")},
	{command: cliArgs("COMMAND", "INFO", "get", "xread")},
	{command: cliArgs("COMMAND", "DOCS", "get")},
	{command: cliArgs("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2")},
	// Maps and sets under -3 (one element, or a server-defined order).
	{command: cliArgs("HGETALL", "hash")},
	{command: cliArgs("HGETALL", "missing")},
	{command: cliArgs("SMEMBERS", "set")},
	{command: cliArgs("SMEMBERS", "missing")},
	{command: cliArgs("CONFIG", "GET", "maxmemory")},
	{command: cliArgs("CONFIG", "GET", "no-such-parameter")},
	{command: cliArgs("XINFO", "STREAM", "stream")},
	{command: cliArgs("XINFO", "GROUPS", "stream")},
	{command: cliArgs("ACL", "GETUSER", "default")},
	{command: cliArgs("EVAL", "return {map={a={1,2}}}", "0")},
	{command: cliArgs("EVAL", "redis.setresp(3); return redis.call('HGETALL', 'hash')", "0")},
	{command: cliArgs("EVAL", "return {double=3.5}", "0")},
	{command: cliArgs("EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", "0")},
	// Errors: status 1 for respool (0 for redis-cli), with -e both 1.
	{command: cliArgs("LPUSH", "str", "x"), errors: errorAlways},
	{command: cliArgs("NOSUCHCOMMAND", "a"), errors: errorAlways},
	{command: cliArgs("GET"), errors: errorAlways},
	{command: cliArgs("EVAL", "return redis.error_reply('MY custom error')", "0"), errors: errorAlways},
	{command: cliArgs("OBJECT", "FREQ", "str"), errors: errorAlways},
	{options: []string{"-e"}, command: cliArgs("LPUSH", "str", "x"), errors: errorAlways},
	{options: []string{"-e"}, command: cliArgs("GET", "str")},
	// A password the server does not need: "AUTH failed" on stderr, and
	// the command goes on without it.
	{options: []string{"--no-auth-warning", "-a", "pw"}, command: cliArgs("PING")},
	{options: []string{"--no-auth-warning", "--user", "u", "-a", "pw", "-n", "1"}, command: cliArgs("GET", "missing")},
	// Every type DEBUG PROTOCOL sends (respooltest enables DEBUG). Big
	// numbers and attributes fail redis-cli 7.0 under -3: no output, status 1.
	{command: cliArgs("DEBUG", "PROTOCOL", "string")},
	{command: cliArgs("DEBUG", "PROTOCOL", "integer")},
	{command: cliArgs("DEBUG", "PROTOCOL", "double")},
	{command: cliArgs("DEBUG", "PROTOCOL", "bignum")},
	{command: cliArgs("DEBUG", "PROTOCOL", "null")},
	{command: cliArgs("DEBUG", "PROTOCOL", "array")},
	{command: cliArgs("DEBUG", "PROTOCOL", "set")},
	{command: cliArgs("DEBUG", "PROTOCOL", "map")},
	{command: cliArgs("DEBUG", "PROTOCOL", "attrib")},
	{command: cliArgs("DEBUG", "PROTOCOL", "push"), errors: errorRESP2},
	{command: cliArgs("DEBUG", "PROTOCOL", "verbatim")},
	{command: cliArgs("DEBUG", "PROTOCOL", "true")},
	{command: cliArgs("DEBUG", "PROTOCOL", "false")},
	// Replies redis-cli prints raw in every mode (verbatim strings under -3).
	{command: cliArgs("INFO", "keyspace"), alone: true},
	{command: cliArgs("LATENCY", "DOCTOR")},
	{command: cliArgs("MEMORY", "DOCTOR")},
	// Options: database, delimiters.
	{setup: [][]string{cliArgs("-n", "3", "SET", "indb3", "three")}, options: []string{"-n", "3"}, command: cliArgs("GET", "indb3")},
	{options: []string{"-d", ",", "-D", ";"}, command: cliArgs("LRANGE", "list", "0", "-1")},
	{options: []string{"-d", ",", "-D", ";"}, command: cliArgs("HGETALL", "hash")},
}

// cliData is loaded before the cases run.
var cliData = [][]string{
	cliArgs("SET", "str", "hello world"),
	cliArgs("SET", "quotes", "she said \"hi\"\\\nnew line\ttab\r\x07\x08\x7f end"),
	cliArgs("SET", "unicode", "你好, мир, é ✓"),
	cliArgs("EVAL", `redis.call('SET', 'binary', 'a\0b\1\255\254\127z') return 1`, "0"),
	cliArgs("SET", "ключ", "значение"),
	cliArgs("SET", "lcs1", "ohmytext"),
	cliArgs("SET", "lcs2", "mynewtext"),
	cliArgs("RPUSH", "list", "a", "b", "c"),
	cliArgs("RPUSH", "long", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"),
	cliArgs("HSET", "hash", "field", "value"),
	cliArgs("SADD", "set", "member"),
	cliArgs("ZADD", "zset", "1.5", "m1", "2", "m2", "-3.25", "m0"),
	cliArgs("XADD", "stream", "1-1", "f1", "v1", "f2", "v2"),
	cliArgs("XADD", "stream", "2-1", "f", "v"),
	cliArgs("XGROUP", "CREATE", "stream", "group", "0"),
	cliArgs("GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
}

// redisCLI runs the real redis-cli against addr and returns its stdout,
// stderr and exit status. It is safe to call from any goroutine.
func redisCLI(addr string, args ...string) (stdout, stderr []byte, status int, err error) {
	return redisCLIStdin(addr, nil, args...)
}

// redisCLIStdin is redisCLI with stdin as its standard input (nil: none).
func redisCLIStdin(addr string, stdin []byte, args ...string) (stdout, stderr []byte, status int, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, 0, err
	}
	c := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	c.Env = []string{"HOME=/nonexistent"} // no REDISCLI_AUTH, FAKETTY, rc file
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err = c.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), errOut.Bytes(), 0, nil
	case errors.As(err, &exit):
		return out.Bytes(), errOut.Bytes(), exit.ExitCode(), nil
	}
	return nil, nil, 0, fmt.Errorf("redis-cli %q: %w", args, err)
}

// respoolCLI runs respool's one-shot mode in process against addr.
func respoolCLI(addr string, args ...string) (stdout, stderr []byte, status int) {
	return respoolCLIStdin(addr, nil, args...)
}

// respoolCLIStdin is respoolCLI with stdin as its standard input.
func respoolCLIStdin(addr string, stdin []byte, args ...string) (stdout, stderr []byte, status int) {
	host, port, _ := net.SplitHostPort(addr)
	var out, errOut bytes.Buffer
	status = runCLIContext(context.Background(), append([]string{"-h", host, "-p", port}, args...),
		bytes.NewReader(stdin), &out, &errOut)
	return out.Bytes(), errOut.Bytes(), status
}

// TestCLIMatchesRedisCLI runs each case with redis-cli and with respool in
// each output mode and requires the same stdout, byte for byte, and the
// same exit status except after an error reply, where respool exits 1.
// Cases run a few at a time (the keys they change do not overlap); the
// modes of one case run in turn.
func TestCLIMatchesRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	for _, args := range cliData {
		if out, _, status := respoolCLI(srv.Addr, args...); status != 0 {
			t.Fatalf("loading %q: status %d, %q", args, status, out)
		}
	}

	// Every setup once first, so that no key appears while the cases run.
	for _, tc := range cliCases {
		for _, args := range tc.setup {
			if out, _, status := respoolCLI(srv.Addr, args...); status != 0 {
				t.Fatalf("setup %q: status %d, %q", args, status, out)
			}
		}
	}

	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, tc := range cliCases {
		if tc.alone {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			checkCLICase(t, srv.Addr, tc)
		})
	}
	wg.Wait()
	for _, tc := range cliCases {
		if tc.alone {
			checkCLICase(t, srv.Addr, tc)
		}
	}
}

// checkCLICase runs one case in every mode; it may run on any goroutine.
func checkCLICase(t *testing.T, addr string, tc cliCase) {
	setup := func() bool {
		for _, args := range tc.setup {
			if out, _, status := respoolCLI(addr, args...); status != 0 {
				t.Errorf("setup %q: status %d, %q", args, status, out)
				return false
			}
		}
		return true
	}
	for _, mode := range cliModes {
		resp3 := slices.Contains(mode, "-3") || slices.Contains(mode, "--json") || slices.Contains(mode, "--quoted-json")
		args := slices.Concat(mode, tc.options, tc.command)
		if !setup() {
			return
		}
		want, _, wantStatus, err := redisCLI(addr, args...)
		if err != nil {
			t.Error(err)
			return
		}
		if !setup() {
			return
		}
		if tc.errors == errorAlways || tc.errors == errorRESP2 && !resp3 {
			// respool's documented difference: an error reply exits 1.
			if wantStatus != 0 && !slices.Contains(tc.options, "-e") {
				t.Errorf("%q: redis-cli exited %d after an error reply; the case table is wrong", args, wantStatus)
			}
			wantStatus = 1
		}
		got, stderr, status := respoolCLI(addr, args...)
		if !bytes.Equal(got, want) || status != wantStatus {
			t.Errorf("%s:\nredis-cli (status %d):\n%q\nrespool (status %d):\n%q\nrespool stderr: %q",
				strings.Join(args, " "), wantStatus, want, status, got, stderr)
		}
	}
}

// TestCLIHandshakeFailuresMatchRedisCLI checks what redis-cli does when
// the server refuses the password or the database: it says so on stderr
// and sends the command anyway, so the server's reply is printed.
func TestCLIHandshakeFailuresMatchRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t, respooltest.WithArgs("--requirepass", "secret"))
	tests := [][]string{
		cliArgs("-a", "wrong", "--no-auth-warning", "PING"),
		cliArgs("--no-auth-warning", "-a", "secret", "-n", "99", "PING"),
		cliArgs("--no-auth-warning", "--user", "nobody", "-a", "secret", "GET", "k"),
		cliArgs("PING"),
	}
	// --askpass reads the password from the first line of standard input.
	for _, stdin := range []string{"secret\nPING\nGET k\n", "wrong\nPING\n"} {
		want, wantErr, wantStatus, err := redisCLIStdin(srv.Addr, []byte(stdin), "--askpass")
		if err != nil {
			t.Fatal(err)
		}
		got, gotErr, status := respoolCLIStdin(srv.Addr, []byte(stdin), "--askpass")
		if !bytes.Equal(got, want) || !bytes.Equal(gotErr, wantErr) || status != wantStatus {
			t.Errorf("--askpass %q:\nredis-cli (status %d): %q, stderr %q\nrespool (status %d): %q, stderr %q",
				stdin, wantStatus, want, wantErr, status, got, gotErr)
		}
	}
	for _, args := range tests {
		for _, mode := range cliModes {
			args := slices.Concat(mode, args)
			want, wantErr, wantStatus, err := redisCLI(srv.Addr, args...)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(want, []byte("NOAUTH")) {
				wantStatus = 1 // an error reply
			}
			got, gotErr, status := respoolCLI(srv.Addr, args...)
			if !bytes.Equal(got, want) || !bytes.Equal(gotErr, wantErr) || status != wantStatus {
				t.Errorf("%s:\nredis-cli (status %d): %q, stderr %q\nrespool (status %d): %q, stderr %q",
					strings.Join(args, " "), wantStatus, want, wantErr, status, got, gotErr)
			}
		}
	}
}
