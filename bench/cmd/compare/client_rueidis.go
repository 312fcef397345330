package main

import (
	"context"

	"github.com/redis/rueidis"
)

// rueidisRunner drives rueidis with default options. Its default
// client-side caching only affects DoCache, which no scenario calls;
// Redis 7 supports the tracking it sets up, so DisableCache stays false.
// rueidis has no pool size to cap: it multiplexes on its own connections.
// In the cluster scenarios InitAddress lists every node, and rueidis finds
// out by itself that they form a cluster (reads go to primaries, the
// default).
type rueidisRunner struct {
	client rueidis.Client
}

func newRueidisRunner(opt runnerOptions) (*rueidisRunner, error) {
	addrs := []string{opt.addr}
	if opt.cluster != nil {
		addrs = opt.cluster
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs})
	if err != nil {
		return nil, err
	}
	return &rueidisRunner{client: c}, nil
}

func (r *rueidisRunner) get(ctx context.Context, key string) (string, error) {
	v, err := r.client.Do(ctx, r.client.B().Get().Key(key).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	return v, err
}

func (r *rueidisRunner) set(ctx context.Context, key, value string) (string, error) {
	return r.client.Do(ctx, r.client.B().Set().Key(key).Value(value).Build()).ToString()
}

func (r *rueidisRunner) pipeGets(ctx context.Context, keys, out []string) error {
	cmds := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = r.client.B().Get().Key(k).Build()
	}
	res := r.client.DoMulti(ctx, cmds...)
	if err := checkReplyCount(len(res), len(keys)); err != nil {
		return err
	}
	for i, v := range res {
		s, err := v.ToString()
		if err != nil && !rueidis.IsRedisNil(err) {
			return err
		}
		out[i] = s
	}
	return nil
}

func (r *rueidisRunner) mget(ctx context.Context, keys, out []string) error {
	msgs, err := r.client.Do(ctx, r.client.B().Mget().Key(keys...).Build()).ToArray()
	if err != nil {
		return err
	}
	if err := checkReplyCount(len(msgs), len(keys)); err != nil {
		return err
	}
	for i, m := range msgs {
		s, err := m.ToString()
		if err != nil && !rueidis.IsRedisNil(err) {
			return err
		}
		out[i] = s
	}
	return nil
}

func (r *rueidisRunner) close() error {
	r.client.Close()
	return nil
}
