package respool

import (
	"context"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// The ClusterClient's own definitions of its most frequent commands, as
// client_fast.go gives the Client: the command is routed by its key as an
// unboxed string and runs as a pooled fastReq, so that a *Cmd whose caller
// reads it and drops it stays on the caller's stack. A GET then allocates
// only its reply's string. With hooks installed, or for the forms that are
// not fast (a SET with options, a DEL of several keys), they run as the
// shared definitions do.
//
// The six methods repeat client_fast.go's on purpose. Defining them once
// on an embedded type would put them at the same depth as cmdable's and
// make every call ambiguous; calling them through an interface would stop
// them from being inlined, and the *Cmd would escape again.

// Get returns the value of key; Nil when the key does not exist.
func (c *ClusterClient) Get(ctx context.Context, key string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	runFastString(c, ctx, cmd, opGet, key, "")
	return cmd
}

// Set sets key to value and returns "OK". A positive expiration expires
// the key after it (EX for whole seconds, PX otherwise); KeepTTL keeps the
// key's time to live; 0 or another negative value clears it. As with
// Client.Set, a non-constant string value is boxed by the caller's
// conversion to any.
func (c *ClusterClient) Set(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[string] {
	cmd := new(Cmd[string])
	runSet(c, ctx, cmd, key, value, expiration)
	return cmd
}

// HGet returns the value of field in the hash at key; Nil when the field
// or the key does not exist.
func (c *ClusterClient) HGet(ctx context.Context, key, field string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	runFastString(c, ctx, cmd, opHGet, key, field)
	return cmd
}

// Incr adds 1 to the integer at key (0 if missing) and returns the result.
func (c *ClusterClient) Incr(ctx context.Context, key string) *Cmd[int64] {
	cmd := &Cmd[int64]{ext: intExt}
	runFastInt(c, ctx, cmd, opIncr, key, "")
	return cmd
}

// Del deletes keys and returns how many existed. Keys of several slots
// need ClusterOptions.SplitMultiKey.
func (c *ClusterClient) Del(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := new(Cmd[int64])
	runKeysCmd(c, ctx, cmd, opDel, keys)
	return cmd
}

// Exists returns how many of keys exist (a key named twice counts twice).
// Keys of several slots need ClusterOptions.SplitMultiKey.
func (c *ClusterClient) Exists(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := new(Cmd[int64])
	runKeysCmd(c, ctx, cmd, opExists, keys)
	return cmd
}

// hooked and processCmd (from front) and runFast make ClusterClient a
// fastRunner.

// runFast routes f by its key (the first argument of every fast-form
// command) and runs it there, following redirections as runCmd does.
func (c *ClusterClient) runFast(ctx context.Context, f *fastReq) {
	if c.closed.Load() {
		f.setErr(ErrClosed)
		return
	}
	_ = c.runRouted(ctx, f, cluster.Slot(f.a[0]), fastReadOnly[f.op])
}
