package respool

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/respool/respool/resp"
)

// Stream commands. Entries decode into XMessage; replies that differ
// between RESP2 (flat arrays) and RESP3 (maps) decode from either.

// XMessage is one stream entry: its ID and its field-value pairs. Values
// is nil for an entry that was deleted while pending (XREADGROUP of the
// history, XCLAIM).
type XMessage struct {
	ID     string
	Values map[string]string
}

// XStream is the entries read from one stream by XREAD or XREADGROUP.
type XStream struct {
	Stream   string
	Messages []XMessage
}

// XAddArgs are the arguments of XADD.
type XAddArgs struct {
	// Stream is the key.
	Stream string
	// NoMkStream fails the command (Nil) instead of creating a missing
	// stream.
	NoMkStream bool
	// MaxLen above 0 trims the stream to that many entries; MinID, when
	// set instead, trims entries with a lower ID. Approx trims with "~"
	// (whole macro nodes only, cheaper); Limit above 0 caps how many
	// entries one approximate trim may evict.
	MaxLen int64
	MinID  string
	Approx bool
	Limit  int64
	// ID is the entry's ID; "" means "*", one chosen by the server.
	ID string
	// Values are the entry's fields and values: a map[string]any, a
	// map[string]string (both sent in key order), a []string or []any
	// of field, value, field, value..., or a []Pair[string, string].
	Values any
}

// XReadArgs are the arguments of XREAD.
type XReadArgs struct {
	// Streams lists the stream keys followed by one ID per key, for
	// example {"s1", "s2", "0", "$"}: entries after each ID are read.
	Streams []string
	// Count above 0 caps the entries returned per stream.
	Count int64
	// Block is how long to wait for an entry: 0 waits forever and a
	// negative duration sends no BLOCK at all (return at once). The zero
	// value therefore blocks: set -1 for a plain read.
	Block time.Duration
}

// XReadGroupArgs are the arguments of XREADGROUP.
type XReadGroupArgs struct {
	Group    string
	Consumer string
	// Streams lists the stream keys followed by one ID per key; ">" reads
	// entries never delivered to the group, another ID re-reads this
	// consumer's pending entries after it.
	Streams []string
	// Count above 0 caps the entries returned per stream.
	Count int64
	// Block is as in XReadArgs: 0 waits forever, negative sends no BLOCK.
	Block time.Duration
	// NoAck delivers without adding the entries to the pending list.
	NoAck bool
}

// appendStreams adds the "STREAMS k1 k2 id1 id2" tail shared by XREAD and
// XREADGROUP.
func appendStreams(argv []any, streams []string) []any {
	argv = append(argv, "STREAMS")
	for _, s := range streams {
		argv = append(argv, s)
	}
	return argv
}

// appendBlock adds BLOCK in milliseconds unless block is negative.
func appendBlock(argv []any, block time.Duration) []any {
	if block < 0 {
		return argv
	}
	return append(argv, "BLOCK", block.Milliseconds())
}

// appendStreamValues adds the field-value pairs of an XADD. An
// unsupported type is passed through as one argument, so the writer
// rejects it with a *resp.ArgError before anything is sent.
func appendStreamValues(argv []any, values any) []any {
	switch v := values.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			argv = append(argv, k, v[k])
		}
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			argv = append(argv, k, v[k])
		}
	case []string:
		for _, s := range v {
			argv = append(argv, s)
		}
	case []any:
		argv = append(argv, v...)
	case []Pair[string, string]:
		for _, p := range v {
			argv = append(argv, p.Key, p.Val)
		}
	default:
		argv = append(argv, values)
	}
	return argv
}

// streamValuesLen returns how many arguments appendStreamValues appends
// for values.
func streamValuesLen(values any) int {
	switch v := values.(type) {
	case map[string]any:
		return 2 * len(v)
	case map[string]string:
		return 2 * len(v)
	case []string:
		return len(v)
	case []any:
		return len(v)
	case []Pair[string, string]:
		return 2 * len(v)
	}
	return 1
}

