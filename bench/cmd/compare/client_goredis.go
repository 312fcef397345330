package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// goRedisRunner drives go-redis v9 with default options (PoolSize set only
// in the small pool scenario). With auto set, commands go through the
// client's blocking AutoPipeline (default AutoPipelineOptions), which
// batches concurrent callers' commands; explicit pipelines use the
// client's ordinary Pipeline in both cases. In the cluster scenarios the
// client is a ClusterClient seeded with every node (reads go to
// primaries, the default), whose AutoPipeline routes each command by slot.
type goRedisRunner struct {
	client redis.UniversalClient // *redis.Client or *redis.ClusterClient
	cmds   redis.Cmdable         // client, or its AutoPipeliner
	ap     *redis.AutoPipeliner
	// shutdown, when set, ends what the runner started beside the client
	// (the OpenTelemetry providers of goredis-otel).
	shutdown func()
}

func newGoRedisRunner(opt runnerOptions, auto bool) (*goRedisRunner, error) {
	var c redis.UniversalClient
	if opt.cluster != nil {
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: opt.cluster, PoolSize: opt.poolSize})
	} else {
		c = redis.NewClient(&redis.Options{Addr: opt.addr, PoolSize: opt.poolSize})
	}
	return goRedisRunnerOf(c, auto)
}

// goRedisRunnerOf drives c, through its AutoPipeline when auto is set.
// On failure it closes c.
func goRedisRunnerOf(c redis.UniversalClient, auto bool) (*goRedisRunner, error) {
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

func (r *goRedisRunner) get(ctx context.Context, key string) (string, error) {
	v, err := r.cmds.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

func (r *goRedisRunner) set(ctx context.Context, key, value string) (string, error) {
	return r.cmds.Set(ctx, key, value, 0).Result()
}

func (r *goRedisRunner) pipeGets(ctx context.Context, keys, out []string) error {
	p := r.client.Pipeline()
	for _, k := range keys {
		p.Get(ctx, k)
	}
	cmds, err := p.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if err := checkReplyCount(len(cmds), len(keys)); err != nil {
		return err
	}
	for i, c := range cmds {
		sc, ok := c.(*redis.StringCmd)
		if !ok {
			return fmt.Errorf("compare: pipeline reply %T", c)
		}
		v, err := sc.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		out[i] = v
	}
	return nil
}

func (r *goRedisRunner) mget(ctx context.Context, keys, out []string) error {
	vals, err := r.cmds.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	if err := checkReplyCount(len(vals), len(keys)); err != nil {
		return err
	}
	for i, v := range vals {
		s, _ := v.(string) // nil when missing
		out[i] = s
	}
	return nil
}

func (r *goRedisRunner) close() error {
	var err error
	if r.ap != nil {
		err = r.ap.Close()
	}
	err = errors.Join(err, r.client.Close())
	if r.shutdown != nil {
		r.shutdown()
	}
	return err
}
