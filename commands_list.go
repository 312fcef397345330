package respool

import (
	"context"
	"strconv"
	"time"

	"github.com/respool/respool/resp"
)

// List commands, the blocking pops among them.
//
// A blocking command (BLPOP, BRPOP, BLMOVE, BLMPOP, BRPOPLPUSH) sends its
// timeout to the server in seconds; the connection then waits for the
// reply that long plus its ReadTimeout, so a server-side wait may outlast
// ReadTimeout. A timeout of 0 waits until data arrives (or ctx ends).
// When the server's timeout passes with nothing to pop the result is Nil.

// KeyValue is the key an element was popped from and the element, the
// result of BLPOP and BRPOP.
type KeyValue struct {
	Key   string
	Value string
}

// KeyValues is the key elements were popped from and the elements, the
// result of LMPOP and BLMPOP.
type KeyValues struct {
	Key    string
	Values []string
}

// blockSeconds formats a blocking timeout in seconds as the server reads
// it ("1.5"); a negative timeout is sent as 0 (wait forever).
func blockSeconds(timeout time.Duration) string {
	if timeout < 0 {
		timeout = 0
	}
	return strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)
}

// decodeKeyValue decodes a [key, element] pair; a null reply is Nil.
func decodeKeyValue(v resp.Value) (KeyValue, error) {
	if v.IsNull() {
		return KeyValue{}, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return KeyValue{}, err
	}
	if len(elems) != 2 {
		return KeyValue{}, errShape("key/value", v)
	}
	var kv KeyValue
	if kv.Key, err = DecodeString(elems[0]); err != nil {
		return KeyValue{}, elemError(0, err)
	}
	if kv.Value, err = DecodeString(elems[1]); err != nil {
		return KeyValue{}, elemError(1, err)
	}
	return kv, nil
}

// decodeKeyValues decodes a [key, [elements...]] pair; a null reply is Nil.
func decodeKeyValues(v resp.Value) (KeyValues, error) {
	if v.IsNull() {
		return KeyValues{}, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return KeyValues{}, err
	}
	if len(elems) != 2 {
		return KeyValues{}, errShape("key/values", v)
	}
	var kv KeyValues
	if kv.Key, err = DecodeString(elems[0]); err != nil {
		return KeyValues{}, elemError(0, err)
	}
	if kv.Values, err = DecodeStrings(elems[1]); err != nil {
		return KeyValues{}, elemError(1, err)
	}
	return kv, nil
}

// LPush inserts values at the head of the list at key (the last value
// ends up first) and returns the new length.
func (c cmdable) LPush(ctx context.Context, key string, values ...any) *Cmd[int64] {
	cmd := newIntCmdArgv(append(argvOf(len(values), "LPUSH", key), values...))
	c(ctx, cmd)
	return cmd
}

// RPush appends values to the list at key and returns the new length.
func (c cmdable) RPush(ctx context.Context, key string, values ...any) *Cmd[int64] {
	cmd := newIntCmdArgv(append(argvOf(len(values), "RPUSH", key), values...))
	c(ctx, cmd)
	return cmd
}

// LPushX is LPush only when the list exists; it returns 0 otherwise.
func (c cmdable) LPushX(ctx context.Context, key string, values ...any) *Cmd[int64] {
	cmd := newIntCmdArgv(append(argvOf(len(values), "LPUSHX", key), values...))
	c(ctx, cmd)
	return cmd
}

// RPushX is RPush only when the list exists; it returns 0 otherwise.
func (c cmdable) RPushX(ctx context.Context, key string, values ...any) *Cmd[int64] {
	cmd := newIntCmdArgv(append(argvOf(len(values), "RPUSHX", key), values...))
	c(ctx, cmd)
	return cmd
}

// LPop removes and returns the first element of the list at key; Nil when
// the key does not exist.
func (c cmdable) LPop(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("LPOP", key)
	c(ctx, cmd)
	return cmd
}

// LPopCount removes and returns up to count elements from the head of the
// list at key; Nil when the key does not exist.
func (c cmdable) LPopCount(ctx context.Context, key string, count int) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "LPOP", key, count))
	c(ctx, cmd)
	return cmd
}

