package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

// tableCase is one valid reply: its bytes, the Value they decode to and, when
// WriteValue does not give the same bytes back (streamed forms, a "+" sign,
// leading zeros, merged attributes), the bytes it does give.
type tableCase struct {
	name    string
	wire    string
	want    Value
	written string // "" means wire
}

var attrPopularity = Map(
	SimpleString("key-popularity"),
	Array(BulkString("a"), Double(0.1923), BulkString("b"), Double(0.0012)),
)

var tableCases = []tableCase{
	// Simple strings and errors.
	{name: "simple OK", wire: "+OK\r\n", want: SimpleString("OK")},
	{name: "simple empty", wire: "+\r\n", want: SimpleString("")},
	{name: "simple spaces", wire: "+hello world\r\n", want: SimpleString("hello world")},
	{name: "simple utf8", wire: "+héllo\r\n", want: SimpleString("héllo")},
	{name: "error", wire: "-ERR unknown command 'foo'\r\n", want: ErrorValue("ERR unknown command 'foo'")},
	{name: "error empty", wire: "-\r\n", want: ErrorValue("")},
	{name: "error wrongtype", wire: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
		want: ErrorValue("WRONGTYPE Operation against a key holding the wrong kind of value")},

	// Integers.
	{name: "integer 0", wire: ":0\r\n", want: Integer(0)},
	{name: "integer 1000", wire: ":1000\r\n", want: Integer(1000)},
	{name: "integer -1", wire: ":-1\r\n", want: Integer(-1)},
	{name: "integer max", wire: ":9223372036854775807\r\n", want: Integer(math.MaxInt64)},
	{name: "integer min", wire: ":-9223372036854775808\r\n", want: Integer(math.MinInt64)},
	{name: "integer plus", wire: ":+5\r\n", want: Integer(5), written: ":5\r\n"},
	{name: "integer leading zeros", wire: ":007\r\n", want: Integer(7), written: ":7\r\n"},

	// Bulk strings.
	{name: "bulk", wire: "$5\r\nhello\r\n", want: BulkString("hello")},
	{name: "bulk empty", wire: "$0\r\n\r\n", want: BulkString("")},
	{name: "bulk binary with CRLF inside", wire: "$6\r\na\r\nb\x00\xff\r\n", want: BulkString("a\r\nb\x00\xff")},
	{name: "bulk leading zeros", wire: "$03\r\nabc\r\n", want: BulkString("abc"), written: "$3\r\nabc\r\n"},
	{name: "bulk null", wire: "$-1\r\n", want: NullBulk()},

	// Arrays.
	{name: "array empty", wire: "*0\r\n", want: Array()},
	{name: "array null", wire: "*-1\r\n", want: NullArray()},
	{name: "array mixed", wire: "*2\r\n$3\r\nfoo\r\n:1\r\n", want: Array(BulkString("foo"), Integer(1))},
	{name: "array nested", wire: "*2\r\n*1\r\n:1\r\n*0\r\n", want: Array(Array(Integer(1)), Array())},
	{name: "array with null element", wire: "*3\r\n$1\r\na\r\n$-1\r\n$1\r\nb\r\n",
		want: Array(BulkString("a"), NullBulk(), BulkString("b"))},
	{name: "array of every kind", wire: "*13\r\n+s\r\n-e\r\n:1\r\n$1\r\nb\r\n*0\r\n_\r\n#t\r\n,1.5\r\n(12\r\n!1\r\nx\r\n=5\r\ntxt:y\r\n%0\r\n~0\r\n",
		want: Array(SimpleString("s"), ErrorValue("e"), Integer(1), BulkString("b"), Array(), Null(), Boolean(true),
			Double(1.5), BigNumber("12"), BulkError("x"), Verbatim("txt", "y"), Map(), Set())},

	// RESP3 scalars.
	{name: "null", wire: "_\r\n", want: Null()},
	{name: "true", wire: "#t\r\n", want: Boolean(true)},
	{name: "false", wire: "#f\r\n", want: Boolean(false)},
	{name: "double", wire: ",1.23\r\n", want: Double(1.23)},
	{name: "double inf", wire: ",inf\r\n", want: Double(math.Inf(1))},
	{name: "double -inf", wire: ",-inf\r\n", want: Double(math.Inf(-1))},
	{name: "double nan", wire: ",nan\r\n", want: Double(math.NaN())},
	{name: "double exponent", wire: ",1e10\r\n", want: mustRead(",1e10\r\n")},
	{name: "double negative exponent", wire: ",-1.5E-3\r\n", want: mustRead(",-1.5E-3\r\n")},
	{name: "double integral", wire: ",10\r\n", want: Double(10)},
	{name: "double redis 7.0 pi", wire: ",3.1410000000000000142\r\n", want: mustRead(",3.1410000000000000142\r\n")},
	{name: "double leading dot", wire: ",.5\r\n", want: mustRead(",.5\r\n")},
	{name: "double out of range", wire: ",1e400\r\n", want: mustRead(",1e400\r\n")},
	{name: "big number", wire: "(3492890328409238509324850943850943825024385\r\n",
		want: BigNumber("3492890328409238509324850943850943825024385")},
	{name: "big number negative", wire: "(-1\r\n", want: BigNumber("-1")},
	{name: "bulk error", wire: "!21\r\nSYNTAX invalid syntax\r\n", want: BulkError("SYNTAX invalid syntax")},
	{name: "bulk error empty", wire: "!0\r\n\r\n", want: BulkError("")},
	{name: "verbatim", wire: "=15\r\ntxt:Some string\r\n", want: Verbatim("txt", "Some string")},
	{name: "verbatim empty text", wire: "=4\r\nmkd:\r\n", want: Verbatim("mkd", "")},
	{name: "verbatim with CRLF", wire: "=9\r\ntxt:a\r\nbc\r\n", want: Verbatim("txt", "a\r\nbc")},

	// RESP3 aggregates.
	{name: "map", wire: "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
		want: Map(SimpleString("first"), Integer(1), SimpleString("second"), Integer(2))},
	{name: "map empty", wire: "%0\r\n", want: Map()},
	{name: "map nested", wire: "%1\r\n$1\r\nk\r\n%1\r\n$1\r\nj\r\n*1\r\n_\r\n",
		want: Map(BulkString("k"), Map(BulkString("j"), Array(Null())))},
	{name: "set", wire: "~3\r\n+orange\r\n+apple\r\n#t\r\n", want: Set(SimpleString("orange"), SimpleString("apple"), Boolean(true))},
	{name: "set empty", wire: "~0\r\n", want: Set()},
	{name: "push", wire: ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
		want: Push(BulkString("message"), BulkString("news"), BulkString("hello"))},
	{name: "push empty", wire: ">0\r\n", want: Push()},

	// Attributes.
	{name: "attribute spec example",
		wire: "|1\r\n+key-popularity\r\n*4\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
		want: Array(Integer(2039123), Integer(9543892)).WithAttributes(attrPopularity)},
	{name: "attribute on scalar", wire: "|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n",
		want: BulkString("v").WithAttributes(Map(SimpleString("ttl"), Integer(3600)))},
	{name: "attribute inside array", wire: "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
		want: Array(Integer(1).WithAttributes(Map(SimpleString("a"), SimpleString("b"))), Integer(2))},
	{name: "attribute empty", wire: "|0\r\n:1\r\n", want: Integer(1).WithAttributes(Map())},
	{name: "attribute with attribute", wire: "|1\r\n|1\r\n+x\r\n+y\r\n+k\r\n+v\r\n:1\r\n",
		want: Integer(1).WithAttributes(Map(SimpleString("k").WithAttributes(Map(SimpleString("x"), SimpleString("y"))), SimpleString("v")))},
	{name: "attributes in a row are merged", wire: "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n_\r\n",
		want:    Null().WithAttributes(Map(SimpleString("a"), Integer(1), SimpleString("b"), Integer(2))),
		written: "|2\r\n+a\r\n:1\r\n+b\r\n:2\r\n_\r\n"},
	{name: "attribute on map value", wire: "%1\r\n+k\r\n|1\r\n+m\r\n+n\r\n*1\r\n+v\r\n",
		want: Map(SimpleString("k"), Array(SimpleString("v")).WithAttributes(Map(SimpleString("m"), SimpleString("n"))))},

	// Streamed forms, written back in plain form.
	{name: "streamed string", wire: "$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n",
		want: BulkString("Hello word"), written: "$10\r\nHello word\r\n"},
	{name: "streamed string empty", wire: "$?\r\n;0\r\n", want: BulkString(""), written: "$0\r\n\r\n"},
	{name: "streamed string with CRLF", wire: "$?\r\n;2\r\n\r\n\r\n;0\r\n", want: BulkString("\r\n"), written: "$2\r\n\r\n\r\n"},
	{name: "streamed array", wire: "*?\r\n:1\r\n:2\r\n:3\r\n.\r\n", want: Array(Integer(1), Integer(2), Integer(3)),
		written: "*3\r\n:1\r\n:2\r\n:3\r\n"},
	{name: "streamed array empty", wire: "*?\r\n.\r\n", want: Array(), written: "*0\r\n"},
	{name: "streamed map", wire: "%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n",
		want: Map(SimpleString("a"), Integer(1), SimpleString("b"), Integer(2)), written: "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n"},
	{name: "streamed set", wire: "~?\r\n+x\r\n.\r\n", want: Set(SimpleString("x")), written: "~1\r\n+x\r\n"},
	{name: "streamed nested", wire: "*?\r\n*?\r\n$?\r\n;1\r\na\r\n;0\r\n.\r\n*1\r\n:1\r\n.\r\n",
		want: Array(Array(BulkString("a")), Array(Integer(1))), written: "*2\r\n*1\r\n$1\r\na\r\n*1\r\n:1\r\n"},
	{name: "streamed with attribute", wire: "|1\r\n+a\r\n+b\r\n*?\r\n|1\r\n+c\r\n+d\r\n:1\r\n.\r\n",
		want:    Array(Integer(1).WithAttributes(Map(SimpleString("c"), SimpleString("d")))).WithAttributes(Map(SimpleString("a"), SimpleString("b"))),
		written: "|1\r\n+a\r\n+b\r\n*1\r\n|1\r\n+c\r\n+d\r\n:1\r\n"},
}

