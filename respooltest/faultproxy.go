package respooltest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bounds used by the fault proxy.
const (
	proxyDialTimeout = 5 * time.Second      // dialing the target for one client
	proxyChunkSize   = 32 << 10             // most bytes read and forwarded at once
	acceptRetryDelay = 5 * time.Millisecond // after an Accept error other than a closed listener
)

// Direction names one half of a proxied connection.
type Direction int

const (
	// ServerToClient carries replies and pushes from the target to the client.
	ServerToClient Direction = iota
	// ClientToServer carries commands from the client to the target.
	ClientToServer
)

// String returns "server->client" or "client->server".
func (d Direction) String() string {
	switch d {
	case ServerToClient:
		return "server->client"
	case ClientToServer:
		return "client->server"
	default:
		return fmt.Sprintf("Direction(%d)", int(d))
	}
}

// valid panics on a Direction that is neither constant: it is programmer
// misuse, and indexing with it would corrupt the proxy's state.
func (d Direction) valid() Direction {
	if d != ServerToClient && d != ClientToServer {
		panic("respooltest: invalid " + d.String())
	}
	return d
}

// FaultProxy is a TCP proxy on a free 127.0.0.1 port in front of a target
// address, normally a redis-server started by StartServer, that injects
// faults on command: drop or reset every connection, refuse new ones, stall,
// delay (with jitter) or blackhole a direction, re-chunk replies down to one
// byte per write, inject bytes before a reply, hold a named command's reply
// after some of its bytes, cut a connection after a number of bytes (FIN or
// RST), or let a named command through to the server and cut the connection
// before its reply comes back.
//
// Each client connection gets its own connection to the target, dialed when
// the client connects. Bytes are forwarded unchanged. The proxy understands
// RESP in both directions. The client->server stream is read as commands
// (arrays of bulk strings), to count them by name and to find the commands
// CutOnCommand and StallReply wait for; a stream that is not RESP (an inline
// command, garbage) is forwarded as raw bytes from that point on and its
// commands are no longer counted. The server->client stream is followed
// reply by reply, without waiting for whole replies: each reply is matched
// with the oldest command of its connection still waiting for one (RESP3
// pushes are not replies), which is what RepliesStarted, WaitReplyStarted,
// StallReply and InjectNextReply rely on. The matching holds for ordinary
// request and reply traffic; on a connection in RESP2 pub/sub mode it is
// meaningless.
//
// Faults are settings of the proxy, not of one connection: they apply to
// every connection open when they are set and, except CutAfter and
// ResetAfter, to those accepted later, until they are turned off. A setting
// changes what happens to bytes the proxy reads after the call; a chunk
// already on its way may still be delivered.
//
// Tests synchronise on the proxy's events instead of sleeping: WaitCommand
// returns once a command reached the server, WaitReplyStarted once the first
// byte of its reply reached the client.
//
// All methods are safe for concurrent use. Close releases everything,
// stalled connections and waiting callers included.
type FaultProxy struct {
	target     string
	ln         net.Listener
	quit       chan struct{}      // closed by Close
	dialCtx    context.Context    // canceled by Close, ends dials to the target
	cancelDial context.CancelFunc // cancels dialCtx
	wg         sync.WaitGroup     // the accept loop and every connection's goroutines

	// mu guards the fields below, and the fields of every proxyConn marked
	// as guarded by it.
	mu           sync.Mutex
	closed       bool
	conns        map[*proxyConn]struct{} // pairs open now
	accepted     int
	refuse       bool
	stall        [2]chan struct{} // by Direction: nil when flowing, else closed by Resume
	delay        time.Duration    // added to every server->client chunk
	delayChanged chan struct{}    // closed and replaced by Delay, so waiting chunks see the new value
	cutCommand   string           // upper-case command name for CutOnCommand; "" when off
	cutEvery     int              // cut one command named cutCommand in cutEvery
	cutSeen      int              // commands named cutCommand forwarded since CutOnCommand
	cuts         int
	commands     map[string]int // by upper-case name, counted as forwarding starts
	peakOpen     int            // the most pairs open at once

	jitter    time.Duration  // up to this much more than delay, drawn per chunk
	blackhole [2]bool        // by Direction: bytes read are dropped
	rechunk   int            // server->client writes of at most this many bytes; 0 when off
	injects   [][]byte       // written before the next replies, one each, oldest first
	holds     []replyHold    // armed by StallReply, oldest first
	release   chan struct{}  // closed by Resume to release the holds armed before it; nil when none
	received  map[string]int // replies whose first byte came from the target, by command name; "" counts all
	started   map[string]int // replies whose first byte was sent, by command name; "" counts all
	events    chan struct{}  // closed and replaced when a counter changes and waiters != 0
	waiters   int            // callers of the Wait methods waiting now
}

