package resp

// The reads in this file serve a client that knows what reply to expect and
// wants it without building a Value. Each one first consumes and discards
// any attributes ('|') before the reply; use ReadValue to see them.
//
// When the reply is not of the kind a read wants, it returns a
// *WrongKindError and leaves the reply unread, so the caller can read it
// another way (typically ReadValue, to get the text of an error reply).
// Such errors are not sticky.

// PeekKind returns the kind of the next reply without consuming it:
// KindAttribute if attributes come first, and KindNull for all three forms
// of null ("_", "$-1", "*-1"). A byte that cannot start a reply gives a
// *ProtocolError.
func (r *Reader) PeekKind() (Kind, error) {
	if err := r.begin(); err != nil {
		return KindInvalid, err
	}
	if err := r.ensure(1); err != nil {
		return KindInvalid, r.fail(err)
	}
	typ := r.buf[r.r]
	kind := kindOfByte(typ)
	if kind != KindInvalid && typ != '$' && typ != '*' {
		return kind, nil
	}
	// Read the line to tell nulls apart, or to fail as ReadValue would.
	off := r.off
	line, err := r.readLine()
	if err != nil {
		return KindInvalid, r.fail(err)
	}
	if kind == KindInvalid {
		return KindInvalid, r.fail(badStart(line, off))
	}
	r.unreadLine(line)
	return lineKind(line), nil
}

// badStart returns the error for a line that cannot start a reply.
func badStart(line []byte, off int64) error {
	switch line[0] {
	case '.':
		return protocolError(off, "unexpected end marker %q", clip(line))
	case ';':
		return protocolError(off, "string chunk outside a streamed string")
	}
	return protocolError(off, "unknown type byte %q", line[0])
}

// unreadLine steps back over the line readLine just returned. It is valid
// only when no other read came in between.
func (r *Reader) unreadLine(line []byte) {
	n := len(line) + 2
	r.r -= n
	r.off -= int64(n)
}

// lineKind returns the kind of the reply a header line starts.
func lineKind(line []byte) Kind {
	if len(line) == 3 && (line[0] == '$' || line[0] == '*') && line[1] == '-' && line[2] == '1' {
		return KindNull
	}
	return kindOfByte(line[0])
}

// lowLevelResult passes wrong-kind results through without making them
// sticky and everything else through fail.
func (r *Reader) lowLevelResult(err error) error {
	if _, ok := err.(*WrongKindError); ok || err == ErrStreamed {
		return err
	}
	return r.fail(err)
}

// skipAttributes consumes any attributes before the next reply.
func (r *Reader) skipAttributes() error {
	for {
		if err := r.ensure(1); err != nil {
			return err
		}
		if r.buf[r.r] != '|' {
			return nil
		}
		lineOff := r.off
		line, err := r.readLine()
		if err != nil {
			return err
		}
		n, ok := parseLength(line[1:])
		if !ok || n < 0 {
			return protocolError(lineOff, "invalid attribute length %q", clip(line[1:]))
		}
		if n > r.limits.MaxAggregateLen/2 {
			return limitError(lineOff, "attribute of %d pairs exceeds the limit of %d elements", n, r.limits.MaxAggregateLen)
		}
		for range 2 * n {
			if _, err := r.parse(true); err != nil {
				return err
			}
		}
	}
}

// readHeader consumes attributes and returns the next reply's first line,
// with the offset where it starts.
func (r *Reader) readHeader() (line []byte, off int64, err error) {
	if err := r.skipAttributes(); err != nil {
		return nil, 0, err
	}
	off = r.off
	line, err = r.readLine()
	if err == nil && kindOfByte(line[0]) == KindInvalid {
		err = badStart(line, off)
	}
	return line, off, err
}

// ReadBulkAppend reads the next reply, which must be a bulk string (plain or
// streamed), a simple string, a verbatim string or a null, and appends its
// bytes to dst: for a verbatim string the text without its "xxx:" format.
// For a null it returns dst unchanged and null true. Any other kind gives a
// *WrongKindError with Want KindBulkString and is left unread.
//
// Nothing is allocated when dst has the capacity for the string. Otherwise
// dst grows with the bytes that arrive, as ReadValue's strings do.
func (r *Reader) ReadBulkAppend(dst []byte) (out []byte, null bool, err error) {
	if err := r.begin(); err != nil {
		return dst, false, err
	}
	out, null, err = r.readBulkAppend(dst)
	if err != nil {
		return dst, false, r.lowLevelResult(err)
	}
	return out, null, nil
}