// mustRead decodes one reply or panics; for building expected values whose
// text matters (doubles as sent).
func mustRead(wire string) Value {
	v, err := NewReader(strings.NewReader(wire)).ReadValue()
	if err != nil {
		panic(err)
	}
	return v
}

// readAll decodes every reply in src and returns them with the error that
// ended the stream (io.EOF at a clean end).
func readAll(src io.Reader) ([]Value, error) {
	r := NewReaderSize(src, minReaderSize)
	var vals []Value
	for {
		v, err := r.ReadValue()
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
	}
}

func writeValue(t testing.TB, v Value) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteValue(v); err != nil {
		t.Fatalf("WriteValue(%v): %v", v, err)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return buf.String()
}

func TestTableRead(t *testing.T) {
	for _, tc := range tableCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, src := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tc.wire)},
				{"one byte", iotest.OneByteReader(strings.NewReader(tc.wire))},
				{"half", iotest.HalfReader(strings.NewReader(tc.wire))},
				{"data with EOF", iotest.DataErrReader(strings.NewReader(tc.wire))},
			} {
				vals, err := readAll(src.r)
				if err != io.EOF {
					t.Fatalf("%s: error %v, want io.EOF after the reply", src.name, err)
				}
				if len(vals) != 1 || !vals[0].Equal(tc.want) {
					t.Fatalf("%s: read %v, want %v", src.name, vals, tc.want)
				}
			}
		})
	}
}

