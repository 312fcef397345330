package respool

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/resp"
)

func TestListCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		l, none := testKey(t, "l"), testKey(t, "none")

		cmdWant(t, c.LPushX(ctx, l, "x"), int64(0))
		cmdWant(t, c.RPushX(ctx, l, "x"), int64(0))
		cmdWant(t, c.RPush(ctx, l, "c", "d"), int64(2))
		cmdWant(t, c.LPush(ctx, l, "b", "a"), int64(4))
		cmdWant(t, c.LRange(ctx, l, 0, -1), []string{"a", "b", "c", "d"})
		cmdWant(t, c.LPushX(ctx, l, "_"), int64(5))
		cmdWant(t, c.RPushX(ctx, l, "e", 5), int64(7))
		cmdWant(t, c.LLen(ctx, l), int64(7))
		cmdWant(t, c.LLen(ctx, none), int64(0))
		cmdWant(t, c.LRange(ctx, l, -2, -1), []string{"e", "5"})
		cmdWant(t, c.LRange(ctx, none, 0, -1), []string{})
		cmdWant(t, c.LIndex(ctx, l, 1), "a")
		cmdWant(t, c.LIndex(ctx, l, -1), "5")
		cmdWantNil(t, c.LIndex(ctx, l, 100))
		cmdWantNil(t, c.LIndex(ctx, none, 0))

		cmdWant(t, c.LPop(ctx, l), "_")
		cmdWant(t, c.RPop(ctx, l), "5")
		cmdWant(t, c.LPopCount(ctx, l, 2), []string{"a", "b"})
		cmdWant(t, c.RPopCount(ctx, l, 2), []string{"e", "d"})
		cmdWant(t, c.LRange(ctx, l, 0, -1), []string{"c"})
		cmdWantNil(t, c.LPop(ctx, none))
		cmdWantNil(t, c.RPop(ctx, none))
		cmdWantNil(t, c.LPopCount(ctx, none, 2))
		cmdWantNil(t, c.RPopCount(ctx, none, 2))

		// LINSERT, LSET, LREM, LTRIM.
		cmdWant(t, c.LInsertBefore(ctx, l, "c", "b"), int64(2))
		cmdWant(t, c.LInsertAfter(ctx, l, "c", "d"), int64(3))
		cmdWant(t, c.LInsert(ctx, l, "BEFORE", "b", "a"), int64(4))
		cmdWant(t, c.LInsert(ctx, l, "AFTER", "zz", "x"), int64(-1))
		cmdWant(t, c.LInsertAfter(ctx, none, "a", "x"), int64(0))
		cmdWant(t, c.LSet(ctx, l, -1, "D"), "OK")
		cmdWantServerErr(t, c.LSet(ctx, l, 10, "x"), "ERR")
		cmdWantServerErr(t, c.LSet(ctx, none, 0, "x"), "ERR")
		cmdWant(t, c.LRange(ctx, l, 0, -1), []string{"a", "b", "c", "D"})
		cmdWant(t, c.RPush(ctx, l, "a", "x", "a"), int64(7))
		cmdWant(t, c.LRem(ctx, l, -1, "a"), int64(1))
		cmdWant(t, c.LRange(ctx, l, 0, -1), []string{"a", "b", "c", "D", "a", "x"})
		cmdWant(t, c.LRem(ctx, l, 0, "a"), int64(2))
		cmdWant(t, c.LTrim(ctx, l, 1, -2), "OK")
		cmdWant(t, c.LRange(ctx, l, 0, -1), []string{"c", "D"})

		// LPOS.
		p := testKey(t, "pos")
		cmdWant(t, c.RPush(ctx, p, "a", "b", "c", "1", "2", "3", "c", "c"), int64(8))
		cmdWant(t, c.LPos(ctx, p, "c", LPosArgs{}), int64(2))
		cmdWant(t, c.LPos(ctx, p, "c", LPosArgs{Rank: 2}), int64(6))
		cmdWant(t, c.LPos(ctx, p, "c", LPosArgs{Rank: -1}), int64(7))
		cmdWantNil(t, c.LPos(ctx, p, "c", LPosArgs{MaxLen: 2}))
		cmdWantNil(t, c.LPos(ctx, p, "zz", LPosArgs{}))
		cmdWantNil(t, c.LPos(ctx, none, "a", LPosArgs{}))
		cmdWant(t, c.LPosCount(ctx, p, "c", 0, LPosArgs{}), []int64{2, 6, 7})
		cmdWant(t, c.LPosCount(ctx, p, "c", 2, LPosArgs{Rank: -1}), []int64{7, 6})
		cmdWant(t, c.LPosCount(ctx, p, "zz", 0, LPosArgs{}), []int64{})

		// LMOVE, RPOPLPUSH, LMPOP.
		src, dst := testKey(t, "src"), testKey(t, "dst")
		cmdWant(t, c.RPush(ctx, src, "1", "2", "3"), int64(3))
		cmdWant(t, c.LMove(ctx, src, dst, "LEFT", "RIGHT"), "1")
		cmdWant(t, c.LMove(ctx, src, dst, "RIGHT", "LEFT"), "3")
		cmdWant(t, c.RPopLPush(ctx, src, dst), "2")
		cmdWant(t, c.LRange(ctx, dst, 0, -1), []string{"2", "3", "1"})
		cmdWantNil(t, c.LMove(ctx, src, dst, "LEFT", "LEFT"))
		cmdWantNil(t, c.RPopLPush(ctx, src, dst))
		cmdWant(t, c.LMPop(ctx, "LEFT", 2, src, dst), KeyValues{Key: dst, Values: []string{"2", "3"}})
		cmdWant(t, c.LMPop(ctx, "RIGHT", 5, src, dst), KeyValues{Key: dst, Values: []string{"1"}})
		cmdWantNil(t, c.LMPop(ctx, "LEFT", 1, src, dst))

		// Blocking commands with data ready, then timing out.
		cmdWant(t, c.RPush(ctx, src, "a", "b", "c", "d", "e", "f"), int64(6))
		cmdWant(t, c.BLPop(ctx, time.Second, none, src), KeyValue{Key: src, Value: "a"})
		cmdWant(t, c.BRPop(ctx, time.Second, src), KeyValue{Key: src, Value: "f"})
		cmdWant(t, c.BLMove(ctx, src, dst, "LEFT", "LEFT", time.Second), "b")
		cmdWant(t, c.BRPopLPush(ctx, src, dst, time.Second), "e")
		cmdWant(t, c.BLMPop(ctx, time.Second, "LEFT", 5, none, src), KeyValues{Key: src, Values: []string{"c", "d"}})
		cmdWant(t, c.LRange(ctx, dst, 0, -1), []string{"e", "b"})
		cmdWantNil(t, c.BLPop(ctx, 100*time.Millisecond, none))
		cmdWantNil(t, c.BRPop(ctx, 100*time.Millisecond, none))
		cmdWantNil(t, c.BLMove(ctx, none, dst, "LEFT", "LEFT", 100*time.Millisecond))
		cmdWantNil(t, c.BRPopLPush(ctx, none, dst, 100*time.Millisecond))
		cmdWantNil(t, c.BLMPop(ctx, 100*time.Millisecond, "RIGHT", 1, none))
	})
}