func (r *Reader) readBulkAppend(dst []byte) ([]byte, bool, error) {
	h, err := r.readStringHeader()
	if err != nil || h.null {
		return dst, h.null, err
	}
	switch {
	case h.simple:
		return append(dst, h.text...), false, nil
	case h.streamed:
		dst, err = r.readChunks(dst, h.off, false)
		return dst, false, err
	}
	if dst, err = r.appendBody(dst, h.n); err != nil {
		return dst, false, err
	}
	return dst, false, r.readCRLF()
}

// ReadString is ReadBulkAppend returning a new string: it reads the same
// kinds, with the same errors, and allocates only the string (nothing for
// an empty string or the simple strings Redis sends most, such as OK).
func (r *Reader) ReadString() (s string, null bool, err error) {
	if err := r.begin(); err != nil {
		return "", false, err
	}
	s, null, err = r.readString()
	if err != nil {
		return "", false, r.lowLevelResult(err)
	}
	return s, null, nil
}

func (r *Reader) readString() (string, bool, error) {
	if s, ok := r.bufferedBulk(); ok {
		return s, false, nil
	}
	h, err := r.readStringHeader()
	if err != nil || h.null {
		return "", h.null, err
	}
	switch {
	case h.simple:
		return simpleString(h.text), false, nil
	case h.streamed:
		b, err := r.readChunks(nil, h.off, false)
		return bytesToString(b), false, err
	}
	s, err := r.readBulkString(h.n)
	return s, false, err
}

// bufferedBulk reads the next reply when it is a bulk string of fewer
// than 100,000 bytes, within the limits, all of it in the buffer: the
// usual reply to GET, read without the general path. Anything else is
// left to it (ok false, nothing consumed).
func (r *Reader) bufferedBulk() (s string, ok bool) {
	b := r.buf[r.r:r.w]
	if len(b) < 6 || b[0] != '$' || !isDigit(b[1]) { // "$0\r\n\r\n" at least
		return "", false
	}
	n, i := 0, 1
	for ; i <= 5 && isDigit(b[i]); i++ { // len(b) >= 6: b[5] exists
		n = n*10 + int(b[i]-'0')
	}
	// The digits end with CRLF, and only "0" itself starts with a zero.
	if (b[1] == '0' && i != 2) || len(b) < i+2 || b[i] != '\r' || b[i+1] != '\n' {
		return "", false
	}
	start := i + 2
	end := start + n
	if int64(n) > r.limits.MaxBulkLen || len(b) < end+2 || b[end] != '\r' || b[end+1] != '\n' {
		return "", false
	}
	s = string(b[start:end])
	r.advance(end + 2)
	return s, true
}

// stringHeader is the start of a reply that ReadBulkAppend and ReadString
// read: a null, a simple string (its text, which points into the buffer
// until the next read), a streamed string whose chunks follow, or a bulk
// or verbatim string of n bytes (a verbatim string's format consumed).
type stringHeader struct {
	null, simple, streamed bool
	text                   []byte
	n                      int
	off                    int64 // where the reply starts
}

