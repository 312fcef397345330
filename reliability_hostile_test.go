package respool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// hostileReplies are the replies a scripted server sends to GET of each
// key, which no real server sends.
var hostileReplies = map[string]string{
	"huge":      "$9999999999999\r\n",                           // beyond MaxBulkLen
	"negative":  "$-5\r\n",                                      // a length below -1
	"negarray":  "*-3\r\n",                                      // an aggregate length below -1
	"nested":    strings.Repeat("*1\r\n", 1_000_000) + ":1\r\n", // far deeper than MaxDepth
	"longline":  "+" + strings.Repeat("a", 100<<10),             // no CRLF, beyond MaxLineLen
	"nocrlf":    "+OK",                                          // then the server hangs up
	"badtype":   "?what\r\n",                                    // an unknown type byte
	"badint":    ":12x\r\n",                                     // not a number
	"badbulk":   "$3\r\nabcXY",                                  // the bulk string's CRLF is wrong
	"emptyline": "*2\r\n$1\r\na\r\n\r\n",                        // an element that is an empty line
}

// hostileCheck says what error each hostile reply must give.
func hostileCheck(name string, err error) error {
	var pe *resp.ProtocolError
	switch name {
	case "huge", "nested", "longline":
		if !errors.Is(err, resp.ErrLimit) || !errors.As(err, &pe) {
			return fmt.Errorf("want a *resp.ProtocolError matching resp.ErrLimit, got %v", err)
		}
	case "nocrlf":
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("want io.ErrUnexpectedEOF, got %v", err)
		}
	default:
		if !errors.As(err, &pe) {
			return fmt.Errorf("want a *resp.ProtocolError, got %v", err)
		}
	}
	if o := OutcomeOf(err); o != OutcomeUnknown {
		return fmt.Errorf("outcome %v, want unknown: %v", o, err)
	}
	return nil
}

// Issue 8, item 10: a scripted server answers GETs with malformed or
// hostile replies (huge and negative lengths, a million nested arrays, a
// line with no CRLF, unknown types...). No panic; each call fails with a
// typed error of unknown outcome; its connection is not used again (a
// pooled one is discarded, a shared one replaced by exactly one new
// connection); a connection held meanwhile keeps working; the next calls
// get their own replies. For a lone command and for a pipeline, on a
// pooled connection (Exclusive) and on the shared one (Multiplexed).
func TestReliabilityHostileServer(t *testing.T) {
	faultTest(t)
	fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		if strings.ToUpper(cmd[0]) != "GET" || len(cmd) != 2 {
			c.Write("-ERR unsupported\r\n")
			return
		}
		key := cmd[1]
		if raw, ok := hostileReplies[key]; ok {
			c.Write(raw)
			if key == "nocrlf" {
				c.Close()
			}
			return
		}
		c.WriteValue(resp.BulkString(valueFor(key)))
	}))

	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			// One shared connection, so a poisoned one must be replaced.
			c := newReliabilityClient(t, m, fake.Addr(), Options{MaxRetries: -1, MultiplexConns: 1})
			held, err := c.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Pool().Put(held)
			initial := c.Pool().Stats() // after the one Get the test makes itself
			good := func(what string) {
				t.Helper()
				if v, err := c.Get(ctx, "good").Result(); err != nil || v != valueFor("good") {
					t.Fatalf("%s: GET good = %q, %v", what, v, err)
				}
				pl := c.Pipeline()
				g1, g2 := pl.Get(ctx, "good1"), pl.Get(ctx, "good2")
				if err := pl.Exec(ctx); err != nil || g1.Val() != valueFor("good1") || g2.Val() != valueFor("good2") {
					t.Fatalf("%s: pipelined GETs = %q %q, %v", what, g1.Val(), g2.Val(), err)
				}
				if v, err := held.Do(ctx, "GET", "held"); err != nil || v.Text() != valueFor("held") {
					t.Fatalf("%s: the held connection: %v %v", what, v, err)
				}
			}
			// replaced checks that the connection that read a hostile
			// reply was not used again: the calls of good after it needed
			// exactly one new connection, and a pooled one was discarded.
			replaced := func(what string, before PoolStats, accepted int) {
				t.Helper()
				if m.exclusive {
					if got := c.Pool().Stats().Closed.Unusable - before.Closed.Unusable; got != 1 {
						t.Fatalf("%s: %d pooled connections discarded, want 1", what, got)
					}
				}
				good("after " + what)
				if got := fake.Accepted() - accepted; got != 1 {
					t.Fatalf("%s: %d new connections for the calls after it, want 1 (the poisoned one replaced)", what, got)
				}
			}
			good("before")
			for name := range hostileReplies {
				before, accepted := c.Pool().Stats(), fake.Accepted()
				_, err := c.Get(ctx, name).Result()
				if bad := hostileCheck(name, err); bad != nil {
					t.Fatalf("GET %s: %v", name, bad)
				}
				replaced("GET "+name, before, accepted)

				// In a pipeline: the reply before it stays its command's.
				before, accepted = c.Pool().Stats(), fake.Accepted()
				pl := c.Pipeline()
				first, hostile := pl.Get(ctx, "first"), pl.Get(ctx, name)
				_ = pl.Exec(ctx)
				if v, err := first.Result(); err != nil || v != valueFor("first") {
					t.Fatalf("pipeline with %s: the command before it got %q, %v", name, v, err)
				}
				if bad := hostileCheck(name, hostile.Err()); bad != nil {
					t.Fatalf("pipelined GET %s: %v", name, bad)
				}
				replaced("pipelined GET "+name, before, accepted)
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
		})
	}
}

