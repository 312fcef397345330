package resp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

// vecRecorder takes net.Buffers in one call, as a TCP connection does with
// writev, and records the calls.
type vecRecorder struct {
	out    bytes.Buffer
	calls  int
	writes int
	fail   error
	short  bool
}

func (v *vecRecorder) Write(p []byte) (int, error) {
	v.writes++
	return v.out.Write(p)
}

func (v *vecRecorder) WriteBuffers(bufs *net.Buffers) (int64, error) {
	v.calls++
	if v.fail != nil {
		return 0, v.fail
	}
	var n int64
	for _, b := range *bufs {
		if v.short {
			b = b[:len(b)/2]
		}
		v.out.Write(b)
		n += int64(len(b))
	}
	return n, nil
}

// writeSample writes small and large arguments around each other.
func writeSample(w *Writer, big string) {
	w.WriteCommand("SET", "k1", big)
	w.WriteCommand("SET", "k2", big[:10])
	w.WriteCommand("MSET", "k3", big, "k4", big, "k5", "v")
	w.WriteBulkString(big)
}

// A destination that takes several slices gets the large strings lent,
// not copied, and everything in one call at Flush, byte for byte what a
// plain destination gets.
func TestWriterLendsLargeStrings(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64) // 1 KiB, larger than the buffer
	var plain bytes.Buffer
	pw := NewWriterSize(&plain, 256)
	writeSample(pw, big)
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}

	rec := &vecRecorder{}
	w := NewWriterSize(rec, 256)
	writeSample(w, big)
	if rec.calls != 0 || rec.writes != 0 {
		t.Fatalf("sent before Flush: %d vector writes, %d writes", rec.calls, rec.writes)
	}
	if w.Buffered() != plain.Len() {
		t.Fatalf("Buffered = %d, want %d", w.Buffered(), plain.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if rec.calls != 1 || rec.writes != 0 || rec.out.String() != plain.String() {
		t.Fatalf("%d vector writes, %d writes, %d bytes; want one vector write of %d bytes", rec.calls, rec.writes, rec.out.Len(), plain.Len())
	}
	if w.Buffered() != 0 {
		t.Fatalf("Buffered after Flush = %d", w.Buffered())
	}
	// The Writer is reusable after the vector write.
	rec.out.Reset()
	w.WriteCommand("PING")
	if err := w.Flush(); err != nil || rec.out.String() != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("after a vector write: %q, %v", rec.out.String(), err)
	}
}

// Many large strings do not pile up without bound: the Writer sends them
// once it keeps maxVecs slices.
func TestWriterLendsBounded(t *testing.T) {
	big := strings.Repeat("x", 300)
	rec := &vecRecorder{}
	w := NewWriterSize(rec, 256)
	var want bytes.Buffer
	pw := NewWriterSize(&want, 256)
	for range 3 * maxVecs {
		w.WriteBulkString(big)
		pw.WriteBulkString(big)
	}
	if rec.calls == 0 {
		t.Fatalf("%d large strings kept without a write", 3*maxVecs)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	pw.Flush()
	if rec.out.String() != want.String() {
		t.Fatal("the bytes sent differ from a plain writer's")
	}
}

func TestWriterLendErrors(t *testing.T) {
	big := strings.Repeat("x", 300)
	broken := errors.New("broken pipe")
	rec := &vecRecorder{fail: broken}
	w := NewWriterSize(rec, 256)
	w.WriteBulkString(big)
	if err := w.Flush(); err != broken {
		t.Fatalf("Flush = %v, want %v", err, broken)
	}
	if err := w.WriteBulkString("x"); err != broken {
		t.Fatalf("after the error: %v", err)
	}
	var buf bytes.Buffer
	w.Reset(&buf)
	if w.Buffered() != 0 {
		t.Fatalf("Buffered after Reset = %d", w.Buffered())
	}
	w.WriteBulkString(big)
	if err := w.Flush(); err != nil || buf.String() != "$300\r\n"+big+"\r\n" {
		t.Fatalf("after Reset: %v, %d bytes", err, buf.Len())
	}
	w = NewWriterSize(&vecRecorder{short: true}, 256)
	w.WriteBulkString(big)
	if err := w.Flush(); err != io.ErrShortWrite {
		t.Fatalf("short vector write: %v", err)
	}
}

// On a real TCP connection the slices go out with writev and arrive whole.
func TestWriterLendsOnTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	big := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	got := make(chan []Value, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		r := NewReader(c)
		var vals []Value
		for range 3 {
			v, err := r.ReadValue()
			if err != nil {
				break
			}
			vals = append(vals, v)
		}
		got <- vals
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := NewWriter(c)
	if !w.vectored {
		t.Fatal("a Writer on a *net.TCPConn does not write vectors")
	}
	w.WriteCommand("SET", "a", big)
	w.WriteCommand("SET", "b", big)
	w.WriteCommand("PING")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	vals := <-got
	if len(vals) != 3 || vals[0].elems[2].Text() != big || vals[1].elems[1].Text() != "b" || vals[1].elems[2].Text() != big || vals[2].elems[0].Text() != "PING" {
		t.Fatalf("the server read %d commands, or wrong ones", len(vals))
	}
}

// Large byte slices are copied or sent at once unless the caller lends
// them; lent, they go out with the rest at Flush.
func TestWriterLendSlices(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 300)
	rec := &vecRecorder{}
	w := NewWriterSize(rec, 256)
	w.WriteCommand("SET", "k", big)
	if rec.writes+rec.calls == 0 {
		t.Fatal("a large slice was kept without LendSlices")
	}
	w.Flush()
	sent := rec.out.String()

	rec = &vecRecorder{}
	w = NewWriterSize(rec, 256)
	w.LendSlices(true)
	w.WriteCommand("SET", "k", big)
	if rec.writes+rec.calls != 0 {
		t.Fatal("a lent slice was sent before Flush")
	}
	if err := w.Flush(); err != nil || rec.calls != 1 || rec.out.String() != sent {
		t.Fatalf("lent: %v, %d vector writes, %d bytes; want %d", err, rec.calls, rec.out.Len(), len(sent))
	}
}