// readStringHeader consumes the header of the next reply when it is of a
// kind ReadBulkAppend reads, and leaves it unread with a *WrongKindError
// otherwise.
func (r *Reader) readStringHeader() (stringHeader, error) {
	line, lineOff, err := r.readHeader()
	if err != nil {
		return stringHeader{}, err
	}
	h := stringHeader{off: lineOff}
	typ, payload := line[0], line[1:]
	switch typ {
	case '+':
		h.simple, h.text = true, payload
		return h, nil
	case '_':
		if len(payload) != 0 {
			return h, protocolError(lineOff, "null with data %q", clip(payload))
		}
		h.null = true
		return h, nil
	case '$', '=':
		if typ == '$' && len(payload) == 1 && payload[0] == '?' {
			h.streamed = true
			return h, nil
		}
		n64, ok := parseLength(payload)
		if !ok || (n64 == -1 && typ != '$') {
			return h, protocolError(lineOff, "invalid %s length %q", kindOfByte(typ), clip(payload))
		}
		if n64 == -1 {
			h.null = true
			return h, nil
		}
		if n64 > r.limits.MaxBulkLen {
			return h, limitError(lineOff, "%s of %d bytes exceeds the limit of %d", kindOfByte(typ), n64, r.limits.MaxBulkLen)
		}
		h.n = int(n64)
		if typ == '=' {
			if h.n < 4 {
				return h, protocolError(lineOff, "verbatim string without its format")
			}
			if err := r.ensure(4); err != nil {
				return h, err
			}
			if r.buf[r.r+3] != ':' {
				return h, protocolError(lineOff, "verbatim string without its format")
			}
			r.advance(4)
			h.n -= 4
		}
		return h, nil
	case '*':
		if lineKind(line) == KindNull {
			h.null = true
			return h, nil
		}
	}
	r.unreadLine(line)
	return h, &WrongKindError{Got: lineKind(line), Want: KindBulkString}
}

// ReadInteger reads the next reply, which must be an integer (':'). Any
// other kind gives a *WrongKindError and is left unread.
func (r *Reader) ReadInteger() (int64, error) {
	if err := r.begin(); err != nil {
		return 0, err
	}
	n, err := r.readInteger()
	if err != nil {
		return 0, r.lowLevelResult(err)
	}
	return n, nil
}

func (r *Reader) readInteger() (int64, error) {
	line, lineOff, err := r.readHeader()
	if err != nil {
		return 0, err
	}
	if line[0] != ':' {
		r.unreadLine(line)
		return 0, &WrongKindError{Got: lineKind(line), Want: KindInteger}
	}
	n, ok := parseInteger(line[1:])
	if !ok {
		return 0, protocolError(lineOff, "invalid integer %q", clip(line[1:]))
	}
	return n, nil
}

// ReadAggregateHeader consumes the header of the next reply, which must be
// an array, set, map or push, and returns its kind and its number of
// elements (of pairs, for a map). The elements are left to read one by one.
//
// Every null ("_", "*-1" and also "$-1") is consumed and reported as
// KindNull with n = -1. A streamed aggregate gives ErrStreamed and any other
// kind a *WrongKindError (Want KindArray); both are left unread.
func (r *Reader) ReadAggregateHeader() (k Kind, n int, err error) {
	if err := r.begin(); err != nil {
		return KindInvalid, 0, err
	}
	k, n, err = r.readAggregateHeader()
	if err != nil {
		return KindInvalid, 0, r.lowLevelResult(err)
	}
	return k, n, nil
}

func (r *Reader) readAggregateHeader() (Kind, int, error) {
	line, lineOff, err := r.readHeader()
	if err != nil {
		return KindInvalid, 0, err
	}
	kind := lineKind(line)
	payload := line[1:]
	switch kind {
	case KindNull:
		if line[0] == '_' && len(payload) != 0 {
			return KindInvalid, 0, protocolError(lineOff, "null with data %q", clip(payload))
		}
		return KindNull, -1, nil
	case KindArray, KindSet, KindMap, KindPush:
		if len(payload) == 1 && payload[0] == '?' && kind != KindPush {
			r.unreadLine(line)
			return KindInvalid, 0, ErrStreamed
		}
		n, ok := parseDigits(payload)
		if !ok {
			return KindInvalid, 0, protocolError(lineOff, "invalid %s length %q", kind, clip(payload))
		}
		limit := r.limits.MaxAggregateLen
		if kind == KindMap {
			limit /= 2
		}
		if n > limit {
			return KindInvalid, 0, limitError(lineOff, "%s of %d exceeds the limit of %d elements", kind, n, r.limits.MaxAggregateLen)
		}
		return kind, int(n), nil
	}
	r.unreadLine(line)
	return KindInvalid, 0, &WrongKindError{Got: kind, Want: KindArray}
}
