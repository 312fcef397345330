package respool

import (
	"context"
	"strconv"
	"time"
)

// Sorted set commands. Scores are float64; members are strings (or any
// argument the resp writer accepts where the method takes any). Replies
// WITHSCORES decode from both shapes: RESP3 sends [member, score] pairs,
// RESP2 a flat array alternating members and scores.

// Z is one member of a sorted set and its score.
type Z struct {
	Score  float64
	Member string
}

// ZWithKey is a member popped by BZPOPMIN or BZPOPMAX and the key it came
// from.
type ZWithKey struct {
	Z
	Key string
}

// ZSliceWithKey is the members popped by ZMPOP or BZMPOP and the key they
// came from.
type ZSliceWithKey struct {
	Key     string
	Members []Z
}

// ZAddArgs are the options of ZADD. NX and XX, like GT and LT, exclude
// each other (the server rejects both); GT, LT and NX cannot be combined.
type ZAddArgs struct {
	NX bool // only add new members
	XX bool // only update existing members
	GT bool // only update when the new score is greater
	LT bool // only update when the new score is less
	Ch bool // count changed members, not only added ones
	// Members are the members to add or update.
	Members []Z
}

// ZRangeArgs are the options of ZRANGE and ZRANGESTORE. Start and Stop
// are ranks (ints) by default, scores with ByScore ("(1", "-inf", 2.5) or
// lexicographic bounds with ByLex ("[a", "(b", "-", "+"). With Rev the
// order is reversed and Start is the higher bound, as the server expects.
// Count above 0 adds LIMIT Offset Count (ByScore and ByLex only).
type ZRangeArgs struct {
	Key     string
	Start   any
	Stop    any
	ByScore bool
	ByLex   bool
	Rev     bool
	Offset  int64
	Count   int64
}

// appendArgs appends the range and the options of z: at most 7
// arguments.
func (z *ZRangeArgs) appendArgs(argv []any) []any {
	argv = append(argv, z.Start, z.Stop)
	switch {
	case z.ByScore:
		argv = append(argv, "BYSCORE")
	case z.ByLex:
		argv = append(argv, "BYLEX")
	}
	if z.Rev {
		argv = append(argv, "REV")
	}
	if z.Count > 0 || z.Offset > 0 {
		count := z.Count
		if count <= 0 {
			count = -1
		}
		argv = append(argv, "LIMIT", z.Offset, count)
	}
	return argv
}

// ZRangeBy are the bounds of the legacy ZRANGEBYSCORE, ZREVRANGEBYSCORE,
// ZRANGEBYLEX and ZREVRANGEBYLEX. Min and Max are score bounds ("-inf",
// "(1", "2.5") or lexicographic ones ("-", "[a", "(b"); Count above 0 adds
// LIMIT Offset Count.
type ZRangeBy struct {
	Min, Max      string
	Offset, Count int64
}

// appendLimit appends LIMIT offset count when z asks for it: at most 3
// arguments.
func (z *ZRangeBy) appendLimit(argv []any) []any {
	if z.Count > 0 || z.Offset > 0 {
		count := z.Count
		if count <= 0 {
			count = -1
		}
		argv = append(argv, "LIMIT", z.Offset, count)
	}
	return argv
}

// ZStore are the inputs of ZUNION, ZINTER and their STORE forms: the keys,
// optional weights (one per key) and the aggregate ("SUM" by default,
// "MIN" or "MAX").
type ZStore struct {
	Keys      []string
	Weights   []float64
	Aggregate string
}

// maxArgs returns how many arguments appendArgs appends, at most.
func (z *ZStore) maxArgs() int { return 4 + len(z.Keys) + len(z.Weights) }

func (z *ZStore) appendArgs(argv []any) []any {
	argv = append(argv, len(z.Keys))
	for _, k := range z.Keys {
		argv = append(argv, k)
	}
	if len(z.Weights) > 0 {
		argv = append(argv, "WEIGHTS")
		for _, w := range z.Weights {
			argv = append(argv, w)
		}
	}
	if z.Aggregate != "" {
		argv = append(argv, "AGGREGATE", z.Aggregate)
	}
	return argv
}

// ZAdd adds members to the sorted set at key, or updates their scores, and
// returns how many were added.
func (c cmdable) ZAdd(ctx context.Context, key string, members ...Z) *Cmd[int64] {
	return c.ZAddArgs(ctx, key, ZAddArgs{Members: members})
}

// ZAddNX adds members that are not already in the sorted set at key and
// returns how many were added.
func (c cmdable) ZAddNX(ctx context.Context, key string, members ...Z) *Cmd[int64] {
	return c.ZAddArgs(ctx, key, ZAddArgs{NX: true, Members: members})
}