// XAdd appends an entry to a stream and returns its ID; Nil when
// a.NoMkStream is set and the stream does not exist.
func (c cmdable) XAdd(ctx context.Context, a *XAddArgs) *Cmd[string] {
	// The arguments before the values (at most 9: NOMKSTREAM, the
	// trimming clause and the ID) are gathered on the stack, so that the
	// list is allocated at its exact size.
	head := append(make([]any, 0, 9), "XADD", a.Stream)
	if a.NoMkStream {
		head = append(head, "NOMKSTREAM")
	}
	head = appendTrim(head, a.MaxLen, a.MinID, a.Approx, a.Limit)
	if a.ID != "" {
		head = append(head, a.ID)
	} else {
		head = append(head, "*")
	}
	argv := appendStreamValues(argvOf(streamValuesLen(a.Values), head...), a.Values)
	cmd := newStringCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// appendTrim adds the MAXLEN or MINID trimming clause of XADD.
func appendTrim(argv []any, maxLen int64, minID string, approx bool, limit int64) []any {
	switch {
	case maxLen > 0:
		argv = append(argv, "MAXLEN")
	case minID != "":
		argv = append(argv, "MINID")
	default:
		return argv
	}
	if approx {
		argv = append(argv, "~")
	}
	if maxLen > 0 {
		argv = append(argv, maxLen)
	} else {
		argv = append(argv, minID)
	}
	if approx && limit > 0 {
		argv = append(argv, "LIMIT", limit)
	}
	return argv
}

// XLen returns the number of entries in a stream, 0 when it is missing.
func (c cmdable) XLen(ctx context.Context, stream string) *Cmd[int64] {
	cmd := newIntCmd("XLEN", stream)
	c(ctx, cmd)
	return cmd
}

// XRange returns the entries with IDs from start to stop inclusive ("-"
// and "+" for the ends, "(" before an ID to exclude it).
func (c cmdable) XRange(ctx context.Context, stream, start, stop string) *Cmd[[]XMessage] {
	cmd := newCmd(decodeXMessages, "XRANGE", stream, start, stop)
	c(ctx, cmd)
	return cmd
}

// XRangeN is XRange returning at most count entries.
func (c cmdable) XRangeN(ctx context.Context, stream, start, stop string, count int64) *Cmd[[]XMessage] {
	cmd := newCmd(decodeXMessages, "XRANGE", stream, start, stop, "COUNT", count)
	c(ctx, cmd)
	return cmd
}

// XRevRange returns the entries with IDs from start down to stop, newest
// first (start is the higher bound: "+" then "-").
func (c cmdable) XRevRange(ctx context.Context, stream, start, stop string) *Cmd[[]XMessage] {
	cmd := newCmd(decodeXMessages, "XREVRANGE", stream, start, stop)
	c(ctx, cmd)
	return cmd
}

// XRevRangeN is XRevRange returning at most count entries.
func (c cmdable) XRevRangeN(ctx context.Context, stream, start, stop string, count int64) *Cmd[[]XMessage] {
	cmd := newCmd(decodeXMessages, "XREVRANGE", stream, start, stop, "COUNT", count)
	c(ctx, cmd)
	return cmd
}

// XDel deletes entries by ID and returns how many existed.
func (c cmdable) XDel(ctx context.Context, stream string, ids ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(ids), "XDEL", stream), ids))
	c(ctx, cmd)
	return cmd
}

// XTrimMaxLen trims the stream to its newest maxLen entries and returns
// how many were evicted.
func (c cmdable) XTrimMaxLen(ctx context.Context, key string, maxLen int64) *Cmd[int64] {
	cmd := newIntCmd("XTRIM", key, "MAXLEN", maxLen)
	c(ctx, cmd)
	return cmd
}

