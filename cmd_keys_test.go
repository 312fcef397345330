package respool

import (
	"context"
	"slices"
	"testing"
)

// TestKeysCommand: a command of many keys (MGET, DEL of several) keeps
// its keys as strings: it shows them through Args and Name as any other
// command, and a pipeline sends the keys it was given even when the
// caller reuses the slice before Exec.
func TestKeysCommand(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t)
	a, b, other := testKey(t, "a"), testKey(t, "b"), testKey(t, "other")
	if err := c.MSet(ctx, a, "1", b, "2", other, "x").Err(); err != nil {
		t.Fatal(err)
	}
	keys := []string{a, b}
	p := c.Pipeline()
	mget := p.MGet(ctx, keys...)
	exists := p.Exists(ctx, keys...)
	keys[0] = other // reused before Exec
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	vals, err := mget.Result()
	if err != nil || len(vals) != 2 || vals[0].Val != "1" || vals[1].Val != "2" {
		t.Fatalf("MGET after the caller reused its slice: %v %v, want [1 2]", vals, err)
	}
	if n, err := exists.Result(); err != nil || n != 2 {
		t.Fatalf("EXISTS: %d %v, want 2", n, err)
	}
	if got, want := mget.Args(), []any{"MGET", a, b}; !slices.Equal(got, want) {
		t.Fatalf("Args = %v, want %v", got, want)
	}
	if got := exists.Name(); got != "exists" {
		t.Fatalf("Name = %q, want exists", got)
	}
	if got := mget.classArgs(); len(got) != 1 || got[0] != "MGET" {
		t.Fatalf("classArgs = %v, want the name alone", got)
	}
	if n, err := c.Del(ctx, a, b, testKey(t, "missing")).Result(); err != nil || n != 2 {
		t.Fatalf("DEL of 3 keys, 2 of them there: %d %v", n, err)
	}
}