// ZAddXX updates the scores of members already in the sorted set at key;
// it returns 0 (nothing is added).
func (c cmdable) ZAddXX(ctx context.Context, key string, members ...Z) *Cmd[int64] {
	return c.ZAddArgs(ctx, key, ZAddArgs{XX: true, Members: members})
}

// ZAddArgs runs ZADD with options and returns the number of members added,
// or added and changed with args.Ch.
func (c cmdable) ZAddArgs(ctx context.Context, key string, args ZAddArgs) *Cmd[int64] {
	cmd := newIntCmdArgv(zaddArgv(key, args, false))
	c(ctx, cmd)
	return cmd
}

// ZAddArgsIncr runs ZADD ... INCR with one member in args.Members and
// returns its new score; Nil when NX, XX, GT or LT prevented the update.
func (c cmdable) ZAddArgsIncr(ctx context.Context, key string, args ZAddArgs) *Cmd[float64] {
	cmd := newCmdArgv(DecodeFloat, zaddArgv(key, args, true))
	c(ctx, cmd)
	return cmd
}

// zaddArgv builds ZADD key, its options and the members. The name, key
// and options (at most 8) are gathered on the stack, so that the list is
// allocated at its exact size.
func zaddArgv(key string, args ZAddArgs, incr bool) []any {
	head := append(make([]any, 0, 8), "ZADD", key)
	if args.NX {
		head = append(head, "NX")
	}
	if args.XX {
		head = append(head, "XX")
	}
	if args.GT {
		head = append(head, "GT")
	}
	if args.LT {
		head = append(head, "LT")
	}
	if args.Ch {
		head = append(head, "CH")
	}
	if incr {
		head = append(head, "INCR")
	}
	argv := argvOf(2*len(args.Members), head...)
	for _, m := range args.Members {
		argv = append(argv, m.Score, m.Member)
	}
	return argv
}

// ZIncrBy adds increment to the score of member in the sorted set at key
// (adding it with that score when missing) and returns the new score.
func (c cmdable) ZIncrBy(ctx context.Context, key string, increment float64, member string) *Cmd[float64] {
	cmd := newCmd(DecodeFloat, "ZINCRBY", key, increment, member)
	c(ctx, cmd)
	return cmd
}

// ZRem removes members from the sorted set at key and returns how many
// were in it.
func (c cmdable) ZRem(ctx context.Context, key string, members ...any) *Cmd[int64] {
	argv := append(argvOf(len(members), "ZREM", key), members...)
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// ZCard returns the number of members of the sorted set at key.
func (c cmdable) ZCard(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("ZCARD", key)
	c(ctx, cmd)
	return cmd
}

// ZCount returns the number of members with a score between min and max
// ("-inf", "(1", "2.5", "+inf").
func (c cmdable) ZCount(ctx context.Context, key, min, max string) *Cmd[int64] {
	cmd := newIntCmd("ZCOUNT", key, min, max)
	c(ctx, cmd)
	return cmd
}

// ZLexCount returns the number of members between the lexicographic
// bounds min and max ("-", "[a", "(b", "+").
func (c cmdable) ZLexCount(ctx context.Context, key, min, max string) *Cmd[int64] {
	cmd := newIntCmd("ZLEXCOUNT", key, min, max)
	c(ctx, cmd)
	return cmd
}

// ZScore returns the score of member; Nil when the member or key is
// missing.
func (c cmdable) ZScore(ctx context.Context, key, member string) *Cmd[float64] {
	cmd := newCmd(DecodeFloat, "ZSCORE", key, member)
	c(ctx, cmd)
	return cmd
}

// ZMScore returns the scores of members in order; a missing member has OK
// false.
func (c cmdable) ZMScore(ctx context.Context, key string, members ...string) *Cmd[[]Optional[float64]] {
	cmd := borrowing(newCmdArgv(decodeOptionalFloats, appendStrings(argvOf(len(members), "ZMSCORE", key), members)))
	c(ctx, cmd)
	return cmd
}

// ZRank returns the rank of member, lowest score first, from 0; Nil when
// the member or key is missing.
func (c cmdable) ZRank(ctx context.Context, key, member string) *Cmd[int64] {
	cmd := newIntCmd("ZRANK", key, member)
	c(ctx, cmd)
	return cmd
}

// ZRevRank returns the rank of member, highest score first, from 0; Nil
// when the member or key is missing.
func (c cmdable) ZRevRank(ctx context.Context, key, member string) *Cmd[int64] {
	cmd := newIntCmd("ZREVRANK", key, member)
	c(ctx, cmd)
	return cmd
}

// ZRange returns the members ranked start to stop (inclusive; negative
// ranks count from the end), lowest score first.
func (c cmdable) ZRange(ctx context.Context, key string, start, stop int64) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "ZRANGE", key, start, stop))
	c(ctx, cmd)
	return cmd
}

