package respooltest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/resp"
)

// FakeHandler answers one command received by a FakeServer. cmd holds the
// command's arguments, name first, as sent (cmd is never empty). Replies go
// through c; whatever the handler wrote is sent when it returns, and the
// next command of the connection is read after that: commands of one
// connection are handled one at a time, in order. Handlers of different
// connections run concurrently, so a handler must be safe for concurrent
// use. A handler that blocks must return once c.Done() is closed, or
// FakeServer.Close waits for it forever.
type FakeHandler func(c *FakeConn, cmd []string)

// FakeServer is a scripted RESP server on a free 127.0.0.1 port, for the
// replies no real server sends: malformed or hostile bytes, a connection
// dropped after a write was applied, a reply that stops at a given byte.
// Use a real server (StartServer) for everything else.
//
// It reads commands as RESP arrays of bulk strings and calls its
// FakeHandler for each. Anything else (an inline command, a malformed
// stream) gets "-ERR Protocol error..." and the connection is closed, as
// redis-server does. An empty array is ignored. A FakeServer answers
// nothing by itself: wrap a handler in FakeDefaults for the commands a
// client sends while connecting.
type FakeServer struct {
	ln      net.Listener
	handler FakeHandler
	quit    chan struct{}  // closed by Close
	wg      sync.WaitGroup // the accept loop and one goroutine per connection

	// mu guards the fields below.
	mu       sync.Mutex
	closed   bool
	conns    map[net.Conn]struct{} // open connections
	accepted int
	commands map[string]int // by upper-case name
}

// StartFakeServer starts a FakeServer running h and closes it when the test
// ends (t.Cleanup). It fails the test if the server cannot listen.
func StartFakeServer(t testing.TB, h FakeHandler) *FakeServer {
	t.Helper()
	s, err := NewFakeServer(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// NewFakeServer is StartFakeServer without a testing.TB. The caller must
// call Close. It panics if h is nil.
func NewFakeServer(h FakeHandler) (*FakeServer, error) {
	if h == nil {
		panic("respooltest: NewFakeServer with a nil handler")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("respooltest: fake server: %w", err)
	}
	s := &FakeServer{
		ln:       ln,
		handler:  h,
		quit:     make(chan struct{}),
		conns:    make(map[net.Conn]struct{}),
		commands: make(map[string]int),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr returns the address clients dial, "127.0.0.1:PORT".
func (s *FakeServer) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes Done for every connection (ending Stall),
// closes every connection and returns once every connection's goroutine,
// and so every handler, has returned. It is idempotent.
func (s *FakeServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	close(s.quit)
	err := s.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("respooltest: fake server: %w", err)
	}
	return nil
}

// Accepted returns how many connections the server accepted so far.
func (s *FakeServer) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Commands returns how many commands named name (case-insensitive) the
// server received so far, over all connections. A command is counted
// before its handler is called.
func (s *FakeServer) Commands(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands[strings.ToUpper(name)]
}

func (s *FakeServer) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t := time.NewTimer(acceptRetryDelay)
			select {
			case <-s.quit:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		s.mu.Lock()
		index := s.accepted
		s.accepted++
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(newFakeConn(s, conn, index))
	}
}

// serve reads the commands of one connection and hands them to the handler
// until the client hangs up, the handler closes the connection, or the
// server closes.
func (s *FakeServer) serve(c *FakeConn) {
	defer s.wg.Done()
	defer func() {
		c.conn.Close()
		s.mu.Lock()
		delete(s.conns, c.conn)
		s.mu.Unlock()
	}()
	r := resp.NewReader(c.conn)
	for {
		v, err := r.ReadValue()
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				c.Write("-ERR Protocol error: " + fakeErrorText(pe.Msg) + "\r\n")
				c.Flush()
			}
			return
		}
		cmd, ok := fakeCommandArgs(v)
		if !ok {
			c.Write("-ERR Protocol error: expected an array of bulk strings\r\n")
			c.Flush()
			return
		}
		if len(cmd) == 0 {
			continue
		}
		s.mu.Lock()
		s.commands[strings.ToUpper(cmd[0])]++
		s.mu.Unlock()

		s.handler(c, cmd)
		if err := c.Flush(); err != nil || c.closed {
			return
		}
	}
}

// fakeCommandArgs returns the arguments of a command sent as an array of
// bulk strings.
func fakeCommandArgs(v resp.Value) ([]string, bool) {
	if v.Kind() != resp.KindArray {
		return nil, false
	}
	elems, err := v.Elems()
	if err != nil {
		return nil, false
	}
	args := make([]string, len(elems))
	for i, e := range elems {
		if e.Kind() != resp.KindBulkString {
			return nil, false
		}
		args[i] = e.Text()
	}
	return args, true
}

// FakeConn is one connection of a FakeServer, as its FakeHandler sees it.
// Its methods are meant for the handler running on it and are not safe for
// concurrent use, except Done.
type FakeConn struct {
	srv    *FakeServer
	conn   net.Conn
	index  int
	out    bytes.Buffer // replies written and not yet sent
	values *resp.Writer // encodes WriteValue into out
	closed bool         // Close was called

	// Connection state kept by FakeDefaults.
	proto int    // 2 until HELLO 3
	name  string // from CLIENT SETNAME or HELLO SETNAME
}

func newFakeConn(s *FakeServer, conn net.Conn, index int) *FakeConn {
	c := &FakeConn{srv: s, conn: conn, index: index, proto: 2}
	c.values = resp.NewWriter(&c.out)
	return c
}

// ConnIndex returns the connection's position in the order the server
// accepted connections, from 0.
func (c *FakeConn) ConnIndex() int { return c.index }

// Protocol returns the RESP version the client chose with HELLO, as
// handled by FakeDefaults: 2 until a HELLO 3.
func (c *FakeConn) Protocol() int { return c.proto }

// Write adds raw to the reply, byte for byte, valid RESP or not. It is sent
// when the handler returns, or at Flush, Stall or Close.
func (c *FakeConn) Write(raw string) {
	c.out.WriteString(raw)
}

// WriteValue adds v, encoded as resp.Writer.WriteValue does, to the reply.
// It panics if v cannot be encoded (a zero Value, a simple string holding
// CR or LF...): use Write for bytes that are not valid RESP.
func (c *FakeConn) WriteValue(v resp.Value) {
	if err := c.values.WriteValue(v); err != nil {
		panic("respooltest: FakeConn.WriteValue: " + err.Error())
	}
	if err := c.values.Flush(); err != nil {
		panic("respooltest: FakeConn.WriteValue: " + err.Error())
	}
}

// Flush sends what was written so far now, so that the client can receive
// part of a reply while the handler goes on. The error is the socket's.
func (c *FakeConn) Flush() error {
	if c.out.Len() == 0 {
		return nil
	}
	_, err := c.conn.Write(c.out.Bytes())
	c.out.Reset()
	return err
}

// Close sends what was written so far and closes the connection: the client
// reads those bytes, then EOF. No later command of the connection is read.
// Closing without writing anything first is how a server that executed a
// command drops the connection before replying. Close is idempotent.
func (c *FakeConn) Close() {
	if c.closed {
		return
	}
	c.Flush()
	c.closed = true
	c.conn.Close()
}

// Stall sends what was written so far and blocks until the server is
// closed: the client sees a reply that stops at that byte, or none at all.
func (c *FakeConn) Stall() {
	c.Flush()
	<-c.srv.quit
}

// Done returns a channel closed when the server is closing, for handlers
// that wait on something of their own.
func (c *FakeConn) Done() <-chan struct{} { return c.srv.quit }
