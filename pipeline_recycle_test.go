package respool

import (
	"context"
	"strconv"
	"testing"
)

// The queue of a Pipeline is recycled after Exec, so it must never be a
// slice that someone else still holds: the one Cmds returned, the one
// Pipelined returned, or the one a pipeline hook was given. Recycling
// clears the slice at once, so a wrong reuse shows right after Exec.

func TestPipelineQueueKeptWhenExposed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	key := testKey(t, "k")

	// same fails unless got still holds the commands of want.
	same := func(t *testing.T, what string, got []Cmder, want []Cmder) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d commands, want %d", what, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: command %d is %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	// churn runs other pipelines, which would take a recycled queue.
	churn := func(t *testing.T) {
		t.Helper()
		for range 10 {
			p := c.Pipeline()
			p.Set(ctx, key, "other", 0)
			p.Get(ctx, key)
			if err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("Cmds", func(t *testing.T) {
		p := c.Pipeline()
		a, b := p.Get(ctx, key), p.Incr(ctx, key+":n")
		held := p.Cmds()
		if err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		churn(t)
		same(t, "Cmds", held, []Cmder{a, b})
	})
	t.Run("Pipelined", func(t *testing.T) {
		var a, b Cmder
		cmds, err := c.Pipelined(ctx, func(p *Pipeline) error {
			a, b = p.Get(ctx, key), p.Incr(ctx, key+":n")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		churn(t)
		same(t, "Pipelined", cmds, []Cmder{a, b})
	})
	t.Run("hook", func(t *testing.T) {
		hc := newTestClient(t)
		var kept [][]Cmder
		hc.AddHook(Hook{ProcessPipeline: func(next ProcessPipelineFunc) ProcessPipelineFunc {
			return func(ctx context.Context, cmds []Cmder) error {
				kept = append(kept, cmds)
				return next(ctx, cmds)
			}
		}})
		var want [][]Cmder
		for range 10 {
			p := hc.Pipeline()
			want = append(want, []Cmder{p.Get(ctx, key), p.Incr(ctx, key+":n")})
			if err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i := range want {
			same(t, "hook", kept[i], want[i])
		}
	})
}

// TestPipelineReusedAfterRecycle checks the recycled queue from the other
// side: a Pipeline reused after Exec, and new Pipelines taking recycled
// queues, give every command its own reply.
func TestPipelineReusedAfterRecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	p := c.Pipeline()
	for round := range 20 {
		if round%2 == 1 {
			p = c.Pipeline()
		}
		n := 1 + round*7%50
		keys := make([]string, n)
		sets := make([]*Cmd[string], n)
		for i := range keys {
			keys[i] = testKey(t, "r"+strconv.Itoa(round)+"-"+strconv.Itoa(i))
			sets[i] = p.Set(ctx, keys[i], keys[i], 0)
		}
		gets := make([]*Cmd[string], n)
		for i := range keys {
			gets[i] = p.Get(ctx, keys[i])
		}
		if p.Len() != 2*n {
			t.Fatalf("round %d: Len %d, want %d", round, p.Len(), 2*n)
		}
		if err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			if v, err := gets[i].Result(); err != nil || v != keys[i] || sets[i].Val() != "OK" {
				t.Fatalf("round %d: GET %s = %q, %v (SET %q)", round, keys[i], v, err, sets[i].Val())
			}
		}
	}
}
