package resp

import (
	"io"
	"strings"
	"testing"
)

// loopReader serves data again and again, like a connection that keeps
// receiving the same replies.
type loopReader struct {
	data string
	pos  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.pos:])
	l.pos = (l.pos + n) % len(l.data)
	return n, nil
}

// loopOf repeats one reply enough times to fill a few buffers per loop.
func loopOf(reply string) *loopReader {
	return &loopReader{data: strings.Repeat(reply, max(1, 64<<10/len(reply)))}
}

func benchmarkRead(b *testing.B, reply string, read func(*Reader) error) {
	r := NewReader(loopOf(reply))
	b.SetBytes(int64(len(reply)))
	b.ReportAllocs()
	for b.Loop() {
		if err := read(r); err != nil {
			b.Fatal(err)
		}
	}
}

func readValue(r *Reader) error { _, err := r.ReadValue(); return err }

var (
	benchBulk    = "$32\r\n" + strings.Repeat("v", 32) + "\r\n"
	benchArray   = "*100\r\n" + strings.Repeat("$10\r\n0123456789\r\n", 100)
	benchMap     = "%10\r\n" + strings.Repeat("$5\r\nfield\r\n$10\r\n0123456789\r\n", 10)
	benchCommand = []any{"SET", "key:000000001", "value-0123456789"}
)

func BenchmarkReadBulkString(b *testing.B) { benchmarkRead(b, benchBulk, readValue) }

func BenchmarkReadArray100Bulks(b *testing.B) { benchmarkRead(b, benchArray, readValue) }

func BenchmarkReadMap10(b *testing.B) { benchmarkRead(b, benchMap, readValue) }

func BenchmarkReadSimpleOK(b *testing.B) { benchmarkRead(b, "+OK\r\n", readValue) }

func BenchmarkReadInteger(b *testing.B) {
	benchmarkRead(b, ":1234567\r\n", func(r *Reader) error { _, err := r.ReadInteger(); return err })
}

func BenchmarkSkipArray100Bulks(b *testing.B) { benchmarkRead(b, benchArray, (*Reader).Skip) }

func BenchmarkReadBulkAppend(b *testing.B) {
	buf := make([]byte, 0, 64)
	benchmarkRead(b, benchBulk, func(r *Reader) error {
		var err error
		buf, _, err = r.ReadBulkAppend(buf[:0])
		return err
	})
}

func BenchmarkReadBulkAppend1MiB(b *testing.B) {
	buf := make([]byte, 0, 1<<20)
	benchmarkRead(b, "$1048576\r\n"+strings.Repeat("x", 1<<20)+"\r\n", func(r *Reader) error {
		var err error
		buf, _, err = r.ReadBulkAppend(buf[:0])
		return err
	})
}

func BenchmarkWriteCommand3Args(b *testing.B) {
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteCommand("SET", "key:000000001", "value-0123456789"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteArgs3Args(b *testing.B) {
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteArgs(benchCommand); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCommandMixed(b *testing.B) {
	w := NewWriter(io.Discard)
	args := []any{"SET", "key:000000001", []byte("value"), "EX", 3600, 1.5, true}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteArgs(args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendCommand3Args(b *testing.B) {
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendCommand(buf[:0], "SET", "key:000000001", "value-0123456789")
	}
}
