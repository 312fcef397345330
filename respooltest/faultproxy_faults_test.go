package respooltest_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// readAllRaw reads the client's connection until it ends, bypassing its
// resp.Reader (which must hold nothing), and returns the bytes and the
// error that ended it (nil for EOF).
func (c *wireClient) readAllRaw(t *testing.T) ([]byte, error) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(wireGuard))
	return io.ReadAll(c.conn)
}

func TestFaultProxyFaults(t *testing.T) {
	s := respooltest.StartServer(t)
	ctx := t.Context()

	t.Run("DelayJitter", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")
		// Every chunk waits at least the base: an hour holds it.
		p.DelayJitter(time.Hour, time.Hour)
		c.send(t, []any{"ECHO", "late"})
		if err := p.WaitReplyReceived(ctx, "ECHO", 1); err != nil {
			t.Fatal(err)
		}
		c.expectNothing(t)
		if got := p.RepliesStarted("ECHO"); got != 0 {
			t.Fatalf("RepliesStarted(ECHO) = %d while delayed, want 0", got)
		}
		p.DelayJitter(0, 0) // releases the waiting chunk
		wantText(t, c.mustRead(t), "late")

		// Under jitter, replies keep their order and bytes.
		p.Jitter(time.Millisecond)
		const n = 100
		for i := range n {
			c.send(t, []any{"ECHO", strconv.Itoa(i)})
		}
		for i := range n {
			wantText(t, c.mustRead(t), strconv.Itoa(i))
		}
	})

	t.Run("BlackholeReplies", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		c := dialWire(t, p.Addr())
		direct := dialWire(t, s.Addr)
		wantText(t, c.do(t, "PING"), "PONG")

		p.Blackhole(respooltest.ServerToClient, true)
		c.send(t, []any{"SET", key, "v"})
		// The command reached the server and its reply was swallowed.
		if err := p.WaitReplyReceived(ctx, "SET", 1); err != nil {
			t.Fatal(err)
		}
		wantText(t, direct.do(t, "GET", key), "v")
		c.expectNothing(t)
		if got := p.Open(); got != 1 {
			t.Fatalf("Open() = %d while blackholed, want 1: the socket stays open", got)
		}
		p.Blackhole(respooltest.ServerToClient, false)
		// The lost reply never shows up: the next one read is PING's.
		wantText(t, c.do(t, "PING"), "PONG")
		if got := p.RepliesStarted("SET"); got != 0 {
			t.Errorf("RepliesStarted(SET) = %d, want 0", got)
		}
	})

	t.Run("BlackholeCommands", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		c := dialWire(t, p.Addr())
		direct := dialWire(t, s.Addr)
		wantText(t, c.do(t, "PING"), "PONG")

		p.Blackhole(respooltest.ClientToServer, true)
		c.send(t, []any{"INCR", key})
		c.expectNothing(t)
		if got := p.Commands("INCR"); got != 0 {
			t.Fatalf("Commands(INCR) = %d, want 0: the command was dropped", got)
		}
		if v := direct.do(t, "GET", key); !v.IsNull() {
			t.Fatalf("GET = %v, want null: the server never saw the INCR", v)
		}
		p.Blackhole(respooltest.ClientToServer, false)
		wantInt(t, c.do(t, "INCR", key), 1)
	})

	t.Run("ResetAfter", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		value := strings.Repeat("r", 500)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "SET", key, value), "OK")

		p.ResetAfter(10)
		c.send(t, []any{"GET", key})
		got, err := c.readAllRaw(t)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after ResetAfter: %v, want a connection reset", err)
		}
		if full := "$500\r\n" + value + "\r\n"; len(got) > 10 || !strings.HasPrefix(full, string(got)) {
			t.Fatalf("client got %q, want at most the first 10 bytes of the reply", got)
		}
		if got := p.Cuts(); got != 1 {
			t.Errorf("Cuts() = %d, want 1", got)
		}
		wantText(t, dialWire(t, p.Addr()).do(t, "GET", key), value)
	})

	t.Run("CutAfterFIN", func(t *testing.T) {
		// The clean variant, for contrast: EOF after exactly n bytes.
		p := respooltest.StartFaultProxy(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")
		p.CutAfter(3)
		c.send(t, []any{"ECHO", "hello"})
		got, err := c.readAllRaw(t)
		if err != nil || string(got) != "$5\r" {
			t.Fatalf("read after CutAfter(3) = %q, %v; want \"$5\\r\" and EOF", got, err)
		}
	})

	t.Run("ResetAll", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")
		p.ResetAll()
		if _, err := c.readAllRaw(t); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after ResetAll: %v, want a connection reset", err)
		}
		wantText(t, dialWire(t, p.Addr()).do(t, "PING"), "PONG")
		if got := p.Cuts(); got != 0 {
			t.Errorf("Cuts() = %d, want 0 (ResetAll is not a cut)", got)
		}
	})

	t.Run("Rechunk", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		c := dialWire(t, p.Addr())
		wantInt(t, c.do(t, "HSET", key, "f1", "v1", "f2", strings.Repeat("w", 300)), 2)
		p.Rechunk(1)
		v := c.do(t, "HGETALL", key)
		fields, err := v.Elems()
		got := map[string]string{}
		for i := 0; err == nil && i+1 < len(fields); i += 2 {
			got[fields[i].Text()] = fields[i+1].Text()
		}
		if err != nil || len(got) != 2 || got["f1"] != "v1" || got["f2"] != strings.Repeat("w", 300) {
			t.Fatalf("HGETALL through Rechunk(1) = %v, %v", v, err)
		}
		p.Rechunk(4)
		c.send(t, []any{"PING"}, []any{"ECHO", "abcdefghij"}, []any{"HGET", key, "f1"})
		wantText(t, c.mustRead(t), "PONG")
		wantText(t, c.mustRead(t), "abcdefghij")
		wantText(t, c.mustRead(t), "v1")
	})

	t.Run("InjectNextReply", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")
		p.InjectNextReply("+injected\r\n")
		p.InjectNextReply(":7\r\n")
		c.send(t, []any{"ECHO", "a"}, []any{"ECHO", "b"}, []any{"ECHO", "c"})
		wantText(t, c.mustRead(t), "injected")
		wantText(t, c.mustRead(t), "a")
		wantInt(t, c.mustRead(t), 7)
		wantText(t, c.mustRead(t), "b")
		wantText(t, c.mustRead(t), "c")
		if got := p.RepliesStarted("ECHO"); got != 3 {
			t.Errorf("RepliesStarted(ECHO) = %d, want 3 (injections are not replies)", got)
		}
	})

	t.Run("StallReply", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		value := strings.Repeat("m", 1000)
		full := "$1000\r\n" + value + "\r\n"
		c := dialWire(t, p.Addr())
		other := dialWire(t, p.Addr())
		wantText(t, c.do(t, "SET", key, value), "OK")

		for _, after := range []int{1, 500} {
			before := p.RepliesStarted("GET")
			p.StallReply("get", int64(after))
			c.send(t, []any{"GET", key})
			if err := p.WaitReplyStarted(ctx, "GET", before+1); err != nil {
				t.Fatal(err)
			}
			if got := c.readExactly(t, after); got != full[:after] {
				t.Fatalf("held reply starts %q, want %q", got, full[:after])
			}
			c.expectNothing(t)
			// Other connections are not held.
			wantText(t, other.do(t, "ECHO", "free"), "free")
			p.Resume()
			if got := c.readExactly(t, len(full)-after); got != full[after:] {
				t.Fatalf("rest of the reply %q", got)
			}
		}

		// after = 0: nothing of the reply; the command did reach the server.
		p.StallReply("INCR", 0)
		c.send(t, []any{"INCR", key + "n"})
		if err := p.WaitReplyReceived(ctx, "INCR", 1); err != nil {
			t.Fatal(err)
		}
		c.expectNothing(t)
		p.Resume()
		wantInt(t, c.mustRead(t), 1)
	})

	t.Run("CutOnCommandEvery", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		direct := dialWire(t, s.Addr)
		p.CutOnCommandEvery("INCR", 3)
		acked := 0
		for i := 1; i <= 9; i++ {
			c := dialWire(t, p.Addr())
			c.send(t, []any{"INCR", key})
			if v, err := c.read(); err == nil {
				wantInt(t, v, int64(i))
				acked++
			} else if !errors.Is(err, io.EOF) {
				t.Fatalf("INCR %d: %v, want a reply or EOF", i, err)
			} else if i%3 != 0 {
				t.Fatalf("INCR %d was cut; only every third should be", i)
			}
		}
		if acked != 6 || p.Cuts() != 3 {
			t.Fatalf("acked %d, cuts %d; want 6 and 3", acked, p.Cuts())
		}
		// Every INCR was applied, cut or not.
		wantText(t, direct.do(t, "GET", key), "9")
	})

	t.Run("PeakOpen", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		var clients []*wireClient
		for range 3 {
			c := dialWire(t, p.Addr())
			wantText(t, c.do(t, "PING"), "PONG")
			clients = append(clients, c)
		}
		p.DropAll()
		for _, c := range clients {
			c.expectEOF(t)
		}
		wantText(t, dialWire(t, p.Addr()).do(t, "PING"), "PONG")
		if got := p.PeakOpen(); got != 3 {
			t.Fatalf("PeakOpen() = %d, want 3", got)
		}
	})
}

