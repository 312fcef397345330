package respooltest

import (
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scanAll feeds stream to a new scanner in pieces of the given sizes (the
// last one repeated) and returns the absolute offsets of the values that
// begin, pushes marked with a negative sign minus one.
func scanAll(stream string, sizes ...int) ([]int, bool) {
	var s replyScanner
	var got []int
	pos := 0
	for k := 0; pos < len(stream); k++ {
		n := sizes[min(k, len(sizes)-1)]
		end := min(pos+n, len(stream))
		for _, st := range s.feed([]byte(stream[pos:end]), nil) {
			off := pos + st.at
			if st.push {
				off = -off - 1
			}
			got = append(got, off)
		}
		pos = end
	}
	return got, s.broken
}

func TestReplyScanner(t *testing.T) {
	bulk := strings.Repeat("x", 300)
	tests := []struct {
		name   string
		parts  []string // one top-level value each; a part starting with '>' is a push
		broken bool
	}{
		{"simple", []string{"+OK\r\n", "-ERR no\r\n", ":42\r\n", ",3.14\r\n", "#t\r\n", "_\r\n", "(123\r\n"}, false},
		{"bulk", []string{"$3\r\nabc\r\n", "$0\r\n\r\n", "$300\r\n" + bulk + "\r\n", "!5\r\nERR x\r\n", "=7\r\ntxt:abc\r\n"}, false},
		{"resp2 nulls", []string{"$-1\r\n", "*-1\r\n", "+after\r\n"}, false},
		{"bulk holding CRLF", []string{"$6\r\na\r\nb\r\n\r\n", ":1\r\n"}, false},
		{"aggregates", []string{
			"*2\r\n$1\r\na\r\n*2\r\n:1\r\n*0\r\n",
			"%2\r\n+k\r\n$1\r\nv\r\n+k2\r\n*1\r\n_\r\n",
			"~1\r\n+m\r\n",
			"*0\r\n",
			"%0\r\n",
		}, false},
		{"push", []string{">3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n:1\r\n", "+OK\r\n"}, false},
		{"attribute", []string{"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", "|0\r\n:5\r\n"}, false},
		{"streamed", []string{"$?\r\n;4\r\nHell\r\n;2\r\no!\r\n;0\r\n", "*?\r\n:1\r\n*?\r\n.\r\n.\r\n", "+end\r\n"}, false},
		{"deep", []string{strings.Repeat("*1\r\n", 2000) + ":1\r\n", "+OK\r\n"}, false},
		{"garbage", []string{"+OK\r\n", "?what\r\n"}, true},
		{"negative length", []string{"$-5\r\n"}, true},
		{"bad count", []string{"*x\r\n"}, true},
		{"stray end", []string{".\r\n"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := strings.Join(tt.parts, "")
			var want []int
			off := 0
			for _, part := range tt.parts {
				if part[0] == '>' {
					want = append(want, -off-1)
				} else {
					want = append(want, off)
				}
				off += len(part)
			}
			for _, sizes := range [][]int{{len(stream)}, {1}, {2}, {7}, {1, 3, 5, 64}} {
				got, broken := scanAll(stream, sizes...)
				if broken != tt.broken {
					t.Fatalf("pieces %v: broken = %v, want %v", sizes, broken, tt.broken)
				}
				if !tt.broken && !slices.Equal(got, want) {
					t.Fatalf("pieces %v: starts %v, want %v", sizes, got, want)
				}
			}
		})
	}
}

func TestReplyScannerLongLine(t *testing.T) {
	var s replyScanner
	s.feed([]byte("+"+strings.Repeat("a", maxScanLine+10)), nil)
	if !s.broken {
		t.Fatal("a line longer than maxScanLine without LF must break the scanner")
	}
}

// writeRecorder is a client connection that records the size of each
// write.
type writeRecorder struct {
	net.Conn // nil: only Write and Close are called

	mu     sync.Mutex
	writes []string
}

func (w *writeRecorder) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(b))
	return len(b), nil
}

func (w *writeRecorder) Close() error { return nil }

func (w *writeRecorder) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

