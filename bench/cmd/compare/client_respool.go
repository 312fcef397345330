package main

import (
	"context"

	"github.com/respool/respool"
)

// respoolRunner drives respool with default options: a Client that
// multiplexes concurrent commands over a few shared connections. With
// exclusive set, Options.Exclusive makes every command borrow a pooled
// connection of its own, the way go-redis and redigo work.
type respoolRunner struct {
	client *respool.Client
}

func newRespoolRunner(addr string, exclusive bool) (*respoolRunner, error) {
	return &respoolRunner{client: respool.NewClient(&respool.Options{Addr: addr, Exclusive: exclusive})}, nil
}

func (r *respoolRunner) get(ctx context.Context, key string) error {
	_, err := r.client.Get(ctx, key).Result()
	return err
}

func (r *respoolRunner) set(ctx context.Context, key, value string) error {
	return r.client.Set(ctx, key, value, 0).Err()
}

func (r *respoolRunner) pipeGets(ctx context.Context, keys []string) error {
	p := r.client.Pipeline()
	cmds := make([]*respool.Cmd[string], len(keys))
	for i, k := range keys {
		cmds[i] = p.Get(ctx, k)
	}
	if err := p.Exec(ctx); err != nil {
		return err
	}
	// Exec does not report Nil; a missing key is a failed check here, as
	// for the peers.
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (r *respoolRunner) close() error { return r.client.Close() }
