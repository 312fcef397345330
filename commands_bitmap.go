package respool

import (
	"context"

	"github.com/respool/respool/resp"
)

// Bitmap and HyperLogLog commands.

// BitCountArgs limits BITCOUNT to a range. Start and End are both
// included and may be negative (counting from the end); Unit is "BYTE"
// (the default when "") or "BIT".
type BitCountArgs struct {
	Start, End int64
	Unit       string
}

// SetBit sets the bit at offset of the string at key to value (0 or 1) and
// returns its old value.
func (c cmdable) SetBit(ctx context.Context, key string, offset int64, value int) *Cmd[int64] {
	cmd := newIntCmd("SETBIT", key, offset, value)
	c(ctx, cmd)
	return cmd
}

// GetBit returns the bit at offset of the string at key; 0 beyond its end
// or for a missing key.
func (c cmdable) GetBit(ctx context.Context, key string, offset int64) *Cmd[int64] {
	cmd := newIntCmd("GETBIT", key, offset)
	c(ctx, cmd)
	return cmd
}

// BitCount returns the number of set bits in the string at key, within the
// range of a (nil: the whole string).
func (c cmdable) BitCount(ctx context.Context, key string, a *BitCountArgs) *Cmd[int64] {
	argv := append(make([]any, 0, 5), "BITCOUNT", key)
	if a != nil {
		argv = append(argv, a.Start, a.End)
		if a.Unit != "" {
			argv = append(argv, a.Unit)
		}
	}
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// BitPos returns the position of the first bit set to bit (0 or 1) in the
// string at key, searching the bytes from pos[0] to pos[1] when given; -1
// when there is none.
func (c cmdable) BitPos(ctx context.Context, key string, bit int64, pos ...int64) *Cmd[int64] {
	argv := append(make([]any, 0, 5), "BITPOS", key, bit)
	for _, p := range pos {
		argv = append(argv, p)
	}
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// BitPosSpan is BitPos over the range from start to end counted in span
// units, "BYTE" or "BIT".
func (c cmdable) BitPosSpan(ctx context.Context, key string, bit int64, start, end int64, span string) *Cmd[int64] {
	cmd := newIntCmd("BITPOS", key, bit, start, end, span)
	c(ctx, cmd)
	return cmd
}

// bitOp runs BITOP op destKey keys... and returns the length of the result.
func (c cmdable) bitOp(ctx context.Context, op, destKey string, keys []string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "BITOP", op, destKey), keys))
	c(ctx, cmd)
	return cmd
}

// BitOpAnd stores the bitwise AND of the strings at keys in destKey and
// returns its length.
func (c cmdable) BitOpAnd(ctx context.Context, destKey string, keys ...string) *Cmd[int64] {
	return c.bitOp(ctx, "AND", destKey, keys)
}

// BitOpOr stores the bitwise OR of the strings at keys in destKey and
// returns its length.
func (c cmdable) BitOpOr(ctx context.Context, destKey string, keys ...string) *Cmd[int64] {
	return c.bitOp(ctx, "OR", destKey, keys)
}

// BitOpXor stores the bitwise XOR of the strings at keys in destKey and
// returns its length.
func (c cmdable) BitOpXor(ctx context.Context, destKey string, keys ...string) *Cmd[int64] {
	return c.bitOp(ctx, "XOR", destKey, keys)
}

// BitOpNot stores the bitwise NOT of the string at key in destKey and
// returns its length.
func (c cmdable) BitOpNot(ctx context.Context, destKey, key string) *Cmd[int64] {
	return c.bitOp(ctx, "NOT", destKey, []string{key})
}

// BitField runs BITFIELD with the subcommands in args, as the server reads
// them ("SET", "u8", 0, 255, "INCRBY", "i5", 100, 1, "GET", "u4", 0), and
// returns one result per GET, SET and INCRBY. An INCRBY that overflowed
// under OVERFLOW FAIL gives an element with OK false.
func (c cmdable) BitField(ctx context.Context, key string, args ...any) *Cmd[[]Optional[int64]] {
	cmd := borrowing(newCmdArgv(decodeOptionalInts, append(argvOf(len(args), "BITFIELD", key), args...)))
	c(ctx, cmd)
	return cmd
}

// BitFieldRO is the read-only BITFIELD_RO, which takes only GET
// subcommands ("GET", "u8", 0) and which replicas accept.
func (c cmdable) BitFieldRO(ctx context.Context, key string, args ...any) *Cmd[[]Optional[int64]] {
	cmd := borrowing(newCmdArgv(decodeOptionalInts, append(argvOf(len(args), "BITFIELD_RO", key), args...)))
	c(ctx, cmd)
	return cmd
}

// decodeOptionalInts decodes an array of integers keeping nulls apart.
func decodeOptionalInts(v resp.Value) ([]Optional[int64], error) {
	return DecodeSlice(func(e resp.Value) (Optional[int64], error) {
		if e.IsNull() {
			return Optional[int64]{}, nil
		}
		n, err := DecodeInt(e)
		return Optional[int64]{Val: n, OK: err == nil}, err
	})(v)
}

// PFAdd adds elements to the HyperLogLog at key and reports whether its
// estimate changed.
func (c cmdable) PFAdd(ctx context.Context, key string, els ...any) *Cmd[bool] {
	cmd := newCmdArgv(DecodeBool, append(argvOf(len(els), "PFADD", key), els...))
	c(ctx, cmd)
	return cmd
}

// PFCount returns the estimated number of distinct elements in the union
// of the HyperLogLogs at keys.
func (c cmdable) PFCount(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "PFCOUNT"), keys))
	c(ctx, cmd)
	return cmd
}

// PFMerge stores the union of the HyperLogLogs at keys in dest (merged
// with dest's own) and returns "OK".
func (c cmdable) PFMerge(ctx context.Context, dest string, keys ...string) *Cmd[string] {
	cmd := newStringCmdArgv(appendStrings(argvOf(len(keys), "PFMERGE", dest), keys))
	c(ctx, cmd)
	return cmd
}
