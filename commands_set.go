package respool

import (
	"context"

	"github.com/respool/respool/resp"
)

// Set commands. Members are values (any of the argument types the resp
// writer accepts); replies come back as strings.

// SAdd adds members to the set at key and returns how many were not
// already in it.
func (c cmdable) SAdd(ctx context.Context, key string, members ...any) *Cmd[int64] {
	argv := append(argvOf(len(members), "SADD", key), members...)
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// SRem removes members from the set at key and returns how many were in it.
func (c cmdable) SRem(ctx context.Context, key string, members ...any) *Cmd[int64] {
	argv := append(argvOf(len(members), "SREM", key), members...)
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// SMembers returns every member of the set at key, in no particular
// order; an empty slice when the key does not exist.
func (c cmdable) SMembers(ctx context.Context, key string) *Cmd[[]string] {
	cmd := borrowing(newCmd(DecodeStrings, "SMEMBERS", key))
	c(ctx, cmd)
	return cmd
}

// SIsMember reports whether member is in the set at key.
func (c cmdable) SIsMember(ctx context.Context, key string, member any) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "SISMEMBER", key, member)
	c(ctx, cmd)
	return cmd
}

// SMIsMember reports, for each of members in order, whether it is in the
// set at key.
func (c cmdable) SMIsMember(ctx context.Context, key string, members ...any) *Cmd[[]bool] {
	argv := append(argvOf(len(members), "SMISMEMBER", key), members...)
	cmd := borrowing(newCmdArgv(DecodeBools, argv))
	c(ctx, cmd)
	return cmd
}

// SCard returns the number of members of the set at key, 0 when it does
// not exist.
func (c cmdable) SCard(ctx context.Context, key string) *Cmd[int64] {
	cmd := newIntCmd("SCARD", key)
	c(ctx, cmd)
	return cmd
}

// SPop removes and returns a random member of the set at key; Nil when the
// set is empty or missing.
func (c cmdable) SPop(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("SPOP", key)
	c(ctx, cmd)
	return cmd
}

// SPopN removes and returns up to count random members of the set at key;
// an empty slice when it is empty or missing.
func (c cmdable) SPopN(ctx context.Context, key string, count int64) *Cmd[[]string] {
	cmd := newCmd(decodeStringsOrEmpty, "SPOP", key, count)
	c(ctx, cmd)
	return cmd
}

// SRandMember returns a random member of the set at key without removing
// it; Nil when the set is empty or missing.
func (c cmdable) SRandMember(ctx context.Context, key string) *Cmd[string] {
	cmd := newStringCmd("SRANDMEMBER", key)
	c(ctx, cmd)
	return cmd
}

// SRandMemberN returns up to count distinct random members of the set at
// key, or, when count is negative, -count members that may repeat.
func (c cmdable) SRandMemberN(ctx context.Context, key string, count int64) *Cmd[[]string] {
	cmd := newCmd(decodeStringsOrEmpty, "SRANDMEMBER", key, count)
	c(ctx, cmd)
	return cmd
}

// SMove moves member from the set at source to the set at destination and
// reports whether it was in source.
func (c cmdable) SMove(ctx context.Context, source, destination string, member any) *Cmd[bool] {
	cmd := newCmd(DecodeBool, "SMOVE", source, destination, member)
	c(ctx, cmd)
	return cmd
}

// SInter returns the members present in every one of the sets at keys.
func (c cmdable) SInter(ctx context.Context, keys ...string) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, appendStrings(argvOf(len(keys), "SINTER"), keys)))
	c(ctx, cmd)
	return cmd
}

// SInterCard returns the size of the intersection of the sets at keys,
// counting no further than limit when limit is above 0.
func (c cmdable) SInterCard(ctx context.Context, limit int64, keys ...string) *Cmd[int64] {
	argv := appendStrings(argvOf(len(keys)+2, "SINTERCARD", len(keys)), keys)
	if limit > 0 {
		argv = append(argv, "LIMIT", limit)
	}
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// SInterStore stores the intersection of the sets at keys in destination
// and returns its size.
func (c cmdable) SInterStore(ctx context.Context, destination string, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "SINTERSTORE", destination), keys))
	c(ctx, cmd)
	return cmd
}

// SUnion returns the members present in any of the sets at keys.
func (c cmdable) SUnion(ctx context.Context, keys ...string) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, appendStrings(argvOf(len(keys), "SUNION"), keys)))
	c(ctx, cmd)
	return cmd
}

// SUnionStore stores the union of the sets at keys in destination and
// returns its size.
func (c cmdable) SUnionStore(ctx context.Context, destination string, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "SUNIONSTORE", destination), keys))
	c(ctx, cmd)
	return cmd
}

// SDiff returns the members of the first set at keys that are in none of
// the others.
func (c cmdable) SDiff(ctx context.Context, keys ...string) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, appendStrings(argvOf(len(keys), "SDIFF"), keys)))
	c(ctx, cmd)
	return cmd
}

// SDiffStore stores the difference of the sets at keys (see SDiff) in
// destination and returns its size.
func (c cmdable) SDiffStore(ctx context.Context, destination string, keys ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(keys), "SDIFFSTORE", destination), keys))
	c(ctx, cmd)
	return cmd
}

// decodeStringsOrEmpty is DecodeStrings where a null array, which some
// server versions send for a count on a missing key, means no members.
func decodeStringsOrEmpty(v resp.Value) ([]string, error) {
	if v.IsNull() {
		return []string{}, nil
	}
	return DecodeStrings(v)
}
