package respool

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestKeyCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		a, b, cc, none := testKey(t, "a"), testKey(t, "b"), testKey(t, "c"), testKey(t, "none")

		cmdWant(t, c.MSet(ctx, a, "1", b, "2", cc, "3"), "OK")
		cmdWant(t, c.Exists(ctx, a, b, none, a), int64(3))
		cmdWant(t, c.Touch(ctx, a, b, none), int64(2))
		cmdWant(t, c.Del(ctx, a, none), int64(1))
		cmdWant(t, c.Unlink(ctx, b, none), int64(1))
		cmdWant(t, c.Exists(ctx, a, b), int64(0))

		// TTL and PTTL sentinels.
		cmdWant(t, c.TTL(ctx, none), time.Duration(-2))
		cmdWant(t, c.PTTL(ctx, none), time.Duration(-2))
		cmdWant(t, c.TTL(ctx, cc), time.Duration(-1))
		cmdWantNil(t, c.ExpireTime(ctx, none))
		cmdWant(t, c.ExpireTime(ctx, cc), time.Time{})
		cmdWant(t, c.PExpireTime(ctx, cc), time.Time{})

		// EXPIRE and its conditions.
		cmdWant(t, c.Expire(ctx, none, time.Minute), false)
		cmdWant(t, c.ExpireXX(ctx, cc, time.Minute), false)
		cmdWant(t, c.ExpireNX(ctx, cc, 100*time.Second), true)
		wantTTLWithin(t, c, cc, 100*time.Second)
		cmdWant(t, c.ExpireNX(ctx, cc, 200*time.Second), false)
		cmdWant(t, c.ExpireGT(ctx, cc, 50*time.Second), false)
		wantTTLWithin(t, c, cc, 100*time.Second)
		cmdWant(t, c.ExpireLT(ctx, cc, 50*time.Second), true)
		wantTTLWithin(t, c, cc, 50*time.Second)
		cmdWant(t, c.ExpireXX(ctx, cc, 300*time.Second), true)
		if ttl := cmdVal(t, c.TTL(ctx, cc)); ttl <= 50*time.Second || ttl > 300*time.Second {
			t.Fatalf("TTL after EXPIRE XX 300 = %v", ttl)
		}
		cmdWant(t, c.Persist(ctx, cc), true)
		cmdWant(t, c.Persist(ctx, cc), false)
		cmdWant(t, c.TTL(ctx, cc), time.Duration(-1))

		// PEXPIRE, EXPIREAT, PEXPIREAT and their conditions.
		cmdWant(t, c.PExpireIf(ctx, cc, time.Second, ExpireCondXX), false)
		cmdWant(t, c.PExpire(ctx, cc, 4500*time.Millisecond), true)
		wantTTLWithin(t, c, cc, 4500*time.Millisecond)
		cmdWant(t, c.PExpireIf(ctx, cc, 9*time.Second, ExpireCondGT), true)
		if ttl := cmdVal(t, c.PTTL(ctx, cc)); ttl <= 4500*time.Millisecond {
			t.Fatalf("PTTL after PEXPIRE GT = %v", ttl)
		}
		at := time.Now().Add(time.Hour).Truncate(time.Second)
		cmdWant(t, c.ExpireAtIf(ctx, cc, at, ExpireCondLT), false)
		cmdWant(t, c.ExpireAt(ctx, cc, at), true)
		cmdWant(t, c.ExpireTime(ctx, cc), at)
		earlier := at.Add(-time.Minute + 123*time.Millisecond)
		cmdWant(t, c.PExpireAtIf(ctx, cc, earlier, ExpireCondGT), false)
		cmdWant(t, c.PExpireAtIf(ctx, cc, earlier, ExpireCondLT), true)
		cmdWant(t, c.PExpireTime(ctx, cc), earlier)
		cmdWant(t, c.ExpireTime(ctx, cc), earlier.Truncate(time.Second))
		cmdWant(t, c.PExpireAt(ctx, cc, at), true)
		cmdWant(t, c.PExpireTime(ctx, cc), at)
		cmdWant(t, c.ExpireAtIf(ctx, cc, at.Add(time.Hour), ExpireCondNX), false)
		cmdWant(t, c.ExpireIf(ctx, cc, -time.Second, ExpireCondNone), true)
		cmdWant(t, c.Exists(ctx, cc), int64(0))

		// TYPE.
		str, list, hash := testKey(t, "str"), testKey(t, "list"), testKey(t, "hash")
		cmdWant(t, c.Set(ctx, str, "hello", 0), "OK")
		cmdWant(t, c.RPush(ctx, list, 3, 1, 2), int64(3))
		cmdWant(t, c.HSet(ctx, hash, "f", "v"), int64(1))
		cmdWant(t, c.Type(ctx, str), "string")
		cmdWant(t, c.Type(ctx, list), "list")
		cmdWant(t, c.Type(ctx, hash), "hash")
		cmdWant(t, c.Type(ctx, none), "none")

		// RENAME, RENAMENX.
		r1, r2 := testKey(t, "r1"), testKey(t, "r2")
		cmdWantServerErr(t, c.Rename(ctx, none, r1), "ERR")
		cmdWant(t, c.Set(ctx, r1, "x", 0), "OK")
		cmdWant(t, c.Rename(ctx, r1, r2), "OK")
		cmdWant(t, c.Get(ctx, r2), "x")
		cmdWant(t, c.Set(ctx, r1, "y", 0), "OK")
		cmdWant(t, c.RenameNX(ctx, r1, r2), false)
		cmdWant(t, c.Del(ctx, r2), int64(1))
		cmdWant(t, c.RenameNX(ctx, r1, r2), true)
		cmdWant(t, c.Get(ctx, r2), "y")

		// KEYS, RANDOMKEY (the shared server is never empty here).
		ks := cmdVal(t, c.Keys(ctx, testKey(t, "r*")))
		slices.Sort(ks)
		if want := []string{r2}; !slices.Equal(ks, want) {
			t.Fatalf("KEYS = %q, want %q", ks, want)
		}
		if rk := cmdVal(t, c.RandomKey(ctx)); rk == "" {
			t.Fatal("RANDOMKEY returned an empty key")
		}

		// COPY, MOVE, across databases.
		cp := testKey(t, "copy")
		cmdWant(t, c.Copy(ctx, str, cp, false), true)
		cmdWant(t, c.Get(ctx, cp), "hello")
		cmdWant(t, c.Set(ctx, str, "changed", 0), "OK")
		cmdWant(t, c.Copy(ctx, str, cp, false), false)
		cmdWant(t, c.Get(ctx, cp), "hello")
		cmdWant(t, c.Copy(ctx, str, cp, true), true)
		cmdWant(t, c.Get(ctx, cp), "changed")
		cmdWant(t, c.Copy(ctx, none, cp, true), false)
		proto := c.Options().Protocol
		db1 := newTestClient(t, &Options{DB: 1, Protocol: proto})
		db2 := newTestClient(t, &Options{DB: 2, Protocol: proto})
		t.Cleanup(func() {
			db1.Del(context.Background(), cp)
			db2.Del(context.Background(), cp)
		})
		cmdWant(t, c.CopyToDB(ctx, str, cp, 1, false), true)
		cmdWant(t, db1.Get(ctx, cp), "changed")
		cmdWant(t, c.Move(ctx, cp, 2), true)
		cmdWant(t, c.Exists(ctx, cp), int64(0))
		cmdWant(t, db2.Get(ctx, cp), "changed")
		cmdWant(t, c.Move(ctx, none, 2), false)

		// DUMP, RESTORE.
		cmdWantNil(t, c.Dump(ctx, none))
		dump := cmdVal(t, c.Dump(ctx, list))
		rl := testKey(t, "restored")
		cmdWant(t, c.Restore(ctx, rl, 0, dump), "OK")
		cmdWant(t, c.LRange(ctx, rl, 0, -1), []string{"3", "1", "2"})
		cmdWant(t, c.TTL(ctx, rl), time.Duration(-1))
		cmdWantServerErr(t, c.Restore(ctx, rl, 0, dump), "BUSYKEY")
		cmdWant(t, c.RestoreReplace(ctx, rl, 90*time.Second, cmdVal(t, c.Dump(ctx, str))), "OK")
		cmdWant(t, c.Get(ctx, rl), "changed")
		wantTTLWithin(t, c, rl, 90*time.Second)

		// OBJECT.
		num := testKey(t, "num")
		cmdWant(t, c.Set(ctx, num, 123456, 0), "OK")
		cmdWant(t, c.ObjectEncoding(ctx, num), "int")
		cmdWant(t, c.ObjectEncoding(ctx, str), "embstr")
		cmdWant(t, c.ObjectEncoding(ctx, list), "quicklist")
		cmdWantNil(t, c.ObjectEncoding(ctx, none))
		cmdWant(t, c.ObjectRefCount(ctx, str), int64(1))
		cmdWantNil(t, c.ObjectRefCount(ctx, none))
		if idle := cmdVal(t, c.ObjectIdleTime(ctx, str)); idle < 0 {
			t.Fatalf("OBJECT IDLETIME = %v", idle)
		}
		cmdWantNil(t, c.ObjectIdleTime(ctx, none))
		cmdWantServerErr(t, c.ObjectFreq(ctx, str), "ERR") // no LFU policy on the shared server
	})
}

func TestSortCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		list, words, dst := testKey(t, "list"), testKey(t, "words"), testKey(t, "dst")
		cmdWant(t, c.RPush(ctx, list, 3, 1, 2), int64(3))
		cmdWant(t, c.RPush(ctx, words, "pear", "apple", "fig"), int64(3))

		cmdWant(t, c.Sort(ctx, list, nil), []string{"1", "2", "3"})
		cmdWant(t, c.Sort(ctx, list, &SortArgs{Order: "desc"}), []string{"3", "2", "1"})
		cmdWant(t, c.Sort(ctx, list, &SortArgs{Offset: 1, Count: 1}), []string{"2"})
		cmdWant(t, c.Sort(ctx, words, &SortArgs{Alpha: true}), []string{"apple", "fig", "pear"})
		cmdWantServerErr(t, c.Sort(ctx, words, nil), "ERR")
		cmdWant(t, c.Sort(ctx, testKey(t, "none"), nil), []string{})

		// BY and GET with external keys: weight_1=30, weight_2=10,
		// weight_3=20; name_1 and name_3 exist, name_2 does not.
		w := testKey(t, "weight_")
		n := testKey(t, "name_")
		cmdWant(t, c.MSet(ctx, w+"1", 30, w+"2", 10, w+"3", 20, n+"1", "one", n+"3", "three"), "OK")
		cmdWant(t, c.Sort(ctx, list, &SortArgs{By: w + "*"}), []string{"2", "3", "1"})
		cmdWant(t, c.Sort(ctx, list, &SortArgs{By: w + "*", Get: []string{"#", n + "*"}}),
			[]string{"2", "", "3", "three", "1", "one"})
		cmdWant(t, c.SortRO(ctx, list, &SortArgs{Order: "DESC", Get: []string{n + "*"}}), []string{"three", "", "one"})

		cmdWant(t, c.SortStore(ctx, words, dst, &SortArgs{Alpha: true, Order: "DESC"}), int64(3))
		cmdWant(t, c.LRange(ctx, dst, 0, -1), []string{"pear", "fig", "apple"})
	})
}
