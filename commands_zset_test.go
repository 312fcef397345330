package respool

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/respool/respool/resp"
)

func TestZSetCommands(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k := testKey(t, "z")
		abc := []Z{{1, "a"}, {2, "b"}, {3, "c"}}

		if n, err := c.ZAdd(ctx, k, abc...).Result(); err != nil || n != 3 {
			t.Fatalf("ZAdd = %d, %v", n, err)
		}
		if n, err := c.ZAddNX(ctx, k, Z{10, "a"}, Z{4, "d"}).Result(); err != nil || n != 1 {
			t.Fatalf("ZAddNX = %d, %v; want 1 (d only)", n, err)
		}
		if n, err := c.ZAddXX(ctx, k, Z{4.5, "d"}, Z{9, "new"}).Result(); err != nil || n != 0 {
			t.Fatalf("ZAddXX = %d, %v", n, err)
		}
		if n, err := c.ZAddArgs(ctx, k, ZAddArgs{GT: true, Ch: true, Members: []Z{{0, "a"}, {5, "d"}}}).Result(); err != nil || n != 1 {
			t.Fatalf("ZAddArgs GT CH = %d, %v; want 1 changed (d)", n, err)
		}
		if s, err := c.ZAddArgsIncr(ctx, k, ZAddArgs{Members: []Z{{0.5, "a"}}}).Result(); err != nil || s != 1.5 {
			t.Fatalf("ZAddArgsIncr = %v, %v", s, err)
		}
		if _, err := c.ZAddArgsIncr(ctx, k, ZAddArgs{NX: true, Members: []Z{{1, "a"}}}).Result(); !errors.Is(err, Nil) {
			t.Fatalf("ZAddArgsIncr NX on an existing member: %v, want Nil", err)
		}
		if s, err := c.ZIncrBy(ctx, k, -0.5, "a").Result(); err != nil || s != 1 {
			t.Fatalf("ZIncrBy = %v, %v", s, err)
		}
		// k is a=1 b=2 c=3 d=5.
		if n, err := c.ZCard(ctx, k).Result(); err != nil || n != 4 {
			t.Fatalf("ZCard = %d, %v", n, err)
		}
		if n, err := c.ZCount(ctx, k, "(1", "+inf").Result(); err != nil || n != 3 {
			t.Fatalf("ZCount = %d, %v", n, err)
		}
		if s, err := c.ZScore(ctx, k, "d").Result(); err != nil || s != 5 {
			t.Fatalf("ZScore = %v, %v", s, err)
		}
		if _, err := c.ZScore(ctx, k, "nope").Result(); !errors.Is(err, Nil) {
			t.Fatalf("ZScore missing: %v, want Nil", err)
		}
		ms, err := c.ZMScore(ctx, k, "b", "nope", "c").Result()
		if err != nil || !slices.Equal(ms, []Optional[float64]{{2, true}, {}, {3, true}}) {
			t.Fatalf("ZMScore = %v, %v", ms, err)
		}
		if r, err := c.ZRank(ctx, k, "c").Result(); err != nil || r != 2 {
			t.Fatalf("ZRank = %d, %v", r, err)
		}
		if r, err := c.ZRevRank(ctx, k, "c").Result(); err != nil || r != 1 {
			t.Fatalf("ZRevRank = %d, %v", r, err)
		}
		if _, err := c.ZRank(ctx, k, "nope").Result(); !errors.Is(err, Nil) {
			t.Fatalf("ZRank missing: %v, want Nil", err)
		}
		if m, err := c.ZRange(ctx, k, 0, -1).Result(); err != nil || !slices.Equal(m, []string{"a", "b", "c", "d"}) {
			t.Fatalf("ZRange = %v, %v", m, err)
		}
		want := []Z{{1, "a"}, {2, "b"}, {3, "c"}, {5, "d"}}
		if zs, err := c.ZRangeWithScores(ctx, k, 0, -1).Result(); err != nil || !slices.Equal(zs, want) {
			t.Fatalf("ZRangeWithScores = %v, %v", zs, err)
		}
		if zs, err := c.ZRevRangeWithScores(ctx, k, 0, 1).Result(); err != nil || !slices.Equal(zs, []Z{{5, "d"}, {3, "c"}}) {
			t.Fatalf("ZRevRangeWithScores = %v, %v", zs, err)
		}
		if m, err := c.ZRevRange(ctx, k, 0, 0).Result(); err != nil || !slices.Equal(m, []string{"d"}) {
			t.Fatalf("ZRevRange = %v, %v", m, err)
		}
		byScore := ZRangeArgs{Key: k, Start: "(1", Stop: 5, ByScore: true, Offset: 1, Count: 5}
		if m, err := c.ZRangeArgs(ctx, byScore).Result(); err != nil || !slices.Equal(m, []string{"c", "d"}) {
			t.Fatalf("ZRangeArgs BYSCORE LIMIT = %v, %v", m, err)
		}
		rev := ZRangeArgs{Key: k, Start: "+inf", Stop: "-inf", ByScore: true, Rev: true, Count: 2}
		if zs, err := c.ZRangeArgsWithScores(ctx, rev).Result(); err != nil || !slices.Equal(zs, []Z{{5, "d"}, {3, "c"}}) {
			t.Fatalf("ZRangeArgsWithScores REV = %v, %v", zs, err)
		}
		dst := testKey(t, "dst")
		if n, err := c.ZRangeStore(ctx, dst, ZRangeArgs{Key: k, Start: 1, Stop: 2}).Result(); err != nil || n != 2 {
			t.Fatalf("ZRangeStore = %d, %v", n, err)
		}
		if m, err := c.ZRange(ctx, dst, 0, -1).Result(); err != nil || !slices.Equal(m, []string{"b", "c"}) {
			t.Fatalf("ZRangeStore stored %v, %v", m, err)
		}
		if m, err := c.ZRangeByScore(ctx, k, &ZRangeBy{Min: "2", Max: "+inf", Count: 2}).Result(); err != nil || !slices.Equal(m, []string{"b", "c"}) {
			t.Fatalf("ZRangeByScore = %v, %v", m, err)
		}
		if zs, err := c.ZRangeByScoreWithScores(ctx, k, &ZRangeBy{Min: "-inf", Max: "(2"}).Result(); err != nil || !slices.Equal(zs, []Z{{1, "a"}}) {
			t.Fatalf("ZRangeByScoreWithScores = %v, %v", zs, err)
		}
		if m, err := c.ZRevRangeByScore(ctx, k, &ZRangeBy{Min: "2", Max: "3"}).Result(); err != nil || !slices.Equal(m, []string{"c", "b"}) {
			t.Fatalf("ZRevRangeByScore = %v, %v", m, err)
		}
		if zs, err := c.ZRevRangeByScoreWithScores(ctx, k, &ZRangeBy{Min: "-inf", Max: "+inf", Offset: 3, Count: 1}).Result(); err != nil || !slices.Equal(zs, []Z{{1, "a"}}) {
			t.Fatalf("ZRevRangeByScoreWithScores = %v, %v", zs, err)
		}

		lex := testKey(t, "lex")
		if err := c.ZAdd(ctx, lex, Z{0, "a"}, Z{0, "b"}, Z{0, "c"}, Z{0, "d"}).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.ZLexCount(ctx, lex, "[b", "+").Result(); err != nil || n != 3 {
			t.Fatalf("ZLexCount = %d, %v", n, err)
		}
		if m, err := c.ZRangeByLex(ctx, lex, &ZRangeBy{Min: "(a", Max: "[c"}).Result(); err != nil || !slices.Equal(m, []string{"b", "c"}) {
			t.Fatalf("ZRangeByLex = %v, %v", m, err)
		}
		if m, err := c.ZRevRangeByLex(ctx, lex, &ZRangeBy{Min: "-", Max: "+", Count: 2}).Result(); err != nil || !slices.Equal(m, []string{"d", "c"}) {
			t.Fatalf("ZRevRangeByLex = %v, %v", m, err)
		}
		if m, err := c.ZRangeArgs(ctx, ZRangeArgs{Key: lex, Start: "[c", Stop: "-", ByLex: true, Rev: true}).Result(); err != nil || !slices.Equal(m, []string{"c", "b", "a"}) {
			t.Fatalf("ZRangeArgs BYLEX REV = %v, %v", m, err)
		}
		if n, err := c.ZRemRangeByLex(ctx, lex, "[a", "(c").Result(); err != nil || n != 2 {
			t.Fatalf("ZRemRangeByLex = %d, %v", n, err)
		}

		if n, err := c.ZRem(ctx, dst, "b", "nope").Result(); err != nil || n != 1 {
			t.Fatalf("ZRem = %d, %v", n, err)
		}
		rr := testKey(t, "rr")
		if err := c.ZAdd(ctx, rr, abc...).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.ZRemRangeByRank(ctx, rr, 0, 0).Result(); err != nil || n != 1 {
			t.Fatalf("ZRemRangeByRank = %d, %v", n, err)
		}
		if n, err := c.ZRemRangeByScore(ctx, rr, "3", "3").Result(); err != nil || n != 1 {
			t.Fatalf("ZRemRangeByScore = %d, %v", n, err)
		}
		if m, err := c.ZRange(ctx, rr, 0, -1).Result(); err != nil || !slices.Equal(m, []string{"b"}) {
			t.Fatalf("after ZRemRangeBy* = %v, %v", m, err)
		}
	})
}

