package main

import (
	"context"
	"errors"

	"github.com/respool/respool"
)

// respoolRunner drives respool with default options: a Client that
// multiplexes concurrent commands over a few shared connections. With
// exclusive set, Options.Exclusive makes every command borrow a pooled
// connection of its own, the way go-redis and redigo work.
type respoolRunner struct {
	client *respool.Client
}

func newRespoolRunner(opt runnerOptions, exclusive bool) *respoolRunner {
	return &respoolRunner{client: respool.NewClient(&respool.Options{
		Addr:      opt.addr,
		Exclusive: exclusive,
		PoolSize:  opt.poolSize,
	})}
}

func (r *respoolRunner) get(ctx context.Context, key string) (string, error) {
	v, err := r.client.Get(ctx, key).Result()
	if errors.Is(err, respool.Nil) {
		return "", nil
	}
	return v, err
}

func (r *respoolRunner) set(ctx context.Context, key, value string) (string, error) {
	return r.client.Set(ctx, key, value, 0).Result()
}

func (r *respoolRunner) pipeGets(ctx context.Context, keys, out []string) error {
	p := r.client.Pipeline()
	cmds := make([]*respool.Cmd[string], len(keys))
	for i, k := range keys {
		cmds[i] = p.Get(ctx, k)
	}
	if err := p.Exec(ctx); err != nil {
		return err
	}
	for i, c := range cmds {
		v, err := c.Result()
		if err != nil && !errors.Is(err, respool.Nil) {
			return err
		}
		out[i] = v
	}
	return nil
}

func (r *respoolRunner) mget(ctx context.Context, keys, out []string) error {
	vals, err := r.client.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	if err := checkReplyCount(len(vals), len(keys)); err != nil {
		return err
	}
	for i, v := range vals {
		out[i] = v.Val // "" when missing
	}
	return nil
}

func (r *respoolRunner) close() error { return r.client.Close() }
