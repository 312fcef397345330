package resp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func TestEOF(t *testing.T) {
	// Nothing at all: io.EOF as is, and again.
	r := NewReader(strings.NewReader(""))
	for range 2 {
		if _, err := r.ReadValue(); err != io.EOF {
			t.Fatalf("empty stream: %v, want io.EOF", err)
		}
	}
	// After whole replies: io.EOF.
	r = NewReader(strings.NewReader("+OK\r\n:1\r\n"))
	r.ReadValue()
	r.ReadValue()
	if _, err := r.ReadValue(); err != io.EOF {
		t.Fatalf("after replies: %v, want io.EOF", err)
	}
	// Inside a reply, wherever it is cut: io.ErrUnexpectedEOF, sticky.
	full := "*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n,1.5\r\n$?\r\n;2\r\nab\r\n;0\r\n"
	for cut := 1; cut < len(full); cut++ {
		for _, read := range []func(*Reader) error{
			func(r *Reader) error { _, err := r.ReadValue(); return err },
			(*Reader).Skip,
		} {
			r := NewReader(strings.NewReader(full[:cut]))
			err := read(r)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
			}
			var pe *ProtocolError
			if errors.As(err, &pe) {
				t.Fatalf("cut at %d: %v is a ProtocolError", cut, err)
			}
			if err2 := read(r); err2 != err {
				t.Fatalf("cut at %d: second call %v, want sticky %v", cut, err2, err)
			}
		}
	}
	// The low-level reads follow the same rules.
	for _, read := range []func(*Reader) error{
		func(r *Reader) error { _, err := r.PeekKind(); return err },
		func(r *Reader) error { _, _, err := r.ReadBulkAppend(nil); return err },
		func(r *Reader) error { _, _, err := r.ReadString(); return err },
		func(r *Reader) error { _, err := r.ReadInteger(); return err },
		func(r *Reader) error { _, _, err := r.ReadAggregateHeader(); return err },
	} {
		if err := read(NewReader(strings.NewReader(""))); err != io.EOF {
			t.Fatalf("empty: %v, want io.EOF", err)
		}
		if err := read(NewReader(strings.NewReader("$"))); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut: %v, want io.ErrUnexpectedEOF", err)
		}
	}
}

// stallingReader returns errStall once at the given offset, as a read
// deadline would, then carries on.
type stallingReader struct {
	src     io.Reader
	at, pos int
	stalled bool
}

var errStall = os.ErrDeadlineExceeded

func (s *stallingReader) Read(p []byte) (int, error) {
	if !s.stalled && s.pos == s.at {
		s.stalled = true
		return 0, errStall
	}
	if !s.stalled && s.pos+len(p) > s.at {
		p = p[:s.at-s.pos]
	}
	n, err := s.src.Read(p)
	s.pos += n
	return n, err
}

// TestTimeoutBetweenReplies: an error from the source before any byte of a
// reply was consumed is returned as is and is not sticky, even with part of
// the reply's first line buffered; once part of a reply was consumed it is
// sticky.
func TestTimeoutBetweenReplies(t *testing.T) {
	const wire = "+OK\r\n*2\r\n:1\r\n:2\r\n"
	for at := 0; at <= len(wire); at++ {
		r := NewReaderSize(&stallingReader{src: strings.NewReader(wire), at: at}, minReaderSize)
		var vals []Value
		var errs []error
		for len(errs) < 3 {
			v, err := r.ReadValue()
			if err != nil {
				errs = append(errs, err)
				if err == io.EOF {
					break
				}
				// Err tells whether the Reader can carry on.
				if at >= 9 && at < len(wire) {
					if r.Err() != err {
						t.Fatalf("stall at %d: Err() = %v after %v, want the sticky error", at, r.Err(), err)
					}
				} else if r.Err() != nil {
					t.Fatalf("stall at %d: Err() = %v between replies, want nil", at, r.Err())
				}
				continue
			}
			vals = append(vals, v)
		}
		// The array's header ends at offset 9: a stall after it is inside a
		// reply; before it, at most part of a first line is buffered.
		sticky := at >= 9 && at < len(wire)
		if sticky {
			if len(errs) < 2 || !errors.Is(errs[0], errStall) || errs[1] != errs[0] {
				t.Fatalf("stall at %d: errors %v, want a sticky deadline error", at, errs)
			}
			continue
		}
		if at == len(wire) {
			if len(vals) != 2 || len(errs) != 2 || !errors.Is(errs[0], errStall) || errs[1] != io.EOF {
				t.Fatalf("stall at end: %v %v", vals, errs)
			}
			continue
		}
		if len(vals) != 2 || !errors.Is(errs[0], errStall) || errs[len(errs)-1] != io.EOF {
			t.Fatalf("stall at %d: values %v, errors %v; want both replies around one deadline error", at, vals, errs)
		}
	}
}

