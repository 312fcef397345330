package respooltest

import (
	"errors"
	"io"
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

	// The fields below are guarded by p.mu.
	cutBudget int64 // server->client bytes still forwarded before a cut; -1 when not armed
	cutting   bool  // a CutOnCommand command went out: drop replies until the target hangs up
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
	for {
		n, err := pc.server.Read(buf)
		if n > 0 {
			readAt := time.Now()
			p.mu.Lock()
			dropping := pc.cutting
			p.mu.Unlock()
			// Bytes read once the cut command went out may hold its
			// reply: they never reach the client.
			if !dropping && !pc.forwardReply(buf[:n], readAt) {
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

// forwardReply writes one server->client chunk after any stall and delay,
// applying CutAfter. It reports whether the pair may go on.
func (pc *proxyConn) forwardReply(chunk []byte, readAt time.Time) bool {
	if !pc.waitStall(ServerToClient) || !pc.waitDelay(readAt) {
		return false
	}
	p := pc.p
	p.mu.Lock()
	cut := false
	if pc.cutBudget >= 0 {
		if int64(len(chunk)) >= pc.cutBudget {
			chunk = chunk[:pc.cutBudget]
			pc.cutBudget = -1
			p.cuts++
			cut = true
		} else {
			pc.cutBudget -= int64(len(chunk))
		}
	}
	p.mu.Unlock()
	if len(chunk) > 0 {
		if _, err := pc.client.Write(chunk); err != nil {
			return false
		}
	}
	return !cut
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

// waitDelay waits until the proxy's Delay has passed since readAt, seeing
// changes of Delay while it waits. It reports false when the pair was
// closed meanwhile.
func (pc *proxyConn) waitDelay(readAt time.Time) bool {
	p := pc.p
	for {
		p.mu.Lock()
		delay, changed := p.delay, p.delayChanged
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

// sendCommand forwards one command after any client->server stall. It
// reports whether the write succeeded and whether the command is the one
// CutOnCommand waits for.
func (pc *proxyConn) sendCommand(name string, raw []byte) (ok, cut bool) {
	if !pc.waitStall(ClientToServer) {
		return false, false
	}
	p := pc.p
	p.mu.Lock()
	if name != "" {
		p.commands[name]++
		if name == p.cutCommand {
			pc.cutting = true
			cut = true
		}
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
	if len(rec.pending) > 0 {
		if !pc.waitStall(ClientToServer) {
			return
		}
		if _, err := pc.server.Write(rec.pending); err != nil {
			return
		}
		rec.advance(len(rec.pending))
	}
	buf := make([]byte, proxyChunkSize)
	for {
		n, err := pc.client.Read(buf)
		if n > 0 {
			if !pc.waitStall(ClientToServer) {
				return
			}
			if _, werr := pc.server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
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
