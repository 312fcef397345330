package main

import (
	"context"
	"errors"
	"time"

	"github.com/respool/respool"
)

// respoolCacheRunner drives a respool Client with Options.ClientCache
// (defaults: 64 MiB) whose GETs go through Cached(cacheTTL).
type respoolCacheRunner struct {
	client *respool.Client
	view   *respool.CachedClient
}

func newRespoolCacheRunner(opt runnerOptions) *respoolCacheRunner {
	c := respool.NewClient(&respool.Options{Addr: opt.addr, PoolSize: opt.poolSize, ClientCache: &respool.CacheOptions{}})
	return &respoolCacheRunner{client: c, view: c.Cached(time.Duration(cacheTTL))}
}

func (r *respoolCacheRunner) get(ctx context.Context, key string) (string, error) {
	v, err := r.view.Get(ctx, key).Result()
	if errors.Is(err, respool.Nil) {
		return "", nil
	}
	return v, err
}

func (r *respoolCacheRunner) set(ctx context.Context, key, value string) (string, error) {
	return r.client.Set(ctx, key, value, 0).Result()
}

func (r *respoolCacheRunner) pipeGets(context.Context, []string, []string) error {
	return errors.New("compare: respool-cache runs only the cache scenarios")
}

func (r *respoolCacheRunner) mget(context.Context, []string, []string) error {
	return errors.New("compare: respool-cache runs only the cache scenarios")
}

func (r *respoolCacheRunner) close() error { return r.client.Close() }
