package respooltest_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// readExactly reads n raw bytes from the client's connection, bypassing its
// resp.Reader, which must have nothing buffered.
func (c *wireClient) readExactly(t *testing.T, n int) string {
	t.Helper()
	buf := make([]byte, n)
	c.conn.SetReadDeadline(time.Now().Add(wireGuard))
	if _, err := io.ReadFull(c.conn, buf); err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

// helloFields returns a HELLO reply's fields by name.
func helloFields(t *testing.T, v resp.Value) map[string]resp.Value {
	t.Helper()
	pairs, err := v.MapPairs()
	if err != nil {
		t.Fatalf("HELLO reply %v: %v", v, err)
	}
	fields := make(map[string]resp.Value)
	for _, kv := range pairs {
		fields[kv[0].Text()] = kv[1]
	}
	return fields
}

func TestFakeServerDefaults(t *testing.T) {
	s := respooltest.StartFakeServer(t, respooltest.FakeDefaults(nil))

	c := dialWire(t, s.Addr())
	hello := c.do(t, "HELLO", "3", "AUTH", "default", "secret", "SETNAME", "app")
	if hello.Kind() != resp.KindMap {
		t.Fatalf("HELLO 3 reply is a %v, want a map", hello.Kind())
	}
	f := helloFields(t, hello)
	wantText(t, f["server"], "redis")
	wantText(t, f["version"], "7.0.15")
	wantInt(t, f["proto"], 3)
	wantInt(t, f["id"], 1)
	wantText(t, f["mode"], "standalone")
	wantText(t, f["role"], "master")
	if m := f["modules"]; m.Kind() != resp.KindArray || m.Len() != 0 {
		t.Errorf("modules = %v, want an empty array", m)
	}
	wantText(t, c.do(t, "CLIENT", "GETNAME"), "app")
	wantText(t, c.do(t, "AUTH", "secret"), "OK")
	wantText(t, c.do(t, "SELECT", "2"), "OK")
	wantText(t, c.do(t, "CLIENT", "SETNAME", "other"), "OK")
	wantText(t, c.do(t, "CLIENT", "SETINFO", "LIB-NAME", "respool"), "OK")
	wantText(t, c.do(t, "CLIENT", "GETNAME"), "other")
	wantInt(t, c.do(t, "CLIENT", "ID"), 1)
	wantText(t, c.do(t, "PING"), "PONG")
	wantText(t, c.do(t, "ping", "hi"), "hi")
	if v := c.do(t, "GET", "k"); !v.IsError() || !strings.HasPrefix(v.Text(), "ERR unknown command 'GET'") {
		t.Errorf("GET with no next handler = %v, want an unknown command error", v)
	}
	if v := c.do(t, "HELLO", "4"); !v.IsError() || !strings.HasPrefix(v.Text(), "NOPROTO") {
		t.Errorf("HELLO 4 = %v, want a NOPROTO error", v)
	}
	wantText(t, c.do(t, "QUIT"), "OK")
	c.expectEOF(t)

	// RESP2: a flat array, a RESP2 null, the second connection's id.
	c2 := dialWire(t, s.Addr())
	hello2 := c2.do(t, "HELLO", "2")
	if hello2.Kind() != resp.KindArray || hello2.Len() != 14 {
		t.Fatalf("HELLO 2 = %v, want a flat array of 14", hello2)
	}
	f2 := helloFields(t, hello2)
	wantInt(t, f2["proto"], 2)
	wantInt(t, f2["id"], 2)
	if v := c2.do(t, "CLIENT", "GETNAME"); !v.Equal(resp.NullBulk()) {
		t.Errorf("CLIENT GETNAME = %v, want RESP2's null bulk string", v)
	}

	if got := s.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2", got)
	}
	if got := s.Commands("hello"); got != 3 {
		t.Errorf("Commands(hello) = %d, want 3", got)
	}
}

