package respool

import (
	"context"
	"time"
)

// The Client's own definitions of its most frequent commands. They do
// what the shared definitions (cmdable) do, but run the command through
// runLocal, so that a *Cmd whose caller reads it and drops it, as in
// c.Get(ctx, key).Result(), stays on the caller's stack: a GET then
// allocates only its reply's string.

// Get returns the value of key; Nil when the key does not exist.
func (c *Client) Get(ctx context.Context, key string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	runFastString(c, ctx, cmd, opGet, key, "")
	return cmd
}

// Set sets key to value and returns "OK". A positive expiration expires
// the key after it (EX for whole seconds, PX otherwise); KeepTTL keeps the
// key's time to live; 0 or another negative value clears it.
//
// A SET of a string without expiration allocates nothing inside respool.
// value is an `any`, though, and Go boxes a string that is not a constant
// when the call converts it: 16 bytes, paid by the caller.
func (c *Client) Set(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[string] {
	cmd := new(Cmd[string])
	runSet(c, ctx, cmd, key, value, expiration)
	return cmd
}

// HGet returns the value of field in the hash at key; Nil when the field
// or the key does not exist.
func (c *Client) HGet(ctx context.Context, key, field string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	runFastString(c, ctx, cmd, opHGet, key, field)
	return cmd
}

// Incr adds 1 to the integer at key (0 if missing) and returns the result.
func (c *Client) Incr(ctx context.Context, key string) *Cmd[int64] {
	cmd := &Cmd[int64]{ext: intExt}
	runFastInt(c, ctx, cmd, opIncr, key, "")
	return cmd
}

// Del deletes keys and returns how many existed.
func (c *Client) Del(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := new(Cmd[int64])
	runKeysCmd(c, ctx, cmd, opDel, keys)
	return cmd
}

// Exists returns how many of keys exist (a key named twice counts twice).
func (c *Client) Exists(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := new(Cmd[int64])
	runKeysCmd(c, ctx, cmd, opExists, keys)
	return cmd
}

// hooked and processCmd (from front) and runFast make Client a fastRunner.

func (c *Client) runFast(ctx context.Context, f *fastReq) { _ = c.runCmd(ctx, f) }

// runFastString and runFastInt make cmd the command op of a0 (and a1 for
// a two-argument op) and run it with runLocal. They are not generic on
// purpose: the compiler does not carry what it learnt about a generic
// function's parameters into other packages, and a caller in another
// package must know that cmd does not escape.
//
//go:noinline
func runFastString(c fastRunner, ctx context.Context, cmd *Cmd[string], op fastOp, a0, a1 string) {
	cmd.setFast(op, a0, a1)
	runLocal(c, ctx, cmd)
}

//go:noinline
func runFastInt(c fastRunner, ctx context.Context, cmd *Cmd[int64], op fastOp, a0, a1 string) {
	cmd.setFast(op, a0, a1)
	runLocal(c, ctx, cmd)
}

//go:noinline
func runSet(c fastRunner, ctx context.Context, cmd *Cmd[string], key string, value any, expiration time.Duration) {
	initSet(cmd, key, value, expiration)
	runLocal(c, ctx, cmd)
}

//go:noinline
func runKeysCmd(c fastRunner, ctx context.Context, cmd *Cmd[int64], op fastOp, keys []string) {
	initKeysCmd(cmd, op, keys)
	runLocal(c, ctx, cmd)
}
