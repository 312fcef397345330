package respool

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/respool/respool/resp"
)

func TestHashCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		h, none := testKey(t, "h"), testKey(t, "none")

		cmdWant(t, c.HSet(ctx, h, "a", "1", "b", 2), int64(2))
		cmdWant(t, c.HSet(ctx, h, map[string]string{"b": "two", "c": "3"}), int64(1))
		cmdWant(t, c.HSet(ctx, h, map[string]any{"d": 4.5}), int64(1))
		cmdWant(t, c.HGet(ctx, h, "b"), "two")
		cmdWantNil(t, c.HGet(ctx, h, "zz"))
		cmdWantNil(t, c.HGet(ctx, none, "a"))
		cmdWant(t, c.HSetNX(ctx, h, "a", "x"), false)
		cmdWant(t, c.HSetNX(ctx, h, "e", "5"), true)
		want := map[string]string{"a": "1", "b": "two", "c": "3", "d": "4.5", "e": "5"}
		cmdWant(t, c.HGetAll(ctx, h), want)
		cmdWant(t, c.HGetAll(ctx, none), map[string]string{})
		cmdWant(t, c.HMGet(ctx, h, "a", "zz", "c"), []Optional[string]{{"1", true}, {}, {"3", true}})
		cmdWant(t, c.HLen(ctx, h), int64(5))
		cmdWant(t, c.HLen(ctx, none), int64(0))
		cmdWant(t, c.HExists(ctx, h, "a"), true)
		cmdWant(t, c.HExists(ctx, h, "zz"), false)
		cmdWant(t, c.HStrLen(ctx, h, "b"), int64(3))
		cmdWant(t, c.HStrLen(ctx, h, "zz"), int64(0))

		keys := cmdVal(t, c.HKeys(ctx, h))
		slices.Sort(keys)
		if w := slices.Sorted(maps.Keys(want)); !slices.Equal(keys, w) {
			t.Fatalf("HKEYS = %q, want %q", keys, w)
		}
		vals := cmdVal(t, c.HVals(ctx, h))
		slices.Sort(vals)
		if w := slices.Sorted(maps.Values(want)); !slices.Equal(vals, w) {
			t.Fatalf("HVALS = %q, want %q", vals, w)
		}
		cmdWant(t, c.HKeys(ctx, none), []string{})

		cmdWant(t, c.HIncrBy(ctx, h, "a", 41), int64(42))
		cmdWant(t, c.HIncrBy(ctx, h, "new", -3), int64(-3))
		cmdWant(t, c.HIncrByFloat(ctx, h, "d", 0.25), 4.75)
		cmdWantServerErr(t, c.HIncrBy(ctx, h, "b", 1), "ERR")
		cmdWant(t, c.HDel(ctx, h, "new", "e", "zz"), int64(2))
		want = map[string]string{"a": "42", "b": "two", "c": "3", "d": "4.75"}
		cmdWant(t, c.HGetAll(ctx, h), want)

		// HRANDFIELD: distinct fields for a positive count, repeats allowed
		// for a negative one.
		fields := cmdVal(t, c.HRandField(ctx, h, 3))
		if len(fields) != 3 || len(slices.Compact(slices.Sorted(slices.Values(fields)))) != 3 {
			t.Fatalf("HRANDFIELD 3 = %q, want 3 distinct fields", fields)
		}
		for _, f := range fields {
			if _, ok := want[f]; !ok {
				t.Fatalf("HRANDFIELD gave unknown field %q", f)
			}
		}
		if got := cmdVal(t, c.HRandField(ctx, h, -7)); len(got) != 7 {
			t.Fatalf("HRANDFIELD -7 = %q, want 7 fields", got)
		}
		cmdWant(t, c.HRandField(ctx, none, 2), []string{})
		for _, count := range []int{1, 2, 10} {
			pairs := cmdVal(t, c.HRandFieldWithValues(ctx, h, count))
			if len(pairs) != min(count, len(want)) {
				t.Fatalf("HRANDFIELD %d WITHVALUES gave %d pairs", count, len(pairs))
			}
			for _, p := range pairs {
				if want[p.Key] != p.Val {
					t.Fatalf("HRANDFIELD WITHVALUES pair %q=%q, want %q", p.Key, p.Val, want[p.Key])
				}
			}
		}
		cmdWant(t, c.HRandFieldWithValues(ctx, none, 2), []Pair[string, string]{})
		str := testKey(t, "str")
		cmdWant(t, c.Set(ctx, str, "s", 0), "OK")
		cmdWantServerErr(t, c.HGetAll(ctx, str), "WRONGTYPE")
	})
}

func TestDecodeFieldValues(t *testing.T) {
	t.Parallel()
	b := resp.BulkString
	want := []Pair[string, string]{{"f1", "v1"}, {"f2", "v2"}}
	for _, tc := range []struct {
		name string
		in   resp.Value
	}{
		{"flat", resp.Array(b("f1"), b("v1"), b("f2"), b("v2"))},
		{"nested", resp.Array(resp.Array(b("f1"), b("v1")), resp.Array(b("f2"), b("v2")))},
	} {
		got, err := decodeFieldValues(tc.in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, want)
		}
	}
	for _, bad := range []resp.Value{
		resp.Array(b("f1")),
		resp.Array(resp.Array(b("f1")), resp.Array(b("f2"), b("v2"))),
		resp.Array(resp.Array(b("f1"), b("v1")), b("x")),
		resp.Integer(3),
	} {
		if got, err := decodeFieldValues(bad); err == nil {
			t.Errorf("decodeFieldValues(%v) = %v, want an error", bad, got)
		}
	}
	if _, err := decodeFieldValues(resp.Null()); err != Nil {
		t.Errorf("null: error %v, want Nil", err)
	}
}