// TestBLPopOutlastsReadTimeout checks that a blocking pop may wait on the
// server longer than the client's ReadTimeout: the connection's read
// deadline comes from the command's own timeout.
func TestBLPopOutlastsReadTimeout(t *testing.T) {
	t.Parallel()
	name := "blpop-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	bc := newTestClient(t, &Options{ReadTimeout: 500 * time.Millisecond, ClientName: name})
	c := newTestClient(t)
	clearTestKeys(t, c)
	ctx := context.Background()
	k := testKey(t, "list")

	t.Run("timeout gives Nil", func(t *testing.T) {
		t.Parallel()
		cmdWantNil(t, bc.BLPop(ctx, 800*time.Millisecond, testKey(t, "none")))
	})

	t.Run("value pushed after a long wait", func(t *testing.T) {
		t.Parallel()
		done := make(chan *Cmd[KeyValue], 1)
		go func() { done <- bc.BLPop(ctx, 10*time.Second, k) }()

		// Push only once the server shows the BLPOP blocked for more than
		// a second, twice the client's ReadTimeout. CLIENT LIST's idle
		// subtracts whole-second clock readings, so idle=1 may mean only a
		// few milliseconds; idle>=2 means more than a second.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		waitUntil := time.After(9 * time.Second)
	poll:
		for {
			select {
			case cmd := <-done:
				t.Fatalf("BLPOP returned before the push: %v", cmd)
			case <-waitUntil:
				t.Fatal("never saw the BLPOP blocked for 2 s in CLIENT LIST")
			case <-tick.C:
			}
			for _, cl := range parseClientList(cmdVal(t, c.ClientList(ctx))) {
				if idle, _ := strconv.Atoi(cl["idle"]); cl["name"] == name && cl["cmd"] == "blpop" && idle >= 2 {
					break poll
				}
			}
		}
		cmdWant(t, c.RPush(ctx, k, "late"), int64(1))
		cmd := <-done
		cmdWant(t, cmd, KeyValue{Key: k, Value: "late"})
	})
}

// parseClientList parses CLIENT LIST text into one map of fields per line.
func parseClientList(text string) []map[string]string {
	var out []map[string]string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := make(map[string]string)
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

func TestDecodeKeyValueShapes(t *testing.T) {
	t.Parallel()
	b := resp.BulkString
	if kv, err := decodeKeyValue(resp.Array(b("k"), b("v"))); err != nil || kv != (KeyValue{"k", "v"}) {
		t.Fatalf("decodeKeyValue = %v, %v", kv, err)
	}
	if kv, err := decodeKeyValues(resp.Array(b("k"), resp.Array(b("a"), b("b")))); err != nil ||
		kv.Key != "k" || !slices.Equal(kv.Values, []string{"a", "b"}) {
		t.Fatalf("decodeKeyValues = %v, %v", kv, err)
	}
	for _, null := range []resp.Value{resp.Null(), resp.NullArray(), resp.NullBulk()} {
		if _, err := decodeKeyValue(null); !errors.Is(err, Nil) {
			t.Errorf("decodeKeyValue(%v): %v, want Nil", null, err)
		}
		if _, err := decodeKeyValues(null); !errors.Is(err, Nil) {
			t.Errorf("decodeKeyValues(%v): %v, want Nil", null, err)
		}
	}
	for _, bad := range []resp.Value{
		resp.Array(b("k")),
		resp.Array(b("k"), b("v"), b("x")),
		resp.Array(resp.Array(), b("v")),
		resp.Integer(1),
		b("k"),
	} {
		if kv, err := decodeKeyValue(bad); err == nil {
			t.Errorf("decodeKeyValue(%v) = %v, want an error", bad, kv)
		}
		if kv, err := decodeKeyValues(bad); err == nil {
			t.Errorf("decodeKeyValues(%v) = %v, want an error", bad, kv)
		}
	}
}
