package resp

import (
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func wantLimitError(t *testing.T, err error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) || !errors.Is(err, ErrLimit) {
		t.Fatalf("error %v, want a *ProtocolError matching ErrLimit", err)
	}
}

// TestHostileHugeBulkClaim: a 12-byte reply claiming 2 GiB must not make the
// reader allocate 2 GiB, even with limits that let the claim through.
func TestHostileHugeBulkClaim(t *testing.T) {
	const wire = "$2147483648\r\n" // 13 bytes, then the stream ends
	for _, read := range []struct {
		name string
		f    func(*Reader) error
	}{
		{"ReadValue", func(r *Reader) error { _, err := r.ReadValue(); return err }},
		{"ReadBulkAppend", func(r *Reader) error { _, _, err := r.ReadBulkAppend(nil); return err }},
		{"ReadString", func(r *Reader) error { _, _, err := r.ReadString(); return err }},
		{"Skip", (*Reader).Skip},
	} {
		var err error
		n := allocated(func() {
			r := NewReader(strings.NewReader(wire + "ab"))
			r.SetLimits(Limits{MaxBulkLen: 4 << 30})
			err = read.f(r)
		})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: error %v, want io.ErrUnexpectedEOF", read.name, err)
		}
		if n > 1<<20 {
			t.Fatalf("%s: allocated %d bytes for a 15-byte stream", read.name, n)
		}
	}
	// With the default limits the header alone is refused.
	r := NewReader(strings.NewReader(wire))
	_, err := r.ReadValue()
	wantLimitError(t, err)
}

// TestHostileHugeAggregateClaim: aggregates claiming billions of elements
// allocate for what arrives, not for the claim.
func TestHostileHugeAggregateClaim(t *testing.T) {
	for _, wire := range []string{"*2147483647\r\n:1\r\n", "%1073741823\r\n:1\r\n", "~2147483647\r\n", ">2147483647\r\n$1\r\na\r\n"} {
		var err error
		n := allocated(func() {
			r := NewReader(strings.NewReader(wire))
			r.SetLimits(Limits{MaxAggregateLen: 1 << 40})
			_, err = r.ReadValue()
		})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%q: error %v, want io.ErrUnexpectedEOF", wire, err)
		}
		if n > 1<<20 {
			t.Fatalf("%q: allocated %d bytes", wire, n)
		}
	}
	// Nested claims do not multiply.
	wire := strings.Repeat("*1000000\r\n", 500)
	n := allocated(func() {
		r := NewReader(strings.NewReader(wire))
		r.ReadValue()
	})
	if n > 4<<20 {
		t.Fatalf("500 nested claims of a million elements allocated %d bytes", n)
	}
}

