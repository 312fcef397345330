package main

import (
	"context"
	"errors"

	"github.com/gomodule/redigo/redis"
)

// redigoRunner drives redigo through a redis.Pool. The pool's default
// MaxIdle of 0 closes every connection when it is returned, so each
// command would dial; MaxIdle is set to the goroutine count so every
// goroutine finds an idle connection, and MaxActive stays 0 (unbounded)
// with Wait false, the defaults. In the small pool scenario MaxActive and
// MaxIdle are the pool size and Wait is true, so callers queue for a
// connection instead of failing.
type redigoRunner struct {
	pool *redis.Pool
}

func newRedigoRunner(opt runnerOptions) *redigoRunner {
	p := &redis.Pool{
		MaxIdle: opt.goroutines,
		Dial:    func() (redis.Conn, error) { return redis.Dial("tcp", opt.addr) },
	}
	if opt.poolSize > 0 {
		p.MaxIdle, p.MaxActive, p.Wait = opt.poolSize, opt.poolSize, true
	}
	return &redigoRunner{pool: p}
}

func (r *redigoRunner) get(ctx context.Context, key string) (string, error) {
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return "", err
	}
	v, err := redis.String(c.Do("GET", key))
	if errors.Is(err, redis.ErrNil) {
		v, err = "", nil
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return v, err
}

func (r *redigoRunner) set(ctx context.Context, key, value string) (string, error) {
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return "", err
	}
	v, err := redis.String(c.Do("SET", key, value))
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return v, err
}

func (r *redigoRunner) pipeGets(ctx context.Context, keys, out []string) error {
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, k := range keys {
		if err := c.Send("GET", k); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return err
	}
	for i := range keys {
		v, err := redis.String(c.Receive())
		if err != nil && !errors.Is(err, redis.ErrNil) {
			return err
		}
		out[i] = v
	}
	return nil
}

func (r *redigoRunner) mget(ctx context.Context, keys, out []string) error {
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	vals, err := redis.Strings(c.Do("MGET", redis.Args{}.AddFlat(keys)...))
	if err != nil {
		return err
	}
	if err := checkReplyCount(len(vals), len(keys)); err != nil {
		return err
	}
	copy(out, vals) // redis.Strings turns a missing value into ""
	return nil
}

func (r *redigoRunner) close() error { return r.pool.Close() }
