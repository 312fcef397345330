package respool

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/respool/respool/resp"
)

// Generic key commands: deletion, existence, expiry, renaming, copying,
// serialisation, introspection (OBJECT) and SORT.

// ExpireCond is the condition of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT
// (Redis 7.0): the new expiry is set only when it holds.
type ExpireCond string

// The conditions of the expire commands.
const (
	ExpireCondNone ExpireCond = ""   // always set the expiry
	ExpireCondNX   ExpireCond = "NX" // only if the key has no expiry
	ExpireCondXX   ExpireCond = "XX" // only if the key has an expiry
	ExpireCondGT   ExpireCond = "GT" // only if the new expiry is later (no expiry counts as infinite)
	ExpireCondLT   ExpireCond = "LT" // only if the new expiry is sooner (no expiry counts as infinite)
)

// expireArgv builds an expire command, with cond when it is set.
func expireArgv(name, key string, arg int64, cond ExpireCond) []any {
	if cond == ExpireCondNone {
		return []any{name, key, arg}
	}
	return []any{name, key, arg, string(cond)}
}

// Del deletes keys and returns how many existed.
func (c cmdable) Del(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := new(Cmd[int64])
	initKeysCmd(cmd, opDel, keys)
	c(ctx, cmd)
	return cmd
}

// initKeysCmd makes cmd the command op (DEL, EXISTS) of keys: of the fast
// form for one key.
func initKeysCmd(cmd *Cmd[int64], op fastOp, keys []string) {
	if len(keys) == 1 {
		cmd.ext = intExt
		cmd.setFast(op, keys[0], "")
		return
	}
	cmd.ext = &cmdExt[int64]{decode: DecodeInt, name: fastOps[op].argv, keys: slices.Clone(keys), direct: true}
}

// Unlink deletes keys, reclaiming their memory in the background, and
// returns how many existed.
func (c cmdable) Unlink(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "UNLINK"), keys))
	c(ctx, cmd)
	return cmd
}

// Exists returns how many of keys exist (a key named twice counts twice).
func (c cmdable) Exists(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := new(Cmd[int64])
	initKeysCmd(cmd, opExists, keys)
	c(ctx, cmd)
	return cmd
}

// Expire sets key to expire after expiration, in whole seconds (rounded
// down, at least 1 for a positive expiration); a negative one deletes the
// key. It reports whether the expiry was set (false: no such key).
func (c cmdable) Expire(ctx context.Context, key string, expiration time.Duration) *Cmd[bool] {
	return c.ExpireIf(ctx, key, expiration, ExpireCondNone)
}

// ExpireNX is Expire only for a key without an expiry.
func (c cmdable) ExpireNX(ctx context.Context, key string, expiration time.Duration) *Cmd[bool] {
	return c.ExpireIf(ctx, key, expiration, ExpireCondNX)
}

// ExpireXX is Expire only for a key that has an expiry.
func (c cmdable) ExpireXX(ctx context.Context, key string, expiration time.Duration) *Cmd[bool] {
	return c.ExpireIf(ctx, key, expiration, ExpireCondXX)
}

// ExpireGT is Expire only when the new expiry is later than the current one.
func (c cmdable) ExpireGT(ctx context.Context, key string, expiration time.Duration) *Cmd[bool] {
	return c.ExpireIf(ctx, key, expiration, ExpireCondGT)
}

// ExpireLT is Expire only when the new expiry is sooner than the current one.
func (c cmdable) ExpireLT(ctx context.Context, key string, expiration time.Duration) *Cmd[bool] {
	return c.ExpireIf(ctx, key, expiration, ExpireCondLT)
}

// ExpireIf is Expire with a condition; it reports false when the key does
// not exist or cond did not hold.
func (c cmdable) ExpireIf(ctx context.Context, key string, expiration time.Duration, cond ExpireCond) *Cmd[bool] {
	cmd := newCmd(DecodeBool, expireArgv("EXPIRE", key, expireSeconds(expiration), cond)...)
	c(ctx, cmd)
	return cmd
}