func TestFakeServerHostileReply(t *testing.T) {
	const hostile = "$999999999999\r\n"
	s := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		c.Write(hostile)
	}))
	c := dialWire(t, s.Addr())
	wantInt(t, helloFields(t, c.do(t, "HELLO", "3"))["proto"], 3)

	c.send(t, []any{"GET", "k"})
	if got := c.readExactly(t, len(hostile)); got != hostile {
		t.Fatalf("got %q, want %q", got, hostile)
	}
	// The same bytes make a resp.Reader give up at the header.
	c2 := dialWire(t, s.Addr())
	c2.send(t, []any{"GET", "k"})
	if v, err := c2.read(); !errors.Is(err, resp.ErrLimit) {
		t.Fatalf("reading the hostile reply = %v, %v; want ErrLimit", v, err)
	}
}

func TestFakeServerConnections(t *testing.T) {
	var incrs atomic.Int64
	s := respooltest.StartFakeServer(t, func(c *respooltest.FakeConn, cmd []string) {
		switch strings.ToUpper(cmd[0]) {
		case "WHO":
			c.WriteValue(resp.Integer(int64(c.ConnIndex())))
		case "INCR":
			incrs.Add(1)
			c.Close() // applied, then dropped before the reply
		case "ECHO":
			c.Write("$" + strconv.Itoa(len(cmd[1])) + "\r\n" + cmd[1] + "\r\n")
		}
	})

	c0, c1 := dialWire(t, s.Addr()), dialWire(t, s.Addr())
	wantInt(t, c1.do(t, "WHO"), 1)
	wantInt(t, c0.do(t, "WHO"), 0)

	// Pipelined commands are handled in order.
	c0.send(t, []any{"ECHO", "a"}, []any{"ECHO", "b"})
	wantText(t, c0.mustRead(t), "a")
	wantText(t, c0.mustRead(t), "b")

	c0.send(t, []any{"INCR", "k"})
	c0.expectEOF(t)
	if got := incrs.Load(); got != 1 {
		t.Errorf("INCR handled %d times, want 1", got)
	}
	if got := s.Commands("INCR"); got != 1 {
		t.Errorf("Commands(INCR) = %d, want 1", got)
	}
	wantInt(t, c1.do(t, "WHO"), 1) // the other connection lives on
	if got := s.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2", got)
	}
}

func TestFakeServerProtocolError(t *testing.T) {
	s := respooltest.StartFakeServer(t, respooltest.FakeReplyOK)
	c := dialWire(t, s.Addr())
	wantText(t, c.do(t, "ANYTHING", "at", "all"), "OK")
	if _, err := io.WriteString(c.conn, "PING\r\n"); err != nil {
		t.Fatal(err)
	}
	if v := c.mustRead(t); !v.IsError() || !strings.HasPrefix(v.Text(), "ERR Protocol error") {
		t.Errorf("inline command = %v, want a protocol error", v)
	}
	c.expectEOF(t)
}

func TestFakeServerStallAndClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s, err := respooltest.NewFakeServer(func(c *respooltest.FakeConn, cmd []string) {
		c.Write("$5\r\nab")
		c.Stall()
	})
	if err != nil {
		t.Fatal(err)
	}
	c := dialWire(t, s.Addr())
	c.send(t, []any{"GET", "k"})
	if got := c.readExactly(t, 6); got != "$5\r\nab" {
		t.Fatalf("got %q, want the reply up to the stall", got)
	}
	c.expectNothing(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.read(); err == nil {
		t.Errorf("read after Close = %v, want an error", v)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	c.conn.Close()
	goleak.VerifyNone(t, ignore)
}

// A server that accepts the handshake, then sends part of a reply and
// drops the connection.
func ExampleFakeDefaults() {
	s, err := respooltest.NewFakeServer(respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		c.Write("$5\r\nhel")
		c.Close()
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("connect to", s.Addr())
}
