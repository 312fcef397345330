package resp

import (
	"math"
	"slices"
	"strconv"
)

// frame is one aggregate the parser has open. The parser keeps frames on an
// explicit stack instead of recursing, so nesting costs heap memory bounded
// by Limits.MaxDepth, never goroutine stack.
type frame struct {
	kind     Kind
	streamed bool
	// want is the number of elements expected (unused when streamed);
	// count is the number received so far.
	want, count int64
	// start is where this frame's elements begin in Reader.scratch.
	start int
	// header is the stream offset of the aggregate's header line.
	header int64
	// attr is the attribute that preceded this aggregate.
	attr *Value
	// pending is an attribute read inside this aggregate, waiting for the
	// element it annotates.
	pending *Value
}

// maxKeptScratch is the largest element scratch space kept between replies.
const maxKeptScratch = 4096

// ReadValue reads one whole reply. Attributes ('|') are not replies of their
// own: they are attached to the value that follows them (see
// Value.Attributes). Streamed strings and aggregates are returned as
// ordinary bulk strings and aggregates.
//
// Each string costs one allocation and each aggregate one slice of exactly
// its length (bulk strings over 512 KiB not already buffered grow in steps: see
// Limits). Common simple strings such as "OK" and "QUEUED" cost nothing.
func (r *Reader) ReadValue() (Value, error) {
	if err := r.begin(); err != nil {
		return Value{}, err
	}
	if v, ok := r.bufferedCommon(); ok {
		return v, nil
	}
	v, err := r.parse(false)
	if err != nil {
		return Value{}, r.fail(err)
	}
	return v, nil
}

// ReadValueBuf is ReadValue for a caller that is done with the reply's
// elements before it reads again: the elements of an aggregate reply are
// stored in buf, which is grown (reallocated) when too small, instead of in
// a slice of their own. It returns the buffer, possibly grown, for the
// caller to reuse. The returned Value's elements alias that buffer, so
// they must not be used once the buffer is written again; copies of the
// element Values themselves stay valid (each holds its own strings, and a
// nested aggregate's elements are allocated as by ReadValue). When the
// reply is not an aggregate, buf is returned unchanged.
func (r *Reader) ReadValueBuf(buf []Value) (Value, []Value, error) {
	if err := r.begin(); err != nil {
		return Value{}, buf, err
	}
	if v, ok := r.bufferedCommon(); ok {
		return v, buf, nil
	}
	r.top, r.useTop = buf, true
	v, err := r.parse(false)
	buf = r.top
	r.top, r.useTop = nil, false
	if err != nil {
		return Value{}, buf, r.fail(err)
	}
	return v, buf, nil
}

// bufferedCommon reads the next reply when it is one of the most common,
// whole in the buffer: a bulk string (GET's) or +OK (SET's). They
// need none of the parser's state. Anything else is left to the parser
// (ok false, nothing consumed).
func (r *Reader) bufferedCommon() (Value, bool) {
	if s, ok := r.bufferedBulk(); ok {
		return Value{kind: KindBulkString, str: s}, true
	}
	if b := r.buf[r.r:r.w]; len(b) >= 5 && string(b[:5]) == "+OK\r\n" {
		r.advance(5)
		return Value{kind: KindSimpleString, str: "OK"}, true
	}
	return Value{}, false
}

// Skip consumes one whole reply of any kind, attributes included, checking
// it as ReadValue would, without allocating for it.
func (r *Reader) Skip() error {
	if err := r.begin(); err != nil {
		return err
	}
	if _, err := r.parse(true); err != nil {
		return r.fail(err)
	}
	return nil
}

// resetParser drops the parser's state after an error, keeping its memory
// unless it grew large.
func (r *Reader) resetParser() {
	clear(r.frames)
	r.frames = r.frames[:0]
	clear(r.scratch)
	r.scratch = r.scratch[:0]
	if cap(r.scratch) > maxKeptScratch {
		r.scratch = nil
	}
}