// PExpire sets key to expire after expiration, in milliseconds, and
// reports whether the expiry was set (false: no such key).
func (c cmdable) PExpire(ctx context.Context, key string, expiration time.Duration) *Cmd[bool] {
	return c.PExpireIf(ctx, key, expiration, ExpireCondNone)
}

// PExpireIf is PExpire with a condition; it reports false when the key
// does not exist or cond did not hold.
func (c cmdable) PExpireIf(ctx context.Context, key string, expiration time.Duration, cond ExpireCond) *Cmd[bool] {
	cmd := newCmd(DecodeBool, expireArgv("PEXPIRE", key, expireMillis(expiration), cond)...)
	c(ctx, cmd)
	return cmd
}

// ExpireAt sets key to expire at tm, in whole Unix seconds, and reports
// whether the expiry was set (false: no such key). A time in the past
// deletes the key.
func (c cmdable) ExpireAt(ctx context.Context, key string, tm time.Time) *Cmd[bool] {
	return c.ExpireAtIf(ctx, key, tm, ExpireCondNone)
}

// ExpireAtIf is ExpireAt with a condition; it reports false when the key
// does not exist or cond did not hold.
func (c cmdable) ExpireAtIf(ctx context.Context, key string, tm time.Time, cond ExpireCond) *Cmd[bool] {
	cmd := newCmd(DecodeBool, expireArgv("EXPIREAT", key, tm.Unix(), cond)...)
	c(ctx, cmd)
	return cmd
}

// PExpireAt sets key to expire at tm, in Unix milliseconds, and reports
// whether the expiry was set (false: no such key).
func (c cmdable) PExpireAt(ctx context.Context, key string, tm time.Time) *Cmd[bool] {
	return c.PExpireAtIf(ctx, key, tm, ExpireCondNone)
}

// PExpireAtIf is PExpireAt with a condition; it reports false when the
// key does not exist or cond did not hold.
func (c cmdable) PExpireAtIf(ctx context.Context, key string, tm time.Time, cond ExpireCond) *Cmd[bool] {
	cmd := newCmd(DecodeBool, expireArgv("PEXPIREAT", key, tm.UnixMilli(), cond)...)
	c(ctx, cmd)
	return cmd
}

// TTL returns the time key has left to live, in whole seconds. As sent by
// the server, -1ns means the key has no expiry and -2ns that it does not
// exist.
func (c cmdable) TTL(ctx context.Context, key string) *Cmd[time.Duration] {
	cmd := newCmd(DecodeSeconds, "TTL", key)
	c(ctx, cmd)
	return cmd
}

// PTTL is TTL in milliseconds: -1ns for no expiry, -2ns for no such key.
func (c cmdable) PTTL(ctx context.Context, key string) *Cmd[time.Duration] {
	cmd := newCmd(DecodeMilliseconds, "PTTL", key)
	c(ctx, cmd)
	return cmd
}

// ExpireTime returns when key expires, to the second: the zero time.Time
// when it has no expiry, Nil when it does not exist.
func (c cmdable) ExpireTime(ctx context.Context, key string) *Cmd[time.Time] {
	cmd := newCmd(decodeExpireTime(false), "EXPIRETIME", key)
	c(ctx, cmd)
	return cmd
}

// PExpireTime is ExpireTime to the millisecond.
func (c cmdable) PExpireTime(ctx context.Context, key string) *Cmd[time.Time] {
	cmd := newCmd(decodeExpireTime(true), "PEXPIRETIME", key)
	c(ctx, cmd)
	return cmd
}

// decodeExpireTime decodes a Unix time in seconds or milliseconds, where
// -1 means no expiry (zero time) and -2 no such key (Nil).
func decodeExpireTime(millis bool) func(resp.Value) (time.Time, error) {
	return func(v resp.Value) (time.Time, error) {
		n, err := DecodeInt(v)
		switch {
		case err != nil:
			return time.Time{}, err
		case n == -2:
			return time.Time{}, Nil
		case n < 0:
			return time.Time{}, nil
		case millis:
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
}

// Persist removes the expiry of key and reports whether it had one.
func (c cmdable) Persist(ctx context.Context, key string) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "PERSIST", key)
	c(ctx, cmd)
	return cmd
}

