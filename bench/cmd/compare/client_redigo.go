package main

import (
	"context"

	"github.com/gomodule/redigo/redis"
)

// redigoRunner drives redigo through a redis.Pool with default settings
// except MaxIdle. The pool's default MaxIdle of 0 closes every connection
// when it is returned, so each command would dial; MaxIdle is set to the
// workload's goroutine count so every goroutine finds an idle connection.
// MaxActive stays 0 (unbounded, the default) and Wait false.
type redigoRunner struct {
	pool *redis.Pool
}

func newRedigoRunner(addr string, goroutines int) *redigoRunner {
	return &redigoRunner{pool: &redis.Pool{
		MaxIdle: goroutines,
		Dial:    func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
	}}
}

func (r *redigoRunner) get(ctx context.Context, key string) error {
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	_, err = redis.String(c.Do("GET", key))
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r *redigoRunner) set(ctx context.Context, key, value string) error {
	c, err := r.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	_, err = c.Do("SET", key, value)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r *redigoRunner) pipeGets(ctx context.Context, keys []string) error {
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
	for range keys {
		if _, err := redis.String(c.Receive()); err != nil {
			return err
		}
	}
	return nil
}

func (r *redigoRunner) close() error { return r.pool.Close() }
