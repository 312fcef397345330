package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

type upper string

func (u upper) AppendArg(dst []byte) []byte {
	for i := 0; i < len(u); i++ {
		c := u[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

type point struct{ x, y int }

func (p *point) AppendArg(dst []byte) []byte {
	dst = strconv.AppendInt(dst, int64(p.x), 10)
	dst = append(dst, ',')
	return strconv.AppendInt(dst, int64(p.y), 10)
}

func TestWriteCommand(t *testing.T) {
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"PING"}, "*1\r\n$4\r\nPING\r\n"},
		{[]any{"SET", "k", "v"}, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"},
		{[]any{"SET", []byte("k"), []byte{}}, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"},
		{[]any{"X", int(-1), int8(-8), int16(16), int32(-32), int64(math.MinInt64)},
			"*6\r\n$1\r\nX\r\n$2\r\n-1\r\n$2\r\n-8\r\n$2\r\n16\r\n$3\r\n-32\r\n$20\r\n-9223372036854775808\r\n"},
		{[]any{"X", uint(1), uint8(255), uint16(65535), uint32(1 << 31), uint64(math.MaxUint64)},
			"*6\r\n$1\r\nX\r\n$1\r\n1\r\n$3\r\n255\r\n$5\r\n65535\r\n$10\r\n2147483648\r\n$20\r\n18446744073709551615\r\n"},
		{[]any{"X", 1.5, 0.1, float32(0.1), 1e21, -2.5e-7, 100.0},
			"*7\r\n$1\r\nX\r\n$3\r\n1.5\r\n$3\r\n0.1\r\n$3\r\n0.1\r\n$5\r\n1e+21\r\n$8\r\n-2.5e-07\r\n$3\r\n100\r\n"},
		{[]any{"ZADD", "z", math.Inf(1), "a", math.Inf(-1), "b", math.NaN()},
			"*7\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\ninf\r\n$1\r\na\r\n$4\r\n-inf\r\n$1\r\nb\r\n$3\r\nnan\r\n"},
		{[]any{"X", true, false}, "*3\r\n$1\r\nX\r\n$1\r\n1\r\n$1\r\n0\r\n"},
		{[]any{"X", upper("abc"), &point{3, -4}}, "*3\r\n$1\r\nX\r\n$3\r\nABC\r\n$4\r\n3,-4\r\n"},
		{[]any{}, "*0\r\n"},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteCommand(tc.args...); err != nil {
			t.Fatalf("WriteCommand%v: %v", tc.args, err)
		}
		if buf.Len() != 0 {
			t.Fatalf("WriteCommand%v sent before Flush", tc.args)
		}
		if w.Buffered() != len(tc.want) {
			t.Fatalf("Buffered = %d, want %d", w.Buffered(), len(tc.want))
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Fatalf("WriteCommand%v wrote %q, want %q", tc.args, buf.String(), tc.want)
		}
		got, err := AppendCommand([]byte("pre"), tc.args...)
		if err != nil || string(got) != "pre"+tc.want {
			t.Fatalf("AppendCommand%v = %q, %v", tc.args, got, err)
		}
		// What was written reads back as an array of bulk strings.
		v, err := NewReader(&buf).ReadValue()
		if err != nil || v.Kind() != KindArray || v.Len() != len(tc.args) {
			t.Fatalf("read back %v, %v", v, err)
		}
	}
}

// TestFloatArgsRoundTrip: float arguments read back as the same float.
func TestFloatArgsRoundTrip(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, 0.1, 1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.123, math.Inf(1), math.Inf(-1)} {
		b, _ := AppendCommand(nil, f)
		v, err := NewReader(bytes.NewReader(b)).ReadValue()
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.elems[0].Float()
		if err != nil || got != f || math.Signbit(got) != math.Signbit(f) {
			t.Fatalf("%v wrote %q, reads back as %v, %v", f, v.elems[0].Text(), got, err)
		}
	}
}

func TestWriteCommandUnsupported(t *testing.T) {
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"SET", "k", nil}, "resp: argument 2 is nil"},
		{[]any{"EXPIRE", "k", time.Second}, "resp: argument 2 has unsupported type time.Duration"},
		{[]any{"SET", upperless("k"), "v"}, "resp: argument 1 has unsupported type resp.upperless"},
		{[]any{struct{}{}}, "resp: argument 0 has unsupported type struct {}"},
		{[]any{"X", []string{"a"}}, "resp: argument 1 has unsupported type []string"},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.WriteCommand("PING")
		err := w.WriteCommand(tc.args...)
		var ae *ArgError
		if !errors.As(err, &ae) || err.Error() != tc.want {
			t.Fatalf("WriteCommand%v: %v, want %q", tc.args, err, tc.want)
		}
		w.Flush()
		if buf.String() != "*1\r\n$4\r\nPING\r\n" {
			t.Fatalf("WriteCommand%v wrote part of the command: %q", tc.args, buf.String())
		}
		// Not sticky.
		if err := w.WriteCommand("PING"); err != nil {
			t.Fatal(err)
		}
		if got, err := AppendCommand([]byte("x"), tc.args...); err == nil || string(got) != "x" {
			t.Fatalf("AppendCommand%v = %q, %v", tc.args, got, err)
		}
	}
}