func TestTableWrite(t *testing.T) {
	for _, tc := range tableCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.written
			if want == "" {
				want = tc.wire
			}
			if got := writeValue(t, tc.want); got != want {
				t.Fatalf("WriteValue(%v) = %q, want %q", tc.want, got, want)
			}
		})
	}
}

func TestTableSkip(t *testing.T) {
	for _, tc := range tableCases {
		r := NewReader(iotest.OneByteReader(strings.NewReader(tc.wire + ":7\r\n")))
		if err := r.Skip(); err != nil {
			t.Fatalf("%s: Skip: %v", tc.name, err)
		}
		if n, err := r.ReadInteger(); n != 7 || err != nil {
			t.Fatalf("%s: after Skip, ReadInteger = %d, %v; want 7", tc.name, n, err)
		}
	}
}

// TestTableConcatenated reads every case from one stream, as a pipeline's
// replies arrive.
func TestTableConcatenated(t *testing.T) {
	var all strings.Builder
	for _, tc := range tableCases {
		all.WriteString(tc.wire)
	}
	vals, err := readAll(iotest.HalfReader(strings.NewReader(all.String())))
	if err != io.EOF {
		t.Fatalf("error %v, want io.EOF", err)
	}
	if len(vals) != len(tableCases) {
		t.Fatalf("read %d values, want %d", len(vals), len(tableCases))
	}
	for i, tc := range tableCases {
		if !vals[i].Equal(tc.want) {
			t.Errorf("%s: read %v, want %v", tc.name, vals[i], tc.want)
		}
	}
}

// errorCase is a stream that must fail with a *ProtocolError.
type errorCase struct {
	name   string
	wire   string
	offset int64
	msg    string // a substring of the message
	limit  bool   // errors.Is(err, ErrLimit)
}

