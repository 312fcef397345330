package resp

import (
	"bytes"
	"fmt"
	"io"
	"unsafe"
)

// defaultReaderSize is the buffer size of NewReader. Lines longer than the
// buffer (up to Limits.MaxLineLen) make it grow; bulk strings never do.
const defaultReaderSize = 16 << 10

// minReaderSize is the smallest buffer NewReaderSize uses.
const minReaderSize = 64

// bodyChunk is how much memory a bulk string gets before its bytes arrive:
// a body that is not already buffered starts with at most this much and
// grows geometrically (each step at most doubling what has arrived) up to the
// length in its header. Bodies up to this size, the common case by far, get
// exactly one allocation of their own length; a header claiming more costs
// at most this much until the bytes arrive.
const bodyChunk = 512 << 10

// maxEmptyReads is how many times in a row src may return (0, nil) before
// the Reader gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// errTruncated is returned, wrapped around io.ErrUnexpectedEOF, when the
// stream ends inside a reply.
var errTruncated = fmt.Errorf("resp: stream ended inside a reply: %w", io.ErrUnexpectedEOF)

// Reader reads RESP2 and RESP3 replies from a byte stream through a buffer
// of its own. It is not safe for concurrent use.
//
// Errors follow one contract:
//   - io.EOF, as is, when the stream ends cleanly between replies;
//   - an error wrapping io.ErrUnexpectedEOF when it ends inside a reply;
//   - a *ProtocolError for a malformed stream or a reply beyond the Limits
//     (errors.Is(err, ErrLimit) tells the latter);
//   - the source's own error otherwise (a timeout, a closed connection).
//
// Once part of a reply has been consumed, any error is sticky: the Reader
// returns it from every later call until Reset, because the stream position
// is lost. An error from the source before any byte of the next reply was
// consumed (say, a read deadline while waiting for a pub/sub message) is not
// sticky: bytes already buffered are kept and the next call carries on.
// Server error replies are not Go errors at this layer: they are Values of
// KindError or KindBulkError.
type Reader struct {
	src io.Reader
	// buf[r:w] holds bytes read from src and not yet consumed.
	buf  []byte
	r, w int
	// off is the stream offset of buf[r].
	off int64
	// srcErr is an error src returned along with data, kept for later.
	srcErr error
	// err is the sticky error, if any.
	err error
	// replyStart is off when the current call began.
	replyStart int64

	limits Limits

	// frames and scratch are the parser's stack and the elements of the
	// aggregates it has open; both are reused from call to call.
	frames  []frame
	scratch []Value
	// discarded stands for an attribute when Skip reads one.
	discarded Value
	// top, during ReadValueBuf, is the caller's buffer for the elements
	// of the outermost aggregate; useTop says the call is one.
	top    []Value
	useTop bool
}

// NewReader returns a Reader with a 16 KiB buffer and DefaultLimits.
func NewReader(src io.Reader) *Reader {
	return NewReaderSize(src, defaultReaderSize)
}

// NewReaderSize returns a Reader whose buffer starts at size bytes (at least
// 64), with DefaultLimits. The buffer grows only to hold a line longer than
// itself, up to Limits.MaxLineLen.
func NewReaderSize(src io.Reader, size int) *Reader {
	return &Reader{
		src:    src,
		buf:    make([]byte, max(size, minReaderSize)),
		limits: DefaultLimits(),
	}
}

// SetLimits replaces the Reader's limits. Zero or negative fields mean their
// defaults (see Limits).
func (r *Reader) SetLimits(l Limits) { r.limits = l.normalized() }

// Limits returns the limits in force, defaults filled in.
func (r *Reader) Limits() Limits { return r.limits }

// Reset makes r read from src as if new: buffered bytes are dropped, the
// stream offset restarts at 0 and any sticky error is cleared. The buffer
// and the limits are kept.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.r, r.w, r.off = 0, 0, 0
	r.srcErr, r.err = nil, nil
	r.resetParser()
}

// Offset returns the stream offset of the next byte to consume: the
// number of bytes consumed since NewReader or Reset.
func (r *Reader) Offset() int64 { return r.off }