// ZRangeWithScores is ZRange returning the scores too.
func (c cmdable) ZRangeWithScores(ctx context.Context, key string, start, stop int64) *Cmd[[]Z] {
	cmd := newCmd(decodeZSlice, "ZRANGE", key, start, stop, "WITHSCORES")
	c(ctx, cmd)
	return cmd
}

// ZRangeArgs runs ZRANGE with options (by score, by lex, reversed,
// limited) and returns the members.
func (c cmdable) ZRangeArgs(ctx context.Context, z ZRangeArgs) *Cmd[[]string] {
	argv := z.appendArgs(append(make([]any, 0, 9), "ZRANGE", z.Key))
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// ZRangeArgsWithScores is ZRangeArgs returning the scores too.
func (c cmdable) ZRangeArgsWithScores(ctx context.Context, z ZRangeArgs) *Cmd[[]Z] {
	argv := append(z.appendArgs(append(make([]any, 0, 10), "ZRANGE", z.Key)), "WITHSCORES")
	cmd := newCmd(decodeZSlice, argv...)
	c(ctx, cmd)
	return cmd
}

// ZRangeStore stores the range selected by z in dst and returns the number
// of members stored.
func (c cmdable) ZRangeStore(ctx context.Context, dst string, z ZRangeArgs) *Cmd[int64] {
	argv := z.appendArgs(append(make([]any, 0, 10), "ZRANGESTORE", dst, z.Key))
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// ZRevRange returns the members ranked start to stop, highest score first.
func (c cmdable) ZRevRange(ctx context.Context, key string, start, stop int64) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "ZREVRANGE", key, start, stop))
	c(ctx, cmd)
	return cmd
}

// ZRevRangeWithScores is ZRevRange returning the scores too.
func (c cmdable) ZRevRangeWithScores(ctx context.Context, key string, start, stop int64) *Cmd[[]Z] {
	cmd := newCmd(decodeZSlice, "ZREVRANGE", key, start, stop, "WITHSCORES")
	c(ctx, cmd)
	return cmd
}