func TestReset(t *testing.T) {
	r := NewReader(strings.NewReader("?\r\n"))
	r.SetLimits(Limits{MaxLineLen: 10})
	if _, err := r.ReadValue(); err == nil {
		t.Fatal("no error")
	}
	r.Reset(strings.NewReader("+0123456789\r\n+01234567890\r\n"))
	if v, err := r.ReadValue(); err != nil || v.Text() != "0123456789" {
		t.Fatalf("after Reset: %v %v", v, err)
	}
	_, err := r.ReadValue()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Offset != 13 || !errors.Is(err, ErrLimit) {
		t.Fatalf("limits kept and offset counted from Reset: %v", err)
	}
}

func TestBuffered(t *testing.T) {
	r := NewReader(strings.NewReader("+a\r\n+b\r\n"))
	r.ReadValue()
	if r.Buffered() != 4 {
		t.Fatalf("Buffered = %d, want 4", r.Buffered())
	}
}

func TestSetLimitsDefaults(t *testing.T) {
	r := NewReader(nil)
	r.SetLimits(Limits{MaxBulkLen: -1, MaxDepth: 5000})
	got := r.Limits()
	want := DefaultLimits()
	want.MaxDepth = MaxDepthLimit
	if got != want {
		t.Fatalf("Limits() = %+v, want %+v", got, want)
	}
}

func TestPeekKind(t *testing.T) {
	for _, tc := range []struct {
		wire string
		kind Kind
	}{
		{"+OK\r\n", KindSimpleString}, {"-ERR\r\n", KindError}, {":1\r\n", KindInteger},
		{"$1\r\na\r\n", KindBulkString}, {"$?\r\n;0\r\n", KindBulkString}, {"$-1\r\n", KindNull},
		{"*1\r\n:1\r\n", KindArray}, {"*-1\r\n", KindNull}, {"*?\r\n.\r\n", KindArray}, {"_\r\n", KindNull},
		{"#t\r\n", KindBoolean}, {",1\r\n", KindDouble}, {"(1\r\n", KindBigNumber}, {"!1\r\na\r\n", KindBulkError},
		{"=5\r\ntxt:a\r\n", KindVerbatim}, {"%0\r\n", KindMap}, {"~0\r\n", KindSet}, {">0\r\n", KindPush},
		{"|0\r\n:1\r\n", KindAttribute},
	} {
		r := NewReader(iotest.OneByteReader(strings.NewReader(tc.wire)))
		for range 2 { // peeking does not consume
			if k, err := r.PeekKind(); err != nil || k != tc.kind {
				t.Fatalf("PeekKind(%q) = %v, %v; want %v", tc.wire, k, err, tc.kind)
			}
		}
		if err := r.Skip(); err != nil {
			t.Fatalf("%q: Skip after PeekKind: %v", tc.wire, err)
		}
		if _, err := r.PeekKind(); err != io.EOF {
			t.Fatalf("%q: %v, want io.EOF", tc.wire, err)
		}
	}
	for _, wire := range []string{".\r\n", ";1\r\n", "x\r\n", "\r\n"} {
		_, err := NewReader(strings.NewReader(wire)).PeekKind()
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("PeekKind(%q): %v, want a ProtocolError", wire, err)
		}
	}
}

