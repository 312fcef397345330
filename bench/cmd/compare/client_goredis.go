package main

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// goRedisRunner drives go-redis v9 with default options. With auto set,
// commands go through the client's blocking AutoPipeline (default
// AutoPipelineOptions), which batches concurrent callers' commands; the
// explicit pipelines of pipe100 use the client's ordinary Pipeline in
// both cases.
type goRedisRunner struct {
	client *redis.Client
	cmds   redis.Cmdable // client, or its AutoPipeliner
	ap     *redis.AutoPipeliner
}

func newGoRedisRunner(addr string, auto bool) (*goRedisRunner, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	r := &goRedisRunner{client: c, cmds: c}
	if auto {
		ap, err := c.AutoPipeline()
		if err != nil {
			c.Close()
			return nil, err
		}
		r.ap, r.cmds = ap, ap
	}
	return r, nil
}

func (r *goRedisRunner) get(ctx context.Context, key string) error {
	_, err := r.cmds.Get(ctx, key).Result()
	return err
}

func (r *goRedisRunner) set(ctx context.Context, key, value string) error {
	return r.cmds.Set(ctx, key, value, 0).Err()
}

func (r *goRedisRunner) pipeGets(ctx context.Context, keys []string) error {
	p := r.client.Pipeline()
	for _, k := range keys {
		p.Get(ctx, k)
	}
	cmds, err := p.Exec(ctx)
	if err != nil {
		return err
	}
	return checkPipeLen(len(cmds), len(keys))
}

func (r *goRedisRunner) close() error {
	var err error
	if r.ap != nil {
		err = r.ap.Close()
	}
	return errors.Join(err, r.client.Close())
}
