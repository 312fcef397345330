package resp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// parseOnly is ReadValue without bufferedCommon: the general parser alone.
func (r *Reader) parseOnly() (Value, error) {
	if err := r.begin(); err != nil {
		return Value{}, err
	}
	v, err := r.parse(false)
	if err != nil {
		return Value{}, r.fail(err)
	}
	return v, nil
}

// readStringGeneral is ReadString without bufferedBulk.
func (r *Reader) readStringGeneral() (string, bool, error) {
	if err := r.begin(); err != nil {
		return "", false, err
	}
	h, err := r.readStringHeader()
	if err == nil && !h.null {
		var s string
		switch {
		case h.simple:
			s = simpleString(h.text)
		case h.streamed:
			var b []byte
			b, err = r.readChunks(nil, h.off, false)
			s = bytesToString(b)
		default:
			s, err = r.readBulkString(h.n)
		}
		if err == nil {
			return s, false, nil
		}
	}
	if err != nil {
		return "", false, r.lowLevelResult(err)
	}
	return "", h.null, nil
}

// sameErr reports whether two reads failed alike.
func sameErr(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return a == nil || a.Error() == b.Error() && reflect.TypeOf(a) == reflect.TypeOf(b)
}

// fastPathSeeds are replies near the edges of the buffered fast paths.
var fastPathSeeds = []string{
	"$0\r\n\r\n", "$00\r\n\r\n", "$01\r\na\r\n", "$-0\r\n", "$-1\r\n", "$+1\r\na\r\n",
	"$5\r\nhello\r\n", "$5\r\nhel\r\n\r\n", "$5\r\nhello\n\r", "$5\r\nhelloXY", "$5\r\nhello",
	"$5\n\rhello\r\n", "$12345\r\n", "$99999\r\n", "$100000\r\n", "$123456\r\n",
	"$3\r\na\r\n\r\n", "$4\r\na\r\nb\r\n", "+OK\r\n", "+OK\n", "+OK\r", "+OKAY\r\n",
	"|1\r\n+k\r\n+v\r\n$1\r\na\r\n", "|1\r\n+k\r\n+v\r\n+OK\r\n", "=7\r\ntxt:abc\r\n",
	"$?\r\n;1\r\na\r\n;0\r\n", "$1\r\n\r\r\n", "$2\r\n\r\n\r\n",
}

// FuzzBufferedFastPaths checks that ReadValue and ReadString, which read a
// short bulk string or +OK whole in the buffer without the general path,
// read what the general path reads, fail where it fails, and consume the
// same bytes, on any input, however it arrives, and whatever MaxBulkLen.
func FuzzBufferedFastPaths(f *testing.F) {
	for _, s := range fastPathSeeds {
		f.Add([]byte(s), int64(0))
		f.Add([]byte(s), int64(3))
		f.Add([]byte(s+s+"+OK\r\n"+s), int64(5))
	}
	addSeeds(f, func(data []byte) { f.Add(data, int64(0)) })
	f.Fuzz(func(t *testing.T, data []byte, maxBulk int64) {
		// A first reply that the general path reads fills the buffer with
		// the rest of data, so that every reply after it is buffered whole
		// and meets the fast paths.
		in := append([]byte(":1\r\n"), data...)
		lim := Limits{MaxBulkLen: maxBulk}
		for run := range 4 {
			str := run%2 == 1
			source := func() io.Reader { return bytes.NewReader(in) }
			if run >= 2 {
				// The stream split at every byte: the fast paths see a
				// reply partly buffered and must leave it to the general
				// path.
				source = func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) }
			}
			fast := NewReader(source())
			slow := NewReader(source())
			fast.SetLimits(lim)
			slow.SetLimits(lim)
			for i := 0; ; i++ {
				var vf, vs Value
				var ef, es error
				if str && i > 0 {
					var sf, ss string
					var nf, ns bool
					sf, nf, ef = fast.ReadString()
					ss, ns, es = slow.readStringGeneral()
					if sf != ss || nf != ns {
						t.Fatalf("reply %d: ReadString %q, %v; general path %q, %v", i, sf, nf, ss, ns)
					}
				} else {
					vf, ef = fast.ReadValue()
					vs, es = slow.parseOnly()
				}
				if !sameErr(ef, es) {
					t.Fatalf("reply %d: error %v; general path %v", i, ef, es)
				}
				if !reflect.DeepEqual(vf, vs) {
					t.Fatalf("reply %d: %#v; general path %#v", i, vf, vs)
				}
				if fast.Offset() != slow.Offset() {
					t.Fatalf("reply %d: offset %d; general path %d", i, fast.Offset(), slow.Offset())
				}
				var wrong *WrongKindError
				if ef != nil && !errors.As(ef, &wrong) {
					break
				}
				if ef != nil {
					// ReadString refused the kind: read it as a Value.
					vf, ef = fast.ReadValue()
					vs, es = slow.parseOnly()
					if !sameErr(ef, es) || !reflect.DeepEqual(vf, vs) || fast.Offset() != slow.Offset() {
						t.Fatalf("reply %d after a wrong kind: %#v, %v; general path %#v, %v", i, vf, ef, vs, es)
					}
					if ef != nil {
						break
					}
				}
			}
		}
	})
}