// RPop removes and returns the last element of the list at key; Nil when
// the key does not exist.
func (c cmdable) RPop(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("RPOP", key)
	c(ctx, cmd)
	return cmd
}

// RPopCount removes and returns up to count elements from the tail of the
// list at key, last first; Nil when the key does not exist.
func (c cmdable) RPopCount(ctx context.Context, key string, count int) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "RPOP", key, count))
	c(ctx, cmd)
	return cmd
}

// LLen returns the length of the list at key, 0 if missing.
func (c cmdable) LLen(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("LLEN", key)
	c(ctx, cmd)
	return cmd
}

// LRange returns the elements of the list at key from start to stop, both
// included; negative indexes count from the end (-1 is the last).
func (c cmdable) LRange(ctx context.Context, key string, start, stop int64) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "LRANGE", key, start, stop))
	c(ctx, cmd)
	return cmd
}

// LIndex returns the element at index of the list at key; Nil when the
// index is out of range or the key does not exist.
func (c cmdable) LIndex(ctx context.Context, key string, index int64) *Cmd[string] {
	cmd := newStringCmd("LINDEX", key, index)
	c(ctx, cmd)
	return cmd
}

// LInsert inserts value before or after (op "BEFORE" or "AFTER") the
// first element equal to pivot, and returns the new length: -1 when pivot
// was not found, 0 when the key does not exist.
func (c cmdable) LInsert(ctx context.Context, key, op string, pivot, value any) *Cmd[int64] {
	cmd := newIntCmd("LINSERT", key, op, pivot, value)
	c(ctx, cmd)
	return cmd
}

// LInsertBefore is LInsert with op "BEFORE".
func (c cmdable) LInsertBefore(ctx context.Context, key string, pivot, value any) *Cmd[int64] {
	return c.LInsert(ctx, key, "BEFORE", pivot, value)
}

// LInsertAfter is LInsert with op "AFTER".
func (c cmdable) LInsertAfter(ctx context.Context, key string, pivot, value any) *Cmd[int64] {
	return c.LInsert(ctx, key, "AFTER", pivot, value)
}

// LSet sets the element at index and returns "OK"; an *Error when the
// index is out of range or the key does not exist.
func (c cmdable) LSet(ctx context.Context, key string, index int64, value any) *Cmd[string] {
	cmd := newStringCmd("LSET", key, index, value)
	c(ctx, cmd)
	return cmd
}

// LRem removes elements equal to value and returns how many: the first
// count from the head for count > 0, from the tail for count < 0, all of
// them for 0.
func (c cmdable) LRem(ctx context.Context, key string, count int64, value any) *Cmd[int64] {
	cmd := newIntCmd("LREM", key, count, value)
	c(ctx, cmd)
	return cmd
}

// LTrim keeps only the elements from start to stop, both included, and
// returns "OK".
func (c cmdable) LTrim(ctx context.Context, key string, start, stop int64) *Cmd[string] {
	cmd := newStringCmd("LTRIM", key, start, stop)
	c(ctx, cmd)
	return cmd
}

// LPosArgs holds the options of LPOS. The zero value finds the first match
// from the head, scanning the whole list.
type LPosArgs struct {
	// Rank is which match to return: 2 the second from the head, -1 the
	// first from the tail. 0 means 1.
	Rank int64
	// MaxLen compares at most this many elements; 0 means all.
	MaxLen int64
}

func appendLPosArgs(argv []any, a LPosArgs) []any {
	if a.Rank != 0 {
		argv = append(argv, "RANK", a.Rank)
	}
	if a.MaxLen != 0 {
		argv = append(argv, "MAXLEN", a.MaxLen)
	}
	return argv
}

