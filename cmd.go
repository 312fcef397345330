package respool

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/respool/respool/resp"
)

// Cmder is a command built by a typed method of Client, Pipeline or Tx,
// such as a *Cmd[string]. Hooks and pipelines see commands through it.
type Cmder interface {
	// Name returns the command's name in lower case ("get", "zadd"...).
	Name() string
	// Args returns the command and its arguments as sent.
	Args() []any
	// Err returns the command's error: nil, Nil for a null reply, an
	// *Error for a server error reply, or the connection's failure.
	Err() error

	request
	reset()
}

// Cmd is a command and, once it has run, its result: Val, Err and Result
// read it. Typed methods return a *Cmd at once; on a Client the command
// has already run, in a Pipeline or Tx it runs at Exec.
//
// Err is Nil (test with errors.Is(err, respool.Nil)) when the reply is
// null (GET of a missing key, a timed-out BLPOP...), an *Error for a
// server error reply, and otherwise a failure of the connection, whose
// Outcome tells whether the command may have run (see OutcomeOf).
type Cmd[T any] struct {
	val T
	fastArgs
	// ext holds the decoder, the error and, for a command of the usual
	// form, its arguments. Commands of the fast form share static
	// cmdExts (stringExt, intExt...), which are never written: such a
	// command that fails points to a copy of its own, or for Nil to the
	// static one that holds Nil (setErr). So a pipelined GET is no larger
	// than its result, its key and this pointer: 64 bytes.
	ext *cmdExt[T]
}

// cmdExt is the part of a Cmd that a command of the fast form shares with
// every other command decoded the same way.
type cmdExt[T any] struct {
	decode func(resp.Value) (T, error)
	err    error
	argv   []any // nil for a command of the fast form (cmd_fast.go)
	// name and keys, set together, give a command of many string
	// arguments (MGET, DEL of several keys...) without boxing each: it is
	// name[0] followed by keys, and name alone is what the command table
	// classifies it by. Args boxes them when it is called.
	name []any
	keys []string
	// shared marks a static cmdExt, which is never written; base is the
	// one of them whose err is nil, and nilExt the one whose err is Nil
	// (nil when its commands never answer null).
	shared bool
	base   *cmdExt[T]
	nilExt *cmdExt[T]
	// direct says decode is the standard decoder of T (DecodeString for
	// a string, DecodeInt for an int64), so that the reply may be read
	// straight into the result (readDirect) instead of through a Value.
	direct bool
}

// The static cmdExts of the fast form's commands, and of the other
// commands whose decoder they name. They must never be written.
var (
	stringExt = staticExt(&cmdExt[string]{decode: DecodeString, direct: true}, true)
	intExt    = staticExt(&cmdExt[int64]{decode: DecodeInt, direct: true}, false)
)

// staticExt marks e as a static cmdExt, shared by its commands and never
// written, with, when withNil, a twin whose err is Nil.
func staticExt[T any](e *cmdExt[T], withNil bool) *cmdExt[T] {
	e.shared, e.base, e.err = true, e, nil
	if withNil {
		n := *e
		n.err = Nil
		e.nilExt = &n
		n.nilExt = &n
	}
	return e
}

// NewCmd returns a command for args whose reply is converted by decode.
// It lets callers add typed commands of their own (modules, newer server
// commands): run it with Client.Process or queue it on a Pipeline.
func NewCmd[T any](decode func(resp.Value) (T, error), args ...any) *Cmd[T] {
	return newCmdArgv(decode, args)
}

// Adding a typed command takes one constructor: a method of cmdable
// (commands_*.go) builds its *Cmd with newCmd(decode, "NAME", args...)
// and hands it to the cmdable (c(ctx, cmd)); a list whose length depends
// on the caller's input is built once with argvOf and handed over with
// newCmdArgv. Mark a command borrowing when its decoder copies every
// element out. The fast form (cmd_fast.go, client_fast.go) is an
// optimisation of six hot commands, never needed for a new one.

// newCmd is NewCmd for the typed methods. The arguments are copied, so
// the variadic slice does not escape; up to six of them share one
// allocation with the command and its cmdExt. The storage lives beside
// the Cmd rather than in it, so that a command of the fast form (GET,
// SET...), which has no argv, is not made larger by it: in a pipeline of
// GETs the Cmd is most of the bytes allocated per command.
func newCmd[T any](decode func(resp.Value) (T, error), args ...any) *Cmd[T] {
	switch n := len(args); {
	case n <= 3:
		b := &struct {
			cmd Cmd[T]
			ext cmdExt[T]
			buf [3]any
		}{}
		copy(b.buf[:], args)
		b.ext = cmdExt[T]{decode: decode, argv: b.buf[:n:n]}
		b.cmd.ext = &b.ext
		return &b.cmd
	case n <= 6:
		b := &struct {
			cmd Cmd[T]
			ext cmdExt[T]
			buf [6]any
		}{}
		copy(b.buf[:], args)
		b.ext = cmdExt[T]{decode: decode, argv: b.buf[:n:n]}
		b.cmd.ext = &b.ext
		return &b.cmd
	default:
		return newCmdArgv(decode, append([]any(nil), args...))
	}
}

