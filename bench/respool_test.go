package bench

import (
	"context"

	"github.com/respool/respool"
)

// respoolClients builds respool with default options (a multiplexing
// Client) and with Options.Exclusive (one pooled connection per command,
// like go-redis and redigo).
func respoolClients() []clientMaker {
	return []clientMaker{
		{"respool", func(addr string, _ int) (target, error) { return openRespool(addr, false), nil }},
		{"respool-exclusive", func(addr string, _ int) (target, error) { return openRespool(addr, true), nil }},
	}
}

func openRespool(addr string, exclusive bool) target {
	c := respool.NewClient(&respool.Options{Addr: addr, Exclusive: exclusive})
	return target{
		get: func(ctx context.Context, key string) (string, error) { return c.Get(ctx, key).Result() },
		set: func(ctx context.Context, key, value string) error { return c.Set(ctx, key, value, 0).Err() },
		pipe: func(ctx context.Context, keys []string) error {
			p := c.Pipeline()
			cmds := make([]*respool.Cmd[string], len(keys))
			for i, k := range keys {
				cmds[i] = p.Get(ctx, k)
			}
			if err := p.Exec(ctx); err != nil {
				return err
			}
			// Exec does not report Nil; a missing key must fail here as it
			// does for the peers.
			for _, cmd := range cmds {
				if err := cmd.Err(); err != nil {
					return err
				}
			}
			return nil
		},
		close: func() { c.Close() },
	}
}
