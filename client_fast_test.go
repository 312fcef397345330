package respool

import (
	"context"
	"fmt"
	"testing"
)

// The Client's fast typed methods keep their contract when hooks are
// installed: a hook sees the whole command (name and arguments), can answer
// it itself, and what it sets reaches the caller's *Cmd; and a Pipeline's
// fast-form commands report their arguments in full.
func TestFastCommandsThroughHooks(t *testing.T) {
	t.Parallel()
	c := NewClient(&Options{Addr: sharedServer(t).Addr})
	defer c.Close()
	ctx := context.Background()
	key := "fasthook:" + t.Name()
	if err := c.Del(ctx, key+":n").Err(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	c.AddHook(Hook{Process: func(next ProcessFunc) ProcessFunc {
		return func(ctx context.Context, cmd Cmder) error {
			seen = append(seen, fmt.Sprint(cmd.Name(), cmd.Args()))
			if cmd.Name() == "hget" {
				cmd.(*Cmd[string]).SetVal("from the hook")
				return nil
			}
			return next(ctx, cmd)
		}
	}})
	if err := c.Set(ctx, key, "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "v1" {
		t.Fatalf("GET = %q, %v; want v1", v, err)
	}
	if v, err := c.HGet(ctx, key+":h", "f").Result(); err != nil || v != "from the hook" {
		t.Fatalf("HGET answered by the hook = %q, %v", v, err)
	}
	if n, err := c.Del(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("DEL = %d, %v; want 1", n, err)
	}
	want := []string{
		fmt.Sprint("set", []any{"SET", key, "v1"}),
		fmt.Sprint("get", []any{"GET", key}),
		fmt.Sprint("hget", []any{"HGET", key + ":h", "f"}),
		fmt.Sprint("del", []any{"DEL", key}),
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("the hook saw %q, want %q", seen, want)
	}

	p := c.Pipeline()
	get := p.Get(ctx, key)
	incr := p.Incr(ctx, key+":n")
	if got := fmt.Sprint(get.Args(), incr.Args()); got != fmt.Sprint([]any{"GET", key}, []any{"INCR", key + ":n"}) {
		t.Fatalf("pipeline Args = %s", got)
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := get.String(), "GET "+key+": "+Nil.Error(); got != want {
		t.Fatalf("String of a GET of a deleted key = %q, want %q", got, want)
	}
	if n, err := incr.Result(); err != nil || n != 1 {
		t.Fatalf("INCR in the pipeline = %d, %v; want 1", n, err)
	}
}