// newCmdArgv is newCmd for an argument list built for this command alone,
// whose length depends on the caller's input: the Cmd keeps argv instead
// of copying it. newCmd stays the right call for a short list, which it
// copies into the Cmd's own allocation so that the list can live on the
// caller's stack.
func newCmdArgv[T any](decode func(resp.Value) (T, error), argv []any) *Cmd[T] {
	b := &struct {
		cmd Cmd[T]
		ext cmdExt[T]
	}{}
	b.ext = cmdExt[T]{decode: decode, argv: argv}
	b.cmd.ext = &b.ext
	return &b.cmd
}

// newStringCmd and newIntCmd are newCmd with DecodeString (or
// DecodeStatus, the same decoder) and DecodeInt, and the Argv forms
// newCmdArgv with them: a command built by one of them reads a reply of
// the kind its decoder takes straight into its value (readDirect).
func newStringCmd(args ...any) *Cmd[string] { return directly(newCmd(DecodeString, args...)) }

func newIntCmd(args ...any) *Cmd[int64] { return directly(newCmd(DecodeInt, args...)) }

func newStringCmdArgv(argv []any) *Cmd[string] { return directly(newCmdArgv(DecodeString, argv)) }

func newIntCmdArgv(argv []any) *Cmd[int64] { return directly(newCmdArgv(DecodeInt, argv)) }

// directly marks c, from newCmd or newCmdArgv, as decoded by its type's
// standard decoder.
func directly[T any](c *Cmd[T]) *Cmd[T] {
	c.ext.direct = true
	return c
}

// argv returns the arguments of a command of the usual form. Those of a
// command of string arguments are boxed anew at each call (into a new
// slice: the Cmd is never written, so concurrent readers may call it).
func (c *Cmd[T]) argv() []any {
	e := c.ext
	if e == nil {
		return nil
	}
	if e.name != nil {
		argv := make([]any, 0, len(e.name)+len(e.keys))
		argv = append(argv, e.name...)
		for _, k := range e.keys {
			argv = append(argv, k)
		}
		return argv
	}
	return e.argv
}

// newKeysCmd returns a command of decode whose arguments are the strings
// keys after the command name[0] (see cmdExt.name): a list of keys costs
// one allocation, not one per key. keys is copied: a pipelined command is
// written at Exec, after its caller may have reused the slice.
func newKeysCmd[T any](decode func(resp.Value) (T, error), name []any, keys []string) *Cmd[T] {
	b := &struct {
		cmd Cmd[T]
		ext cmdExt[T]
	}{}
	b.ext = cmdExt[T]{decode: decode, name: name, keys: slices.Clone(keys)}
	b.cmd.ext = &b.ext
	return &b.cmd
}

// Result returns the value and the error.
func (c *Cmd[T]) Result() (T, error) { return c.val, c.Err() }

// Val returns the value, the zero value when Err is not nil.
func (c *Cmd[T]) Val() T { return c.val }

// Err returns the command's error.
func (c *Cmd[T]) Err() error {
	if c.ext == nil {
		return nil
	}
	return c.ext.err
}

// Args returns the command and its arguments.
func (c *Cmd[T]) Args() []any {
	if c.op != opNone {
		return c.boxed()
	}
	return c.argv()
}

// Name returns the command's name in lower case.
func (c *Cmd[T]) Name() string {
	if c.op != opNone {
		return fastOps[c.op].lower
	}
	if c.ext != nil && c.ext.name != nil {
		return cmdName(c.ext.name)
	}
	return cmdName(c.argv())
}

// String returns the command and its result for logs, for example
// "get k: v" or "get k: respool: nil".
func (c *Cmd[T]) String() string {
	var b strings.Builder
	for i, a := range c.Args() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, a)
	}
	b.WriteString(": ")
	if err := c.Err(); err != nil {
		b.WriteString(err.Error())
	} else {
		fmt.Fprint(&b, c.val)
	}
	return b.String()
}

