package respooltest

import (
	"strings"
	"time"
)

// replyHold is one StallReply waiting for its reply.
type replyHold struct {
	name    string        // upper-case command name; "" matches any reply
	after   int64         // bytes of the reply forwarded before the hold
	release chan struct{} // closed by the next Resume
}

// Jitter adds to the Delay of every server->client chunk, on every
// connection, a random duration between 0 and d drawn for that chunk; 0
// (the default) turns it off. Chunks of one connection still arrive in
// order, each after the one before it. As with Delay, chunks already
// waiting see the new value.
func (p *FaultProxy) Jitter(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jitter = max(d, 0)
	close(p.delayChanged)
	p.delayChanged = make(chan struct{})
}

// DelayJitter sets Delay(base) and Jitter(jitter) at once: every
// server->client chunk waits between base and base+jitter.
func (p *FaultProxy) DelayJitter(base, jitter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = base
	p.jitter = max(jitter, 0)
	close(p.delayChanged)
	p.delayChanged = make(chan struct{})
}

// Blackhole, while on, makes the proxy read and drop every byte travelling
// in direction d, on every connection, while keeping both sockets open: the
// peer's writes succeed and nothing ever arrives, like a network path that
// silently lost its route. Commands dropped in the ClientToServer direction
// never reach the target and are not counted by Commands; replies dropped
// in the ServerToClient direction are lost for good (unlike Stall). Only a
// timeout on the other side, DropAll, ResetAll or Close ends such a
// connection. Blackhole(d, false) restores forwarding of later bytes. It
// panics if d is neither ServerToClient nor ClientToServer.
func (p *FaultProxy) Blackhole(d Direction, on bool) {
	d = d.valid()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole[d] = on
}

// ResetAll is DropAll with a TCP reset: every proxied connection is closed
// at once with SO_LINGER 0 on its client side, so clients see "connection
// reset by peer" (bytes in flight to them may be lost, as with any reset),
// and its target side is closed normally. New connections are proxied as
// before.
func (p *FaultProxy) ResetAll() {
	p.mu.Lock()
	conns := p.connsLocked()
	p.mu.Unlock()
	for _, pc := range conns {
		pc.reset()
	}
}

// ResetAfter is CutAfter ending with a TCP reset instead of a clean close:
// every connection open now forwards its next n server->client bytes, then
// is closed with SO_LINGER 0 on its client side. The client reads at most
// those n bytes and then "connection reset by peer": a reset discards
// what the client's kernel has not yet received, so it may read fewer.
// Each armed connection is cut once, counted by Cuts. A negative n disarms
// the connections not cut yet, as CutAfter(-1) does.
func (p *FaultProxy) ResetAfter(n int64) {
	p.armCut(n, true)
}

// armCut arms the connections open now for CutAfter or ResetAfter.
func (p *FaultProxy) armCut(n int64, reset bool) {
	if n < 0 {
		n = -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		pc.cutBudget = n
		pc.cutReset = reset
	}
}

// Rechunk makes the proxy forward server->client bytes, on every
// connection, in writes of a random length between 1 and max bytes each,
// so that clients receive replies split at arbitrary points; Rechunk(1)
// writes one byte at a time. 0 (the default) or less turns it off. It
// slows replies down in proportion: keep max small only for small replies.
func (p *FaultProxy) Rechunk(max int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rechunk = max
	if max < 0 {
		p.rechunk = 0
	}
}

// InjectNextReply makes the proxy write raw to a client right before the
// next reply it forwards, on whichever connection forwards a reply first,
// after any stall or delay: the client reads raw and then the reply, as if
// the server had sent both. raw is sent byte for byte, valid RESP or not;
// it is not counted as a reply. Each call injects once; calls made before
// the next reply are injected before successive replies, in order.
// Replies dropped by CutOnCommand or Blackhole do not take an injection.
func (p *FaultProxy) InjectNextReply(raw string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.injects = append(p.injects, []byte(raw))
}

// StallReply holds the next reply to a command named name
// (case-insensitive; "" means any command), on whichever connection it
// comes: the first after bytes of it are forwarded, and then that
// connection forwards nothing more to its client until Resume (or
// ResumeDirection(ServerToClient)), DropAll or Close. Other connections
// are not affected. With after = 0 the client gets none of the reply;
// with after = 1, its type byte only; with an after in the middle of a
// bulk string, part of the string. An after longer than the reply holds
// the bytes that follow it on the connection. Resume releases every reply
// held so far, and also the holds already matched with a reply whose hold
// point has not been reached yet; StallReply holds still waiting for their
// reply are disarmed. Once the hold point is
// reached every byte before it has been written to the client, and, when
// Rechunk is off, the reply's first byte was counted by RepliesStarted, so
// WaitReplyStarted(ctx, name, n) tells a test that the client is receiving
// the held reply. Each call holds one reply; several calls arm several
// holds, matched in order.
func (p *FaultProxy) StallReply(name string, after int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.release == nil {
		p.release = make(chan struct{})
	}
	p.holds = append(p.holds, replyHold{name: strings.ToUpper(name), after: max(after, 0), release: p.release})
}

// CutOnCommandEvery is CutOnCommand for one command named name in every:
// the every-th, 2*every-th... command named name forwarded after the call,
// counted over all connections, is let through to the server and its
// connection cut before the reply comes back; the others are forwarded
// as usual. CutOnCommandEvery(name, 10) loses the replies of one write in
// ten after the server applied it. An every below 1 counts as 1;
// CutOnCommand("") turns it off.
func (p *FaultProxy) CutOnCommandEvery(name string, every int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutCommand = strings.ToUpper(name)
	p.cutEvery = max(every, 1)
	p.cutSeen = 0
}

// PeakOpen returns the most client connections the proxy had open at once
// since it started (see Open): a bound a test can check, such as no dial
// storm against a hung server.
func (p *FaultProxy) PeakOpen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakOpen
}
