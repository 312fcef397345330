package resp

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"unsafe"
)

// defaultWriterSize is the buffer size of NewWriter.
const defaultWriterSize = 16 << 10

// maxHeaderLen is room enough for a type byte, an int64 and CRLF.
const maxHeaderLen = 1 + 20 + 2

// Writer writes RESP to a stream through a buffer. Nothing is sent until
// Flush is called or the buffer fills, so a pipeline of many commands goes
// out in one write: call WriteCommand for each, then Flush once.
//
// After an error from the underlying io.Writer, every later call returns
// that error until Reset. An argument of an unsupported type is not such an
// error: it is reported by the call and nothing of that command is written.
// A Writer is not safe for concurrent use.
//
// A string at least as large as the buffer is not copied. When dst can
// write several slices in one call (a *net.TCPConn or *net.UnixConn, whose
// writes of net.Buffers are one writev, or any dst with a method
// WriteBuffers(*net.Buffers) (int64, error)), the Writer keeps such
// strings beside its buffer and sends everything with one such write at
// Flush; otherwise it sends the buffer and then the string.
type Writer struct {
	dst io.Writer
	// buf holds bytes not yet sent; its capacity is the buffer size.
	buf []byte
	err error
	// argBuf is reused for encoding ArgAppender arguments.
	argBuf []byte

	// vectored says dst takes net.Buffers in one write. vecs then holds,
	// in order, the slices waiting for Flush ahead of buf[vecOff:]: parts
	// of buf and the large strings lent between them; vecLen is their
	// total length.
	vectored   bool
	lendSlices bool // large []byte arguments are lent too (LendSlices)
	vecs       [][]byte
	vecOff     int
	vecLen     int
}

// buffersWriter is a destination that writes several slices in one call.
type buffersWriter interface {
	WriteBuffers(bufs *net.Buffers) (int64, error)
}

// maxVecs bounds the slices a Writer keeps before it flushes.
const maxVecs = 128

// NewWriter returns a Writer with a 16 KiB buffer.
func NewWriter(dst io.Writer) *Writer { return NewWriterSize(dst, defaultWriterSize) }

// NewWriterSize returns a Writer with a buffer of size bytes (at least 64).
func NewWriterSize(dst io.Writer, size int) *Writer {
	w := &Writer{buf: make([]byte, 0, max(size, 64))}
	w.setDst(dst)
	return w
}

func (w *Writer) setDst(dst io.Writer) {
	w.dst = dst
	switch dst.(type) {
	case buffersWriter, *net.TCPConn, *net.UnixConn:
		w.vectored = true
	default:
		w.vectored = false
	}
}

// Reset makes w write to dst, dropping anything buffered and any sticky
// error. The buffer is kept.
func (w *Writer) Reset(dst io.Writer) {
	w.setDst(dst)
	w.buf = w.buf[:0]
	w.dropVecs()
	w.err = nil
}

// dropVecs forgets the slices kept for the next Flush.
func (w *Writer) dropVecs() {
	clear(w.vecs)
	w.vecs = w.vecs[:0]
	w.vecOff, w.vecLen = 0, 0
}

// LendSlices sets whether large []byte arguments and bulk strings (as
// large as the buffer or larger) are lent like strings: kept until Flush
// and sent with the rest in one vector write, when dst takes one. The
// caller must then leave such slices unmodified until Flush returns. It is
// off by default: a []byte is sent before the call that takes it returns.
func (w *Writer) LendSlices(on bool) { w.lendSlices = on }

// Buffered returns the number of bytes written to w but not yet sent.
func (w *Writer) Buffered() int { return w.vecLen + len(w.buf) - w.vecOff }

// Available returns how many bytes fit in the buffer before it is sent.
func (w *Writer) Available() int { return cap(w.buf) - len(w.buf) }

// Flush sends the buffered bytes to the underlying io.Writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.vecs) > 0 {
		return w.flushVecs()
	}
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.dst.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}

// flushVecs sends the kept slices and the rest of the buffer in one write.
func (w *Writer) flushVecs() error {
	if len(w.buf) > w.vecOff {
		w.vecs = append(w.vecs, w.buf[w.vecOff:])
		w.vecLen += len(w.buf) - w.vecOff
	}
	want := int64(w.vecLen)
	bufs := net.Buffers(w.vecs)
	var n int64
	var err error
	if bw, ok := w.dst.(buffersWriter); ok {
		n, err = bw.WriteBuffers(&bufs)
	} else {
		n, err = bufs.WriteTo(w.dst)
	}
	if err == nil && n < want {
		err = io.ErrShortWrite
	}
	w.buf = w.buf[:0]
	w.dropVecs()
	if err != nil {
		w.err = err
	}
	return err
}