// stringReads are the two low-level reads of a string reply, each
// returning the string it read with the prefix ReadBulkAppend appends to.
var stringReads = []struct {
	name string
	read func(r *Reader) (string, bool, error)
}{
	{"ReadBulkAppend", func(r *Reader) (string, bool, error) {
		out, null, err := r.ReadBulkAppend([]byte("prefix:"))
		return string(out), null, err
	}},
	{"ReadString", func(r *Reader) (string, bool, error) {
		s, null, err := r.ReadString()
		return "prefix:" + s, null, err
	}},
}

func TestReadBulkAppend(t *testing.T) {
	for _, sr := range stringReads {
		t.Run(sr.name, func(t *testing.T) { testStringRead(t, sr.read) })
	}
}

func testStringRead(t *testing.T, read func(r *Reader) (string, bool, error)) {
	for _, tc := range []struct {
		wire string
		want string
		null bool
	}{
		{"$5\r\nhello\r\n", "hello", false},
		{"$0\r\n\r\n", "", false},
		{"+OK\r\n", "OK", false},
		{"+fine\r\n", "fine", false},
		{"=9\r\ntxt:hello\r\n", "hello", false},
		{"$?\r\n;2\r\nhe\r\n;3\r\nllo\r\n;0\r\n", "hello", false},
		{"$-1\r\n", "", true},
		{"_\r\n", "", true},
		{"*-1\r\n", "", true},
		{"|1\r\n+a\r\n+b\r\n$5\r\nhello\r\n", "hello", false},
	} {
		r := NewReader(iotest.OneByteReader(strings.NewReader(tc.wire + ":1\r\n")))
		out, null, err := read(r)
		if err != nil || null != tc.null || (!null && out != "prefix:"+tc.want) || (null && out != "prefix:") {
			t.Fatalf("read(%q) = %q, %v, %v", tc.wire, out, null, err)
		}
		if n, err := r.ReadInteger(); n != 1 || err != nil {
			t.Fatalf("%q: next reply %d, %v", tc.wire, n, err)
		}
	}
	// Wrong kinds are left unread and the error is not sticky.
	for _, tc := range []struct {
		wire string
		got  Kind
	}{
		{":1\r\n", KindInteger}, {"-ERR x\r\n", KindError}, {"*1\r\n:1\r\n", KindArray},
		{"!1\r\nx\r\n", KindBulkError}, {",1.5\r\n", KindDouble}, {"%0\r\n", KindMap},
		{">2\r\n+a\r\n+b\r\n", KindPush},
	} {
		r := NewReader(strings.NewReader(tc.wire))
		_, _, err := read(r)
		var wk *WrongKindError
		if !errors.As(err, &wk) || wk.Got != tc.got || wk.Want != KindBulkString {
			t.Fatalf("read(%q): %v", tc.wire, err)
		}
		if err.Error() != "resp: got "+tc.got.String()+", want bulk string" {
			t.Fatalf("error text %q", err)
		}
		if _, err := r.ReadValue(); err != nil {
			t.Fatalf("%q: ReadValue after a wrong kind: %v", tc.wire, err)
		}
	}
	// Hostile input through the low-level path.
	for _, wire := range []string{"$3\r\nabcde", "=3\r\nabc\r\n", "=5\r\nabcde\r\n", "$-2\r\n", "_x\r\n", "$?\r\n:1\r\n"} {
		_, _, err := read(NewReader(strings.NewReader(wire)))
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("read(%q): %v, want a ProtocolError", wire, err)
		}
	}
}

func TestReadStringAllocs(t *testing.T) {
	wire := strings.Repeat("$10\r\n0123456789\r\n+OK\r\n", 1000)
	src := strings.NewReader(wire)
	r := NewReader(src)
	allocs := testing.AllocsPerRun(500, func() {
		if r.Buffered() == 0 && src.Len() == 0 {
			src.Reset(wire)
		}
		for _, want := range []string{"0123456789", "OK"} {
			if s, _, err := r.ReadString(); s != want || err != nil {
				t.Fatalf("ReadString = %q, %v; want %q", s, err, want)
			}
		}
	})
	if allocs != 1 {
		t.Fatalf("ReadString of a bulk string and OK allocated %v times, want 1 (the bulk string)", allocs)
	}
}