// An unsolicited reply arrives on a connection with nothing in flight.
// The connection must not hand it to the next command. A pooled one is
// found dirty by the check at Get and replaced: the command runs on a new
// connection. On the shared one, the next command's flush finds the
// unread bytes before it writes anything and fails the connection: the
// command fails "not sent" when retries are off, and is retried on a new
// connection when they are on. Lone commands and pipelines, in turn.
func TestReliabilityHostileUnsolicited(t *testing.T) {
	faultTest(t)
	const rounds = 10
	for _, m := range reliabilityModes {
		for _, retries := range []bool{false, true} {
			name := m.name + "/NoRetries"
			if retries {
				name = m.name + "/Retries"
			}
			t.Run(name, func(t *testing.T) {
				testUnsolicited(t, m, retries, rounds)
			})
		}
	}
}

func testUnsolicited(t *testing.T, m reliabilityMode, retries bool, rounds int) {
	ctx := guardContext(t)
	send, sent := make(chan struct{}), make(chan struct{})
	fake := respooltest.StartFakeServer(t, respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
		key := cmd[len(cmd)-1]
		c.WriteValue(resp.BulkString(valueFor(key)))
		if key != "unsolicited" {
			return
		}
		c.Flush()
		select {
		case <-send:
		case <-c.Done():
			return
		}
		c.Write("+OK\r\n")
		c.Flush()
		select {
		case sent <- struct{}{}:
		case <-c.Done():
		}
	}))
	opt := Options{MaxRetries: -1, MultiplexConns: 1}
	if retries {
		opt.MaxRetries = 3
	}
	c := newReliabilityClient(t, m, fake.Addr(), opt)
	initial := c.Pool().Stats()
	get := func(round int, key string) (string, error) {
		if round%2 == 0 {
			return c.Get(ctx, key).Result()
		}
		var g *Cmd[string]
		_, err := c.Pipelined(ctx, func(pl *Pipeline) error {
			g = pl.Get(ctx, key)
			return nil
		})
		return g.Val(), err
	}
	for round := range rounds {
		if v, err := get(round, "unsolicited"); err != nil || v != valueFor("unsolicited") {
			t.Fatalf("round %d: GET unsolicited = %q, %v", round, v, err)
		}
		send <- struct{}{}
		<-sent
		// The stray +OK has left the server; wait until the client's
		// socket holds it, so the next command cannot be written before
		// it arrives (the reply to a command already written is
		// indistinguishable from it).
		nc := idleSocket(t, c, m)
		eventually(t, "the stray reply reaches the idle connection", func() bool { return hasUnread(nc) })

		before, accepted := c.Pool().Stats(), fake.Accepted()
		v, err := get(round, "next")
		if v == "OK" {
			regression(t, m.shared(),
				"mux.go: an unsolicited reply that reached an idle shared connection was handed to the next command (GET returned the stray \"OK\"), and every later reply on that connection shifted by one")
			t.Fatalf("round %d: the stray reply was handed to the next command", round)
		}
		if m.shared() && !retries {
			// The shared connection fails before the write: not sent.
			if err == nil || OutcomeOf(err) != OutcomeNotSent {
				t.Fatalf("round %d: GET after the stray reply = %q, %v (outcome %v), want a failure before the write (not sent)", round, v, err, OutcomeOf(err))
			}
			if v, err = get(round, "next"); err != nil || v != valueFor("next") {
				t.Fatalf("round %d: the GET after the failed one = %q, %v", round, v, err)
			}
		} else if err != nil || v != valueFor("next") {
			t.Fatalf("round %d: GET after the stray reply = %q, %v, want its own reply on a new connection", round, v, err)
		}
		if got := fake.Accepted() - accepted; got != 1 {
			t.Fatalf("round %d: %d new connections after the stray reply, want 1 (the dirty one replaced)", round, got)
		}
		if m.exclusive {
			if got := c.Pool().Stats().Closed.HealthCheck - before.Closed.HealthCheck; got != 1 {
				t.Fatalf("round %d: %d connections closed by the check at Get, want 1", round, got)
			}
		}
	}
	if m.shared() {
		checkShared(t, c, initial)
	}
}

