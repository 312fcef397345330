package respool

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// testPipeline: a pipeline over every node gives each command its own
// result, in the caller's order.
func (env *clusterEnv) testPipeline(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	keys := spreadKeys(t, 100)
	p := c.Pipeline()
	sets := make([]*Cmd[string], len(keys))
	incrs := make([]*Cmd[int64], len(keys))
	for i, k := range keys {
		sets[i] = p.Set(ctx, k, i, 0)
		incrs[i] = p.Incr(ctx, k)
	}
	wrong := p.LPush(ctx, keys[3], "x") // WRONGTYPE: its own error only
	ping := p.Ping(ctx)
	cross := p.MGet(ctx, tagged(t, "a", "k"), tagged(t, "b", "k"))
	flush := p.FlushAll(ctx)
	gets := make([]*Cmd[string], len(keys))
	for i, k := range keys {
		gets[i] = p.Get(ctx, k)
	}
	err := p.Exec(ctx)
	var se *Error
	if !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("Exec: %v, want the first error, WRONGTYPE", err)
	}
	for i := range keys {
		if sets[i].Err() != nil || incrs[i].Val() != int64(i+1) || gets[i].Val() != strconv.Itoa(i+1) {
			t.Fatalf("command %d: set %v, incr %d %v, get %q %v", i, sets[i].Err(), incrs[i].Val(), incrs[i].Err(), gets[i].Val(), gets[i].Err())
		}
	}
	if !errors.As(wrong.Err(), &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("LPUSH on a string: %v", wrong.Err())
	}
	if ping.Val() != "PONG" {
		t.Fatalf("PING in a pipeline: %q %v", ping.Val(), ping.Err())
	}
	if !errors.Is(cross.Err(), ErrCrossSlot) {
		t.Fatalf("cross-slot MGET in a pipeline: %v", cross.Err())
	}
	if flush.Err() == nil || !strings.Contains(flush.Err().Error(), "every node") {
		t.Fatalf("FLUSHALL in a pipeline: %v, want a refusal", flush.Err())
	}
	if n, err := c.Exists(ctx, keys[0]).Result(); err != nil || n != 1 {
		t.Fatalf("FLUSHALL in a pipeline must not run: %d %v", n, err)
	}
	if c.Stats().Moved != 0 {
		t.Fatalf("stats %+v", c.Stats())
	}
	// Pipelined, and reusing a pipeline after Exec.
	cmds, err := c.Pipelined(ctx, func(p *Pipeline) error {
		for _, k := range keys[:10] {
			p.Del(ctx, k)
		}
		return nil
	})
	if err != nil || len(cmds) != 10 {
		t.Fatalf("Pipelined: %d commands, %v", len(cmds), err)
	}
	for _, cmd := range cmds {
		if cmd.(*Cmd[int64]).Val() != 1 {
			t.Fatalf("DEL in Pipelined: %v", cmd)
		}
	}
}

// testTxPipeline: a transaction runs on the node of its slot; one over
// several slots is refused before anything is sent.
func (env *clusterEnv) testTxPipeline(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	a, b := tagged(t, "t", "a"), tagged(t, "t", "b")
	var incr *Cmd[int64]
	var get *Cmd[string]
	_, err := c.TxPipelined(ctx, func(p *Pipeline) error {
		p.Set(ctx, a, "1", 0)
		incr = p.Incr(ctx, a)
		p.Ping(ctx)
		p.Set(ctx, b, "x", 0)
		get = p.Get(ctx, b)
		return nil
	})
	if err != nil || incr.Val() != 2 || get.Val() != "x" {
		t.Fatalf("transaction: %v, incr %d, get %q", err, incr.Val(), get.Val())
	}
	other := tagged(t, "u", "a")
	cmds, err := c.TxPipelined(ctx, func(p *Pipeline) error {
		p.Set(ctx, a, "9", 0)
		p.Set(ctx, other, "9", 0)
		return nil
	})
	if !errors.Is(err, ErrCrossSlot) || len(cmds) != 2 || !errors.Is(cmds[0].Err(), ErrCrossSlot) {
		t.Fatalf("transaction across slots: %v", err)
	}
	if v, err := c.Get(ctx, a).Result(); err != nil || v != "2" {
		t.Fatalf("GET %s = %q, %v: the refused transaction ran", a, v, err)
	}
}

// testWatch: optimistic transactions on one slot, under contention.
func (env *clusterEnv) testWatch(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, func(o *ClusterOptions) { o.MaxWatchRetries = 1000 })
	key := tagged(t, "w", "counter")
	const workers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				errs <- c.Watch(ctx, func(tx *Tx) error {
					v, err := tx.Get(ctx, key).Result()
					if err != nil && !errors.Is(err, Nil) {
						return err
					}
					n, _ := strconv.Atoi(v)
					_, err = tx.TxPipelined(ctx, func(p *Pipeline) error {
						p.Set(ctx, key, n+1, 0)
						return nil
					})
					return err
				}, key)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %q, %v; want %d", v, err, workers*each)
	}
}

// testScanAll: one iterator over the keys of every primary.
func (env *clusterEnv) testScanAll(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	keys := spreadKeys(t, 120)
	for _, k := range keys {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[string]bool)
	for k, err := range c.ScanAll(ctx, ScanArgs{Match: strings.ReplaceAll(t.Name(), "/", ":") + ":*", Count: 20}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[k] = true
	}
	if len(seen) != len(keys) {
		t.Fatalf("ScanAll found %d keys, want %d", len(seen), len(keys))
	}
	for _, k := range keys {
		if !seen[k] {
			t.Fatalf("ScanAll missed %s", k)
		}
	}
	// Stopping early is fine.
	for range c.ScanAll(ctx, ScanArgs{}) {
		break
	}
	h := tagged(t, "h", "hash")
	for i := range 50 {
		if err := c.HSet(ctx, h, "f"+strconv.Itoa(i), i).Err(); err != nil {
			t.Fatal(err)
		}
	}
	fields := 0
	for _, err := range c.HScanAll(ctx, h, ScanArgs{Count: 7}) {
		if err != nil {
			t.Fatal(err)
		}
		fields++
	}
	if fields != 50 {
		t.Fatalf("HScanAll found %d fields, want 50", fields)
	}
}

// testSSubscribe: a shard channel subscription lives on the primary of
// its slot and receives what SPUBLISH posts there.
func (env *clusterEnv) testSSubscribe(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	channels := []string{tagged(t, "c", "one"), tagged(t, "c", "two")}
	ps := c.SSubscribe(ctx, channels...)
	defer ps.Close()
	owner := env.primaryOf(t, env.cl.Addrs()[0], cluster.Slot(channels[0]))
	v, err := env.node(owner).Do(ctx, "PUBSUB", "SHARDNUMSUB", channels[0])
	if err != nil || !strings.Contains(v.String(), "1") {
		t.Fatalf("PUBSUB SHARDNUMSUB on the slot's primary: %v %v", v, err)
	}
	for i, ch := range channels {
		if n, err := c.SPublish(ctx, ch, "m"+strconv.Itoa(i)).Result(); err != nil || n != 1 {
			t.Fatalf("SPUBLISH: %d %v", n, err)
		}
	}
	var got []string
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for len(got) < 2 {
		m, err := ps.ReceiveMessage(rctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Channel+"="+m.Payload)
	}
	want := []string{channels[0] + "=m0", channels[1] + "=m1"}
	if !slices.Equal(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
}
