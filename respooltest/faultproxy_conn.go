package respooltest

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/respool/respool/resp"
)

// proxyConn is one client connection of a FaultProxy and its connection to
// the target. Two goroutines run it: copyCommands (client->server) and
// copyReplies (server->client).
type proxyConn struct {
	p      *FaultProxy
	client net.Conn
	server net.Conn
	done   chan struct{} // closed by close
	once   sync.Once

	scan replyScanner // server->client stream; copyReplies only
	sent int64        // server->client bytes read from the target; copyReplies only

	// The fields below are guarded by p.mu.
	cutBudget int64       // server->client bytes still forwarded before a cut; -1 when not armed
	cutReset  bool        // the armed cut ends with a reset (ResetAfter)
	cutting   bool        // a CutOnCommand command went out: drop replies until the target hangs up
	raw       bool        // the client stream stopped being RESP: replies are not matched
	names     []string    // commands forwarded and not yet answered, oldest first
	holdAt    []holdPoint // where StallReply holds the replies, by ascending offset
}

// holdPoint is a stream offset where a StallReply hold stops the
// server->client bytes until its release channel is closed.
type holdPoint struct {
	at      int64
	release chan struct{}
}

// close closes both sides of the pair, once. It unblocks every read, write
// and wait of the pair's goroutines.
func (pc *proxyConn) close() {
	pc.once.Do(func() {
		close(pc.done)
		pc.client.Close()
		pc.server.Close()
	})
}

// reset closes the pair with a TCP reset towards the client.
func (pc *proxyConn) reset() {
	if tc, ok := pc.client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	pc.close()
}

func (pc *proxyConn) closed() bool {
	select {
	case <-pc.done:
		return true
	default:
		return false
	}
}

// copyReplies forwards server->client chunks until the target hangs up, a
// write fails or the pair is closed, and then closes the pair.
func (pc *proxyConn) copyReplies() {
	defer pc.close()
	p := pc.p
	buf := make([]byte, proxyChunkSize)
	var starts []replyStart
	for {
		n, err := pc.server.Read(buf)
		if n > 0 {
			readAt := time.Now()
			chunk := buf[:n]
			pos := pc.sent
			pc.sent += int64(n)
			starts = pc.scan.feed(chunk, starts[:0])
			plan, forward := pc.planReply(chunk, pos, starts)
			// Bytes read once the cut command went out may hold its
			// reply: they never reach the client.
			if forward && !pc.forwardReply(chunk, plan, readAt) {
				return
			}
		}
		if err != nil {
			p.mu.Lock()
			if pc.cutting && !pc.closed() {
				p.cuts++
			}
			p.mu.Unlock()
			return
		}
	}
}

// replyMark is a point of a server->client chunk where something happens.
type replyMark struct {
	at     int           // offset in the chunk
	hold   chan struct{} // StallReply: wait until it is closed before the byte at at
	start  bool          // a reply begins at at: count it once the byte is written
	name   string        // the command the reply answers ("" when unknown)
	inject []byte        // written before the reply (start marks only)
}

// replyPlan is what forwardReply does with one chunk.
type replyPlan struct {
	marks  []replyMark // by offset; a hold before a start at the same offset
	jitter float64     // fraction of the proxy's Jitter added to its Delay
}

// planReply matches the replies beginning in chunk (read at stream offset
// pos) with their commands and decides the injections and holds. It
// reports false when the chunk must be dropped.
func (pc *proxyConn) planReply(chunk []byte, pos int64, starts []replyStart) (replyPlan, bool) {
	p := pc.p
	p.mu.Lock()
	defer p.mu.Unlock()
	drop := pc.cutting || p.blackhole[ServerToClient]
	var plan replyPlan
	if p.jitter > 0 {
		plan.jitter = rand.Float64()
	}
	for _, st := range starts {
		if st.push {
			continue
		}
		name := ""
		if !pc.raw && len(pc.names) > 0 {
			name = pc.names[0]
			pc.names[0] = ""
			pc.names = pc.names[1:]
		}
		p.received[""]++
		if name != "" {
			p.received[name]++
		}
		if drop {
			continue
		}
		m := replyMark{at: st.at, start: true, name: name}
		if len(p.injects) > 0 {
			m.inject = p.injects[0]
			p.injects[0] = nil
			p.injects = p.injects[1:]
		}
		for i, h := range p.holds {
			if h.name == "" || h.name == name {
				p.holds = append(p.holds[:i], p.holds[i+1:]...)
				pc.holdAt = insertHold(pc.holdAt, holdPoint{at: pos + int64(st.at) + h.after, release: h.release})
				break
			}
		}
		plan.marks = append(plan.marks, m)
	}
	if len(starts) > 0 {
		p.notifyLocked()
	}
	if drop {
		return plan, false
	}
	end := pos + int64(len(chunk))
	for len(pc.holdAt) > 0 && pc.holdAt[0].at < end {
		h := pc.holdAt[0]
		pc.holdAt = pc.holdAt[1:]
		plan.marks = insertMark(plan.marks, replyMark{at: int(max(h.at-pos, 0)), hold: h.release})
	}
	return plan, true
}