var errorCases = []errorCase{
	{name: "unknown type byte", wire: "?\r\n", msg: "unknown type byte"},
	{name: "unknown type byte after reply", wire: "+OK\r\nhello\r\n", offset: 5, msg: "unknown type byte 'h'"},
	{name: "empty line", wire: "\r\n", msg: "empty line"},
	{name: "missing CR", wire: "+OK\n", offset: 3, msg: "line feed without carriage return"},
	{name: "missing LF", wire: "+OK\rX\r\n", offset: 3, msg: "carriage return without line feed"},
	{name: "LF inside simple string", wire: "+a\nb\r\n", offset: 2, msg: "line feed without carriage return"},
	{name: "bulk negative length", wire: "$-2\r\n", msg: "invalid bulk string length \"-2\""},
	{name: "bulk empty length", wire: "$\r\n", msg: "invalid bulk string length"},
	{name: "bulk space in length", wire: "$ 3\r\nabc\r\n", msg: "invalid bulk string length"},
	{name: "bulk plus length", wire: "$+3\r\nabc\r\n", msg: "invalid bulk string length"},
	{name: "bulk 2^31", wire: "$2147483648\r\nab", msg: "exceeds the limit", limit: true},
	{name: "bulk 2^63-1", wire: "$9223372036854775807\r\nab", msg: "exceeds the limit", limit: true},
	{name: "bulk 2^63", wire: "$9223372036854775808\r\n", msg: "invalid bulk string length"},
	{name: "bulk 2^64", wire: "$18446744073709551616\r\n", msg: "invalid bulk string length"},
	{name: "bulk bad trailer", wire: "$3\r\nabcXY", offset: 7, msg: "not followed by CRLF"},
	{name: "bulk trailer LF only", wire: "$3\r\nabc\n+OK\r\n", offset: 7, msg: "not followed by CRLF"},
	{name: "bulk too long for its length", wire: "$2\r\nabc\r\n", offset: 6, msg: "not followed by CRLF"},
	{name: "array negative length", wire: "*-5\r\n", msg: "invalid array length"},
	{name: "array 2^31", wire: "*2147483648\r\n", msg: "exceeds the limit", limit: true},
	{name: "array 2^63-1", wire: "*9223372036854775807\r\n", msg: "exceeds the limit", limit: true},
	{name: "array 2^64", wire: "*18446744073709551616\r\n", msg: "invalid array length"},
	{name: "map count overflows when doubled", wire: "%4611686018427387904\r\n", msg: "exceeds the limit", limit: true},
	{name: "map 2^63-1", wire: "%9223372036854775807\r\n", msg: "exceeds the limit", limit: true},
	{name: "attribute count overflows when doubled", wire: "|4611686018427387904\r\n", msg: "exceeds the limit", limit: true},
	{name: "map null", wire: "%-1\r\n", msg: "invalid map length -1"},
	{name: "set null", wire: "~-1\r\n", msg: "invalid set length -1"},
	{name: "push null", wire: ">-1\r\n", msg: "invalid push length -1"},
	{name: "attribute null", wire: "|-1\r\n", msg: "invalid attribute length -1"},
	{name: "bulk error null", wire: "!-1\r\n", msg: "invalid bulk error length"},
	{name: "verbatim null", wire: "=-1\r\n", msg: "invalid verbatim string length"},
	{name: "push streamed", wire: ">?\r\n.\r\n", msg: "invalid push length"},
	{name: "attribute streamed", wire: "|?\r\n.\r\n", msg: "invalid attribute length"},
	{name: "bulk error streamed", wire: "!?\r\n;0\r\n", msg: "invalid bulk error length"},
	{name: "integer beyond int64", wire: ":9223372036854775808\r\n", msg: "invalid integer"},
	{name: "integer below int64", wire: ":-9223372036854775809\r\n", msg: "invalid integer"},
	{name: "integer huge", wire: ":99999999999999999999999\r\n", msg: "invalid integer"},
	{name: "integer letters", wire: ":12a\r\n", msg: "invalid integer"},
	{name: "integer empty", wire: ":\r\n", msg: "invalid integer"},
	{name: "integer sign only", wire: ":-\r\n", msg: "invalid integer"},
	{name: "verbatim too short", wire: "=3\r\ntxt\r\n", msg: "verbatim string without its format"},
	{name: "verbatim without colon", wire: "=5\r\nhello\r\n", msg: "verbatim string without its format"},
	{name: "boolean x", wire: "#x\r\n", msg: "invalid boolean"},
	{name: "boolean empty", wire: "#\r\n", msg: "invalid boolean"},
	{name: "boolean long", wire: "#tt\r\n", msg: "invalid boolean"},
	{name: "boolean upper", wire: "#T\r\n", msg: "invalid boolean"},
	{name: "null with data", wire: "_x\r\n", msg: "null with data"},
	{name: "double empty", wire: ",\r\n", msg: "invalid double"},
	{name: "double letters", wire: ",abc\r\n", msg: "invalid double"},
	{name: "double hex", wire: ",0x10\r\n", msg: "invalid double"},
	{name: "double bare exponent", wire: ",1e\r\n", msg: "invalid double"},
	{name: "double underscore", wire: ",1_0\r\n", msg: "invalid double"},
	{name: "double dot only", wire: ",.\r\n", msg: "invalid double"},
	{name: "big number empty", wire: "(\r\n", msg: "invalid big number"},
	{name: "big number letters", wire: "(12a\r\n", msg: "invalid big number"},
	{name: "end marker outside stream", wire: ".\r\n", msg: "unexpected end marker"},
	{name: "end marker in counted array", wire: "*2\r\n:1\r\n.\r\n", offset: 8, msg: "unexpected end marker"},
	{name: "end marker with data", wire: "*?\r\n.x\r\n", offset: 4, msg: "unexpected end marker"},
	{name: "chunk outside stream", wire: ";3\r\nabc\r\n", msg: "string chunk outside a streamed string"},
	{name: "streamed map odd", wire: "%?\r\n:1\r\n.\r\n", offset: 8, msg: "after a key without its value"},
	{name: "attribute before end marker", wire: "*?\r\n|1\r\n:1\r\n:2\r\n.\r\n", offset: 16, msg: "attribute not followed by a value"},
	{name: "streamed string bad chunk", wire: "$?\r\n;2\r\nab\r\n:1\r\n", offset: 12, msg: "chunk expected"},
	{name: "streamed string negative chunk", wire: "$?\r\n;-1\r\n", offset: 4, msg: "invalid chunk length"},
	{name: "streamed string chunk bad trailer", wire: "$?\r\n;2\r\nabc\r\n", offset: 10, msg: "not followed by CRLF"},
	{name: "streamed string over limit", wire: "$?\r\n;536870913\r\nab", msg: "exceeds the limit", limit: true},
	{name: "line over limit", wire: "+" + strings.Repeat("a", DefaultMaxLineLen+1) + "\r\n", msg: "line longer than", limit: true},
	{name: "line over limit without CRLF", wire: "+" + strings.Repeat("a", DefaultMaxLineLen+10), msg: "line longer than", limit: true},
	{name: "nesting over limit", wire: strings.Repeat("*1\r\n", DefaultMaxDepth+1) + ":1\r\n", offset: 4 * DefaultMaxDepth, msg: "nesting deeper than 512", limit: true},
	{name: "nested error", wire: "*2\r\n:1\r\n*1\r\n$x\r\n", offset: 12, msg: "invalid bulk string length"},
}

func TestTableErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, src := range []io.Reader{strings.NewReader(tc.wire), iotest.OneByteReader(strings.NewReader(tc.wire))} {
				checkProtocolError(t, tc, func(r *Reader) error { _, err := r.ReadValue(); return err }, src)
			}
			checkProtocolError(t, tc, (*Reader).Skip, strings.NewReader(tc.wire))
		})
	}
}

func checkProtocolError(t *testing.T, tc errorCase, read func(*Reader) error, src io.Reader) {
	t.Helper()
	r := NewReaderSize(src, minReaderSize)
	var err error
	for err == nil {
		err = read(r)
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *ProtocolError", err, err)
	}
	if pe.Offset != tc.offset || !strings.Contains(pe.Msg, tc.msg) {
		t.Fatalf("error %q, want offset %d and %q", err, tc.offset, tc.msg)
	}
	if errors.Is(err, ErrLimit) != tc.limit {
		t.Fatalf("errors.Is(%v, ErrLimit) = %v, want %v", err, !tc.limit, tc.limit)
	}
	if !strings.HasPrefix(err.Error(), "resp: protocol error at offset ") {
		t.Fatalf("error text %q lacks the prefix", err)
	}
	// Sticky: the same error again, whatever is called.
	if err2 := read(r); err2 != err {
		t.Fatalf("second call: %v, want the sticky %v", err2, err)
	}
	if _, err2 := r.PeekKind(); err2 != err {
		t.Fatalf("PeekKind after error: %v, want the sticky %v", err2, err)
	}
}
