package respool

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// testLogging checks the ClusterClient's log events: the first slot map,
// a changed one, and a storm of MOVED redirections logged as one line,
// the rest added up into the next.
func (env *clusterEnv) testLogging(t *testing.T) {
	ctx := clusterContext(t)
	rec := new(logRecorder)
	c := env.newClient(t, func(o *ClusterOptions) {
		o.Logger = slog.New(rec)
		o.RefreshInterval = -1
		o.MinRefreshInterval = time.Hour // no reload but the first, unless the test asks
	})
	pollUntil(t, 10*time.Second, "the first slot map loaded", func() bool { return c.refreshGen.Load() == 1 })
	loaded := rec.once(t, slog.LevelInfo, "respool: cluster slot map loaded")
	wantAttrs(t, loaded, map[string]string{"shards": "3", "nodes": "6"})

	// A map in which every shard serves the slots of the next one: every
	// command is redirected by MOVED.
	actual := c.state.Load().topo
	shards := make([]cluster.Shard, len(actual.Shards))
	for i := range shards {
		shards[i] = actual.Shards[i]
		shards[i].Ranges = actual.Shards[(i+1)%len(shards)].Ranges
	}
	wrong, err := cluster.NewTopology(shards)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.install(wrong); err != nil {
		t.Fatal(err)
	}
	changed := rec.once(t, slog.LevelInfo, "respool: cluster slot map changed")
	wantAttrs(t, changed, map[string]string{"shards": "3", "nodes": "6", "slots_moved": strconv.Itoa(cluster.NumSlots), "added": "[]", "removed": "[]"})

	const n = 50
	before := c.Stats()
	for _, k := range spreadKeys(t, n) {
		if err := c.Get(ctx, k).Err(); err != nil && !errors.Is(err, Nil) {
			t.Fatalf("GET %s: %v", k, err)
		}
	}
	if moved := c.Stats().Moved - before.Moved; moved != n {
		t.Fatalf("%d MOVED followed, want %d", moved, n)
	}
	first := rec.once(t, slog.LevelInfo, "respool: cluster redirections")
	wantAttrs(t, first, map[string]string{"moved": "1", "ask": "0", "last": "*"})
	c.flushRedirects(true)
	lines := rec.events("respool: cluster redirections")
	if len(lines) != 2 {
		t.Fatalf("%d lines about redirections after the flush, want 2:%s", len(lines), rec.all())
	}
	wantAttrs(t, lines[1], map[string]string{"moved": strconv.Itoa(n - 1), "ask": "0", "over": "*"})

	// The real map again.
	if _, err := c.refresh(ctx, "", false); err != nil {
		t.Fatal(err)
	}
	if evs := rec.events("respool: cluster slot map changed"); len(evs) != 2 || evs[1].attrs["slots_moved"] != strconv.Itoa(cluster.NumSlots) {
		t.Fatalf("after the real map came back:%s", rec.all())
	}
	if err := c.Get(ctx, spreadKeys(t, 1)[0]).Err(); err != nil && !errors.Is(err, Nil) {
		t.Fatal(err)
	}
	if len(rec.events("respool: cluster redirections")) != 2 || c.Stats().Moved-before.Moved != n {
		t.Fatalf("a command was redirected with the real map:%s", rec.all())
	}
}

// testRotateCredentials changes the password of an ACL user on every node
// while a ClusterClient and its sharded PubSub use it: after
// RotateCredentials every node connection that carried a command
// authenticated again, no command failed and no connection was dialled.
func (env *clusterEnv) testRotateCredentials(t *testing.T) {
	ctx := clusterContext(t)
	user := "rotor-" + strconv.Itoa(int(time.Now().UnixNano()%1e6))
	acl := func(args ...any) {
		t.Helper()
		for _, addr := range env.cl.Addrs() {
			if _, err := env.node(addr).Do(ctx, append([]any{"ACL", "SETUSER", user}, args...)...); err != nil {
				t.Fatalf("ACL SETUSER at %s: %v", addr, err)
			}
		}
	}
	acl("on", ">old", "~*", "&*", "+@all")
	t.Cleanup(func() {
		for _, addr := range env.cl.Addrs() {
			_, _ = env.node(addr).Do(context.Background(), "ACL", "DELUSER", user)
		}
	})
	var password atomic.Pointer[string]
	old := "old"
	password.Store(&old)
	c := env.newClient(t, func(o *ClusterOptions) {
		o.CredentialsProvider = func(context.Context) (Credentials, error) {
			return Credentials{Username: user, Password: *password.Load()}, nil
		}
	})
	keys := spreadKeys(t, 30)
	run := func() {
		t.Helper()
		for _, k := range keys {
			if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatalf("SET %s: %v", k, err)
			}
		}
	}
	run()
	ps := c.SSubscribe(ctx, tagged(t, "r", "news"))
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	dials := func() (n uint64) {
		_ = c.ForEachNode(ctx, func(_ context.Context, node *Client) error {
			atomic.AddUint64(&n, node.Pool().Stats().Dials)
			return nil
		})
		return n
	}
	before := dials()

	acl(">new")
	fresh := "new"
	password.Store(&fresh)
	if err := c.RotateCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	acl("<old")
	run()
	var reauths, reauthErrors atomic.Uint64
	_ = c.ForEachPrimary(ctx, func(_ context.Context, node *Client) error {
		s := node.Pool().Stats()
		if s.Reauths == 0 {
			t.Errorf("node %s: no connection authenticated again", node.Options().Addr)
		}
		reauths.Add(s.Reauths)
		reauthErrors.Add(s.ReauthErrors)
		return nil
	})
	if reauthErrors.Load() != 0 {
		t.Fatalf("%d re-authentications failed", reauthErrors.Load())
	}
	if after := dials(); after != before {
		t.Fatalf("%d dials after the rotation: a connection was replaced", after-before)
	}
	// The sharded PubSub authenticates at its next read.
	if err := c.SPublish(ctx, tagged(t, "r", "news"), "hello").Err(); err != nil {
		t.Fatal(err)
	}
	if m, err := ps.ReceiveMessage(ctx); err != nil || m.Payload != "hello" || m.Gap != nil {
		t.Fatalf("the sharded PubSub after the rotation: %v %v", m, err)
	}
	// It sent AUTH before the read that the message ended; the PING's
	// reply comes after AUTH's.
	if err := ps.Ping(ctx); err != nil {
		t.Fatalf("PING on the sharded PubSub: %v", err)
	}
	if n := c.cfg.retry.creds.reauths.Load(); n != 1 {
		t.Fatalf("the sharded PubSub authenticated again %d times, want 1", n)
	}
}