func TestZSetPops(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k, empty := testKey(t, "z"), testKey(t, "empty")
		if err := c.ZAdd(ctx, k, Z{1, "a"}, Z{2, "b"}, Z{3, "c"}, Z{4, "d"}, Z{5, "e"}, Z{6, "f"}).Err(); err != nil {
			t.Fatal(err)
		}
		if zs, err := c.ZPopMin(ctx, k).Result(); err != nil || !slices.Equal(zs, []Z{{1, "a"}}) {
			t.Fatalf("ZPopMin = %v, %v", zs, err)
		}
		if zs, err := c.ZPopMax(ctx, k, 2).Result(); err != nil || !slices.Equal(zs, []Z{{6, "f"}, {5, "e"}}) {
			t.Fatalf("ZPopMax 2 = %v, %v", zs, err)
		}
		if zs, err := c.ZPopMin(ctx, empty, 2).Result(); err != nil || len(zs) != 0 {
			t.Fatalf("ZPopMin of a missing key = %v, %v; want empty", zs, err)
		}
		if z, err := c.BZPopMin(ctx, time.Second, empty, k).Result(); err != nil || z != (ZWithKey{Z{2, "b"}, k}) {
			t.Fatalf("BZPopMin = %v, %v", z, err)
		}
		if z, err := c.BZPopMax(ctx, 0, k).Result(); err != nil || z != (ZWithKey{Z{4, "d"}, k}) {
			t.Fatalf("BZPopMax = %v, %v", z, err)
		}
		if _, err := c.BZPopMin(ctx, 10*time.Millisecond, empty).Result(); !errors.Is(err, Nil) {
			t.Fatalf("BZPopMin on an empty key: %v, want Nil", err)
		}
		if err := c.ZAdd(ctx, k, Z{7, "g"}, Z{8, "h"}).Err(); err != nil {
			t.Fatal(err)
		}
		// k is c=3 g=7 h=8.
		r, err := c.ZMPop(ctx, "MIN", 2, empty, k).Result()
		if err != nil || r.Key != k || !slices.Equal(r.Members, []Z{{3, "c"}, {7, "g"}}) {
			t.Fatalf("ZMPop = %+v, %v", r, err)
		}
		if _, err := c.ZMPop(ctx, "MIN", 1, empty).Result(); !errors.Is(err, Nil) {
			t.Fatalf("ZMPop of empty keys: %v, want Nil", err)
		}
		r, err = c.BZMPop(ctx, time.Second, "MAX", 1, k).Result()
		if err != nil || r.Key != k || !slices.Equal(r.Members, []Z{{8, "h"}}) {
			t.Fatalf("BZMPop = %+v, %v", r, err)
		}
		if _, err := c.BZMPop(ctx, 10*time.Millisecond, "MAX", 1, empty).Result(); !errors.Is(err, Nil) {
			t.Fatalf("BZMPop on empty keys: %v, want Nil", err)
		}
	})
}