// XTrimMaxLenApprox is XTrimMaxLen with "~": it evicts whole macro nodes
// only, at most limit entries when limit is above 0.
func (c cmdable) XTrimMaxLenApprox(ctx context.Context, key string, maxLen, limit int64) *Cmd[int64] {
	argv := append(make([]any, 0, 7), "XTRIM", key, "MAXLEN", "~", maxLen)
	if limit > 0 {
		argv = append(argv, "LIMIT", limit)
	}
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// XTrimMinID evicts the entries with an ID lower than minID and returns
// how many were evicted.
func (c cmdable) XTrimMinID(ctx context.Context, key, minID string) *Cmd[int64] {
	cmd := newIntCmd("XTRIM", key, "MINID", minID)
	c(ctx, cmd)
	return cmd
}

// XTrimMinIDApprox is XTrimMinID with "~" and an optional LIMIT.
func (c cmdable) XTrimMinIDApprox(ctx context.Context, key, minID string, limit int64) *Cmd[int64] {
	argv := append(make([]any, 0, 7), "XTRIM", key, "MINID", "~", minID)
	if limit > 0 {
		argv = append(argv, "LIMIT", limit)
	}
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// XSetID sets the last ID of a stream (the ID below which XADD refuses
// explicit IDs).
func (c cmdable) XSetID(ctx context.Context, stream, lastID string) *Cmd[string] {
	cmd := newStringCmd("XSETID", stream, lastID)
	c(ctx, cmd)
	return cmd
}

// XRead reads entries from one or more streams (see XReadArgs); Nil when
// it blocked and nothing arrived in time. A blocking read extends the
// connection's read deadline by a.Block.
func (c cmdable) XRead(ctx context.Context, a *XReadArgs) *Cmd[[]XStream] {
	argv := make([]any, 0, 6+len(a.Streams))
	argv = append(argv, "XREAD")
	if a.Count > 0 {
		argv = append(argv, "COUNT", a.Count)
	}
	argv = appendBlock(argv, a.Block)
	argv = appendStreams(argv, a.Streams)
	cmd := newCmdArgv(decodeXStreams, argv)
	c(ctx, cmd)
	return cmd
}

// XReadStreams reads, without blocking, the entries after the given IDs:
// streams is the keys then the IDs, as in XReadArgs.
func (c cmdable) XReadStreams(ctx context.Context, streams ...string) *Cmd[[]XStream] {
	return c.XRead(ctx, &XReadArgs{Streams: streams, Block: -1})
}

// XReadGroup reads entries as a consumer of a group (see XReadGroupArgs);
// Nil when it blocked and nothing arrived in time.
func (c cmdable) XReadGroup(ctx context.Context, a *XReadGroupArgs) *Cmd[[]XStream] {
	argv := make([]any, 0, 10+len(a.Streams))
	argv = append(argv, "XREADGROUP", "GROUP", a.Group, a.Consumer)
	if a.Count > 0 {
		argv = append(argv, "COUNT", a.Count)
	}
	argv = appendBlock(argv, a.Block)
	if a.NoAck {
		argv = append(argv, "NOACK")
	}
	argv = appendStreams(argv, a.Streams)
	cmd := newCmdArgv(decodeXStreams, argv)
	c(ctx, cmd)
	return cmd
}

// XGroupCreate creates a consumer group on an existing stream, starting
// after ID start ("$" for new entries only, "0" for all).
func (c cmdable) XGroupCreate(ctx context.Context, stream, group, start string) *Cmd[string] {
	cmd := newStringCmd("XGROUP", "CREATE", stream, group, start)
	c(ctx, cmd)
	return cmd
}

// XGroupCreateMkStream is XGroupCreate creating the stream when missing.
func (c cmdable) XGroupCreateMkStream(ctx context.Context, stream, group, start string) *Cmd[string] {
	cmd := newStringCmd("XGROUP", "CREATE", stream, group, start, "MKSTREAM")
	c(ctx, cmd)
	return cmd
}

// XGroupSetID sets the last delivered ID of a group.
func (c cmdable) XGroupSetID(ctx context.Context, stream, group, start string) *Cmd[string] {
	cmd := newStringCmd("XGROUP", "SETID", stream, group, start)
	c(ctx, cmd)
	return cmd
}

// XGroupDestroy deletes a group and returns 1, or 0 when it did not exist.
func (c cmdable) XGroupDestroy(ctx context.Context, stream, group string) *Cmd[int64] {
	cmd := newIntCmd("XGROUP", "DESTROY", stream, group)
	c(ctx, cmd)
	return cmd
}

// XGroupCreateConsumer adds a consumer to a group and returns 1, or 0
// when it already existed.
func (c cmdable) XGroupCreateConsumer(ctx context.Context, stream, group, consumer string) *Cmd[int64] {
	cmd := newIntCmd("XGROUP", "CREATECONSUMER", stream, group, consumer)
	c(ctx, cmd)
	return cmd
}

// XGroupDelConsumer deletes a consumer from a group and returns how many
// entries it had pending (they are dropped from the pending list).
func (c cmdable) XGroupDelConsumer(ctx context.Context, stream, group, consumer string) *Cmd[int64] {
	cmd := newIntCmd("XGROUP", "DELCONSUMER", stream, group, consumer)
	c(ctx, cmd)
	return cmd
}

// XAck acknowledges entries of a group and returns how many were pending.
func (c cmdable) XAck(ctx context.Context, stream, group string, ids ...string) *Cmd[int64] {
	cmd := newIntCmdArgv(appendStrings(argvOf(len(ids), "XACK", stream, group), ids))
	c(ctx, cmd)
	return cmd
}

// XPending summarises a group's pending entries: their number, lowest and
// highest IDs and the count per consumer.
func (c cmdable) XPending(ctx context.Context, stream, group string) *Cmd[XPending] {
	cmd := newCmd(decodeXPending, "XPENDING", stream, group)
	c(ctx, cmd)
	return cmd
}

// XPendingExt lists a group's pending entries in detail (see
// XPendingExtArgs).
func (c cmdable) XPendingExt(ctx context.Context, a *XPendingExtArgs) *Cmd[[]XPendingExt] {
	argv := make([]any, 0, 10)
	argv = append(argv, "XPENDING", a.Stream, a.Group)
	if a.Idle > 0 {
		argv = append(argv, "IDLE", a.Idle.Milliseconds())
	}
	start, end := a.Start, a.End
	if start == "" {
		start = "-"
	}
	if end == "" {
		end = "+"
	}
	argv = append(argv, start, end, a.Count)
	if a.Consumer != "" {
		argv = append(argv, a.Consumer)
	}
	cmd := newCmd(decodeXPendingExts, argv...)
	c(ctx, cmd)
	return cmd
}

// XClaim transfers pending entries idle for at least a.MinIdle to
// a.Consumer and returns them.
func (c cmdable) XClaim(ctx context.Context, a *XClaimArgs) *Cmd[[]XMessage] {
	cmd := newCmdArgv(decodeXMessages, xclaimArgv(a, false))
	c(ctx, cmd)
	return cmd
}

// XClaimJustID is XClaim returning the IDs only (and leaving the delivery
// counts alone).
func (c cmdable) XClaimJustID(ctx context.Context, a *XClaimArgs) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, xclaimArgv(a, true)))
	c(ctx, cmd)
	return cmd
}

