package respooltest_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// Bounds for the raw clients of these tests. wireGuard only keeps a broken
// test from hanging; stallProbe is how long a read waits to show that
// nothing arrives while a fault holds it back (the outcome does not depend
// on it: nothing can arrive).
const (
	wireGuard  = 10 * time.Second
	stallProbe = 50 * time.Millisecond
)

// wireClient is a bare RESP connection: no pool, no handshake.
type wireClient struct {
	conn net.Conn
	r    *resp.Reader
	w    *resp.Writer
}

func dialWire(t *testing.T, addr string) *wireClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wireGuard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wireClient{conn: conn, r: resp.NewReader(conn), w: resp.NewWriter(conn)}
}

// send writes commands, each a []any, in one flush.
func (c *wireClient) send(t *testing.T, cmds ...[]any) {
	t.Helper()
	for _, cmd := range cmds {
		if err := c.w.WriteArgs(cmd); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// read reads one reply, or returns the error.
func (c *wireClient) read() (resp.Value, error) {
	c.conn.SetReadDeadline(time.Now().Add(wireGuard))
	return c.r.ReadValue()
}

func (c *wireClient) mustRead(t *testing.T) resp.Value {
	t.Helper()
	v, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// do sends one command and returns its reply.
func (c *wireClient) do(t *testing.T, args ...any) resp.Value {
	t.Helper()
	c.send(t, args)
	return c.mustRead(t)
}

// expectNothing shows that no reply arrives while a fault holds it back:
// a short read must time out.
func (c *wireClient) expectNothing(t *testing.T) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(stallProbe))
	v, err := c.r.ReadValue()
	if err == nil {
		t.Fatalf("got %v while it should be held back", v)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want a timeout", err)
	}
}

// expectEOF reads and wants the connection closed cleanly.
func (c *wireClient) expectEOF(t *testing.T) {
	t.Helper()
	v, err := c.read()
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read = %v, %v; want EOF", v, err)
	}
}

func wantText(t *testing.T, v resp.Value, want string) {
	t.Helper()
	if got, err := v.Str(); err != nil || got != want {
		t.Fatalf("reply %v, want %q", v, want)
	}
}

func wantInt(t *testing.T, v resp.Value, want int64) {
	t.Helper()
	if got, err := v.Int(); err != nil || got != want {
		t.Fatalf("reply %v, want %d", v, want)
	}
}

