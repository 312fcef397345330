package respool

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// cmdWant fails t unless cmd succeeded with want.
func cmdWant[T any](t testing.TB, cmd *Cmd[T], want T) {
	t.Helper()
	got, err := cmd.Result()
	if err != nil {
		t.Fatalf("%v: error %v, want %#v", cmd.Args(), err, want)
	}
	if wt, ok := any(want).(time.Time); ok {
		if gt := any(got).(time.Time); !gt.Equal(wt) {
			t.Fatalf("%v = %v, want %v", cmd.Args(), gt, wt)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v = %#v, want %#v", cmd.Args(), got, want)
	}
}

// cmdWantNil fails t unless cmd's error is Nil.
func cmdWantNil[T any](t testing.TB, cmd *Cmd[T]) {
	t.Helper()
	if got, err := cmd.Result(); !errors.Is(err, Nil) {
		t.Fatalf("%v = %#v, %v; want Nil", cmd.Args(), got, err)
	}
}

// cmdWantServerErr fails t unless cmd failed with a server error reply
// whose prefix is prefix.
func cmdWantServerErr[T any](t testing.TB, cmd *Cmd[T], prefix string) {
	t.Helper()
	var e *Error
	if !errors.As(cmd.Err(), &e) || e.Prefix() != prefix {
		t.Fatalf("%v: error %v, want a %s server error", cmd.Args(), cmd.Err(), prefix)
	}
}

// cmdVal returns cmd's value, failing t on an error.
func cmdVal[T any](t testing.TB, cmd *Cmd[T]) T {
	t.Helper()
	v, err := cmd.Result()
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args(), err)
	}
	return v
}

// forEachProtocol runs fn as parallel subtests with a client on the
// shared server speaking RESP3 and RESP2.
func forEachProtocol(t *testing.T, fn func(t *testing.T, c *Client)) {
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, &Options{Protocol: proto})
			clearTestKeys(t, c)
			fn(t, c)
		})
	}
}

// clearTestKeys deletes the test's keys (those testKey names) now and
// when it ends, so runs with -count=N start from the same state.
func clearTestKeys(t *testing.T, c *Client) {
	t.Helper()
	clear := func() error {
		ctx := context.Background()
		keys, err := c.Keys(ctx, testKey(t, "*")).Result()
		if err != nil || len(keys) == 0 {
			return err
		}
		return c.Del(ctx, keys...).Err()
	}
	if err := clear(); err != nil {
		t.Fatalf("clear the test's keys: %v", err)
	}
	t.Cleanup(func() { _ = clear() })
}

// wantTTLWithin fails t unless key's TTL is positive and at most max.
func wantTTLWithin(t testing.TB, c *Client, key string, max time.Duration) {
	t.Helper()
	if ttl := cmdVal(t, c.PTTL(context.Background(), key)); ttl <= 0 || ttl > max {
		t.Fatalf("PTTL %s = %v, want in (0, %v]", key, ttl, max)
	}
}

func TestStringCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k, k2, k3 := testKey(t, "k"), testKey(t, "k2"), testKey(t, "k3")

		cmdWantNil(t, c.Get(ctx, k))
		cmdWant(t, c.Set(ctx, k, "v", 0), "OK")
		cmdWant(t, c.Get(ctx, k), "v")
		cmdWant(t, c.Set(ctx, k, []byte("bytes"), 0), "OK")
		cmdWant(t, c.Get(ctx, k), "bytes")
		cmdWant(t, c.Set(ctx, k, 42, 0), "OK")
		cmdWant(t, c.Get(ctx, k), "42")

		// Expirations: EX, PX, KEEPTTL and clearing.
		cmdWant(t, c.Set(ctx, k, "v", 100*time.Second), "OK")
		wantTTLWithin(t, c, k, 100*time.Second)
		if got := c.Set(ctx, k, "v", 100*time.Second).Args(); !reflect.DeepEqual(got, []any{"SET", k, "v", "EX", int64(100)}) {
			t.Fatalf("Set args = %v", got)
		}
		if got := c.Set(ctx, k, "v", 1500*time.Millisecond).Args(); !reflect.DeepEqual(got, []any{"SET", k, "v", "PX", int64(1500)}) {
			t.Fatalf("Set args = %v", got)
		}
		cmdWant(t, c.Set(ctx, k, "v2", KeepTTL), "OK")
		wantTTLWithin(t, c, k, 1500*time.Millisecond)
		cmdWant(t, c.Get(ctx, k), "v2")
		cmdWant(t, c.Set(ctx, k, "v3", 0), "OK")
		cmdWant(t, c.TTL(ctx, k), time.Duration(-1))

		// SET with options.
		cmdWantNil(t, c.SetArgs(ctx, k, "x", SetArgs{Mode: "NX"}))
		cmdWant(t, c.Get(ctx, k), "v3")
		cmdWantNil(t, c.SetArgs(ctx, k2, "x", SetArgs{Mode: "XX"}))
		cmdWant(t, c.Exists(ctx, k2), int64(0))
		cmdWant(t, c.SetArgs(ctx, k, "v4", SetArgs{Mode: "XX", Get: true}), "v3")
		cmdWantNil(t, c.SetArgs(ctx, k2, "new", SetArgs{Get: true}))
		cmdWant(t, c.Get(ctx, k2), "new")
		at := time.Now().Add(time.Hour).Truncate(time.Second)
		cmdWant(t, c.SetArgs(ctx, k, "v5", SetArgs{ExpireAt: at}), "OK")
		cmdWant(t, c.ExpireTime(ctx, k), at)
		atMilli := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(7 * time.Millisecond)
		cmdWant(t, c.SetArgs(ctx, k, "v6", SetArgs{ExpireAt: atMilli}), "OK")
		cmdWant(t, c.PExpireTime(ctx, k), atMilli)
		cmdWant(t, c.SetArgs(ctx, k, "v7", SetArgs{KeepTTL: true}), "OK")
		cmdWant(t, c.PExpireTime(ctx, k), atMilli)
		cmdWant(t, c.SetArgs(ctx, k, "v8", SetArgs{TTL: 50 * time.Second}), "OK")
		wantTTLWithin(t, c, k, 50*time.Second)

		// SETNX, SET NX/XX with expiry, SETEX, PSETEX.
		cmdWant(t, c.Del(ctx, k, k2), int64(2))
		cmdWant(t, c.SetNX(ctx, k, "a", 0), true)
		cmdWant(t, c.SetNX(ctx, k, "b", 0), false)
		cmdWant(t, c.SetNX(ctx, k2, "a", 30*time.Second), true)
		wantTTLWithin(t, c, k2, 30*time.Second)
		cmdWant(t, c.SetNX(ctx, k2, "b", 30*time.Second), false)
		cmdWant(t, c.SetXX(ctx, k3, "a", 0), false)
		cmdWant(t, c.SetXX(ctx, k, "c", 0), true)
		cmdWant(t, c.Get(ctx, k), "c")
		cmdWant(t, c.SetEx(ctx, k, "e", 20*time.Second), "OK")
		wantTTLWithin(t, c, k, 20*time.Second)
		cmdWant(t, c.PSetEx(ctx, k, "p", 2500*time.Millisecond), "OK")
		wantTTLWithin(t, c, k, 2500*time.Millisecond)
		cmdWant(t, c.Get(ctx, k), "p")

		// GETSET, GETDEL, GETEX.
		cmdWantNil(t, c.GetSet(ctx, k3, "first"))
		cmdWant(t, c.GetSet(ctx, k3, "second"), "first")
		cmdWant(t, c.GetDel(ctx, k3), "second")
		cmdWant(t, c.Exists(ctx, k3), int64(0))
		cmdWantNil(t, c.GetDel(ctx, k3))
		cmdWantNil(t, c.GetEx(ctx, k3, time.Second))
		cmdWant(t, c.Set(ctx, k3, "g", 0), "OK")
		cmdWant(t, c.GetEx(ctx, k3, 40*time.Second), "g")
		wantTTLWithin(t, c, k3, 40*time.Second)
		cmdWant(t, c.GetEx(ctx, k3, KeepTTL), "g")
		wantTTLWithin(t, c, k3, 40*time.Second)
		cmdWant(t, c.GetEx(ctx, k3, 0), "g")
		cmdWant(t, c.TTL(ctx, k3), time.Duration(-1))

		// MSET, MSETNX, MGET.
		m1, m2, m3, list := testKey(t, "m1"), testKey(t, "m2"), testKey(t, "m3"), testKey(t, "list")
		cmdWant(t, c.MSet(ctx, m1, "1", m2, 2), "OK")
		cmdWant(t, c.RPush(ctx, list, "x"), int64(1))
		cmdWant(t, c.MGet(ctx, m1, m3, m2, list), []Optional[string]{{"1", true}, {}, {"2", true}, {}})
		cmdWant(t, c.MSet(ctx, map[string]string{m1: "a", m2: "b"}), "OK")
		cmdWant(t, c.MSet(ctx, map[string]any{m1: "c", m2: 3.5}), "OK")
		cmdWant(t, c.MGet(ctx, m1, m2), []Optional[string]{{"c", true}, {"3.5", true}})
		cmdWant(t, c.MSetNX(ctx, m1, "z", m3, "z"), false)
		cmdWant(t, c.Exists(ctx, m3), int64(0))
		cmdWant(t, c.MSetNX(ctx, []string{m3, "z"}), true)
		cmdWant(t, c.Get(ctx, m3), "z")

		// Counters.
		n := testKey(t, "n")
		cmdWant(t, c.Incr(ctx, n), int64(1))
		cmdWant(t, c.IncrBy(ctx, n, 10), int64(11))
		cmdWant(t, c.Decr(ctx, n), int64(10))
		cmdWant(t, c.DecrBy(ctx, n, 15), int64(-5))
		cmdWant(t, c.IncrByFloat(ctx, n, 7.25), 2.25)
		cmdWantServerErr(t, c.Incr(ctx, n), "ERR")
		cmdWantServerErr(t, c.Incr(ctx, list), "WRONGTYPE")
		cmdWantServerErr(t, c.Get(ctx, list), "WRONGTYPE")

		// APPEND, STRLEN, GETRANGE, SETRANGE.
		s := testKey(t, "s")
		cmdWant(t, c.StrLen(ctx, s), int64(0))
		cmdWant(t, c.Append(ctx, s, "Hello"), int64(5))
		cmdWant(t, c.Append(ctx, s, " World"), int64(11))
		cmdWant(t, c.StrLen(ctx, s), int64(11))
		cmdWant(t, c.GetRange(ctx, s, 0, 4), "Hello")
		cmdWant(t, c.GetRange(ctx, s, -5, -1), "World")
		cmdWant(t, c.GetRange(ctx, testKey(t, "none"), 0, -1), "")
		cmdWant(t, c.SetRange(ctx, s, 6, "Redis"), int64(11))
		cmdWant(t, c.Get(ctx, s), "Hello Redis")
		pad := testKey(t, "pad")
		cmdWant(t, c.SetRange(ctx, pad, 3, "ab"), int64(5))
		cmdWant(t, c.Get(ctx, pad), "\x00\x00\x00ab")

		// LCS.
		l1, l2 := testKey(t, "l1"), testKey(t, "l2")
		cmdWant(t, c.MSet(ctx, l1, "ohmytext", l2, "mynewtext"), "OK")
		cmdWant(t, c.LCS(ctx, l1, l2), "mytext")
		cmdWant(t, c.LCSLen(ctx, l1, l2), int64(6))
		cmdWant(t, c.LCS(ctx, l1, testKey(t, "none")), "")
	})
}

// TestStringCommandsInPipeline checks that the typed methods queue on a
// Pipeline and decode there as on a Client.
func TestStringCommandsInPipeline(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	clearTestKeys(t, c)
	ctx := context.Background()
	k := testKey(t, "k")
	pipe := c.Pipeline()
	set := pipe.Set(ctx, k, "v", 0)
	get := pipe.Get(ctx, k)
	missing := pipe.Get(ctx, testKey(t, "missing"))
	incr := pipe.IncrByFloat(ctx, testKey(t, "f"), 1.5)
	if err := pipe.Exec(ctx); err != nil {
		t.Fatalf("Exec = %v, want nil (Nil is not a failure)", err)
	}
	cmdWant(t, set, "OK")
	cmdWant(t, get, "v")
	cmdWantNil(t, missing)
	cmdWant(t, incr, 1.5)
}