// idleSocket returns the socket of c's only connection, idle: its one
// shared connection, or its pool's one idle connection.
func idleSocket(t *testing.T, c *Client, m reliabilityMode) net.Conn {
	t.Helper()
	if m.shared() {
		mc := c.mux.conns[0].Load()
		if mc == nil {
			t.Fatal("no shared connection")
		}
		return mc.cn.nc
	}
	p := c.Pool()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != 1 {
		t.Fatalf("%d idle connections, want 1", len(p.idle))
	}
	return p.idle[0].nc
}

// hasUnread reports whether bytes wait unread on nc's socket, looking
// with a peeker of its own (the connection's is not the test's to use).
func hasUnread(nc net.Conn) bool {
	var pk peeker
	pk.init(nc)
	return !pk.check()
}

// A server that refuses the connection with an error reply (as
// redis-server does beyond maxclients) gives a handshake error of outcome
// "not sent" carrying the server's text; the client recovers when the
// server accepts again.
func TestReliabilityHostileErrorOnConnect(t *testing.T) {
	faultTest(t)
	refuse := make(chan bool, 1)
	refuse <- true
	fake := respooltest.StartFakeServer(t, func(c *respooltest.FakeConn, cmd []string) {
		on := <-refuse
		refuse <- on
		if on {
			c.Write("-ERR " + maxClientsText + "\r\n")
			c.Close()
			return
		}
		respooltest.FakeDefaults(func(c *respooltest.FakeConn, cmd []string) {
			c.WriteValue(resp.BulkString(valueFor(cmd[len(cmd)-1])))
		})(c, cmd)
	})
	for _, m := range reliabilityModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := guardContext(t)
			<-refuse
			refuse <- true
			c := newReliabilityClient(t, m, fake.Addr(), Options{MaxRetries: -1})
			initial := c.Pool().Stats()
			textLost := ""
			for _, call := range []func() error{
				func() error { return c.Get(ctx, "k").Err() },
				func() error {
					_, err := c.Pipelined(ctx, func(pl *Pipeline) error { pl.Get(ctx, "k"); return nil })
					return err
				},
			} {
				err := call()
				if err == nil {
					t.Fatal("a call on a refused connection succeeded")
				}
				if o := OutcomeOf(err); o != OutcomeNotSent {
					t.Fatalf("outcome %v, want not sent: %v", o, err)
				}
				var se *Error
				if !errors.As(err, &se) || !strings.Contains(err.Error(), maxClientsText) {
					textLost = err.Error()
				}
			}
			<-refuse
			refuse <- false
			if v, err := c.Get(context.Background(), "k").Result(); err != nil || v != valueFor("k") {
				t.Fatalf("after the server accepts again: %q, %v", v, err)
			}
			if m.shared() {
				checkShared(t, c, initial)
			}
			regression(t, textLost != "",
				"handshake.go runHandshake: the server's error reply to HELLO is dropped when the next handshake reply cannot be read (the server hung up); the caller gets %q", textLost)
		})
	}
}