// lend keeps the large string s, to be sent after the bytes buffered so
// far, without copying it: strings do not change.
func (w *Writer) lend(s string) { w.lendBytes(unsafe.Slice(unsafe.StringData(s), len(s))) }

// lendBytes keeps p, to be sent after the bytes buffered so far.
func (w *Writer) lendBytes(p []byte) {
	if len(w.buf) > w.vecOff {
		w.vecs = append(w.vecs, w.buf[w.vecOff:len(w.buf):len(w.buf)])
		w.vecLen += len(w.buf) - w.vecOff
		w.vecOff = len(w.buf)
	}
	w.vecs = append(w.vecs, p)
	w.vecLen += len(p)
	if len(w.vecs) >= maxVecs {
		w.Flush()
	}
}

// reserve makes room for n bytes (n <= the buffer size), flushing if
// needed. It reports false after an error.
func (w *Writer) reserve(n int) bool {
	if cap(w.buf)-len(w.buf) < n {
		w.Flush()
	}
	return w.err == nil
}

// writeHeader writes a type byte, a number and CRLF.
func (w *Writer) writeHeader(typ byte, n int64) {
	if !w.reserve(maxHeaderLen) {
		return
	}
	w.buf = appendHeader(w.buf, typ, n)
}

// appendHeader appends a header line: typ, n in decimal, CRLF. The
// lengths of most commands' arguments take one or two digits, which it
// writes without strconv.
func appendHeader(b []byte, typ byte, n int64) []byte {
	switch {
	case n >= 0 && n < 10:
		return append(b, typ, byte('0'+n), '\r', '\n')
	case n >= 10 && n < 100:
		return append(b, typ, byte('0'+n/10), byte('0'+n%10), '\r', '\n')
	}
	b = append(b, typ)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// writeCRLF ends a line or a bulk body.
func (w *Writer) writeCRLF() {
	if w.reserve(2) {
		w.buf = append(w.buf, '\r', '\n')
	}
}

// writeString copies s into the buffer, sending it as it fills. A string
// at least as large as the buffer is lent instead: kept for Flush when dst
// takes several slices at once, else handed to the underlying io.Writer
// directly, as writeBytes does for a slice (io.Writer must not modify or
// keep what it is given, so the string's bytes are safe to lend).
func (w *Writer) writeString(s string) {
	if len(s) >= cap(w.buf) {
		if w.vectored {
			w.lend(s)
			return
		}
		w.writeBytes(unsafe.Slice(unsafe.StringData(s), len(s)))
		return
	}
	for len(s) > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.Flush()
			continue
		}
		n := min(len(s), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, s[:n]...)
		s = s[n:]
	}
}

// writeBytes is writeString for a []byte. A large slice is handed to the
// underlying io.Writer directly instead of being copied, or lent as a
// string is when the caller allowed it (LendSlices).
func (w *Writer) writeBytes(p []byte) {
	if len(p) >= cap(w.buf) {
		if w.vectored && w.lendSlices {
			w.lendBytes(p)
			return
		}
		if w.Flush() != nil {
			return
		}
		n, err := w.dst.Write(p)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		if err != nil {
			w.err = err
		}
		return
	}
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.Flush()
			continue
		}
		n := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:n]...)
		p = p[n:]
	}
}

// writeShortBulk writes a bulk string of at most 64 bytes, such as a
// formatted number. It copies p into the buffer and never passes p on, so
// callers may keep p on their stack.
func (w *Writer) writeShortBulk(p []byte) {
	if !w.reserve(maxHeaderLen + 64 + 2) {
		return
	}
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(p)), 10)
	w.buf = append(w.buf, '\r', '\n')
	w.buf = append(w.buf, p...)
	w.buf = append(w.buf, '\r', '\n')
}

// WriteArrayHeader writes "*n\r\n", the start of an array of n elements
// (-1 writes RESP2's null array). The caller writes the elements next.
func (w *Writer) WriteArrayHeader(n int) error {
	if w.err != nil {
		return w.err
	}
	w.writeHeader('*', int64(n))
	return w.err
}

// WriteEncoded writes p as it is: RESP already encoded, such as the array
// header and name that start every command of one kind, encoded once. w
// may keep p until the next Flush (a string cannot change).
func (w *Writer) WriteEncoded(p string) error {
	if w.err != nil {
		return w.err
	}
	if cap(w.buf)-len(w.buf) >= len(p) {
		w.buf = append(w.buf, p...)
		return nil
	}
	w.writeString(p)
	return w.err
}