func TestZSetAlgebra(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		a, b, dst := testKey(t, "a"), testKey(t, "b"), testKey(t, "dst")
		if err := c.ZAdd(ctx, a, Z{1, "x"}, Z{2, "y"}, Z{3, "z"}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ZAdd(ctx, b, Z{10, "y"}, Z{20, "z"}, Z{30, "w"}).Err(); err != nil {
			t.Fatal(err)
		}
		both := ZStore{Keys: []string{a, b}}
		if m, err := c.ZUnion(ctx, both).Result(); err != nil || !slices.Equal(m, []string{"x", "y", "z", "w"}) {
			t.Fatalf("ZUnion = %v, %v", m, err)
		}
		if zs, err := c.ZUnionWithScores(ctx, ZStore{Keys: []string{a, b}, Aggregate: "MAX"}).Result(); err != nil ||
			!slices.Equal(zs, []Z{{1, "x"}, {10, "y"}, {20, "z"}, {30, "w"}}) {
			t.Fatalf("ZUnionWithScores MAX = %v, %v", zs, err)
		}
		if n, err := c.ZUnionStore(ctx, dst, &both).Result(); err != nil || n != 4 {
			t.Fatalf("ZUnionStore = %d, %v", n, err)
		}
		if m, err := c.ZInter(ctx, &both).Result(); err != nil || !slices.Equal(m, []string{"y", "z"}) {
			t.Fatalf("ZInter = %v, %v", m, err)
		}
		weighted := ZStore{Keys: []string{a, b}, Weights: []float64{2, 0.5}}
		if zs, err := c.ZInterWithScores(ctx, &weighted).Result(); err != nil || !slices.Equal(zs, []Z{{9, "y"}, {16, "z"}}) {
			t.Fatalf("ZInterWithScores weighted = %v, %v", zs, err)
		}
		if n, err := c.ZInterStore(ctx, dst, &both).Result(); err != nil || n != 2 {
			t.Fatalf("ZInterStore = %d, %v", n, err)
		}
		if n, err := c.ZInterCard(ctx, 0, a, b).Result(); err != nil || n != 2 {
			t.Fatalf("ZInterCard = %d, %v", n, err)
		}
		if n, err := c.ZInterCard(ctx, 1, a, b).Result(); err != nil || n != 1 {
			t.Fatalf("ZInterCard limit = %d, %v", n, err)
		}
		if m, err := c.ZDiff(ctx, a, b).Result(); err != nil || !slices.Equal(m, []string{"x"}) {
			t.Fatalf("ZDiff = %v, %v", m, err)
		}
		if zs, err := c.ZDiffWithScores(ctx, b, a).Result(); err != nil || !slices.Equal(zs, []Z{{30, "w"}}) {
			t.Fatalf("ZDiffWithScores = %v, %v", zs, err)
		}
		if n, err := c.ZDiffStore(ctx, dst, a, b).Result(); err != nil || n != 1 {
			t.Fatalf("ZDiffStore = %d, %v", n, err)
		}
		if m, err := c.ZRandMember(ctx, a, 5).Result(); err != nil || !slices.Equal(sorted(m), []string{"x", "y", "z"}) {
			t.Fatalf("ZRandMember = %v, %v", m, err)
		}
		zs, err := c.ZRandMemberWithScores(ctx, a, -5).Result()
		if err != nil || len(zs) != 5 {
			t.Fatalf("ZRandMemberWithScores -5 = %v, %v; want 5", zs, err)
		}
		for _, z := range zs {
			if s := map[string]float64{"x": 1, "y": 2, "z": 3}[z.Member]; s != z.Score {
				t.Fatalf("ZRandMemberWithScores gave %v", z)
			}
		}
	})
}

