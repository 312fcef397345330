package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/respool/respool"
)

// respoolRunner drives respool with default options: a Client that
// multiplexes concurrent commands over a few shared connections. With
// exclusive set, Options.Exclusive makes every command borrow a pooled
// connection of its own, the way go-redis and redigo work. In the cluster
// scenarios it drives a ClusterClient seeded with every node, otherwise
// with defaults (its node Clients multiplex too; reads go to primaries).
//
// The single-server rows call the *respool.Client directly rather than
// through respoolCommands: a typed method called through an interface
// cannot be inlined, so its *Cmd would escape to the heap, which is not
// what a user calling the Client sees.
type respoolRunner struct {
	client respoolCommands
	single *respool.Client // set outside the cluster scenarios
	// shutdown, when set, ends what the runner started beside the client
	// (the OpenTelemetry providers of respool-otel).
	shutdown func()
}

// respoolCommands is what the runner calls, common to respool.Client and
// respool.ClusterClient.
type respoolCommands interface {
	Get(ctx context.Context, key string) *respool.Cmd[string]
	Set(ctx context.Context, key string, value any, expiration time.Duration) *respool.Cmd[string]
	MGet(ctx context.Context, keys ...string) *respool.Cmd[[]respool.Optional[string]]
	Pipeline() *respool.Pipeline
	AddHook(respool.Hook)
	Close() error
}

var (
	_ respoolCommands = (*respool.Client)(nil)
	_ respoolCommands = (*respool.ClusterClient)(nil)
)

func newRespoolRunner(opt runnerOptions, exclusive bool) *respoolRunner {
	node := respool.Options{Addr: opt.addr, Exclusive: exclusive, PoolSize: opt.poolSize}
	if opt.cluster != nil {
		node.Addr = ""
		return &respoolRunner{client: respool.NewClusterClient(&respool.ClusterOptions{Addrs: opt.cluster, Options: node})}
	}
	c := respool.NewClient(&node)
	return &respoolRunner{client: c, single: c}
}

func (r *respoolRunner) get(ctx context.Context, key string) (string, error) {
	var v string
	var err error
	if r.single != nil {
		v, err = r.single.Get(ctx, key).Result()
	} else {
		v, err = r.client.Get(ctx, key).Result()
	}
	if errors.Is(err, respool.Nil) {
		return "", nil
	}
	return v, err
}

func (r *respoolRunner) set(ctx context.Context, key, value string) (string, error) {
	if r.single != nil {
		return r.single.Set(ctx, key, value, 0).Result()
	}
	return r.client.Set(ctx, key, value, 0).Result()
}

// pipeResults holds the result slices of pipeGets between calls.
var pipeResults sync.Pool

func (r *respoolRunner) pipeGets(ctx context.Context, keys, out []string) error {
	p := r.client.Pipeline()
	// The slice that keeps the pipeline's results is reused from call to
	// call, as a program pipelining in a loop would keep it; redigo's
	// runner needs none (its replies come back in order from Receive).
	held, _ := pipeResults.Get().(*[]*respool.Cmd[string])
	if held == nil {
		held = new([]*respool.Cmd[string])
	}
	defer pipeResults.Put(held)
	if cap(*held) < len(keys) {
		*held = make([]*respool.Cmd[string], len(keys))
	}
	cmds := (*held)[:len(keys)]
	defer clear(cmds)
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

func (r *respoolRunner) close() error {
	err := r.client.Close()
	if r.shutdown != nil {
		r.shutdown()
	}
	return err
}
