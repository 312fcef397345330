package respool

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// runBothProtocols runs fn as two parallel subtests, one on a RESP3
// client and one on a RESP2 client, so decoders see both reply shapes.
func runBothProtocols(t *testing.T, fn func(t *testing.T, c *Client)) {
	t.Helper()
	for _, proto := range []int{3, 2} {
		name := "resp3"
		if proto == 2 {
			name = "resp2"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, &Options{Protocol: proto})
			dropTestKeys(t, c)
			fn(t, c)
		})
	}
}

// dropTestKeys deletes the keys testKey gives this test, left over from
// an earlier run (go test -count=N) on the same shared server.
func dropTestKeys(t *testing.T, c *Client) {
	t.Helper()
	ctx := context.Background()
	match := testKey(t, "*")
	for k, err := range c.ScanAll(ctx, ScanArgs{Match: match, Count: 1000}) {
		if err == nil {
			err = c.Del(ctx, k).Err()
		}
		if err != nil {
			t.Fatalf("clear %s: %v", match, err)
		}
	}
}

// sorted returns a sorted copy of ss.
func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

func TestSetCommands(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		a, b, dst := testKey(t, "a"), testKey(t, "b"), testKey(t, "dst")

		if n, err := c.SAdd(ctx, a, "x", "y", "z", "x").Result(); err != nil || n != 3 {
			t.Fatalf("SAdd = %d, %v; want 3", n, err)
		}
		if n, err := c.SAdd(ctx, b, "y", "z", "w").Result(); err != nil || n != 3 {
			t.Fatalf("SAdd b = %d, %v; want 3", n, err)
		}
		if m, err := c.SMembers(ctx, a).Result(); err != nil || !slices.Equal(sorted(m), []string{"x", "y", "z"}) {
			t.Fatalf("SMembers = %v, %v", m, err)
		}
		if m, err := c.SMembers(ctx, testKey(t, "missing")).Result(); err != nil || len(m) != 0 {
			t.Fatalf("SMembers missing = %v, %v; want empty", m, err)
		}
		if ok, err := c.SIsMember(ctx, a, "x").Result(); err != nil || !ok {
			t.Fatalf("SIsMember x = %v, %v", ok, err)
		}
		if ok, err := c.SIsMember(ctx, a, "w").Result(); err != nil || ok {
			t.Fatalf("SIsMember w = %v, %v", ok, err)
		}
		if got, err := c.SMIsMember(ctx, a, "x", "w", "z").Result(); err != nil || !slices.Equal(got, []bool{true, false, true}) {
			t.Fatalf("SMIsMember = %v, %v", got, err)
		}
		if n, err := c.SCard(ctx, a).Result(); err != nil || n != 3 {
			t.Fatalf("SCard = %d, %v", n, err)
		}
		if m, err := c.SInter(ctx, a, b).Result(); err != nil || !slices.Equal(sorted(m), []string{"y", "z"}) {
			t.Fatalf("SInter = %v, %v", m, err)
		}
		if n, err := c.SInterCard(ctx, 0, a, b).Result(); err != nil || n != 2 {
			t.Fatalf("SInterCard = %d, %v", n, err)
		}
		if n, err := c.SInterCard(ctx, 1, a, b).Result(); err != nil || n != 1 {
			t.Fatalf("SInterCard limit 1 = %d, %v", n, err)
		}
		if n, err := c.SInterStore(ctx, dst, a, b).Result(); err != nil || n != 2 {
			t.Fatalf("SInterStore = %d, %v", n, err)
		}
		if m, err := c.SUnion(ctx, a, b).Result(); err != nil || !slices.Equal(sorted(m), []string{"w", "x", "y", "z"}) {
			t.Fatalf("SUnion = %v, %v", m, err)
		}
		if n, err := c.SUnionStore(ctx, dst, a, b).Result(); err != nil || n != 4 {
			t.Fatalf("SUnionStore = %d, %v", n, err)
		}
		if m, err := c.SDiff(ctx, a, b).Result(); err != nil || !slices.Equal(m, []string{"x"}) {
			t.Fatalf("SDiff = %v, %v", m, err)
		}
		if n, err := c.SDiffStore(ctx, dst, b, a).Result(); err != nil || n != 1 {
			t.Fatalf("SDiffStore = %d, %v", n, err)
		}
		if m, err := c.SMembers(ctx, dst).Result(); err != nil || !slices.Equal(m, []string{"w"}) {
			t.Fatalf("SDiffStore result = %v, %v", m, err)
		}
		if ok, err := c.SMove(ctx, a, dst, "x").Result(); err != nil || !ok {
			t.Fatalf("SMove = %v, %v", ok, err)
		}
		if ok, err := c.SMove(ctx, a, dst, "x").Result(); err != nil || ok {
			t.Fatalf("SMove again = %v, %v; want false", ok, err)
		}
		if n, err := c.SRem(ctx, dst, "x", "nope").Result(); err != nil || n != 1 {
			t.Fatalf("SRem = %d, %v", n, err)
		}

		// a is {y, z} now.
		if m, err := c.SRandMember(ctx, a).Result(); err != nil || (m != "y" && m != "z") {
			t.Fatalf("SRandMember = %q, %v", m, err)
		}
		if m, err := c.SRandMemberN(ctx, a, 5).Result(); err != nil || !slices.Equal(sorted(m), []string{"y", "z"}) {
			t.Fatalf("SRandMemberN = %v, %v", m, err)
		}
		if m, err := c.SRandMemberN(ctx, a, -4).Result(); err != nil || len(m) != 4 {
			t.Fatalf("SRandMemberN -4 = %v, %v; want 4 members", m, err)
		}
		p, err := c.SPop(ctx, a).Result()
		if err != nil || (p != "y" && p != "z") {
			t.Fatalf("SPop = %q, %v", p, err)
		}
		if m, err := c.SPopN(ctx, a, 3).Result(); err != nil || len(m) != 1 || m[0] == p {
			t.Fatalf("SPopN = %v, %v; want the other member", m, err)
		}
		if _, err := c.SPop(ctx, a).Result(); !errors.Is(err, Nil) {
			t.Fatalf("SPop of an empty set: err %v, want Nil", err)
		}
		if _, err := c.SRandMember(ctx, a).Result(); !errors.Is(err, Nil) {
			t.Fatalf("SRandMember of an empty set: err %v, want Nil", err)
		}
		if m, err := c.SPopN(ctx, a, 2).Result(); err != nil || len(m) != 0 {
			t.Fatalf("SPopN of a missing set = %v, %v; want empty", m, err)
		}
		// A wrong type is a server error, not a decoding failure.
		if err := c.SAdd(ctx, testKey(t, "str"), "m").Err(); err != nil {
			t.Fatal(err)
		}
		var se *Error
		if err := c.ZCard(ctx, testKey(t, "str")).Err(); !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
			t.Fatalf("ZCard of a set: %v, want WRONGTYPE", err)
		}
	})
}
