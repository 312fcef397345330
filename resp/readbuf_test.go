package resp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadValueBufTable reads every valid case from one stream into one
// reused buffer: each value must equal the case's, read before the buffer
// is written again.
func TestReadValueBufTable(t *testing.T) {
	var all strings.Builder
	for _, tc := range tableCases {
		all.WriteString(tc.wire)
	}
	r := NewReader(iotest.HalfReader(strings.NewReader(all.String())))
	var buf []Value
	for _, tc := range tableCases {
		var v Value
		var err error
		v, buf, err = r.ReadValueBuf(buf)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !v.Equal(tc.want) {
			t.Fatalf("%s: read %v, want %v", tc.name, v, tc.want)
		}
	}
	if _, _, err := r.ReadValueBuf(buf); err != io.EOF {
		t.Fatalf("after the last reply: %v, want io.EOF", err)
	}
}

// TestReadValueBufUsesBuffer checks that the outermost aggregate's
// elements land in the caller's buffer, and that a nested aggregate and
// an attribute before the reply get storage of their own.
func TestReadValueBufUsesBuffer(t *testing.T) {
	wire := "|1\r\n+ttl\r\n:5\r\n*3\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n_\r\n"
	r := NewReader(strings.NewReader(wire + wire))
	buf := make([]Value, 0, 8)
	v, got, err := r.ReadValueBuf(buf)
	if err != nil {
		t.Fatal(err)
	}
	elems, _ := v.Elems()
	if len(elems) != 3 || &elems[0] != &buf[:1][0] || &got[0] != &buf[:1][0] {
		t.Fatalf("the reply's elements are not in the buffer given")
	}
	attr, ok := v.Attributes()
	inner, _ := elems[1].Elems()
	if !ok || attr.Len() != 1 || len(inner) != 2 || &inner[0] == &buf[:2][1] {
		t.Fatalf("attribute %v or nested array %v lost or put in the buffer", attr, inner)
	}
	want := mustRead(wire)
	if !v.Equal(want) {
		t.Fatalf("read %v, want %v", v, want)
	}
	// A second reply into the same buffer: the first reply's elements are
	// overwritten (the caller's contract), copies of them are not.
	kept := elems[1]
	v2, _, err := r.ReadValueBuf(got)
	if err != nil || !v2.Equal(want) || !kept.Equal(want.elems[1]) {
		t.Fatalf("second read %v, %v; kept element %v", v2, err, kept)
	}
	// A buffer too small is replaced by a larger one.
	r = NewReader(strings.NewReader(wire))
	small := make([]Value, 0, 1)
	if _, got, err = r.ReadValueBuf(small); err != nil || cap(got) < 3 {
		t.Fatalf("into a buffer of 1: %v, buffer of %d returned", err, cap(got))
	}
	// A reply that is not an aggregate leaves the buffer alone.
	r = NewReader(strings.NewReader("+OK\r\n"))
	if v, got, err = r.ReadValueBuf(buf); err != nil || v.Text() != "OK" || cap(got) != cap(buf) {
		t.Fatalf("simple string: %v, %v", v, err)
	}
}

func TestReadValueBufErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			checkProtocolError(t, tc, func(r *Reader) error {
				_, _, err := r.ReadValueBuf(make([]Value, 4))
				return err
			}, iotest.OneByteReader(strings.NewReader(tc.wire)))
		})
	}
}

// repeatReader gives the same bytes forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func TestReadValueBufAllocations(t *testing.T) {
	r := NewReader(&repeatReader{data: []byte("*3\r\n:1\r\n:2\r\n:3\r\n")})
	buf := make([]Value, 0, 3)
	n := testing.AllocsPerRun(100, func() {
		var err error
		if _, buf, err = r.ReadValueBuf(buf); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%.1f allocations per array of integers read into a buffer, want 0", n)
	}
}

// FuzzReadValueBuf checks that ReadValueBuf reads what ReadValue reads,
// value for value, and fails where it fails.
func FuzzReadValueBuf(f *testing.F) {
	addSeeds(f, func(data []byte) { f.Add(data) })
	f.Fuzz(func(t *testing.T, data []byte) {
		a := NewReader(bytes.NewReader(data))
		b := NewReader(iotest.HalfReader(bytes.NewReader(data)))
		var buf []Value
		for {
			va, errA := a.ReadValue()
			var vb Value
			var errB error
			vb, buf, errB = b.ReadValueBuf(buf)
			if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
				var pa, pb *ProtocolError
				if !errors.As(errA, &pa) || !errors.As(errB, &pb) || pa.Offset != pb.Offset {
					t.Fatalf("ReadValue: %v; ReadValueBuf: %v", errA, errB)
				}
			}
			if errA != nil {
				return
			}
			if !va.Equal(vb) {
				t.Fatalf("ReadValue: %v; ReadValueBuf: %v", va, vb)
			}
		}
	})
}