// newTestPair returns a proxy with no listener use and a pair whose
// client records writes.
func newTestPair(t *testing.T) (*FaultProxy, *proxyConn, *writeRecorder) {
	t.Helper()
	p, err := NewFaultProxy("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	rec := &writeRecorder{}
	pc := &proxyConn{p: p, client: rec, server: rec, done: make(chan struct{}), cutBudget: -1}
	return p, pc, rec
}

// forward runs one chunk through the pair's reply path, as copyReplies
// does.
func (pc *proxyConn) forwardForTest(chunk string) bool {
	pos := pc.sent
	pc.sent += int64(len(chunk))
	starts := pc.scan.feed([]byte(chunk), nil)
	plan, ok := pc.planReply([]byte(chunk), pos, starts)
	return ok && pc.forwardReply([]byte(chunk), plan, time.Now())
}

func TestForwardReplyRechunk(t *testing.T) {
	p, pc, rec := newTestPair(t)
	chunk := "$20\r\n" + strings.Repeat("z", 20) + "\r\n+OK\r\n"
	for _, max := range []int{1, 3} {
		rec.writes = nil
		p.Rechunk(max)
		if !pc.forwardForTest(chunk) {
			t.Fatal("forward failed")
		}
		writes := rec.all()
		if got := strings.Join(writes, ""); got != chunk {
			t.Fatalf("Rechunk(%d) delivered %q, want %q", max, got, chunk)
		}
		for _, w := range writes {
			if len(w) < 1 || len(w) > max {
				t.Fatalf("Rechunk(%d) wrote %d bytes at once", max, len(w))
			}
		}
		if max == 1 && len(writes) != len(chunk) {
			t.Fatalf("Rechunk(1): %d writes for %d bytes", len(writes), len(chunk))
		}
	}
	p.Rechunk(0)
	rec.writes = nil
	pc.forwardForTest(chunk)
	if writes := rec.all(); len(writes) != 1 {
		t.Fatalf("Rechunk(0): %d writes, want the chunk in one", len(writes))
	}
}

func TestForwardReplyInjectAtReplyBoundaries(t *testing.T) {
	p, pc, rec := newTestPair(t)
	// Three commands went out; their replies come in one chunk.
	pc.names = []string{"GET", "PING", "GET"}
	p.InjectNextReply("<a>")
	p.InjectNextReply("<b>")
	chunk := "$2\r\nv1\r\n+PONG\r\n$2\r\nv2\r\n"
	if !pc.forwardForTest(chunk) {
		t.Fatal("forward failed")
	}
	want := "<a>$2\r\nv1\r\n<b>+PONG\r\n$2\r\nv2\r\n"
	if got := strings.Join(rec.all(), ""); got != want {
		t.Fatalf("client got %q, want %q", got, want)
	}
	if got := p.RepliesStarted("GET"); got != 2 {
		t.Errorf("RepliesStarted(GET) = %d, want 2", got)
	}
	if got := p.RepliesStarted(""); got != 3 {
		t.Errorf("RepliesStarted(\"\") = %d, want 3", got)
	}
	if got := p.RepliesReceived("PING"); got != 1 {
		t.Errorf("RepliesReceived(PING) = %d, want 1", got)
	}
}

// A reply split over chunks keeps its boundaries: the injection goes
// before the next reply, not before the next chunk.
func TestForwardReplyInjectAcrossChunks(t *testing.T) {
	p, pc, rec := newTestPair(t)
	pc.names = []string{"GET", "GET"}
	pc.forwardForTest("$10\r\n01234")
	p.InjectNextReply("<x>")
	pc.forwardForTest("56789\r\n$1\r\na\r\n")
	want := "$10\r\n0123456789\r\n<x>$1\r\na\r\n"
	if got := strings.Join(rec.all(), ""); got != want {
		t.Fatalf("client got %q, want %q", got, want)
	}
}

func TestForwardReplyHoldSplitsChunk(t *testing.T) {
	p, pc, rec := newTestPair(t)
	pc.names = []string{"PING", "GET"}
	p.StallReply("get", 3)
	done := make(chan bool)
	go func() { done <- pc.forwardForTest("+PONG\r\n$5\r\nhello\r\n") }()
	ctx := t.Context()
	if err := p.WaitReplyStarted(ctx, "GET", 1); err != nil {
		t.Fatal(err)
	}
	// The hold point is reached once the bytes before it are written.
	if got := strings.Join(rec.all(), ""); got != "+PONG\r\n$5\r" {
		t.Fatalf("before release the client got %q", got)
	}
	select {
	case <-done:
		t.Fatal("forwarding went past the hold")
	default:
	}
	p.Resume()
	if !<-done {
		t.Fatal("forward failed")
	}
	if got := strings.Join(rec.all(), ""); got != "+PONG\r\n$5\r\nhello\r\n" {
		t.Fatalf("after release the client got %q", got)
	}
}

func TestForwardReplyRandomSplitsKeepBytes(t *testing.T) {
	p, pc, rec := newTestPair(t)
	var b strings.Builder
	for i := range 50 {
		pc.names = append(pc.names, "ECHO")
		v := strings.Repeat("v", i*7)
		b.WriteString("$")
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteString("\r\n" + v + "\r\n")
	}
	stream := b.String()
	p.Rechunk(5)
	for i := 0; i < len(stream); {
		n := 1 + rand.IntN(40)
		end := min(i+n, len(stream))
		if i%3 == 0 {
			p.InjectNextReply("")
		}
		pc.forwardForTest(stream[i:end])
		i = end
	}
	if got := strings.Join(rec.all(), ""); got != stream {
		t.Fatal("bytes changed on the way")
	}
	if got := p.RepliesStarted("ECHO"); got != 50 {
		t.Fatalf("RepliesStarted(ECHO) = %d, want 50", got)
	}
}