// parse reads one reply. With discard set it builds no values (Skip).
func (r *Reader) parse(discard bool) (Value, error) {
	var topPending *Value // attribute before the reply itself
	// pendingSlot returns where an attribute read now waits for its value.
	pendingSlot := func() **Value {
		if n := len(r.frames); n > 0 {
			return &r.frames[n-1].pending
		}
		return &topPending
	}
	for {
		lineOff := r.off
		line, err := r.readLine()
		if err != nil {
			return Value{}, err
		}
		typ, payload := line[0], line[1:]
		var v Value
		switch typ {
		case '*', '%', '~', '>', '|':
			kind := kindOfByte(typ)
			if len(payload) == 1 && payload[0] == '?' && (typ == '*' || typ == '%' || typ == '~') {
				if err := r.push(frame{kind: kind, streamed: true, header: lineOff}, pendingSlot()); err != nil {
					return Value{}, err
				}
				continue
			}
			n, ok := parseLength(payload)
			if !ok {
				return Value{}, protocolError(lineOff, "invalid %s length %q", kind, clip(payload))
			}
			if n == -1 {
				if typ != '*' {
					return Value{}, protocolError(lineOff, "invalid %s length -1", kind)
				}
				v = Value{kind: KindNull, null: nullArray}
				break
			}
			if kind == KindMap || kind == KindAttribute {
				if n > r.limits.MaxAggregateLen/2 {
					return Value{}, limitError(lineOff, "%s of %d pairs exceeds the limit of %d elements", kind, n, r.limits.MaxAggregateLen)
				}
				n *= 2
			} else if n > r.limits.MaxAggregateLen {
				return Value{}, limitError(lineOff, "%s of %d elements exceeds the limit of %d", kind, n, r.limits.MaxAggregateLen)
			}
			if n == 0 {
				v = Value{kind: kind}
				break
			}
			if err := r.push(frame{kind: kind, want: n, header: lineOff}, pendingSlot()); err != nil {
				return Value{}, err
			}
			continue
		case '.':
			last := len(r.frames) - 1
			if len(payload) != 0 || last < 0 || !r.frames[last].streamed {
				return Value{}, badStart(line, lineOff)
			}
			f := &r.frames[last]
			if f.pending != nil {
				return Value{}, protocolError(lineOff, "attribute not followed by a value")
			}
			if f.kind == KindMap && f.count%2 != 0 {
				return Value{}, protocolError(lineOff, "streamed map ends after a key without its value")
			}
			v = r.pop(discard)
		default:
			v, err = r.readLeaf(typ, payload, lineOff, discard)
			if err != nil {
				return Value{}, err
			}
		}
		// Hand v to the aggregate it belongs to, closing every aggregate it
		// completes, until one still wants more or the reply is whole.
		for {
			if v.kind == KindAttribute {
				slot := pendingSlot()
				*slot = r.mergeAttributes(*slot, v, discard)
				break
			}
			slot := pendingSlot()
			if *slot != nil {
				v.attr = *slot
				*slot = nil
			}
			last := len(r.frames) - 1
			if last < 0 {
				if discard {
					return Value{}, nil
				}
				r.doneParsing()
				return v, nil
			}
			f := &r.frames[last]
			if !discard {
				r.scratch = append(r.scratch, v)
			}
			f.count++
			if f.streamed {
				if f.count > r.limits.MaxAggregateLen {
					return Value{}, limitError(f.header, "streamed %s exceeds the limit of %d elements", f.kind, r.limits.MaxAggregateLen)
				}
				break
			}
			if f.count < f.want {
				break
			}
			v = r.pop(discard)
		}
	}
}

// doneParsing trims the scratch space after a whole reply was read.
func (r *Reader) doneParsing() {
	if cap(r.scratch) > maxKeptScratch {
		r.scratch = nil
	}
}

// push opens an aggregate. Unless it is an attribute, the attribute waiting
// in slot (if any) belongs to it.
func (r *Reader) push(f frame, slot **Value) error {
	if len(r.frames) >= r.limits.MaxDepth {
		return limitError(f.header, "nesting deeper than %d", r.limits.MaxDepth)
	}
	if f.kind != KindAttribute {
		f.attr = *slot
		*slot = nil
	}
	f.start = len(r.scratch)
	r.frames = append(r.frames, f)
	return nil
}

// pop closes the innermost aggregate and returns it as a Value, its
// elements copied out of the scratch space into a slice of their own.
func (r *Reader) pop(discard bool) Value {
	last := len(r.frames) - 1
	f := r.frames[last]
	r.frames[last] = frame{}
	r.frames = r.frames[:last]
	v := Value{kind: f.kind, attr: f.attr}
	if !discard && len(r.scratch) > f.start {
		n := len(r.scratch) - f.start
		if last == 0 && r.useTop && f.kind != KindAttribute {
			// The outermost aggregate of ReadValueBuf: into the caller's
			// buffer. (An attribute before it is not the reply.)
			r.top = slices.Grow(r.top[:0], n)[:n]
			v.elems = r.top
		} else {
			v.elems = make([]Value, n)
		}
		copy(v.elems, r.scratch[f.start:])
		clear(r.scratch[f.start:])
		r.scratch = r.scratch[:f.start]
	}
	return v
}

// mergeAttributes returns the attribute to keep pending when attr arrives
// while old (possibly nil) is already waiting: two attributes in a row
// annotate the same value, so their pairs are joined.
func (r *Reader) mergeAttributes(old *Value, attr Value, discard bool) *Value {
	if discard {
		return &r.discarded
	}
	if old != nil {
		elems := make([]Value, 0, len(old.elems)+len(attr.elems))
		elems = append(append(elems, old.elems...), attr.elems...)
		attr.elems = nilIfEmpty(elems)
		attr.attr = nil
	}
	return &attr
}

