package respool

import (
	"context"
	"testing"

	"github.com/respool/respool/resp"
)

func TestBitmapCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k, none := testKey(t, "bits"), testKey(t, "none")

		cmdWant(t, c.SetBit(ctx, k, 7, 1), int64(0))
		cmdWant(t, c.SetBit(ctx, k, 7, 1), int64(1))
		cmdWant(t, c.GetBit(ctx, k, 7), int64(1))
		cmdWant(t, c.GetBit(ctx, k, 6), int64(0))
		cmdWant(t, c.GetBit(ctx, k, 1000), int64(0))
		cmdWant(t, c.GetBit(ctx, none, 0), int64(0))
		cmdWant(t, c.Get(ctx, k), "\x01")

		// "foobar": 26 set bits; "fo" 10 bits in bytes 0-1 ...
		s := testKey(t, "s")
		cmdWant(t, c.Set(ctx, s, "foobar", 0), "OK")
		cmdWant(t, c.BitCount(ctx, s, nil), int64(26))
		cmdWant(t, c.BitCount(ctx, s, &BitCountArgs{Start: 1, End: 1}), int64(6))
		cmdWant(t, c.BitCount(ctx, s, &BitCountArgs{Start: 0, End: 0, Unit: "BYTE"}), int64(4))
		cmdWant(t, c.BitCount(ctx, s, &BitCountArgs{Start: 5, End: 30, Unit: "BIT"}), int64(17))
		cmdWant(t, c.BitCount(ctx, none, nil), int64(0))

		// BITPOS on "\xff\xf0\x00".
		p := testKey(t, "p")
		cmdWant(t, c.Set(ctx, p, "\xff\xf0\x00", 0), "OK")
		cmdWant(t, c.BitPos(ctx, p, 0), int64(12))
		cmdWant(t, c.BitPos(ctx, p, 1, 2), int64(-1))
		cmdWant(t, c.BitPos(ctx, p, 1, 1, 2), int64(8))
		cmdWant(t, c.BitPosSpan(ctx, p, 1, 9, 20, "BIT"), int64(9))
		cmdWant(t, c.BitPosSpan(ctx, p, 0, 0, 1, "BYTE"), int64(12))
		cmdWant(t, c.BitPos(ctx, none, 1), int64(-1))

		// BITOP.
		a, b, dst := testKey(t, "a"), testKey(t, "b"), testKey(t, "dst")
		cmdWant(t, c.MSet(ctx, a, "\x0f\xf0", b, "\xff"), "OK")
		cmdWant(t, c.BitOpAnd(ctx, dst, a, b), int64(2))
		cmdWant(t, c.Get(ctx, dst), "\x0f\x00")
		cmdWant(t, c.BitOpOr(ctx, dst, a, b), int64(2))
		cmdWant(t, c.Get(ctx, dst), "\xff\xf0")
		cmdWant(t, c.BitOpXor(ctx, dst, a, b), int64(2))
		cmdWant(t, c.Get(ctx, dst), "\xf0\xf0")
		cmdWant(t, c.BitOpNot(ctx, dst, a), int64(2))
		cmdWant(t, c.Get(ctx, dst), "\xf0\x0f")

		// BITFIELD, with an overflow refused under OVERFLOW FAIL.
		f := testKey(t, "f")
		cmdWant(t, c.BitField(ctx, f, "SET", "u8", 0, 255, "GET", "u8", 0, "INCRBY", "i5", 100, 1),
			[]Optional[int64]{{0, true}, {255, true}, {1, true}})
		cmdWant(t, c.BitField(ctx, f, "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 1, "GET", "u4", 0),
			[]Optional[int64]{{}, {15, true}})
		cmdWant(t, c.BitField(ctx, f, "OVERFLOW", "WRAP", "INCRBY", "u8", 0, 1), []Optional[int64]{{0, true}})
		cmdWant(t, c.BitFieldRO(ctx, f, "GET", "u8", 0, "GET", "i5", 100), []Optional[int64]{{0, true}, {1, true}})
		cmdWantServerErr(t, c.BitFieldRO(ctx, f, "SET", "u8", 0, 1), "ERR")

		// HyperLogLog.
		h1, h2, hm := testKey(t, "h1"), testKey(t, "h2"), testKey(t, "hm")
		cmdWant(t, c.PFAdd(ctx, h1, "a", "b", "c"), true)
		cmdWant(t, c.PFAdd(ctx, h1, "a"), false)
		cmdWant(t, c.PFAdd(ctx, h2, "c", "d", 5), true)
		cmdWant(t, c.PFCount(ctx, h1), int64(3))
		cmdWant(t, c.PFCount(ctx, h1, h2), int64(5))
		cmdWant(t, c.PFCount(ctx, none), int64(0))
		cmdWant(t, c.PFMerge(ctx, hm, h1, h2), "OK")
		cmdWant(t, c.PFCount(ctx, hm), int64(5))
		cmdWantServerErr(t, c.PFCount(ctx, s), "WRONGTYPE")
	})
}

func TestDecodeOptionalInts(t *testing.T) {
	t.Parallel()
	got, err := decodeOptionalInts(resp.Array(resp.Integer(3), resp.Null(), resp.NullBulk(), resp.Integer(-1)))
	if err != nil || len(got) != 4 || got[0] != (Optional[int64]{3, true}) || got[1].OK || got[2].OK ||
		got[3] != (Optional[int64]{-1, true}) {
		t.Fatalf("decodeOptionalInts = %v, %v", got, err)
	}
	if got, err := decodeOptionalInts(resp.Array(resp.BulkString("x"))); err == nil {
		t.Fatalf("a non-integer element decoded as %v", got)
	}
}