// Type returns the type of the value at key ("string", "list", "set",
// "zset", "hash", "stream"), or "none" when it does not exist.
func (c cmdable) Type(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("TYPE", key)
	c(ctx, cmd)
	return cmd
}

// Rename renames key to newkey, replacing newkey, and returns "OK"; an
// *Error when key does not exist.
func (c cmdable) Rename(ctx context.Context, key, newkey string) *Cmd[string] {
	cmd := newStringCmd("RENAME", key, newkey)
	c(ctx, cmd)
	return cmd
}

// RenameNX renames key to newkey only if newkey does not exist, and
// reports whether it did.
func (c cmdable) RenameNX(ctx context.Context, key, newkey string) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "RENAMENX", key, newkey)
	c(ctx, cmd)
	return cmd
}

// Keys returns the keys matching pattern. It walks the whole database in
// one blocking step: prefer SCAN on a busy server.
func (c cmdable) Keys(ctx context.Context, pattern string) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "KEYS", pattern))
	c(ctx, cmd)
	return cmd
}

// RandomKey returns a random key of the database; Nil when it is empty.
func (c cmdable) RandomKey(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("RANDOMKEY")
	c(ctx, cmd)
	return cmd
}

// Touch updates the last access time of keys and returns how many exist.
func (c cmdable) Touch(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "TOUCH"), keys))
	c(ctx, cmd)
	return cmd
}

// Copy copies the value at src to dst in the same database and reports
// whether it did; with replace false an existing dst is left alone (and
// the result is false).
func (c cmdable) Copy(ctx context.Context, src, dst string, replace bool) *Cmd[bool] {
	argv := append(make([]any, 0, 4), "COPY", src, dst)
	if replace {
		argv = append(argv, "REPLACE")
	}
	cmd := newCmd(DecodeBool, argv...)
	c(ctx, cmd)
	return cmd
}

// CopyToDB is Copy into database db (COPY ... DB db).
func (c cmdable) CopyToDB(ctx context.Context, src, dst string, db int, replace bool) *Cmd[bool] {
	argv := append(make([]any, 0, 6), "COPY", src, dst, "DB", db)
	if replace {
		argv = append(argv, "REPLACE")
	}
	cmd := newCmd(DecodeBool, argv...)
	c(ctx, cmd)
	return cmd
}

// Move moves key to database db and reports whether it did (false when key
// does not exist or already exists in db).
func (c cmdable) Move(ctx context.Context, key string, db int) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "MOVE", key, db)
	c(ctx, cmd)
	return cmd
}

// Dump returns the value at key serialised for Restore; Nil when the key
// does not exist.
func (c cmdable) Dump(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("DUMP", key)
	c(ctx, cmd)
	return cmd
}

// Restore creates key from value, a Dump result, expiring after ttl
// (in milliseconds; 0 for no expiry), and returns "OK". It fails with a
// BUSYKEY *Error when key exists.
func (c cmdable) Restore(ctx context.Context, key string, ttl time.Duration, value string) *Cmd[string] {
	cmd := newStringCmd("RESTORE", key, expireMillis(ttl), value)
	c(ctx, cmd)
	return cmd
}

// RestoreReplace is Restore that replaces an existing key.
func (c cmdable) RestoreReplace(ctx context.Context, key string, ttl time.Duration, value string) *Cmd[string] {
	cmd := newStringCmd("RESTORE", key, expireMillis(ttl), value, "REPLACE")
	c(ctx, cmd)
	return cmd
}

// ObjectEncoding returns the internal encoding of the value at key
// ("listpack", "int", "embstr"...); Nil when the key does not exist.
func (c cmdable) ObjectEncoding(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("OBJECT", "ENCODING", key)
	c(ctx, cmd)
	return cmd
}