func xclaimArgv(a *XClaimArgs, justID bool) []any {
	argv := argvOf(len(a.Messages)+1, "XCLAIM", a.Stream, a.Group, a.Consumer, a.MinIdle.Milliseconds())
	argv = appendStrings(argv, a.Messages)
	if justID {
		argv = append(argv, "JUSTID")
	}
	return argv
}

// XAutoClaim claims, for a.Consumer, up to a.Count pending entries idle
// for at least a.MinIdle, scanning from a.Start; the result says where
// the next call should start.
func (c cmdable) XAutoClaim(ctx context.Context, a *XAutoClaimArgs) *Cmd[XAutoClaimResult] {
	argv := appendXAutoClaim(make([]any, 0, 9), a, false)
	cmd := newCmd(decodeXAutoClaim, argv...)
	c(ctx, cmd)
	return cmd
}

// XAutoClaimJustID is XAutoClaim returning the claimed IDs only.
func (c cmdable) XAutoClaimJustID(ctx context.Context, a *XAutoClaimArgs) *Cmd[XAutoClaimJustIDResult] {
	argv := appendXAutoClaim(make([]any, 0, 9), a, true)
	cmd := newCmd(decodeXAutoClaimJustID, argv...)
	c(ctx, cmd)
	return cmd
}

// appendXAutoClaim appends XAUTOCLAIM and its arguments, at most 9, to
// argv.
func appendXAutoClaim(argv []any, a *XAutoClaimArgs, justID bool) []any {
	start := a.Start
	if start == "" {
		start = "0-0"
	}
	argv = append(argv, "XAUTOCLAIM", a.Stream, a.Group, a.Consumer, a.MinIdle.Milliseconds(), start)
	if a.Count > 0 {
		argv = append(argv, "COUNT", a.Count)
	}
	if justID {
		argv = append(argv, "JUSTID")
	}
	return argv
}

// XInfoStream describes a stream (XINFO STREAM).
func (c cmdable) XInfoStream(ctx context.Context, stream string) *Cmd[XInfoStream] {
	cmd := newCmd(decodeXInfoStream, "XINFO", "STREAM", stream)
	c(ctx, cmd)
	return cmd
}

// XInfoStreamFull returns XINFO STREAM ... FULL as the raw reply; count
// above 0 caps the entries and pending entries listed.
func (c cmdable) XInfoStreamFull(ctx context.Context, stream string, count int64) *Cmd[resp.Value] {
	argv := append(make([]any, 0, 6), "XINFO", "STREAM", stream, "FULL")
	if count > 0 {
		argv = append(argv, "COUNT", count)
	}
	cmd := newCmd(DecodeValue, argv...)
	c(ctx, cmd)
	return cmd
}

// XInfoGroups describes the consumer groups of a stream.
func (c cmdable) XInfoGroups(ctx context.Context, stream string) *Cmd[[]XInfoGroup] {
	cmd := newCmd(decodeXInfoGroups, "XINFO", "GROUPS", stream)
	c(ctx, cmd)
	return cmd
}

// XInfoConsumers describes the consumers of a group.
func (c cmdable) XInfoConsumers(ctx context.Context, stream, group string) *Cmd[[]XInfoConsumer] {
	cmd := newCmd(decodeXInfoConsumers, "XINFO", "CONSUMERS", stream, group)
	c(ctx, cmd)
	return cmd
}
