package respool

import (
	"context"

	"github.com/respool/respool/resp"
)

// Hash commands.

// HSet sets fields of the hash at key and returns how many fields were
// added (not counting updated ones). values are field/value pairs as a
// flat list ("f1", "v1", "f2", "v2"), or one map[string]any,
// map[string]string, []string or []any.
func (c cmdable) HSet(ctx context.Context, key string, values ...any) *Cmd[int64] {
	cmd := newIntCmdArgv(appendPairs(argvOf(pairsLen(values), "HSET", key), values))
	c(ctx, cmd)
	return cmd
}

// HSetNX sets field of the hash at key only if it does not exist, and
// reports whether it did.
func (c cmdable) HSetNX(ctx context.Context, key, field string, value any) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "HSETNX", key, field, value)
	c(ctx, cmd)
	return cmd
}

// HGet returns the value of field in the hash at key; Nil when the field
// or the key does not exist.
func (c cmdable) HGet(ctx context.Context, key, field string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	cmd.setFast(opHGet, key, field)
	c(ctx, cmd)
	return cmd
}

// HMGet returns the values of fields in order; a missing field gives an
// element with OK false.
func (c cmdable) HMGet(ctx context.Context, key string, fields ...string) *Cmd[[]Optional[string]] {
	cmd := borrowing(newCmdArgv(DecodeOptionalStrings, appendStrings(argvOf(len(fields), "HMGET", key), fields)))
	c(ctx, cmd)
	return cmd
}

// HGetAll returns every field and value of the hash at key; an empty map
// when the key does not exist.
func (c cmdable) HGetAll(ctx context.Context, key string) *Cmd[map[string]string] {
	cmd := borrowing(newCmd(DecodeStringMap, "HGETALL", key))
	c(ctx, cmd)
	return cmd
}

// HDel deletes fields of the hash at key and returns how many existed.
func (c cmdable) HDel(ctx context.Context, key string, fields ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(fields), "HDEL", key), fields))
	c(ctx, cmd)
	return cmd
}

// HExists reports whether field exists in the hash at key.
func (c cmdable) HExists(ctx context.Context, key, field string) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "HEXISTS", key, field)
	c(ctx, cmd)
	return cmd
}

// HIncrBy adds incr to the integer in field (0 if missing) and returns the
// result.
func (c cmdable) HIncrBy(ctx context.Context, key, field string, incr int64) *Cmd[int64] {
	cmd := newIntCmd("HINCRBY", key, field, incr)
	c(ctx, cmd)
	return cmd
}

// HIncrByFloat adds incr to the number in field (0 if missing) and returns
// the result.
func (c cmdable) HIncrByFloat(ctx context.Context, key, field string, incr float64) *Cmd[float64] {
	cmd := newCmd(DecodeFloat, "HINCRBYFLOAT", key, field, incr)
	c(ctx, cmd)
	return cmd
}

// HKeys returns the fields of the hash at key; empty when it does not exist.
func (c cmdable) HKeys(ctx context.Context, key string) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "HKEYS", key))
	c(ctx, cmd)
	return cmd
}

// HVals returns the values of the hash at key; empty when it does not exist.
func (c cmdable) HVals(ctx context.Context, key string) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "HVALS", key))
	c(ctx, cmd)
	return cmd
}

// HLen returns the number of fields in the hash at key, 0 if missing.
func (c cmdable) HLen(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("HLEN", key)
	c(ctx, cmd)
	return cmd
}

// HStrLen returns the length of the value of field, 0 if missing.
func (c cmdable) HStrLen(ctx context.Context, key, field string) *Cmd[int64] {
	cmd := newIntCmd("HSTRLEN", key, field)
	c(ctx, cmd)
	return cmd
}

// HRandField returns up to count distinct random fields of the hash at
// key, or with a negative count exactly -count fields that may repeat;
// empty when the key does not exist.
func (c cmdable) HRandField(ctx context.Context, key string, count int) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "HRANDFIELD", key, count))
	c(ctx, cmd)
	return cmd
}

// HRandFieldWithValues is HRandField returning each field with its value
// (HRANDFIELD ... WITHVALUES).
func (c cmdable) HRandFieldWithValues(ctx context.Context, key string, count int) *Cmd[[]Pair[string, string]] {
	cmd := newCmd(decodeFieldValues, "HRANDFIELD", key, count, "WITHVALUES")
	c(ctx, cmd)
	return cmd
}

// decodeFieldValues decodes field/value pairs sent either flat (RESP2:
// f1, v1, f2, v2) or as an array of two-element arrays (RESP3). A null
// reply is Nil.
func decodeFieldValues(v resp.Value) ([]Pair[string, string], error) {
	if v.IsNull() {
		return nil, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return []Pair[string, string]{}, nil
	}
	nested := elems[0].Kind() == resp.KindArray
	if !nested && len(elems)%2 != 0 {
		return nil, errShape("field/value", v)
	}
	n := len(elems)
	if !nested {
		n /= 2
	}
	out := make([]Pair[string, string], n)
	for i := range out {
		var f, x resp.Value
		if nested {
			pair, err := elems[i].Elems()
			if err != nil || len(pair) != 2 {
				return nil, errShape("field/value", v)
			}
			f, x = pair[0], pair[1]
		} else {
			f, x = elems[2*i], elems[2*i+1]
		}
		if out[i].Key, err = DecodeString(f); err != nil {
			return nil, elemError(i, err)
		}
		if out[i].Val, err = DecodeString(x); err != nil {
			return nil, elemError(i, err)
		}
	}
	return out, nil
}
