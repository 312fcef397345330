package respooltest

import (
	"bytes"
	"math"
	"strconv"
)

// maxScanLine bounds a RESP header line the reply scanner accepts.
const maxScanLine = 64 << 10

// scanFrame is an aggregate the reply scanner is inside of.
type scanFrame struct {
	left     int64 // elements still to come (unused when streamed)
	streamed bool  // a streamed aggregate ("*?"), ended by "."
	attr     bool  // an attribute ("|"), which annotates the value after it
}

// replyStart is where a top-level value begins in a piece fed to the
// scanner.
type replyStart struct {
	at   int  // offset in the piece
	push bool // a RESP3 push ('>'), not a reply
}

// replyScanner follows a RESP2/RESP3 byte stream, fed in pieces of any
// size, and reports where each top-level value begins, without buffering
// values. After bytes that are not RESP it stops reporting (broken): the
// proxy then forwards the stream without matching replies.
type replyScanner struct {
	line      []byte      // the header line read so far, type byte first
	inLine    bool        // inside a header line
	body      int64       // bytes of a bulk body and its CRLF still to skip
	stack     []scanFrame // open aggregates, innermost last
	streamStr bool        // inside a streamed string: lines are ";n" chunk headers
	afterAttr bool        // a top-level attribute ended: its value is still to come
	broken    bool
}

// feed consumes p and appends to starts the top-level values that begin in
// it.
func (s *replyScanner) feed(p []byte, starts []replyStart) []replyStart {
	for i := 0; i < len(p) && !s.broken; {
		if s.body > 0 {
			n := min(int64(len(p)-i), s.body)
			s.body -= n
			i += int(n)
			if s.body == 0 && !s.streamStr {
				s.valueDone()
			}
			continue
		}
		if !s.inLine {
			if len(s.stack) == 0 && !s.streamStr {
				if s.afterAttr {
					s.afterAttr = false
				} else {
					starts = append(starts, replyStart{at: i, push: p[i] == '>'})
				}
			}
			s.inLine = true
			s.line = s.line[:0]
		}
		end := bytes.IndexByte(p[i:], '\n')
		if end < 0 {
			s.line = append(s.line, p[i:]...)
			i = len(p)
		} else {
			s.line = append(s.line, p[i:i+end]...)
			i += end + 1
			s.inLine = false
			s.header(bytes.TrimSuffix(s.line, []byte{'\r'}))
		}
		if len(s.line) > maxScanLine {
			s.broken = true
		}
	}
	return starts
}

// header handles one complete header line, without its CRLF.
func (s *replyScanner) header(l []byte) {
	if len(l) == 0 {
		s.broken = true
		return
	}
	kind, rest := l[0], string(l[1:])
	if s.streamStr {
		n, err := strconv.ParseInt(rest, 10, 64)
		switch {
		case kind != ';' || err != nil || n < 0 || n > math.MaxInt64-2:
			s.broken = true
		case n == 0:
			s.streamStr = false
			s.valueDone()
		default:
			s.body = n + 2
		}
		return
	}
	switch kind {
	case '+', '-', ':', ',', '#', '_', '(':
		s.valueDone()
	case '$', '!', '=':
		if kind == '$' && rest == "?" {
			s.streamStr = true
			return
		}
		n, err := strconv.ParseInt(rest, 10, 64)
		switch {
		case err != nil || n < -1 || n > math.MaxInt64-2:
			s.broken = true
		case n == -1:
			s.valueDone() // RESP2 null bulk string
		default:
			s.body = n + 2
		}
	case '*', '~', '>', '%', '|':
		if rest == "?" {
			s.stack = append(s.stack, scanFrame{streamed: true})
			return
		}
		n, err := strconv.ParseInt(rest, 10, 64)
		switch {
		case err != nil || n < -1 || n > math.MaxInt64/2:
			s.broken = true
			return
		case n == -1:
			s.valueDone() // RESP2 null array
			return
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		switch {
		case n > 0:
			s.stack = append(s.stack, scanFrame{left: n, attr: kind == '|'})
		case kind == '|':
			s.attrDone()
		default:
			s.valueDone()
		}
	case '.':
		if len(s.stack) == 0 || !s.stack[len(s.stack)-1].streamed {
			s.broken = true
			return
		}
		s.stack = s.stack[:len(s.stack)-1]
		s.valueDone()
	default:
		s.broken = true
	}
}

// valueDone records the end of a value: it counts in the aggregate around
// it, which may end in turn.
func (s *replyScanner) valueDone() {
	for len(s.stack) > 0 {
		top := &s.stack[len(s.stack)-1]
		if top.streamed {
			return
		}
		top.left--
		if top.left > 0 {
			return
		}
		attr := top.attr
		s.stack = s.stack[:len(s.stack)-1]
		if attr {
			s.attrDone()
			return
		}
	}
}

// attrDone records the end of an attribute: it is not a value of its own,
// the value it annotates follows at the same level.
func (s *replyScanner) attrDone() {
	if len(s.stack) == 0 {
		s.afterAttr = true
	}
}
