package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// transcript is a session of the interactive mode: strings, lists, a
// transaction, errors, SELECT, a RESP3 map after HELLO 3, a repeated
// command, quoting, lines redis-cli refuses, and its own commands.
const transcript = `FLUSHALL
SET greeting "hello world"
GET greeting
APPEND greeting "!"
STRLEN greeting
MSET a 1 b 2 c "three four"
MGET a b c nosuch
INCR a
INCRBY a 10
DECR b
GET nosuch
RPUSH list x y z
LRANGE list 0 -1
LPOP list
LLEN list
MULTI
INCR counter
SET tx yes
LPUSH tx wrongtype
EXEC
LPUSH greeting oops
NOSUCHCOMMAND arg
SELECT 2
SET indb2 "value\twith\ttabs"
KEYS *
SELECT 0
HSET h f1 v1 f2 v2
HELLO 3
HGETALL h
ZADD z 1.5 m
ZSCORE z m
SMEMBERS nosuchset
3 PING
"unbalanced
set 'single quoted' "\x41\x42"
get 'single quoted'
DISCARD
:set nohints
:set bogus
:nosuch
restart
clear
0 PING
-2 PING
"" PING
99999999999999999999 PING
HELP @nosuchgroup
`

// helloID is the client id in HELLO's reply, which differs between two
// connections.
var helloID = regexp.MustCompile(`(?m)^( *\d+# "id" => \(integer\) |id )\d+$`)

// TestCLITranscriptMatchesRedisCLI feeds the same session to redis-cli
// and to respool's interactive mode on standard input and requires the
// same output, byte for byte (but for HELLO's client id), in both output
// modes.
func TestCLITranscriptMatchesRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	for _, mode := range []string{"--no-raw", "--raw"} {
		want, wantErr, wantStatus, err := redisCLIStdin(srv.Addr, []byte(transcript), mode)
		if err != nil {
			t.Fatal(err)
		}
		got, gotErr, status := respoolCLIStdin(srv.Addr, []byte(transcript), mode)
		want = helloID.ReplaceAll(want, []byte("${1}ID"))
		got = helloID.ReplaceAll(got, []byte("${1}ID"))
		if !bytes.Equal(got, want) || !bytes.Equal(gotErr, wantErr) || status != wantStatus {
			t.Errorf("%s: redis-cli (%d) and respool (%d) differ:\n%s\nstderr %q / %q", mode, wantStatus, status,
				lineDiff(string(want), string(got)), wantErr, gotErr)
		}
	}
}

// lineDiff shows the lines of want and got side by side from the first
// difference.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	for j := i; j < max(len(w), len(g)) && j < i+8; j++ {
		var wl, gl string
		if j < len(w) {
			wl = w[j]
		}
		if j < len(g) {
			gl = g[j]
		}
		fmt.Fprintf(&b, "line %d: redis-cli %q\n        respool   %q\n", j+1, wl, gl)
	}
	return b.String()
}

// TestCLIClusterMatchesRedisCLI runs -c against a cluster: an interactive
// session whose commands go to keys of every node (redirect lines and
// all, compared with redis-cli's), a one-shot write to a key of another
// node, and --scan over every primary.
func TestCLIClusterMatchesRedisCLI(t *testing.T) {
	respooltest.RequireRedis(t)
	cl := respooltest.StartCluster(t)
	ctx := context.Background()
	cc := respool.NewClusterClient(&respool.ClusterOptions{Addrs: cl.Addrs()})
	defer cc.Close()
	entry := cl.Primaries(t)[0].Addr

	session := "SET foo bar\nGET foo\nSET hello world\nGET hello\nSET {user1}:a 1\nMGET {user1}:a {user1}:b\nINCR counter\nGET foo\n"
	flush := func() {
		if _, err := cc.Do(ctx, "FLUSHALL"); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []string{"--no-raw", "--raw"} {
		flush()
		want, wantErr, wantStatus, err := redisCLIStdin(entry, []byte(session), "-c", mode)
		if err != nil {
			t.Fatal(err)
		}
		flush()
		got, gotErr, status := respoolCLIStdin(entry, []byte(session), "-c", mode)
		if !bytes.Equal(got, want) || !bytes.Equal(gotErr, wantErr) || status != wantStatus {
			t.Errorf("%s: redis-cli (%d) and respool (%d) differ:\n%s\nstderr %q / %q", mode, wantStatus, status,
				lineDiff(string(want), string(got)), wantErr, gotErr)
		}
		if !bytes.Contains(got, []byte("-> Redirected to slot [")) {
			t.Errorf("%s: no redirection in\n%s", mode, got)
		}
	}

	// The same session typed on a terminal: the prompt follows the
	// redirections.
	if redisCLIPath, err := exec.LookPath("redis-cli"); err == nil && !testing.Short() {
		bin := buildRespool(t)
		env := []string{"HOME=" + t.TempDir(), "TERM=xterm", "REDISCLI_HISTFILE=/dev/null"}
		lines := strings.Split(strings.TrimSuffix(session, "\n"), "\n")
		flush()
		want := typeOnTerminal(t, redisCLIPath, env, append(hostPort(entry), "-c"), lines)
		flush()
		got := typeOnTerminal(t, bin, env, append(hostPort(entry), "-c"), lines)
		if got != want {
			t.Errorf("on a terminal, the screens differ:\n%s", lineDiff(want, got))
		}
		if !strings.Contains(got, "-> Redirected to slot [") {
			t.Errorf("no redirection on the screen:\n%s", got)
		}
	}

	// The one-shot mode follows the redirection without a word, as
	// redis-cli does, and the write lands.
	for _, key := range []string{"foo", "hello", "counter", "{user1}:a"} {
		got, gotErr, status := respoolCLI(entry, "-c", "SET", key, "oneshot:"+key)
		if status != 0 || string(got) != "OK\n" {
			t.Fatalf("-c SET %s: status %d, %q, %q", key, status, got, gotErr)
		}
		if v, err := cc.Get(ctx, key).Result(); err != nil || v != "oneshot:"+key {
			t.Fatalf("%s = %q, %v", key, v, err)
		}
	}
	// Without -c the redirection is the reply.
	got, _, _ := respoolCLI(entry, "--no-raw", "GET", "foo")
	gotHello, _, _ := respoolCLI(entry, "--no-raw", "GET", "hello")
	if !bytes.HasPrefix(got, []byte("(error) MOVED ")) && !bytes.HasPrefix(gotHello, []byte("(error) MOVED ")) {
		t.Errorf("without -c: %q, %q", got, gotHello)
	}

	// --scan -c reads every primary.
	var want []string
	for i := range 200 {
		k := fmt.Sprintf("cscan:%d", i)
		want = append(want, k)
		if err := cc.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	out, errOut, status := respoolCLI(entry, "-c", "--scan", "--pattern", "cscan:*")
	if lines := sortedLines(out); status != 0 || !slices.Equal(lines, want) {
		t.Errorf("--scan -c: status %d, %d keys of %d, stderr %q", status, len(lines), len(want), errOut)
	}
	out, _, _ = respoolCLI(entry, "--scan", "--pattern", "cscan:*")
	if n := len(sortedLines(out)); n == 0 || n >= len(want) {
		t.Errorf("--scan without -c read %d keys: want one node's share of %d", n, len(want))
	}
}