type upperless string

// TestWriteCommandAllocs: writing a command allocates nothing in steady
// state, also when it fills the buffer and for ArgAppender arguments. (A
// caller converting a variable to any may allocate for that conversion; the
// arguments are boxed once here, outside the measured calls.)
func TestWriteCommandAllocs(t *testing.T) {
	w := NewWriterSize(io.Discard, 256)
	key := strings.Repeat("k", 10)
	val := []byte(strings.Repeat("v", 100))
	big := strings.Repeat("b", 1000)
	for name, args := range map[string][]any{
		"strings":  {"SET", key, "value"},
		"bytes":    {"SET", key, val},
		"numbers":  {"X", 1, 2.5, float32(1.25), uint64(7), true},
		"big":      {"SET", key, big},
		"bigbytes": {"SET", key, []byte(big)},
		"appender": {"X", &point{1, 2}, upper("abc")},
	} {
		if allocs := testing.AllocsPerRun(200, func() { w.WriteArgs(args) }); allocs != 0 {
			t.Errorf("WriteArgs %s: %v allocations per command", name, allocs)
		}
		if allocs := testing.AllocsPerRun(200, func() { w.WriteCommand(args...) }); allocs != 0 {
			t.Errorf("WriteCommand %s: %v allocations per command", name, allocs)
		}
	}
	if allocs := testing.AllocsPerRun(200, func() { w.WriteCommand("SET", "key", "value") }); allocs != 0 {
		t.Errorf("constants: %v allocations per command", allocs)
	}
	if allocs := testing.AllocsPerRun(200, func() {
		w.WriteArrayHeader(3)
		w.WriteBulkString("SET")
		w.WriteBulkString(key)
		w.WriteBulkInt(12345)
	}); allocs != 0 {
		t.Errorf("low-level writes: %v allocations per command", allocs)
	}
	buf := make([]byte, 0, 1024)
	args := []any{"SET", key, val}
	if allocs := testing.AllocsPerRun(200, func() { buf, _ = AppendCommand(buf[:0], args...) }); allocs != 0 {
		t.Errorf("AppendCommand: %v allocations per command", allocs)
	}
}

// TestWriterLarge: arguments larger than the buffer go out whole and in
// order.
func TestWriterLarge(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriterSize(&buf, 64)
	big := strings.Repeat("abcdefgh", 1000)
	w.WriteCommand("SET", big, []byte(big), upper(big))
	w.WriteBulk([]byte(big[:63]))
	w.WriteValue(Array(BulkString(big), SimpleString(big[:100])))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	v, err := r.ReadValue()
	if err != nil || v.Len() != 4 || v.elems[1].Text() != big || v.elems[2].Text() != big || v.elems[3].Text() != strings.ToUpper(big) {
		t.Fatalf("command: %v", err)
	}
	if v, err := r.ReadValue(); err != nil || v.Text() != big[:63] {
		t.Fatalf("bulk: %v %v", v, err)
	}
	if v, err := r.ReadValue(); err != nil || v.elems[0].Text() != big || v.elems[1].Text() != big[:100] {
		t.Fatalf("value: %v", err)
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("broken pipe")
	}
	f.n--
	return len(p), nil
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestWriterErrorsSticky(t *testing.T) {
	w := NewWriterSize(&failingWriter{}, 64)
	w.WriteCommand("PING")
	err := w.Flush()
	if err == nil || err.Error() != "broken pipe" {
		t.Fatalf("Flush: %v", err)
	}
	if err2 := w.WriteCommand("PING"); err2 != err {
		t.Fatalf("after error: %v", err2)
	}
	if err2 := w.WriteBulkString("x"); err2 != err {
		t.Fatalf("after error: %v", err2)
	}
	var buf bytes.Buffer
	w.Reset(&buf)
	if err := w.WriteCommand("PING"); err != nil || w.Flush() != nil || buf.String() != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("after Reset: %v %q", err, buf.String())
	}
	w = NewWriter(shortWriter{})
	w.WriteCommand("PING")
	if err := w.Flush(); err != io.ErrShortWrite {
		t.Fatalf("short write: %v", err)
	}
	// An error while a large argument goes out directly.
	w = NewWriterSize(&failingWriter{n: 1}, 64)
	if err := w.WriteCommand("SET", "k", bytes.Repeat([]byte("x"), 1000)); err == nil {
		t.Fatal("no error")
	}
}