// insertHold inserts h into s, kept by ascending offset.
func insertHold(s []holdPoint, h holdPoint) []holdPoint {
	i := len(s)
	for i > 0 && s[i-1].at > h.at {
		i--
	}
	s = append(s, holdPoint{})
	copy(s[i+1:], s[i:])
	s[i] = h
	return s
}

// insertMark inserts a hold mark before every mark at or after its offset.
func insertMark(marks []replyMark, m replyMark) []replyMark {
	i := len(marks)
	for i > 0 && marks[i-1].at >= m.at {
		i--
	}
	marks = append(marks, replyMark{})
	copy(marks[i+1:], marks[i:])
	marks[i] = m
	return marks
}

// forwardReply writes one server->client chunk after any stall and delay,
// applying its plan, Rechunk and CutAfter/ResetAfter. It reports whether
// the pair may go on.
func (pc *proxyConn) forwardReply(chunk []byte, plan replyPlan, readAt time.Time) bool {
	if !pc.waitStall(ServerToClient) || !pc.waitDelay(readAt, plan.jitter) {
		return false
	}
	p := pc.p
	p.mu.Lock()
	limit, cut, reset := len(chunk), false, false
	if pc.cutBudget >= 0 {
		if int64(len(chunk)) >= pc.cutBudget {
			limit = int(pc.cutBudget)
			pc.cutBudget = -1
			p.cuts++
			cut, reset = true, pc.cutReset
		} else {
			pc.cutBudget -= int64(len(chunk))
		}
	}
	rechunk := p.rechunk
	p.mu.Unlock()

	marks := plan.marks
	next, counted := 0, 0 // marks applied, start marks counted
	for i := 0; i < limit; {
		for ; next < len(marks) && marks[next].at <= i; next++ {
			m := marks[next]
			if m.hold != nil && !pc.waitHold(m.hold) {
				return false
			}
			if len(m.inject) > 0 {
				if _, err := pc.client.Write(m.inject); err != nil {
					return false
				}
			}
		}
		end := limit
		for _, m := range marks[next:] {
			if m.hold != nil || len(m.inject) > 0 {
				end = min(end, m.at) // the write stops where an action begins
				break
			}
		}
		if rechunk > 0 {
			end = min(end, i+1+rand.IntN(rechunk))
		}
		if _, err := pc.client.Write(chunk[i:end]); err != nil {
			return false
		}
		i = end
		counted = pc.countStarts(marks, counted, i)
	}
	if cut {
		if reset {
			pc.reset()
		}
		return false
	}
	return true
}

// countStarts counts, from marks[from:], the replies whose first byte lies
// before offset written, and returns the index of the first mark not
// looked at.
func (pc *proxyConn) countStarts(marks []replyMark, from, written int) int {
	i := from
	for ; i < len(marks) && marks[i].at < written; i++ {
	}
	if i == from {
		return i
	}
	p := pc.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range marks[from:i] {
		if !m.start {
			continue
		}
		p.started[""]++
		if m.name != "" {
			p.started[m.name]++
		}
	}
	p.notifyLocked()
	return i
}

// waitHold waits for a StallReply hold to be released. It reports false
// when the pair was closed meanwhile.
func (pc *proxyConn) waitHold(release <-chan struct{}) bool {
	select {
	case <-release:
		return true
	case <-pc.done:
		return false
	}
}

// waitStall waits while direction d is stalled. It reports false when the
// pair was closed meanwhile.
func (pc *proxyConn) waitStall(d Direction) bool {
	p := pc.p
	for {
		p.mu.Lock()
		resumed := p.stall[d]
		p.mu.Unlock()
		if resumed == nil {
			return true
		}
		select {
		case <-resumed:
			// Stalled again before this goroutine ran? Look again.
		case <-pc.done:
			return false
		}
	}
}

