package respool

import (
	"errors"
	"log/slog"
	"strconv"
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