// ObjectFreq returns the access frequency counter of key; Nil when it does
// not exist, an *Error unless an LFU maxmemory-policy is in force.
func (c cmdable) ObjectFreq(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("OBJECT", "FREQ", key)
	c(ctx, cmd)
	return cmd
}

// ObjectIdleTime returns how long key has not been accessed, in whole
// seconds; Nil when it does not exist, an *Error under an LFU policy.
func (c cmdable) ObjectIdleTime(ctx context.Context, key string) *Cmd[time.Duration] {
	cmd := newCmd(DecodeSeconds, "OBJECT", "IDLETIME", key)
	c(ctx, cmd)
	return cmd
}

// ObjectRefCount returns the reference count of the value at key; Nil
// when it does not exist.
func (c cmdable) ObjectRefCount(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("OBJECT", "REFCOUNT", key)
	c(ctx, cmd)
	return cmd
}

// SortArgs holds the options of SORT and SORT_RO. A nil *SortArgs sorts
// numerically, ascending, with nothing else.
type SortArgs struct {
	// By is the pattern of external keys to sort by ("weight_*", or
	// "nosort" to skip sorting), "" to sort by the elements themselves.
	By string
	// Offset and Count limit the result (LIMIT offset count); both zero
	// means no limit.
	Offset, Count int64
	// Get lists patterns of external keys (or "#", the element) to return
	// instead of the elements; a missing external key gives "".
	Get []string
	// Order is "ASC" or "DESC" ("" is ascending).
	Order string
	// Alpha sorts lexicographically instead of numerically.
	Alpha bool
}

// appendSortArgs appends the options of a to argv.
func appendSortArgs(argv []any, a *SortArgs) []any {
	if a == nil {
		return argv
	}
	if a.By != "" {
		argv = append(argv, "BY", a.By)
	}
	if a.Offset != 0 || a.Count != 0 {
		argv = append(argv, "LIMIT", a.Offset, a.Count)
	}
	for _, g := range a.Get {
		argv = append(argv, "GET", g)
	}
	if a.Order != "" {
		argv = append(argv, strings.ToUpper(a.Order))
	}
	if a.Alpha {
		argv = append(argv, "ALPHA")
	}
	return argv
}

// sortCmd returns the command head (its name and key), then the options
// of a, then tail. Without GET patterns the list has at most 11
// arguments and is built on the stack; each pattern adds two.
func sortCmd[T any](decode func(resp.Value) (T, error), a *SortArgs, tail []any, head ...any) *Cmd[T] {
	if a == nil || len(a.Get) == 0 {
		argv := appendSortArgs(append(make([]any, 0, 11), head...), a)
		return newCmd(decode, append(argv, tail...)...)
	}
	// BY, LIMIT, the order and ALPHA take at most 7 arguments.
	argv := appendSortArgs(argvOf(7+2*len(a.Get)+len(tail), head...), a)
	return newCmdArgv(decode, append(argv, tail...))
}

// Sort returns the elements of the list, set or sorted set at key sorted
// as a says (nil: numerically, ascending); an empty slice for a missing key.
func (c cmdable) Sort(ctx context.Context, key string, a *SortArgs) *Cmd[[]string] {
	cmd := borrowing(sortCmd(DecodeStrings, a, nil, "SORT", key))
	c(ctx, cmd)
	return cmd
}

// SortRO is Sort as the read-only SORT_RO, which replicas accept.
func (c cmdable) SortRO(ctx context.Context, key string, a *SortArgs) *Cmd[[]string] {
	cmd := borrowing(sortCmd(DecodeStrings, a, nil, "SORT_RO", key))
	c(ctx, cmd)
	return cmd
}

// SortStore is Sort that stores the result as a list at store (SORT ...
// STORE) and returns its length.
func (c cmdable) SortStore(ctx context.Context, key, store string, a *SortArgs) *Cmd[int64] {
	cmd := sortCmd(DecodeInt, a, []any{"STORE", store}, "SORT", key)
	c(ctx, cmd)
	return cmd
}
