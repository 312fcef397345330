package respool

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
)

// scriptedConn returns a Conn whose peer discards what it is sent and
// answers with replies, all at once, then closes.
func scriptedConn(t *testing.T, replies string) *Conn {
	t.Helper()
	c1, c2 := net.Pipe()
	cn := newConn(c1, (&Options{}).withDefaults())
	t.Cleanup(func() { cn.Close() })
	go func() {
		defer c2.Close()
		go func() { _, _ = io.Copy(io.Discard, c2) }()
		_, _ = io.WriteString(c2, replies)
	}()
	return cn
}

// The replies a direct read takes and those it leaves to the Value path,
// in one batch: each command must end with what setReply would have
// given it.
var directCases = []struct {
	name  string
	reply string
	op    fastOp
	str   string
	num   int64
	err   string // "nil" for Nil, else a server error's prefix
}{
	{"push then a string", ">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n$5\r\nhello\r\n", opGet, "hello", 0, ""},
	{"server error", "-WRONGTYPE not a string\r\n", opGet, "", 0, "WRONGTYPE"},
	{"RESP2 null", "$-1\r\n", opGet, "", 0, "nil"},
	{"RESP3 null", "_\r\n", opGet, "", 0, "nil"},
	{"verbatim", "=9\r\ntxt:hello\r\n", opGet, "hello", 0, ""},
	{"status", "+OK\r\n", opSet, "OK", 0, ""},
	{"integer", ":7\r\n", opIncr, "", 7, ""},
	{"string as an integer", "$2\r\n42\r\n", opIncr, "", 42, ""},
	{"integer error", "-ERR not an integer\r\n", opIncr, "", 0, "ERR"},
}

// checkDirect fails t unless val and err are what the case wants.
func checkDirect[T comparable](t *testing.T, name string, val T, err error, want T, wantErr string) {
	t.Helper()
	switch wantErr {
	case "":
		if err != nil || val != want {
			t.Errorf("%s: %v, %v; want %v", name, val, err, want)
		}
	case "nil":
		if !errors.Is(err, Nil) {
			t.Errorf("%s: %v, %v; want Nil", name, val, err)
		}
	default:
		var e *Error
		if !errors.As(err, &e) || e.Prefix() != wantErr {
			t.Errorf("%s: %v, %v; want a %s error", name, val, err, wantErr)
		}
	}
}

// TestDirectRepliesInABatch runs the cases as one batch of typed
// commands, as a pipeline does: direct reads and Value reads alternate on
// one reader.
func TestDirectRepliesInABatch(t *testing.T) {
	replies := ""
	reqs := make([]request, len(directCases))
	strs := make([]*Cmd[string], len(directCases))
	ints := make([]*Cmd[int64], len(directCases))
	for i, dc := range directCases {
		replies += dc.reply
		if fastOps[dc.op].intReply {
			ints[i] = &Cmd[int64]{ext: intExt}
			ints[i].setFast(dc.op, "k", "")
			reqs[i] = ints[i]
		} else {
			strs[i] = &Cmd[string]{ext: stringExt}
			strs[i].setFast(dc.op, "k", "v")
			reqs[i] = strs[i]
		}
	}
	cn := scriptedConn(t, replies)
	if err := cn.run(context.Background(), reqs...); err != nil {
		t.Fatal(err)
	}
	for i, dc := range directCases {
		if ints[i] != nil {
			checkDirect(t, dc.name, ints[i].val, ints[i].Err(), dc.num, dc.err)
		} else {
			checkDirect(t, dc.name, strs[i].val, strs[i].Err(), dc.str, dc.err)
		}
	}
}

// connRunner runs the fast form's requests on one Conn, as a Client's
// exclusive path does, for runLocal.
type connRunner struct{ cn *Conn }

func (r connRunner) hooked() bool                            { return false }
func (r connRunner) processCmd(context.Context, Cmder)       { panic("no hooks") }
func (r connRunner) runFast(ctx context.Context, f *fastReq) { _ = r.cn.run(ctx, f) }

// TestDirectRepliesOneByOne runs each case alone through runLocal, the
// Client's single-command path, where a pooled fastReq reads the reply.
func TestDirectRepliesOneByOne(t *testing.T) {
	for _, dc := range directCases {
		r := connRunner{scriptedConn(t, dc.reply)}
		ctx := context.Background()
		if fastOps[dc.op].intReply {
			cmd := &Cmd[int64]{ext: intExt}
			cmd.setFast(dc.op, "k", "")
			runLocal(r, ctx, cmd)
			checkDirect(t, dc.name, cmd.val, cmd.Err(), dc.num, dc.err)
		} else {
			cmd := &Cmd[string]{ext: stringExt}
			cmd.setFast(dc.op, "k", "v")
			runLocal(r, ctx, cmd)
			checkDirect(t, dc.name, cmd.val, cmd.Err(), dc.str, dc.err)
		}
	}
}

// TestDirectReadBreaksOnBadReply: a reply the direct read finds malformed
// fails the connection, as the Value path does.
func TestDirectReadBreaksOnBadReply(t *testing.T) {
	cn := scriptedConn(t, "$3\r\nabcde\r\n")
	cmd := &Cmd[string]{ext: stringExt}
	cmd.setFast(opGet, "k", "")
	err := cn.run(context.Background(), cmd)
	var ce *ConnError
	if !errors.As(err, &ce) || OutcomeOf(err) != OutcomeUnknown || cn.reusable() {
		t.Fatalf("run on a malformed reply: %v (outcome %v, reusable %v); want a broken connection", err, OutcomeOf(err), cn.reusable())
	}
	if !errors.Is(cmd.Err(), err) && cmd.Err() != err {
		t.Fatalf("the command's error %v, want the connection's %v", cmd.Err(), err)
	}
}
