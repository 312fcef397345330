package respool

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/respool/respool/internal/cmdinfo"
	"github.com/respool/respool/resp"
)

// The fast form of a command. The most frequent commands (GET, SET...)
// keep their arguments unboxed, as strings in the command itself, and are
// written straight from there: boxing a string into an `any` costs an
// allocation, which for GET would be as much as the reply itself. Their
// public Args builds the boxed list only when asked.

// fastOp names a command of the fast form; 0 is a command of the usual
// form (argv).
type fastOp uint8

const (
	opNone fastOp = iota
	opGet
	opSet
	opHGet
	opIncr
	opDel
	opExists
)

// fastOpInfo describes one fastOp: its name as written, its name in lower
// case (for Name), its number of arguments after the name, and a boxed
// argv holding only the name, which is what the command-table lookups
// (muxable, retryable, afterWrite) look at.
type fastOpInfo struct {
	name  string
	lower string
	nargs int
	argv  []any
	// intReply says the command answers with an integer (its Cmd is a
	// Cmd[int64]); the others answer with a string (a Cmd[string]).
	intReply bool
	// head is the command's array header and name, encoded once.
	head string
}

var fastOps = [...]fastOpInfo{
	opGet:    newFastOp("GET", 1, false),
	opSet:    newFastOp("SET", 2, false),
	opHGet:   newFastOp("HGET", 2, false),
	opIncr:   newFastOp("INCR", 1, true),
	opDel:    newFastOp("DEL", 1, true),
	opExists: newFastOp("EXISTS", 1, true),
}

// newFastOp describes the command name of nargs arguments.
func newFastOp(name string, nargs int, intReply bool) fastOpInfo {
	return fastOpInfo{
		name: name, lower: strings.ToLower(name), nargs: nargs, argv: []any{name}, intReply: intReply,
		head: "*" + strconv.Itoa(1+nargs) + "\r\n$" + strconv.Itoa(len(name)) + "\r\n" + name + "\r\n",
	}
}

// fastArgs are the arguments of a command of the fast form.
type fastArgs struct {
	op fastOp
	// borrow says the decoder keeps nothing of the reply's top-level
	// element slice (set for the decoders of the commands that return
	// many values); see request.borrowsElems. It is here, beside op,
	// because it fits in op's padding and is never written once the
	// command is built.
	borrow bool
	a      [2]string
}

// setFast makes f the command op of a0, and of a1 for an op of two
// arguments (a1 is ignored otherwise).
func (f *fastArgs) setFast(op fastOp, a0, a1 string) {
	f.op, f.a = op, [2]string{a0, a1}
}

// boxed returns the command and its arguments as a new []any.
func (f *fastArgs) boxed() []any {
	info := &fastOps[f.op]
	argv := make([]any, 1+info.nargs)
	argv[0] = info.name
	for i := range info.nargs {
		argv[1+i] = f.a[i]
	}
	return argv
}

// write writes the command.
func (f *fastArgs) write(w *resp.Writer) error {
	info := &fastOps[f.op]
	// The writer's error is sticky: the last call reports any failure.
	err := w.WriteEncoded(info.head)
	for i := range info.nargs {
		err = w.WriteBulkString(f.a[i])
	}
	return err
}

// fastRunner is what runLocal needs of a Client or a ClusterClient. Only
// the heap copy of a command or a pooled fastReq ever reaches it, never
// the caller's *Cmd, so the interface does not make that escape.
type fastRunner interface {
	// hooked reports whether hooks are installed: they must see a Cmd.
	hooked() bool
	// processCmd runs cmd through the hooks (the cmdable).
	processCmd(ctx context.Context, cmd Cmder)
	// runFast runs a command of the fast form; f.Err tells the outcome.
	runFast(ctx context.Context, f *fastReq)
}

// fastReadOnly says which fast-form commands only read (GET, HGET,
// EXISTS), from the command table: a ClusterClient may send them to a
// replica.
var fastReadOnly = func() (ro [len(fastOps)]bool) {
	for op := range fastOps {
		if name := fastOps[op].name; name != "" {
			info, _ := cmdinfo.LookupArgs([]string{name})
			ro[op] = info.IsReadOnly()
		}
	}
	return ro
}()

// fastShared says which fast-form commands may share a connection:
// muxable of their name, looked up once. Their arguments are strings,
// which resp.CheckArgs always accepts, so the name decides.
var fastShared = func() (sh [len(fastOps)]bool) {
	for op := range fastOps {
		if fastOps[op].name != "" {
			sh[op] = muxable(fastOps[op].argv)
		}
	}
	return sh
}()