// TestZSliceDecoderShapes checks the decoder of scored members against
// both protocols' shapes and against malformed replies.
func TestZSliceDecoderShapes(t *testing.T) {
	t.Parallel()
	bs := resp.BulkString
	want := []Z{{1.5, "a"}, {math.Inf(1), "b"}}
	flat := resp.Array(bs("a"), bs("1.5"), bs("b"), bs("inf"))
	pairs := resp.Array(resp.Array(bs("a"), resp.Double(1.5)), resp.Array(bs("b"), resp.Double(math.Inf(1))))
	for name, v := range map[string]resp.Value{"resp2 flat": flat, "resp3 pairs": pairs} {
		got, err := decodeZSlice(v)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
	bad := map[string]resp.Value{
		"odd flat":     resp.Array(bs("a"), bs("1"), bs("b")),
		"short pair":   resp.Array(resp.Array(bs("a"))),
		"bad score":    resp.Array(bs("a"), bs("x")),
		"not an array": resp.Integer(3),
		"nested pair":  resp.Array(resp.Array(resp.Array(), bs("1"))),
	}
	for name, v := range bad {
		if got, err := decodeZSlice(v); err == nil {
			t.Errorf("%s: decoded %v, want an error", name, got)
		}
	}
	if _, err := decodeZSlice(resp.Null()); !errors.Is(err, Nil) {
		t.Errorf("null: %v, want Nil", err)
	}
	if _, err := decodeZWithKey(resp.Array(bs("k"), bs("m"))); err == nil {
		t.Error("decodeZWithKey of two elements: want an error")
	}
	if _, err := decodeZSliceWithKey(resp.Array(bs("k"), bs("m"))); err == nil {
		t.Error("decodeZSliceWithKey with a string for members: want an error")
	}
}

// TestZSetPipelined checks that the typed methods queue on a Pipeline and
// a TxPipeline, and that their replies are decoded at Exec.
func TestZSetPipelined(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k, s := testKey(t, "z"), testKey(t, "set")
		for _, p := range []*Pipeline{c.Pipeline(), c.TxPipeline()} {
			add := p.ZAdd(ctx, k, Z{1, "a"}, Z{2, "b"})
			rng := p.ZRangeWithScores(ctx, k, 0, -1)
			pop := p.ZPopMax(ctx, k)
			sadd := p.SAdd(ctx, s, "m")
			members := p.SMembers(ctx, s)
			if add.Err() != nil || rng.Val() != nil {
				t.Fatalf("queued commands already have results: %v %v", add.Err(), rng.Val())
			}
			if err := p.Exec(ctx); err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if zs, err := rng.Result(); err != nil || !slices.Equal(zs, []Z{{1, "a"}, {2, "b"}}) {
				t.Fatalf("pipelined ZRangeWithScores = %v, %v", zs, err)
			}
			if zs, err := pop.Result(); err != nil || !slices.Equal(zs, []Z{{2, "b"}}) {
				t.Fatalf("pipelined ZPopMax = %v, %v", zs, err)
			}
			if m, err := members.Result(); err != nil || sadd.Err() != nil || !slices.Equal(m, []string{"m"}) {
				t.Fatalf("pipelined SMembers = %v, %v", m, err)
			}
		}
	})
}
