package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/rueidis"
)

// rueidisCacheRunner drives rueidis with default options (client-side
// caching on, its default memory bound) and GETs through DoCache with
// cacheTTL, as its documentation shows.
type rueidisCacheRunner struct {
	client rueidis.Client
}

func newRueidisCacheRunner(opt runnerOptions) (*rueidisCacheRunner, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{opt.addr}})
	if err != nil {
		return nil, err
	}
	return &rueidisCacheRunner{client: c}, nil
}

func (r *rueidisCacheRunner) get(ctx context.Context, key string) (string, error) {
	v, err := r.client.DoCache(ctx, r.client.B().Get().Key(key).Cache(), time.Duration(cacheTTL)).ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	return v, err
}

func (r *rueidisCacheRunner) set(ctx context.Context, key, value string) (string, error) {
	return r.client.Do(ctx, r.client.B().Set().Key(key).Value(value).Build()).ToString()
}

func (r *rueidisCacheRunner) pipeGets(context.Context, []string, []string) error {
	return errors.New("compare: rueidis-cache runs only the cache scenarios")
}

func (r *rueidisCacheRunner) mget(context.Context, []string, []string) error {
	return errors.New("compare: rueidis-cache runs only the cache scenarios")
}

func (r *rueidisCacheRunner) close() error {
	r.client.Close()
	return nil
}
