package resp

import (
	"bytes"
	"errors"
	"io"
	"runtime/metrics"
	"testing"
	"testing/iotest"
)

// addSeeds seeds a fuzz target with every table case, every error case and
// every reply captured from redis-server, each alone and all together.
func addSeeds(f *testing.F, add func(data []byte)) {
	var all []byte
	for _, tc := range tableCases {
		add([]byte(tc.wire))
		all = append(all, tc.wire...)
	}
	for _, tc := range errorCases {
		if len(tc.wire) < 4096 {
			add([]byte(tc.wire))
		}
	}
	for _, c := range redisCaptures {
		add([]byte(c.wire))
		all = append(all, c.wire...)
	}
	add(all)
}

// heapAllocated returns the bytes allocated by the program so far.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// FuzzReader feeds raw bytes to a Reader: it must not panic, must end, must
// allocate in proportion to the input (not to what headers claim), and
// PeekKind, ReadValue and Skip must agree about the stream.
func FuzzReader(f *testing.F) {
	addSeeds(f, func(data []byte) { f.Add(data) })
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heapAllocated()
		r := NewReader(bytes.NewReader(data))
		var values int
		var err error
		for {
			var kind Kind
			kind, err = r.PeekKind()
			var v Value
			var err2 error
			v, err2 = r.ReadValue()
			if err != nil {
				var pe *ProtocolError
				if errors.As(err, &pe) && err2 != err {
					t.Fatalf("PeekKind failed with %v, then ReadValue gave %v", err, err2)
				}
				if err == io.EOF && err2 != io.EOF {
					t.Fatalf("PeekKind at EOF, then ReadValue gave %v", err2)
				}
				break
			}
			if err = err2; err != nil {
				break
			}
			want := v.Kind()
			if _, ok := v.Attributes(); ok {
				want = KindAttribute
			}
			if kind != want {
				t.Fatalf("PeekKind said %v, ReadValue read %v", kind, v)
			}
			values++
			if values > len(data)/3 {
				t.Fatalf("%d values from %d bytes", values, len(data))
			}
		}
		if used := heapAllocated() - before; used > 1<<20+256*uint64(len(data)) {
			t.Fatalf("allocated %d bytes for %d bytes of input", used, len(data))
		}

		// Skip walks the same replies and fails the same way.
		rs := NewReader(bytes.NewReader(data))
		for i := range values {
			if err := rs.Skip(); err != nil {
				t.Fatalf("Skip of reply %d: %v", i, err)
			}
		}
		if err2 := rs.Skip(); !sameError(err, err2) {
			t.Fatalf("ReadValue ended with %v, Skip with %v", err, err2)
		}
	})
}

// sameError reports whether two errors that ended a stream say the same.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// FuzzRoundTrip: whatever ReadValue accepts, WriteValue writes, and what it
// writes reads back as an equal value and writes again to the same bytes.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f, func(data []byte) { f.Add(data) })
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := NewReader(bytes.NewReader(data)).ReadValue()
		if err != nil {
			return
		}
		var out bytes.Buffer
		w := NewWriter(&out)
		if err := w.WriteValue(v); err != nil {
			t.Fatalf("WriteValue(%v): %v", v, err)
		}
		w.Flush()
		r := NewReader(bytes.NewReader(out.Bytes()))
		v2, err := r.ReadValue()
		if err != nil {
			t.Fatalf("reading back %q: %v", out.Bytes(), err)
		}
		if !v2.Equal(v) {
			t.Fatalf("read %v, wrote %q, read back %v", v, out.Bytes(), v2)
		}
		if _, err := r.ReadValue(); err != io.EOF {
			t.Fatalf("%q holds more than one reply: %v", out.Bytes(), err)
		}
		var again bytes.Buffer
		w.Reset(&again)
		w.WriteValue(v2)
		w.Flush()
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("written %q, then %q", out.Bytes(), again.Bytes())
		}
		// The plain form is what the server would have sent: if the input
		// started with it, it is reproduced byte for byte.
		if bytes.HasPrefix(data, out.Bytes()) && !bytes.Equal(writeAfterRead(t, data[:out.Len()]), out.Bytes()) {
			t.Fatalf("not byte-exact: %q", out.Bytes())
		}
	})
}