// LPos returns the index of the element equal to value chosen by a; Nil
// when there is none.
func (c cmdable) LPos(ctx context.Context, key string, value string, a LPosArgs) *Cmd[int64] {
	argv := appendLPosArgs(append(make([]any, 0, 7), "LPOS", key, value), a)
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// LPosCount returns the indexes of up to count elements equal to value (0:
// all of them), starting with the match chosen by a; empty when there is
// none.
func (c cmdable) LPosCount(ctx context.Context, key string, value string, count int64, a LPosArgs) *Cmd[[]int64] {
	argv := appendLPosArgs(append(make([]any, 0, 9), "LPOS", key, value), a)
	argv = append(argv, "COUNT", count)
	cmd := borrowing(newCmd(DecodeInts, argv...))
	c(ctx, cmd)
	return cmd
}

// LMove pops an element from the srcpos end ("LEFT" or "RIGHT") of the
// list at source, pushes it at the destpos end of destination and returns
// it; Nil when source does not exist.
func (c cmdable) LMove(ctx context.Context, source, destination, srcpos, destpos string) *Cmd[string] {
	cmd := newStringCmd("LMOVE", source, destination, srcpos, destpos)
	c(ctx, cmd)
	return cmd
}

// BLMove is LMove that waits up to timeout (0: forever) for source to
// have an element; Nil when the timeout passes.
func (c cmdable) BLMove(ctx context.Context, source, destination, srcpos, destpos string, timeout time.Duration) *Cmd[string] {
	cmd := newStringCmd("BLMOVE", source, destination, srcpos, destpos, blockSeconds(timeout))
	c(ctx, cmd)
	return cmd
}

// RPopLPush pops the last element of source, pushes it at the head of
// destination and returns it; Nil when source does not exist.
func (c cmdable) RPopLPush(ctx context.Context, source, destination string) *Cmd[string] {
	cmd := newStringCmd("RPOPLPUSH", source, destination)
	c(ctx, cmd)
	return cmd
}

// BRPopLPush is RPopLPush that waits up to timeout (0: forever) for
// source to have an element; Nil when the timeout passes.
func (c cmdable) BRPopLPush(ctx context.Context, source, destination string, timeout time.Duration) *Cmd[string] {
	cmd := newStringCmd("BRPOPLPUSH", source, destination, blockSeconds(timeout))
	c(ctx, cmd)
	return cmd
}

// LMPop pops up to count elements from the direction end ("LEFT" or
// "RIGHT") of the first non-empty list among keys; Nil when all are empty.
func (c cmdable) LMPop(ctx context.Context, direction string, count int64, keys ...string) *Cmd[KeyValues] {
	argv := appendStrings(argvOf(len(keys)+3, "LMPOP", len(keys)), keys)
	argv = append(argv, direction, "COUNT", count)
	cmd := newCmdArgv(decodeKeyValues, argv)
	c(ctx, cmd)
	return cmd
}

// BLMPop is LMPop that waits up to timeout (0: forever) for one of keys
// to have an element; Nil when the timeout passes.
func (c cmdable) BLMPop(ctx context.Context, timeout time.Duration, direction string, count int64, keys ...string) *Cmd[KeyValues] {
	argv := appendStrings(argvOf(len(keys)+3, "BLMPOP", blockSeconds(timeout), len(keys)), keys)
	argv = append(argv, direction, "COUNT", count)
	cmd := newCmdArgv(decodeKeyValues, argv)
	c(ctx, cmd)
	return cmd
}

// BLPop pops the first element of the first non-empty list among keys,
// waiting up to timeout (0: forever) for one; Nil when the timeout passes.
func (c cmdable) BLPop(ctx context.Context, timeout time.Duration, keys ...string) *Cmd[KeyValue] {
	argv := append(appendStrings(argvOf(len(keys)+1, "BLPOP"), keys), blockSeconds(timeout))
	cmd := newCmdArgv(decodeKeyValue, argv)
	c(ctx, cmd)
	return cmd
}

// BRPop is BLPop popping the last element.
func (c cmdable) BRPop(ctx context.Context, timeout time.Duration, keys ...string) *Cmd[KeyValue] {
	argv := append(appendStrings(argvOf(len(keys)+1, "BRPOP"), keys), blockSeconds(timeout))
	cmd := newCmdArgv(decodeKeyValue, argv)
	c(ctx, cmd)
	return cmd
}