// StartFaultProxy starts a FaultProxy in front of target (for example a
// Server's Addr) and closes it when the test ends (t.Cleanup). It fails the
// test if the proxy cannot listen. The target does not need to be up yet:
// it is dialed for each client connection.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p, err := NewFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// NewFaultProxy is StartFaultProxy without a testing.TB. The caller must call
// Close.
func NewFaultProxy(target string) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("respooltest: fault proxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &FaultProxy{
		target:       target,
		ln:           ln,
		quit:         make(chan struct{}),
		dialCtx:      ctx,
		cancelDial:   cancel,
		conns:        make(map[*proxyConn]struct{}),
		delayChanged: make(chan struct{}),
		commands:     make(map[string]int),
		received:     make(map[string]int),
		started:      make(map[string]int),
		events:       make(chan struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the address clients dial, "127.0.0.1:PORT".
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *FaultProxy) Target() string { return p.target }

// Close stops listening, closes every proxied connection (both sides, even
// stalled or delayed ones) and returns once all of the proxy's goroutines
// have ended. Clients see EOF or a reset. It is idempotent.
func (p *FaultProxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	conns := p.connsLocked()
	p.mu.Unlock()

	close(p.quit)
	p.cancelDial()
	err := p.ln.Close()
	for _, pc := range conns {
		pc.close()
	}
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("respooltest: fault proxy: %w", err)
	}
	return nil
}