func TestFaultProxyWaits(t *testing.T) {
	s := respooltest.StartServer(t)

	t.Run("WaitCommand", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")
		if err := p.WaitCommand(t.Context(), "ping", 1); err != nil {
			t.Fatalf("WaitCommand for a command already forwarded: %v", err)
		}

		p.StallDirection(respooltest.ClientToServer)
		c.send(t, []any{"INCR", t.Name()})
		waited := make(chan error, 1)
		go func() { waited <- p.WaitCommand(t.Context(), "INCR", 1) }()
		c.expectNothing(t)
		select {
		case err := <-waited:
			t.Fatalf("WaitCommand returned %v before the command was forwarded", err)
		default:
		}
		p.ResumeDirection(respooltest.ClientToServer)
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		wantInt(t, c.mustRead(t), 1)
		if err := p.WaitReplyStarted(t.Context(), "incr", 1); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ContextEnds", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		ctx, cancel := context.WithCancel(t.Context())
		waited := make(chan error, 2)
		go func() { waited <- p.WaitCommand(ctx, "GET", 1) }()
		go func() { waited <- p.WaitReplyStarted(ctx, "", 1) }()
		cancel()
		for range 2 {
			if err := <-waited; !errors.Is(err, context.Canceled) {
				t.Fatalf("wait after cancel: %v, want context.Canceled", err)
			}
		}
	})

	t.Run("Close", func(t *testing.T) {
		p, err := respooltest.NewFaultProxy(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- p.WaitReplyReceived(context.Background(), "GET", 1) }()
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err == nil {
			t.Fatal("a wait ended by Close returned nil")
		}
	})
}