// TestHostileDeepNesting: a million nested "*1" gives a clear error, fast,
// without deep recursion.
func TestHostileDeepNesting(t *testing.T) {
	for _, prefix := range []string{"*1\r\n", "%1\r\n+k\r\n", "|1\r\n+k\r\n", "*?\r\n", ">1\r\n"} {
		wire := strings.Repeat(prefix, 1_000_000)
		for _, depth := range []int{0, MaxDepthLimit, 10_000} {
			start := time.Now()
			r := NewReader(strings.NewReader(wire))
			r.SetLimits(Limits{MaxDepth: depth})
			_, err := r.ReadValue()
			wantLimitError(t, err)
			want := depth
			if depth == 0 {
				want = DefaultMaxDepth
			}
			want = min(want, MaxDepthLimit)
			if !strings.Contains(err.Error(), "nesting deeper than") || r.Limits().MaxDepth != want {
				t.Fatalf("%q x 1e6, MaxDepth %d: %v (limit in force %d)", prefix, depth, err, r.Limits().MaxDepth)
			}
			if err := NewReader(strings.NewReader(wire)).Skip(); !errors.Is(err, ErrLimit) {
				t.Fatalf("Skip: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("%q x 1e6 took %v", prefix, d)
			}
		}
	}
	// Exactly at the limit is fine.
	wire := strings.Repeat("*1\r\n", DefaultMaxDepth) + ":1\r\n"
	v, err := NewReader(strings.NewReader(wire)).ReadValue()
	if err != nil {
		t.Fatal(err)
	}
	for range DefaultMaxDepth {
		if v.Kind() != KindArray || v.Len() != 1 {
			t.Fatalf("got %v", v)
		}
		v = v.elems[0]
	}
	if n, _ := v.Int(); n != 1 {
		t.Fatalf("innermost %v", v)
	}
}

// endlessReader serves "+" and then the byte fill without end, counting
// what it served.
type endlessReader struct {
	first bool
	fill  byte
	n     int64
}

func (e *endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.fill
	}
	if !e.first {
		e.first = true
		p[0] = '+'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// TestHostileEndlessLine: a 64 MiB line without CRLF fails once MaxLineLen
// is passed, without buffering the line.
func TestHostileEndlessLine(t *testing.T) {
	for _, limit := range []int{0, 100, 1 << 20} {
		src := &endlessReader{fill: 'a'}
		var err error
		n := allocated(func() {
			r := NewReader(io.LimitReader(src, 64<<20))
			r.SetLimits(Limits{MaxLineLen: limit})
			_, err = r.ReadValue()
		})
		wantLimitError(t, err)
		want := int64(limit)
		if limit == 0 {
			want = DefaultMaxLineLen
		}
		if src.n > 2*want+defaultReaderSize {
			t.Fatalf("MaxLineLen %d: read %d bytes of the line", want, src.n)
		}
		if n > uint64(4*want+1<<20) {
			t.Fatalf("MaxLineLen %d: allocated %d bytes", want, n)
		}
	}
}

// TestHostileAggregateLimit: counted and streamed aggregates beyond
// MaxAggregateLen fail.
func TestHostileAggregateLimit(t *testing.T) {
	lim := Limits{MaxAggregateLen: 4}
	for _, tc := range []struct {
		wire string
		ok   bool
	}{
		{"*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", true},
		{"*5\r\n", false},
		{"%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", true},
		{"%3\r\n", false},
		{"*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n.\r\n", true},
		{"*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n.\r\n", false},
		{"|3\r\n", false},
	} {
		r := NewReader(strings.NewReader(tc.wire))
		r.SetLimits(lim)
		_, err := r.ReadValue()
		if tc.ok && err != nil {
			t.Fatalf("%q: %v", tc.wire, err)
		}
		if !tc.ok {
			wantLimitError(t, err)
		}
	}
	r := NewReader(strings.NewReader("*5\r\n"))
	r.SetLimits(lim)
	_, _, err := r.ReadAggregateHeader()
	wantLimitError(t, err)
}

// TestHostileBulkLimit: the limit applies to plain, streamed, bulk error
// and verbatim strings and to ReadBulkAppend.
func TestHostileBulkLimit(t *testing.T) {
	lim := Limits{MaxBulkLen: 4}
	for _, tc := range []struct {
		wire string
		ok   bool
	}{
		{"$4\r\nabcd\r\n", true},
		{"$5\r\nabcde\r\n", false},
		{"!5\r\nabcde\r\n", false},
		{"=9\r\ntxt:abcde\r\n", false},
		{"$?\r\n;2\r\nab\r\n;2\r\ncd\r\n;0\r\n", true},
		{"$?\r\n;2\r\nab\r\n;3\r\ncde\r\n;0\r\n", false},
	} {
		for _, read := range []func(*Reader) error{
			func(r *Reader) error { _, err := r.ReadValue(); return err },
			(*Reader).Skip,
			func(r *Reader) error { _, _, err := r.ReadBulkAppend(nil); return err },
			func(r *Reader) error { _, _, err := r.ReadString(); return err },
		} {
			r := NewReader(strings.NewReader(tc.wire))
			r.SetLimits(lim)
			err := read(r)
			if _, ok := err.(*WrongKindError); ok && tc.wire[0] == '!' {
				continue // ReadBulkAppend does not read errors
			}
			if tc.ok && err != nil {
				t.Fatalf("%q: %v", tc.wire, err)
			}
			if !tc.ok {
				wantLimitError(t, err)
			}
		}
	}
}

// TestLargeBulkGrowsGeometrically: a large bulk that really arrives is read
// whole, in few allocations, also one byte at a time.
func TestLargeBulkGrowsGeometrically(t *testing.T) {
	const size = 5 << 20
	body := strings.Repeat("0123456789abcdef", size/16)
	wire := "$" + itoa(size) + "\r\n" + body + "\r\n"
	var v Value
	var err error
	allocs := testing.AllocsPerRun(3, func() {
		v, err = NewReader(chunkReader(strings.NewReader(wire), 7)).ReadValue()
	})
	if err != nil || v.Text() != body {
		t.Fatalf("read %d bytes, %v", len(v.Text()), err)
	}
	// 512 KiB doubling up to 5 MiB is 5 steps; the reader, its buffer and
	// the test's readers are 5 more.
	if allocs > 10 {
		t.Fatalf("%v allocations for a 5 MiB bulk", allocs)
	}
}

// TestBulkBelowChunkAllocatesItsLength: a bulk string of up to bodyChunk
// bytes that is not yet buffered when its header is read (a 100 KiB value
// arriving in pieces) costs one allocation of exactly its length.
func TestBulkBelowChunkAllocatesItsLength(t *testing.T) {
	const size = 100 << 10
	body := strings.Repeat("0123456789abcdef", size/16)
	wire := "$" + itoa(size) + "\r\n" + body + "\r\n"
	src := strings.NewReader(wire)
	chunks := chunkReader(src, 4096)
	r := NewReader(chunks)
	var v Value
	var err error
	n := allocated(func() {
		for range 10 {
			src.Reset(wire)
			r.Reset(chunks)
			v, err = r.ReadValue()
		}
	})
	if err != nil || v.Text() != body {
		t.Fatalf("read %d bytes, %v", len(v.Text()), err)
	}
	// The runtime rounds a large allocation up to whole 8 KiB pages.
	if per := n / 10; per > size+8192 {
		t.Fatalf("%d bytes allocated per %d-byte bulk", per, size)
	}
}

// TestNoProgressSource: a source that returns (0, nil) forever does not
// hang the reader.
func TestNoProgressSource(t *testing.T) {
	r := NewReader(zeroReader{})
	if _, err := r.ReadValue(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("error %v, want io.ErrNoProgress", err)
	}
	r = NewReader(badCountReader{})
	if _, err := r.ReadValue(); err == nil || !strings.Contains(err.Error(), "invalid count") {
		t.Fatalf("error %v, want an invalid count error", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { return 0, nil }

type badCountReader struct{}

func (badCountReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func itoa(n int) string { return strconv.Itoa(n) }