// classArgs is request.classArgs: the arguments, or for the fast form
// the name alone.
func (c *Cmd[T]) classArgs() []any {
	if c.op != opNone {
		return fastOps[c.op].argv
	}
	if c.ext != nil && c.ext.name != nil {
		return c.ext.name
	}
	return c.argv()
}

func (c *Cmd[T]) writeArgs(w *resp.Writer) error {
	if c.op != opNone {
		return c.write(w)
	}
	if e := c.ext; e != nil && e.name != nil {
		_ = w.WriteArrayHeader(1 + len(e.keys))
		err := w.WriteBulkString(e.name[0].(string))
		for _, k := range e.keys {
			err = w.WriteBulkString(k)
		}
		return err
	}
	return w.WriteArgs(c.argv())
}

func (c *Cmd[T]) setReply(v resp.Value) {
	if v.IsError() {
		c.setErr(NewError(v.Text()))
		return
	}
	var err error
	c.val, err = c.ext.decode(v)
	c.setErr(err)
}

// setErr sets the command's error. A command of its own cmdExt keeps it
// there; one of a static cmdExt points to the static twin for nil and Nil,
// and to a copy of its own for any other error.
func (c *Cmd[T]) setErr(err error) {
	e := c.ext
	switch {
	case e == nil:
		if err != nil {
			c.ext = &cmdExt[T]{err: err}
		}
	case err == nil && e.err == nil:
	case !e.shared:
		e.err = err
	case err == nil:
		c.ext = e.base
	case err == Nil && e.nilExt != nil:
		c.ext = e.nilExt
	default:
		own := *e.base
		own.shared, own.base, own.nilExt, own.err = false, nil, nil, err
		c.ext = &own
	}
}

// takeDirect takes the reply f read straight from the wire (f.got is not
// replyValue), as setReply would have decoded it.
func (c *Cmd[T]) takeDirect(f *fastReq) {
	switch p := any(&c.val).(type) {
	case *string:
		*p = f.str
		if f.got == replyNull {
			c.setErr(Nil)
		} else {
			c.setErr(nil)
		}
	case *int64:
		*p = f.num
		c.setErr(nil)
	}
}

// readDirect is directReader.readDirect: a command whose decoder is its
// result type's standard one (ext.direct) reads a string reply into a
// string result, or an integer reply into an int64 result, as
// DecodeString and DecodeInt would decode them.
func (c *Cmd[T]) readDirect(r *resp.Reader) (bool, error) {
	if c.ext == nil || !c.ext.direct {
		return false, nil
	}
	var err error
	switch p := any(&c.val).(type) {
	case *string:
		var null bool
		if *p, null, err = r.ReadString(); err == nil {
			if null {
				c.setErr(Nil)
			} else {
				c.setErr(nil)
			}
		}
	case *int64:
		if *p, err = r.ReadInteger(); err == nil {
			c.setErr(nil)
		}
	default:
		return false, nil
	}
	if _, wrong := err.(*resp.WrongKindError); wrong {
		return false, nil
	}
	return err == nil, err
}

// borrowsElems reads a flag of the Cmd itself, set when it was built:
// a shared connection's reader asks it while the caller, gone, may be
// setting the command's error, which may change ext.
func (c *Cmd[T]) borrowsElems() bool { return c.borrow }

// borrowing marks c as done with its reply's elements once decoded: its
// decoder must copy out every element it keeps and never keep the slice
// of elements itself. DecodeSlice and DecodeMap qualify, whatever their
// element decoders (an element is a Value copy); DecodeValue does not.
//
// c must come from newCmd or newCmdArgv, whose cmdExt is its own.
func borrowing[T any](c *Cmd[T]) *Cmd[T] {
	c.borrow = true
	return c
}

func (c *Cmd[T]) reset() {
	var zero T
	c.val = zero
	c.setErr(nil)
}

// SetVal sets the command's value and clears its error. It is meant for
// tests and hooks that answer a command themselves.
func (c *Cmd[T]) SetVal(v T) {
	c.val = v
	c.setErr(nil)
}

// SetErr sets the command's error. It is meant for tests and hooks.
func (c *Cmd[T]) SetErr(err error) { c.setErr(err) }

// cmdName returns argv[0] in lower case.
func cmdName(argv []any) string {
	if len(argv) == 0 {
		return ""
	}
	s, ok := argString(argv[0])
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

// cmdable runs or queues a command: a Client runs it, a Pipeline queues
// it. Every typed command is a method of cmdable, so Client, Pipeline and
// Tx share one definition of each.
type cmdable func(ctx context.Context, cmd Cmder)