// fastReq carries a command of the fast form through the Client's
// machinery (retries, the pool, the multiplexer) on behalf of a *Cmd that
// stays on its caller's stack: a Cmd handed to that machinery escapes to
// the heap, a pooled fastReq costs nothing. It keeps the raw reply; the
// Cmd decodes it.
type fastReq struct {
	fastArgs
	val resp.Value
	err error

	// direct says that the reply may be read straight into str or num
	// (readDirect): the Cmd behind it decodes with its type's standard
	// decoder. got says what was read that way; replyValue: val holds
	// the reply (or nothing arrived).
	direct bool
	got    directReply
	str    string
	num    int64

	// mux carries f on a shared connection (carrier), made once and
	// recycled with f: a fastReq goes back to its pool only when it
	// succeeded, and then no shared connection holds its carrier any more.
	mux *muxRequest
}

// carrier returns f's own muxRequest, ready to carry f on a shared
// connection, in place of a pooled one.
func (f *fastReq) carrier() *muxRequest {
	m := f.mux
	if m == nil {
		m = &muxRequest{own: true, done: make(chan struct{}, 1)}
		f.mux = m
	}
	m.one[0] = f
	m.reqs = m.one[:1]
	m.vals = m.oneVal[:1]
	m.read, m.auth = 0, false
	m.state.Store(muxWaiting)
	return m
}

// directReply is what a fastReq read straight from the wire.
type directReply uint8

const (
	replyValue  directReply = iota // the reply is val (a Value)
	replyString                    // a string, in str
	replyNull                      // a null where a string was expected
	replyInt                       // an integer, in num
)

// readDirect is directReader.readDirect for the fast form: the string of
// a GET, SET or HGET, the integer of an INCR, DEL or EXISTS.
func (f *fastReq) readDirect(r *resp.Reader) (bool, error) {
	if !f.direct {
		return false, nil
	}
	var err error
	if fastOps[f.op].intReply {
		if f.num, err = r.ReadInteger(); err == nil {
			f.got = replyInt
		}
	} else {
		var null bool
		if f.str, null, err = r.ReadString(); err == nil {
			f.got = replyString
			if null {
				f.got = replyNull
			}
		}
	}
	if _, wrong := err.(*resp.WrongKindError); wrong {
		return false, nil
	}
	return err == nil, err
}

var fastReqPool = sync.Pool{New: func() any { return new(fastReq) }}

func (f *fastReq) Name() string     { return fastOps[f.op].lower }
func (f *fastReq) Args() []any      { return f.boxed() }
func (f *fastReq) classArgs() []any { return fastOps[f.op].argv }

// wireSize is sizedRequest's: the name and both arguments, with a generous
// 16 bytes of framing for each.
func (f *fastReq) wireSize() int                  { return 48 + len(f.a[0]) + len(f.a[1]) }
func (f *fastReq) writeArgs(w *resp.Writer) error { return f.write(w) }

// setReply keeps the reply a shared connection's reader read. A bulk or
// simple string for a Cmd whose decoder is DecodeString is kept as
// readDirect would have read it, so that the Cmd takes it without
// decoding.
func (f *fastReq) setReply(v resp.Value) {
	if k := v.Kind(); f.direct && (k == resp.KindBulkString || k == resp.KindSimpleString) && !fastOps[f.op].intReply {
		f.str, f.got = v.Text(), replyString
		return
	}
	f.val = v
}

func (f *fastReq) setErr(err error)   { f.err = err }
func (f *fastReq) borrowsElems() bool { return false }
func (f *fastReq) reset() {
	f.val, f.err, f.got, f.str, f.num = resp.Value{}, nil, replyValue, "", 0
}

// Err returns the connection's failure, or the server's error reply.
func (f *fastReq) Err() error {
	if f.err == nil && f.val.IsError() {
		return NewError(f.val.Text())
	}
	return f.err
}

// runLocal runs cmd for a Client without letting cmd escape, so that a
// typed method whose *Cmd does not outlive its caller allocates nothing
// for it. A command of the fast form goes through a pooled fastReq; any
// other command, or any command when hooks are installed (they may keep
// the Cmder they are given), runs as a heap copy whose result is copied
// back. Its callers (runFastString, runSet... in client_fast.go) are kept
// out of line and non-generic, so that the typed methods calling them stay
// inlinable and the compiler can prove, across packages, that their *Cmd
// does not escape.
func runLocal[T any](c fastRunner, ctx context.Context, cmd *Cmd[T]) {
	if cmd.op == opNone || c.hooked() {
		h := new(Cmd[T])
		*h = *cmd
		c.processCmd(ctx, h)
		cmd.val, cmd.ext = h.val, h.ext
		return
	}
	f := fastReqPool.Get().(*fastReq)
	f.fastArgs = cmd.fastArgs
	f.direct = cmd.ext != nil && cmd.ext.direct
	c.runFast(ctx, f)
	if f.err != nil {
		// A failed request may still be referenced by a multiplexed
		// connection's queue: it is left to the garbage collector.
		cmd.setErr(f.err)
		return
	}
	if f.got == replyValue {
		cmd.setReply(f.val)
	} else {
		cmd.takeDirect(f)
	}
	f.reset()
	f.fastArgs, f.direct = fastArgs{}, false
	fastReqPool.Put(f)
}
