package respool

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStreamCommands(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		s := testKey(t, "s")

		id1, err := c.XAdd(ctx, &XAddArgs{Stream: s, ID: "1-1", Values: map[string]any{"a": 1, "b": "x"}}).Result()
		if err != nil || id1 != "1-1" {
			t.Fatalf("XAdd = %q, %v", id1, err)
		}
		if _, err := c.XAdd(ctx, &XAddArgs{Stream: s, ID: "2-1", Values: []string{"c", "3"}}).Result(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.XAdd(ctx, &XAddArgs{Stream: s, ID: "3-1", Values: []any{"d", 4.5}}).Result(); err != nil {
			t.Fatal(err)
		}
		id4, err := c.XAdd(ctx, &XAddArgs{Stream: s, Values: []Pair[string, string]{{"e", "5"}}}).Result()
		if err != nil || !strings.HasSuffix(id4, "-0") {
			t.Fatalf("XAdd with a server ID = %q, %v", id4, err)
		}
		if _, err := c.XAdd(ctx, &XAddArgs{Stream: testKey(t, "none"), NoMkStream: true, Values: []string{"f", "v"}}).Result(); !errors.Is(err, Nil) {
			t.Fatalf("XAdd NOMKSTREAM to a missing stream: %v, want Nil", err)
		}
		if err := c.XAdd(ctx, &XAddArgs{Stream: s, Values: 42}).Err(); err == nil {
			t.Fatal("XAdd with Values of an unsupported type: no error")
		}
		if n, err := c.XLen(ctx, s).Result(); err != nil || n != 4 {
			t.Fatalf("XLen = %d, %v", n, err)
		}
		msgs, err := c.XRange(ctx, s, "-", "+").Result()
		want := []XMessage{
			{ID: "1-1", Values: map[string]string{"a": "1", "b": "x"}},
			{ID: "2-1", Values: map[string]string{"c": "3"}},
			{ID: "3-1", Values: map[string]string{"d": "4.5"}},
			{ID: id4, Values: map[string]string{"e": "5"}},
		}
		if err != nil || !equalXMessages(msgs, want) {
			t.Fatalf("XRange = %v, %v", msgs, err)
		}
		if msgs, err := c.XRangeN(ctx, s, "(1-1", "+", 1).Result(); err != nil || !equalXMessages(msgs, want[1:2]) {
			t.Fatalf("XRangeN = %v, %v", msgs, err)
		}
		if msgs, err := c.XRevRange(ctx, s, "3-1", "2-1").Result(); err != nil || !equalXMessages(msgs, []XMessage{want[2], want[1]}) {
			t.Fatalf("XRevRange = %v, %v", msgs, err)
		}
		if msgs, err := c.XRevRangeN(ctx, s, "+", "-", 1).Result(); err != nil || !equalXMessages(msgs, want[3:]) {
			t.Fatalf("XRevRangeN = %v, %v", msgs, err)
		}
		if n, err := c.XDel(ctx, s, "2-1", "9-9").Result(); err != nil || n != 1 {
			t.Fatalf("XDel = %d, %v", n, err)
		}
		if n, err := c.XTrimMinID(ctx, s, "3-0").Result(); err != nil || n != 1 {
			t.Fatalf("XTrimMinID = %d, %v", n, err)
		}
		if n, err := c.XTrimMaxLen(ctx, s, 1).Result(); err != nil || n != 1 {
			t.Fatalf("XTrimMaxLen = %d, %v", n, err)
		}
		approx := c.XTrimMaxLenApprox(ctx, s, 5, 10)
		if n, err := approx.Result(); err != nil || n != 0 || !slices.Equal(approx.Args(), []any{"XTRIM", s, "MAXLEN", "~", int64(5), "LIMIT", int64(10)}) {
			t.Fatalf("XTrimMaxLenApprox %v = %d, %v", approx.Args(), n, err)
		}
		approx = c.XTrimMinIDApprox(ctx, s, "0-1", 0)
		if n, err := approx.Result(); err != nil || n != 0 || !slices.Equal(approx.Args(), []any{"XTRIM", s, "MINID", "~", "0-1"}) {
			t.Fatalf("XTrimMinIDApprox %v = %d, %v", approx.Args(), n, err)
		}
		if msgs, err := c.XRange(ctx, s, "-", "+").Result(); err != nil || !equalXMessages(msgs, want[3:]) {
			t.Fatalf("after trimming: %v, %v", msgs, err)
		}
		if err := c.XSetID(ctx, s, "999999999999999-0").Err(); err != nil {
			t.Fatalf("XSetID: %v", err)
		}

		capped := testKey(t, "capped")
		for range 5 {
			if err := c.XAdd(ctx, &XAddArgs{Stream: capped, MaxLen: 2, Values: []string{"f", "v"}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := c.XLen(ctx, capped).Result(); err != nil || n != 2 {
			t.Fatalf("XLen after XAdd MAXLEN 2 = %d, %v", n, err)
		}
		info, err := c.XInfoStream(ctx, capped).Result()
		if err != nil || info.Length != 2 || info.EntriesAdded != 5 || info.LastEntry.ID != info.LastGeneratedID ||
			info.FirstEntry.Values["f"] != "v" || info.RecordedFirstEntryID != info.FirstEntry.ID {
			t.Fatalf("XInfoStream = %+v, %v", info, err)
		}
		if v, err := c.XInfoStreamFull(ctx, capped, 1).Result(); err != nil || v.Len() == 0 {
			t.Fatalf("XInfoStreamFull = %v, %v", v, err)
		}
	})
}

func TestStreamRead(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		s1, s2, empty := testKey(t, "s1"), testKey(t, "s2"), testKey(t, "empty")
		for i, s := range []string{s1, s1, s2} {
			if err := c.XAdd(ctx, &XAddArgs{Stream: s, ID: "", Values: []any{"i", i}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		got, err := c.XRead(ctx, &XReadArgs{Streams: []string{s1, s2, "0", "0"}, Count: 1, Block: -1}).Result()
		if err != nil || len(got) != 2 || got[0].Stream != s1 || got[1].Stream != s2 ||
			len(got[0].Messages) != 1 || got[0].Messages[0].Values["i"] != "0" || got[1].Messages[0].Values["i"] != "2" {
			t.Fatalf("XRead = %+v, %v", got, err)
		}
		if got, err := c.XReadStreams(ctx, s1, "0").Result(); err != nil || len(got) != 1 || len(got[0].Messages) != 2 {
			t.Fatalf("XReadStreams = %+v, %v", got, err)
		}
		if _, err := c.XReadStreams(ctx, s1, "$").Result(); !errors.Is(err, Nil) {
			t.Fatalf("XRead after the last entry without BLOCK: %v, want Nil", err)
		}
		if _, err := c.XRead(ctx, &XReadArgs{Streams: []string{empty, "$"}, Block: 10 * time.Millisecond}).Result(); !errors.Is(err, Nil) {
			t.Fatalf("XRead BLOCK on an empty stream: %v, want Nil", err)
		}
		// Blocking forever returns at once when entries are there.
		if got, err := c.XRead(ctx, &XReadArgs{Streams: []string{s2, "0"}}).Result(); err != nil || len(got) != 1 {
			t.Fatalf("XRead BLOCK 0 with data = %+v, %v", got, err)
		}
	})
}

func TestStreamGroups(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		s, g := testKey(t, "s"), "grp"
		if err := c.XGroupCreateMkStream(ctx, s, g, "$").Err(); err != nil {
			t.Fatalf("XGroupCreateMkStream: %v", err)
		}
		var se *Error
		if err := c.XGroupCreate(ctx, s, g, "$").Err(); !errors.As(err, &se) || se.Prefix() != "BUSYGROUP" {
			t.Fatalf("XGroupCreate twice: %v, want BUSYGROUP", err)
		}
		if n, err := c.XGroupCreateConsumer(ctx, s, g, "idle").Result(); err != nil || n != 1 {
			t.Fatalf("XGroupCreateConsumer = %d, %v", n, err)
		}
		var ids []string
		for i := range 3 {
			id, err := c.XAdd(ctx, &XAddArgs{Stream: s, Values: []any{"n", i}}).Result()
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		got, err := c.XReadGroup(ctx, &XReadGroupArgs{Group: g, Consumer: "alice", Streams: []string{s, ">"}, Count: 2, Block: -1}).Result()
		if err != nil || len(got) != 1 || len(got[0].Messages) != 2 || got[0].Messages[1].ID != ids[1] {
			t.Fatalf("XReadGroup = %+v, %v", got, err)
		}
		if got, err := c.XReadGroup(ctx, &XReadGroupArgs{Group: g, Consumer: "bob", Streams: []string{s, ">"}, NoAck: true, Block: time.Second}).Result(); err != nil ||
			len(got[0].Messages) != 1 || got[0].Messages[0].ID != ids[2] {
			t.Fatalf("XReadGroup NOACK = %+v, %v", got, err)
		}
		if _, err := c.XReadGroup(ctx, &XReadGroupArgs{Group: g, Consumer: "bob", Streams: []string{s, ">"}, Block: 10 * time.Millisecond}).Result(); !errors.Is(err, Nil) {
			t.Fatalf("XReadGroup with nothing new: %v, want Nil", err)
		}
		p, err := c.XPending(ctx, s, g).Result()
		if err != nil || p.Count != 2 || p.Lower != ids[0] || p.Higher != ids[1] || !maps.Equal(p.Consumers, map[string]int64{"alice": 2}) {
			t.Fatalf("XPending = %+v, %v", p, err)
		}
		ext, err := c.XPendingExt(ctx, &XPendingExtArgs{Stream: s, Group: g, Count: 10}).Result()
		if err != nil || len(ext) != 2 || ext[0].ID != ids[0] || ext[0].Consumer != "alice" || ext[0].RetryCount != 1 || ext[0].Idle < 0 {
			t.Fatalf("XPendingExt = %+v, %v", ext, err)
		}
		claimed, err := c.XClaim(ctx, &XClaimArgs{Stream: s, Group: g, Consumer: "bob", Messages: []string{ids[0]}}).Result()
		if err != nil || len(claimed) != 1 || claimed[0].ID != ids[0] || claimed[0].Values["n"] != "0" {
			t.Fatalf("XClaim = %+v, %v", claimed, err)
		}
		if justIDs, err := c.XClaimJustID(ctx, &XClaimArgs{Stream: s, Group: g, Consumer: "carol", Messages: []string{ids[0], ids[1]}}).Result(); err != nil ||
			!slices.Equal(justIDs, ids[:2]) {
			t.Fatalf("XClaimJustID = %v, %v", justIDs, err)
		}
		ac, err := c.XAutoClaim(ctx, &XAutoClaimArgs{Stream: s, Group: g, Consumer: "dave", Count: 1}).Result()
		if err != nil || len(ac.Messages) != 1 || ac.Messages[0].ID != ids[0] || ac.Next != ids[1] || len(ac.Deleted) != 0 {
			t.Fatalf("XAutoClaim = %+v, %v", ac, err)
		}
		// Deleting a pending entry makes XAUTOCLAIM report it.
		if err := c.XDel(ctx, s, ids[1]).Err(); err != nil {
			t.Fatal(err)
		}
		acj, err := c.XAutoClaimJustID(ctx, &XAutoClaimArgs{Stream: s, Group: g, Consumer: "dave", Start: ac.Next}).Result()
		if err != nil || len(acj.IDs) != 0 || !slices.Equal(acj.Deleted, ids[1:2]) || acj.Next != "0-0" {
			t.Fatalf("XAutoClaimJustID = %+v, %v", acj, err)
		}
		groups, err := c.XInfoGroups(ctx, s).Result()
		if err != nil || len(groups) != 1 || groups[0].Name != g || groups[0].Pending != 1 || groups[0].LastDeliveredID != ids[2] ||
			groups[0].Consumers != 5 || groups[0].EntriesRead != 3 {
			t.Fatalf("XInfoGroups = %+v, %v", groups, err)
		}
		consumers, err := c.XInfoConsumers(ctx, s, g).Result()
		if err != nil || len(consumers) != 5 {
			t.Fatalf("XInfoConsumers = %+v, %v", consumers, err)
		}
		pending := map[string]int64{}
		for _, cs := range consumers {
			pending[cs.Name] = cs.Pending
			if cs.Idle < 0 {
				t.Fatalf("consumer %s has a negative idle time %v", cs.Name, cs.Idle)
			}
		}
		if !maps.Equal(pending, map[string]int64{"idle": 0, "alice": 0, "bob": 0, "carol": 0, "dave": 1}) {
			t.Fatalf("pending per consumer = %v", pending)
		}
		if n, err := c.XAck(ctx, s, g, ids[0], ids[2]).Result(); err != nil || n != 1 {
			t.Fatalf("XAck = %d, %v; want 1 (the NOACK entry was never pending)", n, err)
		}
		if p, err := c.XPending(ctx, s, g).Result(); err != nil || p.Count != 0 || p.Lower != "" || len(p.Consumers) != 0 {
			t.Fatalf("XPending when empty = %+v, %v", p, err)
		}
		if err := c.XGroupSetID(ctx, s, g, "0").Err(); err != nil {
			t.Fatalf("XGroupSetID: %v", err)
		}
		if n, err := c.XGroupDelConsumer(ctx, s, g, "dave").Result(); err != nil || n != 0 {
			t.Fatalf("XGroupDelConsumer = %d, %v", n, err)
		}
		if n, err := c.XGroupDestroy(ctx, s, g).Result(); err != nil || n != 1 {
			t.Fatalf("XGroupDestroy = %d, %v", n, err)
		}
		if n, err := c.XGroupDestroy(ctx, s, g).Result(); err != nil || n != 0 {
			t.Fatalf("XGroupDestroy again = %d, %v", n, err)
		}
	})
}

func equalXMessages(a, b []XMessage) bool {
	return slices.EqualFunc(a, b, func(x, y XMessage) bool {
		return x.ID == y.ID && maps.Equal(x.Values, y.Values)
	})
}
