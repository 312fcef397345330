package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/respool/respool"
	"github.com/respool/respool/respooltest"
)

// TestDemo runs the whole demo, shortened, against a test server and
// checks that every step ran and reported what it should.
func TestDemo(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	var stdout, stderr bytes.Buffer
	status := runDemo([]string{"-u", srv.URL(), "-duration", "300ms", "-workers", "16"}, &stdout, &stderr)
	out := stdout.String()
	if status != 0 {
		t.Fatalf("status %d, stderr %q, stdout:\n%s", status, stderr.String(), out)
	}
	for _, want := range []string{
		"respool " + respool.Version + " demo, against redis-server ",
		"1) 16 goroutines share one Client with PoolSize 8",
		"   exclusive mode:\n",
		"   multiplexed mode (the default):\n",
		"| pool: open ",
		"      end ",
		"2) A pipeline: 500 SETs and then 500 GETs",
		"   pipelined:  1,000 commands in ",
		"   one by one: 1,000 commands in ",
		"Every GET returned what its SET wrote",
		"   attempt 1: WATCH, GET balance = 100, the writer deposits 10, EXEC -> aborted (the key changed), retry\n",
		"   attempt 2: WATCH, GET balance = 110, the writer deposits 10, EXEC -> aborted (the key changed), retry\n",
		"   attempt 3: WATCH, GET balance = 120, EXEC -> applied: SET balance 90\n",
		"   final balance = 90 ",
		"Watch gives up after 3 attempts",
		"EVALSHA -> NOSCRIPT, EVAL -> ok",
		"returned 5\n",
		"   run 2 (cached by the EVAL):    EVALSHA -> ok",
		"returned 10\n",
		"returned 15\n",
		"   2,000 of the ",
		"6) Summary",
		"WATCH transaction:                 3 attempts",
		"SCAN:                              2,000 keys",
		"Retries: a command is sent again only when",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Both load runs: no errors, and the INCR counter agrees.
	if n := strings.Count(out, ", 0 errors; the counter grew by "); n != 2 {
		t.Errorf("%d load runs without errors, want 2", n)
	}
	if n := strings.Count(out, "every acknowledged INCR applied exactly once"); n != 2 {
		t.Errorf("%d load runs with a consistent counter, want 2", n)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
	// The demo removed its keys.
	if n := strings.TrimSpace(srv.CLI(t, "DBSIZE")); n != "0" {
		t.Errorf("DBSIZE after the demo = %s, want 0", n)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// cancelWriter collects output and cancels a context once marker appears.
type cancelWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return len(p), nil
}

func (w *cancelWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestDemoInterruptedStopsPrivateServer interrupts a demo running on its
// own server in the middle of step 1: it reports the interruption with
// status 130, and the server is gone.
func TestDemoInterruptedStopsPrivateServer(t *testing.T) {
	respooltest.RequireRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &cancelWriter{marker: "   exclusive mode:\n", cancel: cancel}
	var stderr bytes.Buffer
	status := runDemoContext(ctx, []string{"-duration", "1m"}, stdout, &stderr)
	out := stdout.String()
	if status != 130 || !strings.HasSuffix(out, "\nInterrupted: the demo stopped early.\n") {
		t.Fatalf("status %d, stderr %q, stdout:\n%s", status, stderr.String(), out)
	}
	if strings.Contains(out, "2) A pipeline") {
		t.Errorf("the demo went on after the interruption:\n%s", out)
	}
	m := regexp.MustCompile(`a private redis-server at (\S+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no server address in:\n%s", out)
	}
	if c, err := net.Dial("tcp", m[1]); err == nil {
		c.Close()
		t.Errorf("the private server at %s still accepts connections", m[1])
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{{"-duration", "0s"}, {"-nosuchflag"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		if status := runDemo(args, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), "Usage: respool demo") && args[0] != "-nosuchflag" {
			t.Errorf("runDemo(%q) = %d, stderr %q", args, status, stderr.String())
		}
	}
}