func TestWriteValueRefuses(t *testing.T) {
	for _, v := range []Value{
		{},
		SimpleString("a\r\nb"),
		ErrorValue("bad\n"),
		BigNumber("12a"),
		BigNumber(""),
		{kind: KindDouble, str: "x"},
		Array(Integer(1), Value{}),
		Integer(1).WithAttributes(Map(SimpleString("x\r"), Integer(1))),
		{kind: KindMap, elems: []Value{Integer(1)}},
		{kind: KindVerbatim, str: "txt"},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteValue(v); err == nil || !strings.HasPrefix(err.Error(), "resp: ") {
			t.Fatalf("WriteValue(%v): %v", v, err)
		}
		w.Flush()
		if buf.Len() != 0 {
			t.Fatalf("WriteValue(%v) wrote %q", v, buf.String())
		}
	}
}

func TestLowLevelWrites(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteArrayHeader(4)
	w.WriteBulkString("a")
	w.WriteBulk([]byte("bc"))
	w.WriteBulkInt(-7)
	w.WriteArrayHeader(-1)
	w.Flush()
	const want = "*4\r\n$1\r\na\r\n$2\r\nbc\r\n$2\r\n-7\r\n*-1\r\n"
	if buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
	if w.Available() != defaultWriterSize {
		t.Fatalf("Available = %d", w.Available())
	}
}

// TestAppendHeader: the one- and two-digit shortcuts write what strconv
// writes, and the numbers around them take the general path.
func TestAppendHeader(t *testing.T) {
	for _, n := range []int64{-100, -10, -1, 0, 1, 9, 10, 42, 99, 100, 101, 4096, math.MaxInt64, math.MinInt64} {
		want := "$" + strconv.FormatInt(n, 10) + "\r\n"
		if got := string(appendHeader([]byte("x"), '$', n)); got != "x"+want {
			t.Errorf("appendHeader(%d) = %q, want %q", n, got, "x"+want)
		}
	}
}

// TestWriteEncoded: an encoded head goes out as it is, in one piece when it
// fits and across flushes when the buffer is nearly full or too small, and
// a writer's sticky error refuses it.
func TestWriteEncoded(t *testing.T) {
	const head = "*2\r\n$3\r\nGET\r\n"
	for _, size := range []int{16, 20, 64} {
		var buf bytes.Buffer
		w := NewWriterSize(&buf, size)
		for i := range 3 {
			if err := w.WriteEncoded(head); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteBulkString("key" + strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r := NewReader(&buf)
		for i := range 3 {
			v, err := r.ReadValue()
			if err != nil || v.Len() != 2 || v.elems[0].Text() != "GET" || v.elems[1].Text() != "key"+strconv.Itoa(i) {
				t.Fatalf("buffer of %d, command %d: %v %v", size, i, v, err)
			}
		}
	}
	w := NewWriterSize(&failingWriter{}, 16)
	w.WriteEncoded(head)
	err := w.Flush()
	if err == nil {
		t.Fatal("Flush to a broken writer: no error")
	}
	if err2 := w.WriteEncoded(head); err2 != err {
		t.Fatalf("after error: %v", err2)
	}
}