// readLeaf reads the rest of a reply that is not an aggregate, given its
// first line.
func (r *Reader) readLeaf(typ byte, payload []byte, lineOff int64, discard bool) (Value, error) {
	switch typ {
	case '+':
		if discard {
			return Value{}, nil
		}
		return Value{kind: KindSimpleString, str: simpleString(payload)}, nil
	case '-':
		if discard {
			return Value{}, nil
		}
		return Value{kind: KindError, str: string(payload)}, nil
	case ':':
		n, ok := parseInteger(payload)
		if !ok {
			return Value{}, protocolError(lineOff, "invalid integer %q", clip(payload))
		}
		return Value{kind: KindInteger, num: n}, nil
	case '_':
		if len(payload) != 0 {
			return Value{}, protocolError(lineOff, "null with data %q", clip(payload))
		}
		return Value{kind: KindNull, null: nullUnderscore}, nil
	case '#':
		if len(payload) == 1 && (payload[0] == 't' || payload[0] == 'f') {
			return Boolean(payload[0] == 't'), nil
		}
		return Value{}, protocolError(lineOff, "invalid boolean %q", clip(payload))
	case ',':
		if !isDouble(payload) {
			return Value{}, protocolError(lineOff, "invalid double %q", clip(payload))
		}
		if discard {
			return Value{}, nil
		}
		s := string(payload)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !isRangeError(err) {
			return Value{}, protocolError(lineOff, "invalid double %q", clip(payload))
		}
		return Value{kind: KindDouble, str: s, num: int64(math.Float64bits(f))}, nil
	case '(':
		if !isBigNumber(payload) {
			return Value{}, protocolError(lineOff, "invalid big number %q", clip(payload))
		}
		if discard {
			return Value{}, nil
		}
		return Value{kind: KindBigNumber, str: string(payload)}, nil
	case '$', '!', '=':
		return r.readBulkLeaf(typ, payload, lineOff, discard)
	}
	return Value{}, badStart([]byte{typ}, lineOff)
}

// readBulkLeaf reads a bulk string, bulk error or verbatim string after its
// header line.
func (r *Reader) readBulkLeaf(typ byte, payload []byte, lineOff int64, discard bool) (Value, error) {
	kind := kindOfByte(typ)
	if typ == '$' && len(payload) == 1 && payload[0] == '?' {
		return r.readStreamedString(lineOff, discard)
	}
	n64, ok := parseLength(payload)
	if !ok || (n64 == -1 && typ != '$') {
		return Value{}, protocolError(lineOff, "invalid %s length %q", kind, clip(payload))
	}
	if n64 == -1 {
		return Value{kind: KindNull, null: nullBulk}, nil
	}
	if n64 > r.limits.MaxBulkLen {
		return Value{}, limitError(lineOff, "%s of %d bytes exceeds the limit of %d", kind, n64, r.limits.MaxBulkLen)
	}
	n := int(n64)
	if typ == '=' {
		if n < 4 {
			return Value{}, protocolError(lineOff, "verbatim string without its format")
		}
		if err := r.ensure(4); err != nil {
			return Value{}, err
		}
		if r.buf[r.r+3] != ':' {
			return Value{}, protocolError(lineOff, "verbatim string without its format")
		}
	}
	if discard {
		if err := r.skipBody(n); err != nil {
			return Value{}, err
		}
		return Value{}, r.readCRLF()
	}
	s, err := r.readBulkString(n)
	if err != nil {
		return Value{}, err
	}
	return Value{kind: kind, str: s}, nil
}

// readStreamedString reads the chunks of a "$?" string up to its ";0".
func (r *Reader) readStreamedString(header int64, discard bool) (Value, error) {
	body, err := r.readChunks(nil, header, discard)
	if err != nil || discard {
		return Value{}, err
	}
	return Value{kind: KindBulkString, str: bytesToString(body)}, nil
}

// readChunks appends to dst (or skips) the chunks of a streamed string
// whose "$?" header started at offset header, up to its ";0".
func (r *Reader) readChunks(dst []byte, header int64, discard bool) ([]byte, error) {
	var total int64
	for {
		lineOff := r.off
		line, err := r.readLine()
		if err != nil {
			return dst, err
		}
		if line[0] != ';' {
			return dst, protocolError(lineOff, "streamed string chunk expected, got %q", clip(line))
		}
		n64, ok := parseDigits(line[1:])
		if !ok {
			return dst, protocolError(lineOff, "invalid chunk length %q", clip(line[1:]))
		}
		if n64 == 0 {
			return dst, nil
		}
		if n64 > r.limits.MaxBulkLen-total {
			return dst, limitError(header, "streamed string exceeds the limit of %d bytes", r.limits.MaxBulkLen)
		}
		total += n64
		if discard {
			err = r.skipBody(int(n64))
		} else {
			dst, err = r.appendBody(dst, int(n64))
		}
		if err != nil {
			return dst, err
		}
		if err := r.readCRLF(); err != nil {
			return dst, err
		}
	}
}

// simpleString converts a simple string's text, without allocating for the
// replies Redis sends most.
func simpleString(b []byte) string {
	switch string(b) {
	case "OK":
		return "OK"
	case "QUEUED":
		return "QUEUED"
	case "PONG":
		return "PONG"
	}
	return string(b)
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// clip shortens bytes quoted in an error message.
func clip(b []byte) string {
	const max = 32
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