func TestFaultProxy(t *testing.T) {
	s := respooltest.StartServer(t)

	t.Run("Forward", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		if p.Target() != s.Addr {
			t.Errorf("Target() = %q, want %q", p.Target(), s.Addr)
		}
		key := t.Name()
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "SET", key, "v"), "OK")
		wantText(t, c.do(t, "GET", key), "v")
		// A pipeline in one write is forwarded and counted command by
		// command.
		c.send(t, []any{"INCR", key + "n"}, []any{"incr", key + "n"}, []any{"Incr", key + "n"})
		for i := int64(1); i <= 3; i++ {
			wantInt(t, c.mustRead(t), i)
		}
		if n := p.Commands("incr"); n != 3 {
			t.Errorf("Commands(incr) = %d, want 3", n)
		}
		if n := p.Commands("SET"); n != 1 {
			t.Errorf("Commands(SET) = %d, want 1", n)
		}
		if n := p.Commands("DEL"); n != 0 {
			t.Errorf("Commands(DEL) = %d, want 0", n)
		}

		// An inline command is not RESP: it goes through as raw bytes.
		raw := dialWire(t, p.Addr())
		if _, err := io.WriteString(raw.conn, "PING\r\n"); err != nil {
			t.Fatal(err)
		}
		wantText(t, raw.mustRead(t), "PONG")

		if got := p.Accepted(); got != 2 {
			t.Errorf("Accepted() = %d, want 2", got)
		}
		if got := p.Open(); got != 2 {
			t.Errorf("Open() = %d, want 2", got)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if got := p.Open(); got != 0 {
			t.Errorf("Open() after Close = %d, want 0", got)
		}
		c.expectEOF(t)
		if err := p.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})

	t.Run("DropAll", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		c1, c2 := dialWire(t, p.Addr()), dialWire(t, p.Addr())
		wantText(t, c1.do(t, "PING"), "PONG")
		wantText(t, c2.do(t, "PING"), "PONG")
		p.DropAll()
		c1.expectEOF(t)
		c2.expectEOF(t)
		if got := p.Cuts(); got != 0 {
			t.Errorf("Cuts() = %d, want 0 (DropAll is not a cut)", got)
		}
		c3 := dialWire(t, p.Addr())
		wantText(t, c3.do(t, "PING"), "PONG")
		if got := p.Accepted(); got != 3 {
			t.Errorf("Accepted() = %d, want 3", got)
		}
	})

	t.Run("RefuseNew", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		open := dialWire(t, p.Addr())
		wantText(t, open.do(t, "PING"), "PONG")
		p.RefuseNew(true)
		refused := dialWire(t, p.Addr())
		refused.expectEOF(t)
		wantText(t, open.do(t, "PING"), "PONG")
		if got := p.Accepted(); got != 2 {
			t.Errorf("Accepted() = %d, want 2", got)
		}
		if got := p.Open(); got != 1 {
			t.Errorf("Open() = %d, want 1", got)
		}
		p.RefuseNew(false)
		wantText(t, dialWire(t, p.Addr()).do(t, "PING"), "PONG")
	})

	t.Run("Stall", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")

		p.Stall()
		p.Stall() // stalling twice needs one Resume
		c.send(t, []any{"SET", key, "v"}, []any{"GET", key})
		c.expectNothing(t)
		p.Resume()
		wantText(t, c.mustRead(t), "OK")
		wantText(t, c.mustRead(t), "v")
	})

	t.Run("StallCommands", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		c := dialWire(t, p.Addr())
		direct := dialWire(t, s.Addr)
		wantText(t, c.do(t, "PING"), "PONG")

		p.StallDirection(respooltest.ClientToServer)
		c.send(t, []any{"INCR", key})
		c.expectNothing(t)
		if n := p.Commands("INCR"); n != 0 {
			t.Errorf("Commands(INCR) = %d while stalled, want 0", n)
		}
		if v := direct.do(t, "GET", key); !v.IsNull() {
			t.Errorf("GET %s = %v while the INCR is held, want null", key, v)
		}
		p.ResumeDirection(respooltest.ClientToServer)
		wantInt(t, c.mustRead(t), 1)
		if n := p.Commands("INCR"); n != 1 {
			t.Errorf("Commands(INCR) = %d, want 1", n)
		}
	})

	t.Run("Delay", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")
		p.Delay(time.Hour)
		c.send(t, []any{"ECHO", "late"})
		c.expectNothing(t)
		p.Delay(0) // releases the waiting reply
		wantText(t, c.mustRead(t), "late")
	})

	t.Run("CutAfter", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		value := strings.Repeat("x", 1000)
		c := dialWire(t, p.Addr())
		spared := dialWire(t, p.Addr())
		wantText(t, c.do(t, "SET", key, value), "OK")
		wantText(t, spared.do(t, "PING"), "PONG")

		p.CutAfter(10)
		later := dialWire(t, p.Addr()) // accepted after CutAfter: not armed
		c.send(t, []any{"GET", key})
		c.conn.SetReadDeadline(time.Now().Add(wireGuard))
		got, err := io.ReadAll(c.conn)
		if err != nil {
			t.Fatalf("read after cut: %v", err)
		}
		if full := "$1000\r\n" + value + "\r\n"; string(got) != full[:10] {
			t.Fatalf("client got %q, want the first 10 bytes of the reply", got)
		}
		if got := p.Cuts(); got != 1 {
			t.Errorf("Cuts() = %d, want 1", got)
		}
		wantText(t, later.do(t, "GET", key), value)

		p.CutAfter(-1) // disarms spared
		wantText(t, spared.do(t, "GET", key), value)
		if got := p.Cuts(); got != 1 {
			t.Errorf("Cuts() = %d, want 1", got)
		}
	})

	t.Run("CutOnCommand", func(t *testing.T) {
		p := respooltest.StartFaultProxy(t, s.Addr)
		key := t.Name()
		direct := dialWire(t, s.Addr)
		c := dialWire(t, p.Addr())
		wantText(t, c.do(t, "PING"), "PONG")

		p.CutOnCommand("incr")
		if v := c.do(t, "GET", key); !v.IsNull() {
			t.Fatalf("GET = %v, want null", v)
		}
		c.send(t, []any{"INCR", key})
		c.expectEOF(t)
		if got := p.Cuts(); got != 1 {
			t.Errorf("Cuts() = %d, want 1", got)
		}
		if got := p.Commands("INCR"); got != 1 {
			t.Errorf("Commands(INCR) = %d, want 1", got)
		}
		// The server applied the INCR whose reply the client never saw.
		wantText(t, direct.do(t, "GET", key), "1")

		p.CutOnCommand("")
		c2 := dialWire(t, p.Addr())
		wantInt(t, c2.do(t, "INCR", key), 2)
		if got := p.Cuts(); got != 1 {
			t.Errorf("Cuts() = %d after CutOnCommand(\"\"), want 1", got)
		}
	})

	t.Run("CloseReleasesEverything", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		p, err := respooltest.NewFaultProxy(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		replies := dialWire(t, p.Addr())
		wantText(t, replies.do(t, "PING"), "PONG")
		commands := dialWire(t, p.Addr())
		wantText(t, commands.do(t, "PING"), "PONG")
		delayed := dialWire(t, p.Addr())
		wantText(t, delayed.do(t, "PING"), "PONG")

		// One reply waits out a delay, one a stall, one command a stall.
		p.Delay(time.Hour)
		delayed.send(t, []any{"PING"})
		delayed.expectNothing(t)
		p.Stall()
		replies.send(t, []any{"PING"})
		replies.expectNothing(t)
		p.StallDirection(respooltest.ClientToServer)
		commands.send(t, []any{"PING"})
		commands.expectNothing(t)

		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*wireClient{replies, commands, delayed} {
			if v, err := c.read(); err == nil {
				t.Errorf("read after Close = %v, want an error", v)
			}
			c.conn.Close()
		}
		goleak.VerifyNone(t, ignore)
	})

	t.Run("TargetDown", func(t *testing.T) {
		// Nothing listens on the port of a closed listener.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		target := ln.Addr().String()
		ln.Close()
		p := respooltest.StartFaultProxy(t, target)
		c := dialWire(t, p.Addr())
		c.expectEOF(t)
		if got := p.Accepted(); got != 1 {
			t.Errorf("Accepted() = %d, want 1", got)
		}
	})
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[respooltest.Direction]string{
		respooltest.ServerToClient: "server->client",
		respooltest.ClientToServer: "client->server",
		7:                          "Direction(7)",
	} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}

// A cut waits for the target to hang up; Close must not wait for that.
func TestFaultProxyCloseDuringCut(t *testing.T) {
	fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		c.Stall() // never replies, never hangs up
	}))
	p, err := respooltest.NewFaultProxy(fake.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := dialWire(t, p.Addr())
	wantText(t, c.do(t, "PING"), "PONG")
	p.CutOnCommand("INCR")
	c.send(t, []any{"INCR", "k"})
	c.expectNothing(t)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.read(); err == nil {
		t.Errorf("read after Close = %v, want an error", v)
	}
	if got := p.Cuts(); got != 0 {
		t.Errorf("Cuts() = %d, want 0: the target never hung up", got)
	}
	if got := p.Commands("INCR"); got != 1 {
		t.Errorf("Commands(INCR) = %d, want 1", got)
	}
}

// A write the server applied but whose reply the client never saw.
func ExampleFaultProxy_CutOnCommand() {
	s, err := respooltest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	p, err := respooltest.NewFaultProxy(s.Addr)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	p.CutOnCommand("INCR")
	// A client connected to p.Addr() sends INCR: the server executes it,
	// and the client's connection is closed before the reply comes back.
	fmt.Println("connect to", p.Addr())
}