func writeAfterRead(t *testing.T, data []byte) []byte {
	v, err := NewReader(bytes.NewReader(data)).ReadValue()
	if err != nil {
		t.Fatalf("reading %q: %v", data, err)
	}
	var out bytes.Buffer
	w := NewWriter(&out)
	w.WriteValue(v)
	w.Flush()
	return out.Bytes()
}

// FuzzChunked: the same bytes decode to the same values and the same final
// error whether they arrive at once, one byte at a time or split at places
// chosen by seed, through a default or a minimal buffer.
func FuzzChunked(f *testing.F) {
	addSeeds(f, func(data []byte) { f.Add(data, uint64(len(data))) })
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		whole, wholeErr := readAllSize(bytes.NewReader(data), defaultReaderSize)
		for name, src := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(data)),
			"seeded":   seededChunkReader(bytes.NewReader(data), seed),
		} {
			vals, err := readAllSize(src, minReaderSize)
			if !sameError(err, wholeErr) {
				t.Fatalf("%s: ended with %v, whole with %v", name, err, wholeErr)
			}
			if len(vals) != len(whole) {
				t.Fatalf("%s: %d values, whole %d", name, len(vals), len(whole))
			}
			for i := range vals {
				if !vals[i].Equal(whole[i]) {
					t.Fatalf("%s: value %d is %v, whole %v", name, i, vals[i], whole[i])
				}
			}
		}
	})
}

func readAllSize(src io.Reader, size int) ([]Value, error) {
	r := NewReaderSize(src, size)
	var vals []Value
	for {
		v, err := r.ReadValue()
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
	}
}

// FuzzReadString: on any stream, ReadString agrees with ReadValue reply by
// reply. Where ReadValue reads a string (simple, bulk, verbatim) or a null,
// ReadString returns the same text, or reports the null; where it reads
// anything else, ReadString refuses it with a *WrongKindError and leaves
// it for ReadValue; where ReadValue fails, so does ReadString. The stream
// is read in full (the shortcut for short bulk strings applies) and one
// byte at a time (it never does).
func FuzzReadString(f *testing.F) {
	addSeeds(f, func(data []byte) { f.Add(data) })
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, oneByte := range []bool{false, true} {
			var src, srcV io.Reader = bytes.NewReader(data), bytes.NewReader(data)
			if oneByte {
				src, srcV = iotest.OneByteReader(src), iotest.OneByteReader(srcV)
			}
			r, rv := NewReader(src), NewReader(srcV)
			for range len(data) + 1 {
				v, verr := rv.ReadValue()
				if verr == nil && v.Kind() == KindPush {
					// ReadString refuses a push like any other kind.
					if _, _, err := r.ReadString(); err == nil {
						t.Fatalf("ReadString took the push %v", v)
					}
					if _, err := r.ReadValue(); err != nil {
						t.Fatalf("ReadValue after the refused push: %v", err)
					}
					continue
				}
				s, null, err := r.ReadString()
				var wk *WrongKindError
				if errors.As(err, &wk) {
					// Left unread: ReadValue reads it as the other reader did.
					if verr == nil && (v.Kind() == KindNull || isStringKind(v.Kind())) {
						t.Fatalf("ReadString refused %v, which ReadValue read as %v", wk.Got, v)
					}
					v2, err2 := r.ReadValue()
					v.attr = nil // ReadString consumed the reply's attributes
					if (err2 == nil) != (verr == nil) || (verr == nil && !v2.Equal(v)) {
						t.Fatalf("after a refused %v, ReadValue gave %v, %v; want %v, %v", wk.Got, v2, err2, v, verr)
					}
					if verr != nil {
						break
					}
					continue
				}
				if (err == nil) != (verr == nil) {
					t.Fatalf("ReadString: %q, %v, %v; ReadValue: %v, %v", s, null, err, v, verr)
				}
				if err != nil {
					break
				}
				want, werr := v.Str()
				if null != v.IsNull() || (!null && (werr != nil || s != want)) {
					t.Fatalf("ReadString = %q, null %v; ReadValue = %v", s, null, v)
				}
			}
		}
	})
}

// isStringKind reports the kinds ReadString reads.
func isStringKind(k Kind) bool {
	return k == KindSimpleString || k == KindBulkString || k == KindVerbatim
}