// Buffered returns the number of bytes read from the source and not yet
// consumed.
func (r *Reader) Buffered() int { return r.w - r.r }

// Err returns the sticky error, which every later call returns until
// Reset because part of a reply was consumed before it (see Reader), or
// nil while the Reader can carry on: after no error, or after one from the
// source that came before any byte of the next reply was consumed (a read
// deadline between replies). A connection that timed out waiting for a
// reply can still read that reply later exactly when Err is nil.
func (r *Reader) Err() error { return r.err }

// begin starts a public call: it reports the sticky error, if any, and
// notes where the reply starts.
func (r *Reader) begin() error {
	if r.err != nil {
		return r.err
	}
	r.replyStart = r.off
	return nil
}

// fail decides what a public call returns for err, and whether it sticks.
func (r *Reader) fail(err error) error {
	if _, ok := err.(*ProtocolError); ok {
		r.err = err
		r.resetParser()
		return err
	}
	started := r.off > r.replyStart
	if err == io.EOF {
		if !started && r.r == r.w {
			return io.EOF
		}
		err = errTruncated
	}
	if started || err == errTruncated {
		r.err = err
		r.resetParser()
	}
	return err
}

// protocolError returns a *ProtocolError at offset off.
func protocolError(off int64, format string, args ...any) error {
	return &ProtocolError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// limitError returns a *ProtocolError matching ErrLimit.
func limitError(off int64, format string, args ...any) error {
	return &ProtocolError{Offset: off, Msg: fmt.Sprintf(format, args...), Err: ErrLimit}
}

func (r *Reader) advance(n int) {
	r.r += n
	r.off += int64(n)
}

// fill reads more bytes into the buffer, first moving the unread ones to
// its front if there is no room after them (or nothing to move). It returns
// an error only when it read nothing.
func (r *Reader) fill() error {
	if r.srcErr != nil {
		err := r.srcErr
		r.srcErr = nil
		return err
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	} else if r.w == len(r.buf) && r.r > 0 {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return fmt.Errorf("resp: source returned an invalid count %d", n)
		}
		r.w += n
		if n > 0 {
			r.srcErr = err
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// ensure makes at least n bytes (n <= len(r.buf)) available in buf[r:w].
func (r *Reader) ensure(n int) error {
	for r.w-r.r < n {
		if err := r.fill(); err != nil {
			return err
		}
	}
	return nil
}

// readLine consumes one line and returns it without its CRLF; line[0] is
// the type byte. The slice points into the buffer and is valid until the
// next read. Only the first MaxLineLen+3 bytes of a line are ever looked at,
// so the error for a malformed or long line does not depend on how the
// stream was split into reads.
func (r *Reader) readLine() ([]byte, error) {
	window := r.limits.MaxLineLen + 3 // type byte, payload, CR, LF
	scanned := 0                      // bytes after r.r known to hold no CR or LF
	for {
		end := min(r.w-r.r, window)
		if scanned < end {
			seg := r.buf[r.r+scanned : r.r+end]
			cr := bytes.IndexByte(seg, '\r')
			beforeCR := seg
			if cr >= 0 {
				beforeCR = seg[:cr]
			}
			if lf := bytes.IndexByte(beforeCR, '\n'); lf >= 0 {
				return nil, protocolError(r.off+int64(scanned+lf), "line feed without carriage return")
			}
			if cr < 0 {
				scanned = end
			} else {
				pos := scanned + cr // of the CR, from r.r
				if pos > r.limits.MaxLineLen+1 {
					return nil, limitError(r.off, "line longer than %d bytes", r.limits.MaxLineLen)
				}
				if pos+1 < r.w-r.r {
					if r.buf[r.r+pos+1] != '\n' {
						return nil, protocolError(r.off+int64(pos), "carriage return without line feed")
					}
					if pos == 0 {
						return nil, protocolError(r.off, "empty line where a reply was expected")
					}
					line := r.buf[r.r : r.r+pos]
					r.advance(pos + 2)
					return line, nil
				}
				scanned = pos // wait for the byte after the CR
			}
		}
		if scanned >= window {
			return nil, limitError(r.off, "line longer than %d bytes", r.limits.MaxLineLen)
		}
		if r.w-r.r == len(r.buf) {
			r.growBuffer(min(2*len(r.buf), window))
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// growBuffer gives the buffer size bytes, keeping the unread ones.
func (r *Reader) growBuffer(size int) {
	nb := make([]byte, size)
	r.w = copy(nb, r.buf[r.r:r.w])
	r.r = 0
	r.buf = nb
}

// readCRLF consumes the CRLF that ends a bulk body.
func (r *Reader) readCRLF() error {
	if err := r.ensure(2); err != nil {
		return err
	}
	if r.buf[r.r] != '\r' || r.buf[r.r+1] != '\n' {
		return protocolError(r.off, "bulk data not followed by CRLF")
	}
	r.advance(2)
	return nil
}

// readBulkString reads a body of n bytes and its CRLF into a new string.
// A body already in the buffer costs exactly one allocation of n bytes.
func (r *Reader) readBulkString(n int) (string, error) {
	if r.w-r.r >= n+2 {
		if r.buf[r.r+n] != '\r' || r.buf[r.r+n+1] != '\n' {
			return "", protocolError(r.off+int64(n), "bulk data not followed by CRLF")
		}
		s := string(r.buf[r.r : r.r+n])
		r.advance(n + 2)
		return s, nil
	}
	b, err := r.appendBody(nil, n)
	if err != nil {
		return "", err
	}
	if err := r.readCRLF(); err != nil {
		return "", err
	}
	return bytesToString(b), nil
}

// bytesToString returns b as a string without copying. b must never be
// used again; readBulkString and the streamed-string reader own theirs.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendBody appends the next n bytes of the stream to dst. Memory grows
// with the bytes that arrive (see bodyChunk), never straight to n. Large
// bodies are read from the source directly into dst, bypassing the buffer.
func (r *Reader) appendBody(dst []byte, n int) ([]byte, error) {
	for n > 0 {
		if r.r == r.w {
			if n >= len(r.buf) {
				dst = growBody(dst, n)
				room := dst[len(dst):min(cap(dst), len(dst)+n)]
				m, err := r.readDirect(room)
				dst = dst[:len(dst)+m]
				r.off += int64(m)
				n -= m
				if err != nil {
					return dst, err
				}
				continue
			}
			if err := r.fill(); err != nil {
				return dst, err
			}
		}
		k := min(r.w-r.r, n)
		for k > 0 {
			dst = growBody(dst, n)
			c := copy(dst[len(dst):min(cap(dst), len(dst)+k)], r.buf[r.r:r.r+k])
			dst = dst[:len(dst)+c]
			r.advance(c)
			k -= c
			n -= c
		}
	}
	return dst, nil
}

// growBody makes sure dst has spare capacity for more of a body of which
// remaining bytes are still to come.
func growBody(dst []byte, remaining int) []byte {
	if cap(dst) > len(dst) {
		return dst
	}
	add := min(remaining, max(len(dst), bodyChunk))
	nb := make([]byte, len(dst), len(dst)+add)
	copy(nb, dst)
	return nb
}

// readDirect reads from the source into p, bypassing the buffer (which
// must be empty). It returns an error only when it read nothing.
func (r *Reader) readDirect(p []byte) (int, error) {
	if r.srcErr != nil {
		err := r.srcErr
		r.srcErr = nil
		return 0, err
	}
	for range maxEmptyReads {
		n, err := r.src.Read(p)
		if n < 0 || n > len(p) {
			return 0, fmt.Errorf("resp: source returned an invalid count %d", n)
		}
		if n > 0 {
			r.srcErr = err
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, io.ErrNoProgress
}

// skipBody consumes the next n bytes of the stream without keeping them.
func (r *Reader) skipBody(n int) error {
	for n > 0 {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				return err
			}
		}
		k := min(r.w-r.r, n)
		r.advance(k)
		n -= k
	}
	return nil
}
