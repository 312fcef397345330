package respool

import (
	"context"
	"fmt"
	"time"

	"github.com/respool/respool/resp"
)

// String commands: GET, SET and its variants, counters, ranges and LCS.

// KeepTTL, passed as the expiration of Set, keeps the time to live the
// key already has (SET ... KEEPTTL) instead of clearing it.
const KeepTTL time.Duration = -1

// SetArgs holds the options of SET for Client.SetArgs. The zero value
// sets the key unconditionally and clears its time to live.
type SetArgs struct {
	// Mode is "NX" (set only if the key does not exist), "XX" (only if it
	// exists) or "" (always).
	Mode string
	// TTL, when positive, expires the key after it: EX for whole seconds,
	// PX otherwise.
	TTL time.Duration
	// ExpireAt, when not zero, expires the key at that time: EXAT for
	// whole seconds, PXAT otherwise. Do not combine it with TTL.
	ExpireAt time.Time
	// KeepTTL keeps the time to live the key already has.
	KeepTTL bool
	// Get makes SET return the key's old value (SET ... GET).
	Get bool
}

// appendExpiry appends EX/PX for a positive d, or KEEPTTL for KeepTTL.
func appendExpiry(argv []any, d time.Duration) []any {
	switch {
	case d > 0 && d%time.Second == 0:
		return append(argv, "EX", int64(d/time.Second))
	case d > 0:
		return append(argv, "PX", expireMillis(d))
	case d == KeepTTL:
		return append(argv, "KEEPTTL")
	}
	return argv
}

// expireMillis converts d to whole milliseconds, at least 1 for a
// positive d shorter than a millisecond (0 would be rejected or mean
// "now").
func expireMillis(d time.Duration) int64 {
	if d > 0 && d < time.Millisecond {
		return 1
	}
	return int64(d / time.Millisecond)
}

// expireSeconds converts d to whole seconds, rounding down, but at least 1
// for a positive d shorter than a second.
func expireSeconds(d time.Duration) int64 {
	if d > 0 && d < time.Second {
		return 1
	}
	return int64(d / time.Second)
}

// decodeSetOK decodes the reply of a conditional SET or SETNX: "OK" or 1
// is true, a null (condition not met) or 0 is false.
func decodeSetOK(v resp.Value) (bool, error) {
	if v.IsNull() {
		return false, nil
	}
	return DecodeBool(v)
}

// Get returns the value of key; Nil when the key does not exist.
func (c cmdable) Get(ctx context.Context, key string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	cmd.setFast(opGet, key, "")
	c(ctx, cmd)
	return cmd
}