// ZRangeByScore returns the members with a score between opt.Min and
// opt.Max, lowest first (the legacy form of ZRANGE ... BYSCORE).
func (c cmdable) ZRangeByScore(ctx context.Context, key string, opt *ZRangeBy) *Cmd[[]string] {
	argv := opt.appendLimit(append(make([]any, 0, 7), "ZRANGEBYSCORE", key, opt.Min, opt.Max))
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// ZRangeByScoreWithScores is ZRangeByScore returning the scores too.
func (c cmdable) ZRangeByScoreWithScores(ctx context.Context, key string, opt *ZRangeBy) *Cmd[[]Z] {
	argv := opt.appendLimit(append(make([]any, 0, 8), "ZRANGEBYSCORE", key, opt.Min, opt.Max, "WITHSCORES"))
	cmd := newCmd(decodeZSlice, argv...)
	c(ctx, cmd)
	return cmd
}

// ZRevRangeByScore returns the members with a score between opt.Max and
// opt.Min, highest first.
func (c cmdable) ZRevRangeByScore(ctx context.Context, key string, opt *ZRangeBy) *Cmd[[]string] {
	argv := opt.appendLimit(append(make([]any, 0, 7), "ZREVRANGEBYSCORE", key, opt.Max, opt.Min))
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// ZRevRangeByScoreWithScores is ZRevRangeByScore returning the scores too.
func (c cmdable) ZRevRangeByScoreWithScores(ctx context.Context, key string, opt *ZRangeBy) *Cmd[[]Z] {
	argv := opt.appendLimit(append(make([]any, 0, 8), "ZREVRANGEBYSCORE", key, opt.Max, opt.Min, "WITHSCORES"))
	cmd := newCmd(decodeZSlice, argv...)
	c(ctx, cmd)
	return cmd
}

// ZRangeByLex returns the members between the lexicographic bounds opt.Min
// and opt.Max, in order (all members should share one score).
func (c cmdable) ZRangeByLex(ctx context.Context, key string, opt *ZRangeBy) *Cmd[[]string] {
	argv := opt.appendLimit(append(make([]any, 0, 7), "ZRANGEBYLEX", key, opt.Min, opt.Max))
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// ZRevRangeByLex is ZRangeByLex in reverse order.
func (c cmdable) ZRevRangeByLex(ctx context.Context, key string, opt *ZRangeBy) *Cmd[[]string] {
	argv := opt.appendLimit(append(make([]any, 0, 7), "ZREVRANGEBYLEX", key, opt.Max, opt.Min))
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// ZRemRangeByRank removes the members ranked start to stop and returns
// how many were removed.
func (c cmdable) ZRemRangeByRank(ctx context.Context, key string, start, stop int64) *Cmd[int64] {
	cmd := newIntCmd("ZREMRANGEBYRANK", key, start, stop)
	c(ctx, cmd)
	return cmd
}

// ZRemRangeByScore removes the members with a score between min and max
// and returns how many were removed.
func (c cmdable) ZRemRangeByScore(ctx context.Context, key, min, max string) *Cmd[int64] {
	cmd := newIntCmd("ZREMRANGEBYSCORE", key, min, max)
	c(ctx, cmd)
	return cmd
}

// ZRemRangeByLex removes the members between the lexicographic bounds min
// and max and returns how many were removed.
func (c cmdable) ZRemRangeByLex(ctx context.Context, key, min, max string) *Cmd[int64] {
	cmd := newIntCmd("ZREMRANGEBYLEX", key, min, max)
	c(ctx, cmd)
	return cmd
}

// ZPopMin removes and returns the member with the lowest score, or the
// count lowest when count is given; an empty slice when key is missing.
func (c cmdable) ZPopMin(ctx context.Context, key string, count ...int64) *Cmd[[]Z] {
	argv := appendZPop(make([]any, 0, 3), "ZPOPMIN", key, count)
	cmd := newCmd(decodeZSlice, argv...)
	c(ctx, cmd)
	return cmd
}

// ZPopMax is ZPopMin for the highest scores.
func (c cmdable) ZPopMax(ctx context.Context, key string, count ...int64) *Cmd[[]Z] {
	argv := appendZPop(make([]any, 0, 3), "ZPOPMAX", key, count)
	cmd := newCmd(decodeZSlice, argv...)
	c(ctx, cmd)
	return cmd
}

// appendZPop appends name key and the count, if any, to argv.
func appendZPop(argv []any, name, key string, count []int64) []any {
	argv = append(argv, name, key)
	switch len(count) {
	case 0:
	case 1:
		argv = append(argv, count[0])
	default:
		panic("respool: " + name + ": too many arguments")
	}
	return argv
}

// BZPopMin pops the member with the lowest score from the first non-empty
// sorted set of keys, waiting up to timeout (0 or less: forever) for one;
// Nil on timeout. The connection's read deadline is extended by timeout;
// ctx can still cut the wait short (the connection is then closed).
func (c cmdable) BZPopMin(ctx context.Context, timeout time.Duration, keys ...string) *Cmd[ZWithKey] {
	argv := append(appendStrings(argvOf(len(keys)+1, "BZPOPMIN"), keys), formatSeconds(timeout))
	cmd := newCmdArgv(decodeZWithKey, argv)
	c(ctx, cmd)
	return cmd
}

// BZPopMax is BZPopMin for the highest score.
func (c cmdable) BZPopMax(ctx context.Context, timeout time.Duration, keys ...string) *Cmd[ZWithKey] {
	argv := append(appendStrings(argvOf(len(keys)+1, "BZPOPMAX"), keys), formatSeconds(timeout))
	cmd := newCmdArgv(decodeZWithKey, argv)
	c(ctx, cmd)
	return cmd
}

// ZMPop pops up to count members (at least 1) from the first non-empty
// sorted set of keys; order is "MIN" or "MAX". Nil when all are empty.
func (c cmdable) ZMPop(ctx context.Context, order string, count int64, keys ...string) *Cmd[ZSliceWithKey] {
	argv := appendStrings(argvOf(len(keys)+3, "ZMPOP", len(keys)), keys)
	argv = append(argv, order)
	if count > 1 {
		argv = append(argv, "COUNT", count)
	}
	cmd := newCmdArgv(decodeZSliceWithKey, argv)
	c(ctx, cmd)
	return cmd
}

// BZMPop is ZMPop waiting up to timeout (0 or less: forever) for a
// member; Nil on timeout.
func (c cmdable) BZMPop(ctx context.Context, timeout time.Duration, order string, count int64, keys ...string) *Cmd[ZSliceWithKey] {
	argv := appendStrings(argvOf(len(keys)+3, "BZMPOP", formatSeconds(timeout), len(keys)), keys)
	argv = append(argv, order)
	if count > 1 {
		argv = append(argv, "COUNT", count)
	}
	cmd := newCmdArgv(decodeZSliceWithKey, argv)
	c(ctx, cmd)
	return cmd
}

// ZRandMember returns up to count distinct random members, or -count
// members that may repeat when count is negative.
func (c cmdable) ZRandMember(ctx context.Context, key string, count int64) *Cmd[[]string] {
	cmd := newCmd(decodeStringsOrEmpty, "ZRANDMEMBER", key, count)
	c(ctx, cmd)
	return cmd
}

// ZRandMemberWithScores is ZRandMember returning the scores too.
func (c cmdable) ZRandMemberWithScores(ctx context.Context, key string, count int64) *Cmd[[]Z] {
	cmd := newCmd(decodeZSlice, "ZRANDMEMBER", key, count, "WITHSCORES")
	c(ctx, cmd)
	return cmd
}

// ZUnion returns the union of the sorted sets in store, lowest score first.
func (c cmdable) ZUnion(ctx context.Context, store ZStore) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, store.appendArgs(argvOf(store.maxArgs(), "ZUNION"))))
	c(ctx, cmd)
	return cmd
}

// ZUnionWithScores is ZUnion returning the aggregated scores too.
func (c cmdable) ZUnionWithScores(ctx context.Context, store ZStore) *Cmd[[]Z] {
	cmd := newCmdArgv(decodeZSlice, append(store.appendArgs(argvOf(store.maxArgs()+1, "ZUNION")), "WITHSCORES"))
	c(ctx, cmd)
	return cmd
}

// ZUnionStore stores the union of the sorted sets in store at dest and
// returns its size.
func (c cmdable) ZUnionStore(ctx context.Context, dest string, store *ZStore) *Cmd[int64] {
	cmd := newIntCmdArgv(store.appendArgs(argvOf(store.maxArgs(), "ZUNIONSTORE", dest)))
	c(ctx, cmd)
	return cmd
}

// ZInter returns the intersection of the sorted sets in store.
func (c cmdable) ZInter(ctx context.Context, store *ZStore) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, store.appendArgs(argvOf(store.maxArgs(), "ZINTER"))))
	c(ctx, cmd)
	return cmd
}