// Accepted returns how many client connections the proxy accepted so far,
// refused ones (RefuseNew) and ones whose target could not be dialed
// included.
func (p *FaultProxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Open returns how many client connections are proxied now: accepted, with
// the target dialed, and not yet closed on either side.
func (p *FaultProxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// DropAll closes every proxied connection now, both its client side and
// its target side, whatever it is doing. Clients see EOF (or a reset, when
// they had sent bytes the proxy had not read yet). New connections are
// proxied as before.
func (p *FaultProxy) DropAll() {
	p.mu.Lock()
	conns := p.connsLocked()
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}

// RefuseNew, while on, makes the proxy close every new connection as soon
// as it accepts it, without dialing the target: the client's dial succeeds
// and its first read sees EOF (or a reset). Connections already open are not
// affected. RefuseNew(false) restores normal service.
func (p *FaultProxy) RefuseNew(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// Stall stops forwarding server->client bytes on every connection, open
// now or accepted later, until Resume. Nothing is lost: bytes the target
// sends meanwhile wait in the proxy and in the kernel's buffers, and are
// delivered in order after Resume. It is StallDirection(ServerToClient).
func (p *FaultProxy) Stall() { p.StallDirection(ServerToClient) }

// Resume ends Stall: held server->client bytes are delivered. It also
// releases every reply held by StallReply and disarms the StallReply holds
// that have not met their reply yet.
func (p *FaultProxy) Resume() { p.ResumeDirection(ServerToClient) }

// StallDirection stops forwarding bytes in direction d, as Stall does for
// ServerToClient. With ClientToServer, commands reach the target only after
// ResumeDirection (and CutOnCommand and Commands see them only then).
// Stalling a stalled direction does nothing. It panics if d is neither
// ServerToClient nor ClientToServer.
func (p *FaultProxy) StallDirection(d Direction) {
	d = d.valid()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall[d] == nil {
		p.stall[d] = make(chan struct{})
	}
}

// ResumeDirection ends StallDirection(d). Resuming a direction that is not
// stalled does nothing. ResumeDirection(ServerToClient) also releases and
// disarms StallReply holds, as Resume does. It panics if d is neither ServerToClient nor
// ClientToServer.
func (p *FaultProxy) ResumeDirection(d Direction) {
	d = d.valid()
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch := p.stall[d]; ch != nil {
		close(ch)
		p.stall[d] = nil
	}
	if d == ServerToClient && p.release != nil {
		close(p.release)
		p.release = nil
		p.holds = nil
	}
}

// Delay holds every server->client chunk for d after the proxy read it from
// the target, on every connection, before forwarding it; 0 (the default)
// turns it off. Chunks already waiting when Delay is called wait for the new
// d instead, counted from when they were read, so Delay(0) releases them at
// once.
func (p *FaultProxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
	close(p.delayChanged)
	p.delayChanged = make(chan struct{})
}

// CutAfter arms every connection open now: the next n server->client bytes
// it carries are forwarded, then the connection is closed on both sides, so
// a client waiting for a reply longer than n bytes gets part of it and then
// EOF. With n = 0 the connection is closed when the next byte arrives from
// the target, forwarding nothing. Each armed connection is cut once, and
// counted by Cuts. Connections accepted after the call are not armed (open
// and use a connection first to cut it). A negative n disarms the
// connections that have not been cut yet. ResetAfter is the same cut with
// a TCP reset instead of a clean close. A later CutAfter or ResetAfter
// replaces the arming of a connection not cut yet.
func (p *FaultProxy) CutAfter(n int64) {
	p.armCut(n, false)
}

// CutOnCommand makes the proxy cut every connection that sends a command
// named name (case-insensitive), on every connection open now or accepted
// later, until CutOnCommand(""). The command is forwarded to the target in
// full, and nothing more from that client is; the proxy then half-closes
// its side towards the target, drops whatever the target sends back (the
// command's reply, and the replies of earlier commands not yet forwarded),
// and closes the client connection only once the target has hung up. A
// redis-server executes a command before it notices the end of its input,
// so when the client sees EOF the command has been applied and its reply
// has not reached the client: the case of a server that applied a write and
// then lost the connection. Each such cut is counted by Cuts.
//
// Pipelined commands that reach the proxy after the cut command are not
// forwarded. A target that does not close its connection when its input
// ends keeps the client waiting until DropAll or Close. CutOnCommandEvery
// cuts only some of the commands named name.
func (p *FaultProxy) CutOnCommand(name string) {
	p.CutOnCommandEvery(name, 1)
}

// Cuts returns how many connections the proxy has cut so far because of
// CutAfter or CutOnCommand. A connection cut by CutOnCommand is counted
// before its client sees EOF. DropAll and Close are not counted.
func (p *FaultProxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Commands returns how many commands named name (case-insensitive) the
// proxy has forwarded to the target so far, over all connections. A
// command is counted when the proxy starts writing it to the target, so it
// is counted before its reply can reach the client. Commands on a stream
// that stopped being RESP (see FaultProxy) are not counted.
func (p *FaultProxy) Commands(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.commands[strings.ToUpper(name)]
}

// connsLocked returns the open connections as a slice, to close them
// without holding mu.
func (p *FaultProxy) connsLocked() []*proxyConn {
	conns := make([]*proxyConn, 0, len(p.conns))
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	return conns
}

func (p *FaultProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A passing failure such as too many open files: try again
			// shortly rather than spin.
			t := time.NewTimer(acceptRetryDelay)
			select {
			case <-p.quit:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		p.mu.Lock()
		p.accepted++
		if p.closed || p.refuse {
			p.mu.Unlock()
			client.Close()
			continue
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(client)
	}
}

// serve dials the target for one client and runs the pair until either side
// ends, the pair is cut or dropped, or the proxy closes.
func (p *FaultProxy) serve(client net.Conn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: proxyDialTimeout}
	server, err := d.DialContext(p.dialCtx, "tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	pc := &proxyConn{
		p:         p,
		client:    client,
		server:    server,
		done:      make(chan struct{}),
		cutBudget: -1,
	}
	if tc, ok := client.(*net.TCPConn); ok {
		// Each write is its own segment, so Rechunk reaches the client
		// as it was cut.
		_ = tc.SetNoDelay(true)
	}
	if !p.register(pc) {
		pc.close()
		return
	}
	defer p.unregister(pc)

	replies := make(chan struct{})
	go func() {
		defer close(replies)
		pc.copyReplies()
	}()
	pc.copyCommands()
	<-replies
}

// register adds pc to the open connections, unless the proxy is closed.
func (p *FaultProxy) register(pc *proxyConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[pc] = struct{}{}
	p.peakOpen = max(p.peakOpen, len(p.conns))
	return true
}

func (p *FaultProxy) unregister(pc *proxyConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, pc)
}