// waitDelay waits until the proxy's Delay, plus the fraction jitter of its
// Jitter, has passed since readAt, seeing changes of either while it
// waits. It reports false when the pair was closed meanwhile.
func (pc *proxyConn) waitDelay(readAt time.Time, jitter float64) bool {
	p := pc.p
	for {
		p.mu.Lock()
		delay := p.delay + time.Duration(jitter*float64(p.jitter))
		changed := p.delayChanged
		p.mu.Unlock()
		wait := time.Until(readAt.Add(delay))
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
			return true
		case <-changed:
			t.Stop()
		case <-pc.done:
			t.Stop()
			return false
		}
	}
}

// copyCommands forwards client->server bytes one RESP command at a time,
// counting commands and watching for the CutOnCommand command. It closes
// the pair when it ends, except after a cut, which copyReplies completes.
func (pc *proxyConn) copyCommands() {
	rec := &recordingReader{src: pc.client}
	r := resp.NewReader(rec)
	for {
		v, err := r.ReadValue()
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				// Not RESP, or beyond the Reader's limits: carry on
				// as a plain byte pipe from the first unsent byte.
				pc.copyRaw(rec)
			}
			pc.close()
			return
		}
		n := int(rec.total - int64(r.Buffered()) - rec.sent)
		ok, cut := pc.sendCommand(commandName(v), rec.pending[:n])
		rec.advance(n)
		if !ok {
			pc.close()
			return
		}
		if cut {
			pc.cutAfterSend()
			return
		}
	}
}

// sendCommand forwards one command after any client->server stall, or drops
// it while that direction is blackholed. It reports whether the write
// succeeded and whether the command is one CutOnCommand cuts.
func (pc *proxyConn) sendCommand(name string, raw []byte) (ok, cut bool) {
	if !pc.waitStall(ClientToServer) {
		return false, false
	}
	p := pc.p
	p.mu.Lock()
	if p.blackhole[ClientToServer] {
		p.mu.Unlock()
		return true, false
	}
	pc.names = append(pc.names, name)
	if name != "" {
		p.commands[name]++
		if name == p.cutCommand {
			p.cutSeen++
			if p.cutSeen%p.cutEvery == 0 {
				pc.cutting = true
				cut = true
			}
		}
		p.notifyLocked()
	}
	p.mu.Unlock()
	_, err := pc.server.Write(raw)
	return err == nil, cut
}

// cutAfterSend ends the target's input after the cut command, so that the
// target executes it, replies (copyReplies drops the reply) and hangs up;
// copyReplies then closes the client.
func (pc *proxyConn) cutAfterSend() {
	if hc, ok := pc.server.(interface{ CloseWrite() error }); ok && hc.CloseWrite() == nil {
		return
	}
	pc.close()
}

// copyRaw forwards what rec holds and everything the client sends after
// it, unparsed, until either side fails.
func (pc *proxyConn) copyRaw(rec *recordingReader) {
	p := pc.p
	p.mu.Lock()
	pc.raw = true
	pc.names = nil
	p.mu.Unlock()
	if len(rec.pending) > 0 {
		if !pc.forwardRaw(rec.pending) {
			return
		}
		rec.advance(len(rec.pending))
	}
	buf := make([]byte, proxyChunkSize)
	for {
		n, err := pc.client.Read(buf)
		if n > 0 && !pc.forwardRaw(buf[:n]) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forwardRaw writes unparsed client bytes to the target after any stall,
// or drops them while the direction is blackholed. It reports whether the
// pair may go on.
func (pc *proxyConn) forwardRaw(b []byte) bool {
	if !pc.waitStall(ClientToServer) {
		return false
	}
	p := pc.p
	p.mu.Lock()
	drop := p.blackhole[ClientToServer]
	p.mu.Unlock()
	if drop {
		return true
	}
	_, err := pc.server.Write(b)
	return err == nil
}

// commandName returns the upper-case name of a command (the first element
// of an array), or "" for anything else.
func commandName(v resp.Value) string {
	if v.Kind() != resp.KindArray {
		return ""
	}
	elems, err := v.Elems()
	if err != nil || len(elems) == 0 {
		return ""
	}
	name, err := elems[0].Str()
	if err != nil {
		return ""
	}
	return strings.ToUpper(name)
}

// recordingReader keeps a copy of the bytes read through it until they are
// forwarded, so that a command parsed by a resp.Reader can be forwarded as
// the exact bytes the client sent.
type recordingReader struct {
	src     io.Reader
	pending []byte // read from src and not yet forwarded
	total   int64  // bytes read from src so far
	sent    int64  // bytes forwarded so far
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	r.pending = append(r.pending, p[:n]...)
	r.total += int64(n)
	return n, err
}

// advance forgets the first n pending bytes, once forwarded.
func (r *recordingReader) advance(n int) {
	r.pending = r.pending[:copy(r.pending, r.pending[n:])]
	r.sent += int64(n)
}