func TestReadBulkAppendNoAlloc(t *testing.T) {
	wire := strings.Repeat("$10\r\n0123456789\r\n", 1000)
	src := strings.NewReader(wire)
	r := NewReader(src)
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(500, func() {
		if r.Buffered() == 0 && src.Len() == 0 {
			src.Reset(wire)
		}
		var err error
		buf, _, err = r.ReadBulkAppend(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadBulkAppend allocated %v times per call", allocs)
	}
	// A bulk larger than the buffer is read straight into dst.
	big := strings.Repeat("x", 100_000)
	r = NewReader(strings.NewReader("$100000\r\n" + big + "\r\n"))
	out, _, err := r.ReadBulkAppend(make([]byte, 0, 100_000))
	if err != nil || string(out) != big {
		t.Fatalf("big: %d bytes, %v", len(out), err)
	}
}

func TestReadInteger(t *testing.T) {
	r := NewReader(strings.NewReader(":-42\r\n|1\r\n+a\r\n+b\r\n:7\r\n$1\r\n1\r\n:x\r\n"))
	if n, err := r.ReadInteger(); n != -42 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if n, err := r.ReadInteger(); n != 7 || err != nil {
		t.Fatalf("after attribute: %d %v", n, err)
	}
	var wk *WrongKindError
	if _, err := r.ReadInteger(); !errors.As(err, &wk) || wk.Got != KindBulkString || wk.Want != KindInteger {
		t.Fatalf("bulk: %v", err)
	}
	r.Skip()
	if _, err := r.ReadInteger(); err == nil || !strings.Contains(err.Error(), "invalid integer") {
		t.Fatalf("bad integer: %v", err)
	}
}

func TestReadAggregateHeader(t *testing.T) {
	for _, tc := range []struct {
		wire string
		kind Kind
		n    int
	}{
		{"*3\r\n", KindArray, 3}, {"*0\r\n", KindArray, 0}, {"%2\r\n", KindMap, 2}, {"~1\r\n", KindSet, 1},
		{">4\r\n", KindPush, 4}, {"*-1\r\n", KindNull, -1}, {"_\r\n", KindNull, -1}, {"$-1\r\n", KindNull, -1},
		{"|1\r\n+a\r\n+b\r\n*2\r\n", KindArray, 2},
	} {
		r := NewReader(strings.NewReader(tc.wire + ":5\r\n"))
		k, n, err := r.ReadAggregateHeader()
		if err != nil || k != tc.kind || n != tc.n {
			t.Fatalf("ReadAggregateHeader(%q) = %v, %d, %v", tc.wire, k, n, err)
		}
		if v, err := r.ReadInteger(); v != 5 || err != nil {
			t.Fatalf("%q: consumed more than the header: %d %v", tc.wire, v, err)
		}
	}
	r := NewReader(strings.NewReader("*?\r\n:1\r\n.\r\n+x\r\n"))
	if _, _, err := r.ReadAggregateHeader(); err != ErrStreamed {
		t.Fatalf("streamed: %v, want ErrStreamed", err)
	}
	if v, err := r.ReadValue(); err != nil || v.Len() != 1 {
		t.Fatalf("streamed left unread: %v %v", v, err)
	}
	var wk *WrongKindError
	if _, _, err := r.ReadAggregateHeader(); !errors.As(err, &wk) || wk.Got != KindSimpleString || wk.Want != KindArray {
		t.Fatalf("simple string: %v", err)
	}
	for _, wire := range []string{"*x\r\n", "%-1\r\n", "*-2\r\n", "_1\r\n"} {
		_, _, err := NewReader(strings.NewReader(wire)).ReadAggregateHeader()
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("ReadAggregateHeader(%q): %v, want a ProtocolError", wire, err)
		}
	}
}

// TestLowLevelWalk reads a nested reply with the low-level calls only.
func TestLowLevelWalk(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteValue(Array(Map(BulkString("a"), Integer(1)), Set(BulkString("x"), BulkString("y")), NullBulk()))
	w.Flush()
	r := NewReader(&buf)
	if k, n, _ := r.ReadAggregateHeader(); k != KindArray || n != 3 {
		t.Fatal(k, n)
	}
	if k, n, _ := r.ReadAggregateHeader(); k != KindMap || n != 1 {
		t.Fatal(k, n)
	}
	if b, _, _ := r.ReadBulkAppend(nil); string(b) != "a" {
		t.Fatal(string(b))
	}
	if n, _ := r.ReadInteger(); n != 1 {
		t.Fatal(n)
	}
	if err := r.Skip(); err != nil {
		t.Fatal(err)
	}
	if _, null, _ := r.ReadBulkAppend(nil); !null {
		t.Fatal("want null")
	}
	if _, err := r.PeekKind(); err != io.EOF {
		t.Fatal(err)
	}
}

// TestReadStringBuffered: with the whole reply in the buffer, ReadString
// takes a shortcut for short bulk strings; it must agree with ReadValue
// on each of these, the shortcut's edges and what it leaves to the
// general path, and leave the reply after them in place.
func TestReadStringBuffered(t *testing.T) {
	x99 := strings.Repeat("x", 99)
	for _, wire := range []string{
		"$0\r\n\r\n", "$1\r\na\r\n", "$9\r\n123456789\r\n", "$10\r\n0123456789\r\n",
		"$99\r\n" + x99 + "\r\n", "$100\r\n" + x99 + "y\r\n", "$05\r\nhello\r\n",
		"$5\r\nhelloXY", "$5\r\nhello\n\n", "$5\n\nhello\r\n", "$-1\r\n", "$1x\r\n",
		"$5\r\nhello\r\n", "$",
	} {
		for _, limit := range []int64{4, 512 << 20} {
			lim := Limits{MaxBulkLen: limit}
			r := NewReader(strings.NewReader(wire + ":7\r\n"))
			r.SetLimits(lim)
			_, _ = r.PeekKind() // fills the buffer: the reply is all in it
			s, null, err := r.ReadString()
			rv := NewReader(strings.NewReader(wire + ":7\r\n"))
			rv.SetLimits(lim)
			v, verr := rv.ReadValue()
			if (err == nil) != (verr == nil) {
				t.Fatalf("%q (limit %d): ReadString error %v, ReadValue error %v", wire, limit, err, verr)
			}
			if err != nil {
				continue
			}
			want, _ := v.Str()
			if null != v.IsNull() || s != want {
				t.Fatalf("%q (limit %d): ReadString = %q, %v; ReadValue = %v", wire, limit, s, null, v)
			}
			if n, err := r.ReadInteger(); n != 7 || err != nil {
				t.Fatalf("%q: next reply %d, %v", wire, n, err)
			}
		}
	}
}

// TestReadValueCommonReplies: the replies ReadValue reads without its
// parser (a bulk string of up to 5 digits of length, +OK, whole in the
// buffer) come out as the parser makes them, beside their look-alikes and
// when split across reads.
func TestReadValueCommonReplies(t *testing.T) {
	k1, k100 := strings.Repeat("k", 1000), strings.Repeat("h", 100000) // 4 and 6 digits
	stream := "+OK\r\n+OKAY\r\n$3\r\nabc\r\n$0\r\n\r\n$-1\r\n+OK\r\n$12\r\nhello\r\nworld\r\n" +
		"$1000\r\n" + k1 + "\r\n$100000\r\n" + k100 + "\r\n$5\r\nshort\r\n"
	want := []Value{SimpleString("OK"), SimpleString("OKAY"), BulkString("abc"), BulkString(""), NullBulk(), SimpleString("OK"), BulkString("hello\r\nworld"),
		BulkString(k1), BulkString(k100), BulkString("short")}
	// Chunks of 0 bytes: the whole stream at once, so every reply is whole
	// in the buffer.
	for _, chunk := range []int{0, 1, 2, 3} {
		var src io.Reader = strings.NewReader(stream)
		if chunk > 0 {
			src = chunkReader(src, chunk)
		}
		r := NewReader(src)
		for i, w := range want {
			v, err := r.ReadValue()
			if err != nil || !v.Equal(w) {
				t.Fatalf("chunks of up to %d bytes, reply %d: %v %v, want %v", chunk, i, v, err, w)
			}
		}
		if _, err := r.ReadValue(); err != io.EOF {
			t.Fatalf("chunks of up to %d bytes: after the last reply: %v", chunk, err)
		}
	}
}