// WriteBulkString writes s as a bulk string.
func (w *Writer) WriteBulkString(s string) error {
	if w.err != nil {
		return w.err
	}
	if cap(w.buf)-len(w.buf) >= maxHeaderLen+len(s)+2 {
		// All of it fits: one pass, nothing to flush or lend.
		w.buf = appendHeader(w.buf, '$', int64(len(s)))
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '\r', '\n')
		return nil
	}
	w.writeHeader('$', int64(len(s)))
	w.writeString(s)
	w.writeCRLF()
	return w.err
}

// WriteBulk writes b as a bulk string. w does not keep b after the call,
// unless LendSlices is on and b is large.
func (w *Writer) WriteBulk(b []byte) error {
	if w.err != nil {
		return w.err
	}
	w.writeHeader('$', int64(len(b)))
	w.writeBytes(b)
	w.writeCRLF()
	return w.err
}

// WriteBulkInt writes n in decimal as a bulk string, as commands take
// numbers.
func (w *Writer) WriteBulkInt(n int64) error {
	if w.err != nil {
		return w.err
	}
	var tmp [20]byte
	w.writeShortBulk(strconv.AppendInt(tmp[:0], n, 10))
	return w.err
}

// WriteValue writes v, which may be of any kind but KindInvalid, with its
// attributes, byte for byte as a Reader read it: for any valid input x,
// writing the Values read from x gives x back, except that streamed strings
// and aggregates are written in their plain form and attributes that came
// in a row are written as one. It is meant for fake servers and tests.
//
// v is checked first, and nothing is written if it cannot be: an invalid
// value anywhere in it, a simple string or error containing CR or LF, a
// double or big number whose text is not one, a verbatim string whose
// format is not 3 bytes, a map or attribute with a key lacking its value.
func (w *Writer) WriteValue(v Value) error {
	if w.err != nil {
		return w.err
	}
	if err := checkValue(v); err != nil {
		return err
	}
	w.writeValue(v)
	return w.err
}

func checkValue(v Value) error {
	if v.attr != nil {
		if v.attr.kind != KindAttribute {
			return fmt.Errorf("resp: cannot write attributes of kind %s", v.attr.kind)
		}
		if err := checkValue(*v.attr); err != nil {
			return err
		}
	}
	switch v.kind {
	case KindInvalid:
		return fmt.Errorf("resp: cannot write an invalid value")
	case KindSimpleString, KindError:
		if strings.ContainsAny(v.str, "\r\n") {
			return fmt.Errorf("resp: cannot write a %s containing CR or LF", v.kind)
		}
	case KindDouble:
		if !isDouble([]byte(v.str)) {
			return fmt.Errorf("resp: cannot write double %q", v.str)
		}
	case KindBigNumber:
		if !isBigNumber([]byte(v.str)) {
			return fmt.Errorf("resp: cannot write big number %q", v.str)
		}
	case KindVerbatim:
		if len(v.str) < 4 || v.str[3] != ':' {
			return fmt.Errorf("resp: cannot write verbatim string without its format")
		}
	case KindMap, KindAttribute:
		if len(v.elems)%2 != 0 {
			return fmt.Errorf("resp: cannot write a %s with %d keys and values", v.kind, len(v.elems))
		}
	}
	for _, e := range v.elems {
		if err := checkValue(e); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) writeValue(v Value) {
	if v.attr != nil {
		w.writeValue(*v.attr)
	}
	typ := v.kind.typeByte()
	switch v.kind {
	case KindSimpleString, KindError, KindDouble, KindBigNumber:
		if w.reserve(1) {
			w.buf = append(w.buf, typ)
		}
		w.writeString(v.str)
		w.writeCRLF()
	case KindInteger:
		w.writeHeader(':', v.num)
	case KindBulkString, KindBulkError, KindVerbatim:
		w.writeHeader(typ, int64(len(v.str)))
		w.writeString(v.str)
		w.writeCRLF()
	case KindNull:
		switch v.null {
		case nullBulk:
			w.writeHeader('$', -1)
		case nullArray:
			w.writeHeader('*', -1)
		default:
			if w.reserve(3) {
				w.buf = append(w.buf, '_', '\r', '\n')
			}
		}
	case KindBoolean:
		if w.reserve(4) {
			if v.num != 0 {
				w.buf = append(w.buf, "#t\r\n"...)
			} else {
				w.buf = append(w.buf, "#f\r\n"...)
			}
		}
	case KindMap, KindAttribute:
		w.writeHeader(typ, int64(len(v.elems)/2))
		for _, e := range v.elems {
			w.writeValue(e)
		}
	case KindArray, KindSet, KindPush:
		w.writeHeader(typ, int64(len(v.elems)))
		for _, e := range v.elems {
			w.writeValue(e)
		}
	}
}
