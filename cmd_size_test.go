package respool

import (
	"errors"
	"testing"
	"unsafe"
)

// TestCmdSize: a pipelined GET allocates its Cmd and its value; the Cmd
// of a string or an integer fits the 64-byte size class (its error lives
// in the shared cmdExt until it has one of its own: Cmd.setErr).
func TestCmdSize(t *testing.T) {
	if n := unsafe.Sizeof(Cmd[string]{}); n > 64 {
		t.Errorf("Cmd[string] is %d bytes, want at most 64", n)
	}
	if n := unsafe.Sizeof(Cmd[int64]{}); n > 64 {
		t.Errorf("Cmd[int64] is %d bytes, want at most 64", n)
	}
}

// TestCmdErrOfSharedExt: an error set on a command of the fast form, whose
// cmdExt is shared, is its own; clearing it, or setting Nil, takes no
// other command's state with it.
func TestCmdErrOfSharedExt(t *testing.T) {
	a, b := &Cmd[string]{ext: stringExt}, &Cmd[string]{ext: stringExt}
	boom := errors.New("boom")
	a.setErr(boom)
	if a.Err() != boom || b.Err() != nil || stringExt.err != nil {
		t.Fatalf("after a.setErr(boom): a %v, b %v, stringExt %v", a.Err(), b.Err(), stringExt.err)
	}
	b.setErr(Nil)
	if b.Err() != Nil || a.Err() != boom || stringExt.err != nil {
		t.Fatalf("after b.setErr(Nil): a %v, b %v", a.Err(), b.Err())
	}
	a.setErr(nil)
	b.SetVal("v")
	if a.Err() != nil || b.Err() != nil || b.Val() != "v" || stringExt.err != nil || stringExt.nilExt.err != Nil {
		t.Fatalf("after clearing: a %v, b %v %q", a.Err(), b.Err(), b.Val())
	}
	var z Cmd[int64]
	z.SetErr(boom)
	if z.Err() != boom {
		t.Fatalf("a zero Cmd's SetErr: %v", z.Err())
	}
	z.SetVal(1)
	if z.Err() != nil || z.Val() != 1 {
		t.Fatalf("a zero Cmd's SetVal: %v %d", z.Err(), z.Val())
	}
}