// ZInterWithScores is ZInter returning the aggregated scores too.
func (c cmdable) ZInterWithScores(ctx context.Context, store *ZStore) *Cmd[[]Z] {
	cmd := newCmdArgv(decodeZSlice, append(store.appendArgs(argvOf(store.maxArgs()+1, "ZINTER")), "WITHSCORES"))
	c(ctx, cmd)
	return cmd
}

// ZInterStore stores the intersection of the sorted sets in store at dest
// and returns its size.
func (c cmdable) ZInterStore(ctx context.Context, dest string, store *ZStore) *Cmd[int64] {
	cmd := newIntCmdArgv(store.appendArgs(argvOf(store.maxArgs(), "ZINTERSTORE", dest)))
	c(ctx, cmd)
	return cmd
}

// ZInterCard returns the size of the intersection of the sorted sets at
// keys, counting no further than limit when limit is above 0.
func (c cmdable) ZInterCard(ctx context.Context, limit int64, keys ...string) *Cmd[int64] {
	argv := appendStrings(argvOf(len(keys)+2, "ZINTERCARD", len(keys)), keys)
	if limit > 0 {
		argv = append(argv, "LIMIT", limit)
	}
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// ZDiff returns the members of the first sorted set at keys that are in
// none of the others.
func (c cmdable) ZDiff(ctx context.Context, keys ...string) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, appendStrings(argvOf(len(keys), "ZDIFF", len(keys)), keys)))
	c(ctx, cmd)
	return cmd
}

// ZDiffWithScores is ZDiff returning the scores too.
func (c cmdable) ZDiffWithScores(ctx context.Context, keys ...string) *Cmd[[]Z] {
	argv := append(appendStrings(argvOf(len(keys)+1, "ZDIFF", len(keys)), keys), "WITHSCORES")
	cmd := newCmdArgv(decodeZSlice, argv)
	c(ctx, cmd)
	return cmd
}

// ZDiffStore stores the difference of the sorted sets at keys (see ZDiff)
// at destination and returns its size.
func (c cmdable) ZDiffStore(ctx context.Context, destination string, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "ZDIFFSTORE", destination, len(keys)), keys))
	c(ctx, cmd)
	return cmd
}

// formatSeconds formats a blocking timeout in seconds, as the B* commands
// take it: "1.5", "0" for forever. Negative durations count as 0.
func formatSeconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
