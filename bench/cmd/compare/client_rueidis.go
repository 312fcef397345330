package main

import (
	"context"

	"github.com/redis/rueidis"
)

// rueidisRunner drives rueidis with default options. Its default
// client-side caching only affects DoCache, which no workload calls;
// Redis 7 supports the tracking it sets up, so DisableCache stays false.
type rueidisRunner struct {
	client rueidis.Client
}

func newRueidisRunner(addr string) (*rueidisRunner, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		return nil, err
	}
	return &rueidisRunner{client: c}, nil
}

func (r *rueidisRunner) get(ctx context.Context, key string) error {
	_, err := r.client.Do(ctx, r.client.B().Get().Key(key).Build()).ToString()
	return err
}

func (r *rueidisRunner) set(ctx context.Context, key, value string) error {
	return r.client.Do(ctx, r.client.B().Set().Key(key).Value(value).Build()).Error()
}

func (r *rueidisRunner) pipeGets(ctx context.Context, keys []string) error {
	cmds := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = r.client.B().Get().Key(k).Build()
	}
	res := r.client.DoMulti(ctx, cmds...)
	if err := checkPipeLen(len(res), len(keys)); err != nil {
		return err
	}
	for _, v := range res {
		if _, err := v.ToString(); err != nil {
			return err
		}
	}
	return nil
}

func (r *rueidisRunner) close() error {
	r.client.Close()
	return nil
}