// Set sets key to value and returns "OK". A positive expiration expires
// the key after it (EX for whole seconds, PX otherwise); KeepTTL keeps the
// key's time to live; 0 or another negative value clears it.
func (c cmdable) Set(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[string] {
	cmd := new(Cmd[string])
	initSet(cmd, key, value, expiration)
	c(ctx, cmd)
	return cmd
}

func initSet(cmd *Cmd[string], key string, value any, expiration time.Duration) {
	if s, ok := value.(string); ok && expiration == 0 {
		cmd.ext = stringExt // DecodeStatus is DecodeString
		cmd.setFast(opSet, key, s)
		return
	}
	cmd.ext = &cmdExt[string]{decode: DecodeStatus, argv: appendExpiry(argvOf(2, "SET", key, value), expiration)}
}

// SetArgs runs SET with the options in a. It returns "OK", or with a.Get
// the old value. Nil when a.Mode's condition was not met (without Get) or
// when there was no old value (with Get).
func (c cmdable) SetArgs(ctx context.Context, key string, value any, a SetArgs) *Cmd[string] {
	argv := append(make([]any, 0, 7), "SET", key, value)
	if a.Mode != "" {
		argv = append(argv, a.Mode)
	}
	if a.Get {
		argv = append(argv, "GET")
	}
	switch {
	case a.KeepTTL:
		argv = append(argv, "KEEPTTL")
	case !a.ExpireAt.IsZero() && a.ExpireAt.Nanosecond() == 0:
		argv = append(argv, "EXAT", a.ExpireAt.Unix())
	case !a.ExpireAt.IsZero():
		argv = append(argv, "PXAT", a.ExpireAt.UnixMilli())
	case a.TTL > 0:
		argv = appendExpiry(argv, a.TTL)
	}
	cmd := newStringCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// SetNX sets key to value only if it does not exist, and reports whether
// it did. With expiration 0 it runs SETNX; otherwise SET ... NX with the
// expiration as in Set.
func (c cmdable) SetNX(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[bool] {
	if expiration == 0 {
		cmd := newCmd(decodeSetOK, "SETNX", key, value)
		c(ctx, cmd)
		return cmd
	}
	argv := appendExpiry(append(make([]any, 0, 6), "SET", key, value, "NX"), expiration)
	cmd := newCmd(decodeSetOK, argv...)
	c(ctx, cmd)
	return cmd
}

// SetXX sets key to value only if it already exists, and reports whether
// it did. The expiration is as in Set.
func (c cmdable) SetXX(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[bool] {
	argv := appendExpiry(append(make([]any, 0, 6), "SET", key, value, "XX"), expiration)
	cmd := newCmd(decodeSetOK, argv...)
	c(ctx, cmd)
	return cmd
}

// SetEx sets key to value expiring after expiration, in whole seconds
// (at least 1), and returns "OK".
func (c cmdable) SetEx(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[string] {
	cmd := newStringCmd("SETEX", key, expireSeconds(expiration), value)
	c(ctx, cmd)
	return cmd
}

// PSetEx sets key to value expiring after expiration, in milliseconds
// (at least 1), and returns "OK".
func (c cmdable) PSetEx(ctx context.Context, key string, value any, expiration time.Duration) *Cmd[string] {
	cmd := newStringCmd("PSETEX", key, expireMillis(expiration), value)
	c(ctx, cmd)
	return cmd
}

// GetSet sets key to value and returns its old value; Nil when the key
// did not exist.
func (c cmdable) GetSet(ctx context.Context, key string, value any) *Cmd[string] {
	cmd := newStringCmd("GETSET", key, value)
	c(ctx, cmd)
	return cmd
}

// GetDel returns the value of key and deletes it; Nil when the key does
// not exist.
func (c cmdable) GetDel(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("GETDEL", key)
	c(ctx, cmd)
	return cmd
}

// GetEx returns the value of key and changes its time to live: a positive
// expiration sets it (EX or PX), 0 removes it (PERSIST) and KeepTTL (or
// any negative value) leaves it as it is. Nil when the key does not exist.
func (c cmdable) GetEx(ctx context.Context, key string, expiration time.Duration) *Cmd[string] {
	argv := append(make([]any, 0, 4), "GETEX", key)
	switch {
	case expiration > 0:
		argv = appendExpiry(argv, expiration)
	case expiration == 0:
		argv = append(argv, "PERSIST")
	}
	cmd := newStringCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// MGet returns the values of keys in order; a missing key (or one that
// does not hold a string) gives an element with OK false.
func (c cmdable) MGet(ctx context.Context, keys ...string) *Cmd[[]Optional[string]] {
	cmd := borrowing(newKeysCmd(DecodeOptionalStrings, mgetName, keys))
	c(ctx, cmd)
	return cmd
}

var mgetName = []any{"MGET"}

// MSet sets several keys at once and returns "OK". values are key/value
// pairs as a flat list ("k1", "v1", "k2", "v2"), or one map[string]any,
// map[string]string, []string or []any.
func (c cmdable) MSet(ctx context.Context, values ...any) *Cmd[string] {
	cmd := newStringCmdArgv(appendPairs(argvOf(pairsLen(values), "MSET"), values))
	c(ctx, cmd)
	return cmd
}

// MSetNX is MSet that sets nothing if any of the keys exists; it reports
// whether the keys were set.
func (c cmdable) MSetNX(ctx context.Context, values ...any) *Cmd[bool] {
	cmd := newCmdArgv(DecodeBool, appendPairs(argvOf(pairsLen(values), "MSETNX"), values))
	c(ctx, cmd)
	return cmd
}

// Incr adds 1 to the integer at key (0 if missing) and returns the result.
func (c cmdable) Incr(ctx context.Context, key string) *Cmd[int64] {
	cmd := &Cmd[int64]{ext: intExt}
	cmd.setFast(opIncr, key, "")
	c(ctx, cmd)
	return cmd
}

// IncrBy adds value to the integer at key (0 if missing) and returns the
// result.
func (c cmdable) IncrBy(ctx context.Context, key string, value int64) *Cmd[int64] {
	cmd := newIntCmd("INCRBY", key, value)
	c(ctx, cmd)
	return cmd
}

// IncrByFloat adds value to the number at key (0 if missing) and returns
// the result.
func (c cmdable) IncrByFloat(ctx context.Context, key string, value float64) *Cmd[float64] {
	cmd := newCmd(DecodeFloat, "INCRBYFLOAT", key, value)
	c(ctx, cmd)
	return cmd
}

// Decr subtracts 1 from the integer at key (0 if missing) and returns the
// result.
func (c cmdable) Decr(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("DECR", key)
	c(ctx, cmd)
	return cmd
}

// DecrBy subtracts decrement from the integer at key (0 if missing) and
// returns the result.
func (c cmdable) DecrBy(ctx context.Context, key string, decrement int64) *Cmd[int64] {
	cmd := newIntCmd("DECRBY", key, decrement)
	c(ctx, cmd)
	return cmd
}

// Append appends value to the string at key (created if missing) and
// returns the new length.
func (c cmdable) Append(ctx context.Context, key, value string) *Cmd[int64] {
	cmd := newIntCmd("APPEND", key, value)
	c(ctx, cmd)
	return cmd
}

// StrLen returns the length of the string at key, 0 if missing.
func (c cmdable) StrLen(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("STRLEN", key)
	c(ctx, cmd)
	return cmd
}

// GetRange returns the bytes of the string at key from start to end,
// both included; negative offsets count from the end. A missing key gives
// "".
func (c cmdable) GetRange(ctx context.Context, key string, start, end int64) *Cmd[string] {
	cmd := newStringCmd("GETRANGE", key, start, end)
	c(ctx, cmd)
	return cmd
}

// SetRange overwrites the string at key from offset with value (padding
// with zero bytes) and returns the new length.
func (c cmdable) SetRange(ctx context.Context, key string, offset int64, value string) *Cmd[int64] {
	cmd := newIntCmd("SETRANGE", key, offset, value)
	c(ctx, cmd)
	return cmd
}

// LCS returns the longest common subsequence of the strings at key1 and
// key2 (missing keys count as empty strings).
func (c cmdable) LCS(ctx context.Context, key1, key2 string) *Cmd[string] {
	cmd := newStringCmd("LCS", key1, key2)
	c(ctx, cmd)
	return cmd
}

// LCSLen returns the length of the longest common subsequence of the
// strings at key1 and key2 (LCS ... LEN).
func (c cmdable) LCSLen(ctx context.Context, key1, key2 string) *Cmd[int64] {
	cmd := newIntCmd("LCS", key1, key2, "LEN")
	c(ctx, cmd)
	return cmd
}

// errShape reports a reply whose structure is not what the command sends.
func errShape(cmd string, v resp.Value) error {
	return fmt.Errorf("respool: unexpected %s reply: %s", cmd, v.String())
}
