package respool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/internal/cluster"
	"github.com/respool/respool/resp"
)

// testFanOut: commands that mean every primary or every node reach all of
// them, and their replies are merged as the command table says.
func (env *clusterEnv) testFanOut(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	keys := spreadKeys(t, 60)
	for _, k := range keys {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var primaries atomic.Int64
	err := c.ForEachPrimary(ctx, func(ctx context.Context, n *Client) error {
		primaries.Add(1)
		size, err := n.DBSize(ctx).Result()
		if size == 0 || size == int64(len(keys)) {
			return fmt.Errorf("primary %s holds %d keys: the keys did not spread", n.Options().Addr, size)
		}
		return err
	})
	if err != nil || primaries.Load() != 3 {
		t.Fatalf("ForEachPrimary: %v (%d primaries)", err, primaries.Load())
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != int64(len(keys)) {
		t.Fatalf("DBSIZE = %d, %v; want the sum over the primaries, %d", n, err, len(keys))
	}
	got, err := c.Keys(ctx, "*").Result()
	slices.Sort(got)
	want := slices.Sorted(slices.Values(keys))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("KEYS * = %d keys, %v; want the %d keys of every primary", len(got), err, len(want))
	}
	if k, err := c.RandomKey(ctx).Result(); err != nil || !slices.Contains(keys, k) {
		t.Fatalf("RANDOMKEY = %q, %v", k, err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	// SCRIPT LOAD goes to every node: EVALSHA then works for keys of
	// every primary.
	sha, err := c.ScriptLoad(ctx, "return redis.call('GET', KEYS[1])").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:12] {
		if v, err := c.EvalSha(ctx, sha, []string{k}).Result(); err != nil || v.Text() != "v" {
			t.Fatalf("EVALSHA for %s: %v %v", k, v, err)
		}
	}
	if ex, err := c.ScriptExists(ctx, sha, "0000000000000000000000000000000000000000").Result(); err != nil || !slices.Equal(ex, []bool{true, false}) {
		t.Fatalf("SCRIPT EXISTS = %v, %v", ex, err)
	}
	var nodes atomic.Int64
	err = c.ForEachNode(ctx, func(ctx context.Context, n *Client) error {
		nodes.Add(1)
		if ex, err := n.ScriptExists(ctx, sha).Result(); err != nil || !ex[0] {
			return fmt.Errorf("node %s lacks the script: %v %v", n.Options().Addr, ex, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if nodes := nodes.Load(); nodes != 6 {
		t.Fatalf("ForEachNode visited %d nodes, want 6", nodes)
	}

	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("DBSIZE after FLUSHALL = %d, %v", n, err)
	}
}

// testRouting: with the slot map loaded, every command goes straight to
// the node that serves its key: no redirection is ever needed.
func (env *clusterEnv) testRouting(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	keys := spreadKeys(t, 300)
	for i, k := range keys {
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range keys {
		if v, err := c.Get(ctx, k).Result(); err != nil || v != strconv.Itoa(i) {
			t.Fatalf("GET %s = %q, %v", k, v, err)
		}
	}
	// Each key is where the cluster says its slot is.
	topo := env.topology(t, env.cl.Addrs()[0])
	for _, k := range keys[:30] {
		owner := env.node(topo.Lookup(cluster.Slot(k)).Primary.Addr)
		if n, err := owner.Exists(ctx, k).Result(); err != nil || n != 1 {
			t.Fatalf("key %s is not on the primary of its slot: %d %v", k, n, err)
		}
	}
	st := c.Stats()
	if st.Moved != 0 || st.Ask != 0 {
		t.Fatalf("stats %+v: commands were sent to the wrong node", st)
	}
	if st.Nodes < 3 {
		t.Fatalf("stats %+v: fewer than 3 node clients", st)
	}
	// Each node's Client shares DefaultClusterMultiplexConns connections,
	// not the 3 of a Client of one server, and never dialled more.
	c.mu.Lock()
	for addr, n := range c.nodes {
		if k, d := len(n.client.mux.conns), n.client.Pool().Stats().SharedDials; k != DefaultClusterMultiplexConns || d > uint64(k) {
			c.mu.Unlock()
			t.Fatalf("node %s: %d shared slots, %d shared dials; want %d slots and no more dials", addr, k, d, DefaultClusterMultiplexConns)
		}
	}
	c.mu.Unlock()
	// Raw commands are routed by the command table too.
	if v, err := c.Do(ctx, "GET", keys[7]); err != nil || v.Text() != "7" {
		t.Fatalf("Do GET: %v %v", v, err)
	}
	if v, err := c.Do(ctx, "OBJECT", "ENCODING", keys[8]); err != nil || v.Text() != "int" {
		t.Fatalf("Do OBJECT ENCODING: %v %v", v, err)
	}
	if c.Stats().Moved != 0 {
		t.Fatal("a raw command was misrouted")
	}
}

// testFamilies runs commands of every family through the cluster client.
func (env *clusterEnv) testFamilies(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	k := func(name string) string { return tagged(t, "f", name) }
	check := func(what string, err error, ok bool) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s: err %v", what, err)
		}
	}
	// Strings, multi-key in one slot.
	check("MSET", c.MSet(ctx, k("a"), "1", k("b"), "2").Err(), true)
	mg, err := c.MGet(ctx, k("a"), k("missing"), k("b")).Result()
	check("MGET", err, len(mg) == 3 && mg[0].Val == "1" && !mg[1].OK && mg[2].Val == "2")
	n, err := c.Incr(ctx, k("a")).Result()
	check("INCR", err, n == 2)
	// Hashes.
	_, err = c.HSet(ctx, k("h"), "f1", "v1", "f2", "v2").Result()
	check("HSET", err, true)
	h, err := c.HGetAll(ctx, k("h")).Result()
	check("HGETALL", err, len(h) == 2 && h["f2"] == "v2")
	// Lists, blocking pops.
	_, err = c.RPush(ctx, k("l"), "x", "y").Result()
	check("RPUSH", err, true)
	lr, err := c.LRange(ctx, k("l"), 0, -1).Result()
	check("LRANGE", err, slices.Equal(lr, []string{"x", "y"}))
	kv, err := c.BLPop(ctx, time.Second, k("empty"), k("l")).Result()
	check("BLPOP", err, kv.Key == k("l") && kv.Value == "x")
	_, err = c.BLPop(ctx, 50*time.Millisecond, k("empty")).Result()
	check("BLPOP timeout", nilIsOK(err), errors.Is(err, Nil))
	mv, err := c.LMove(ctx, k("l"), k("l2"), "LEFT", "RIGHT").Result()
	check("LMOVE", err, mv == "y")
	// Sets.
	_, err = c.SAdd(ctx, k("s1"), "a", "b").Result()
	check("SADD", err, true)
	_, err = c.SAdd(ctx, k("s2"), "b", "c").Result()
	check("SADD", err, true)
	si, err := c.SInter(ctx, k("s1"), k("s2")).Result()
	check("SINTER", err, slices.Equal(si, []string{"b"}))
	su, err := c.SUnionStore(ctx, k("s3"), k("s1"), k("s2")).Result()
	check("SUNIONSTORE", err, su == 3)
	// Sorted sets.
	_, err = c.ZAdd(ctx, k("z1"), Z{Score: 1, Member: "a"}, Z{Score: 2, Member: "b"}).Result()
	check("ZADD", err, true)
	zu, err := c.ZUnionStore(ctx, k("z2"), &ZStore{Keys: []string{k("z1"), k("z1")}}).Result()
	check("ZUNIONSTORE", err, zu == 2)
	zr, err := c.ZRangeWithScores(ctx, k("z2"), 0, -1).Result()
	check("ZRANGE", err, len(zr) == 2 && zr[1].Score == 4)
	// Streams.
	id, err := c.XAdd(ctx, &XAddArgs{Stream: k("x"), Values: []any{"f", "v"}}).Result()
	check("XADD", err, id != "")
	xs, err := c.XRead(ctx, &XReadArgs{Streams: []string{k("x"), "0"}, Block: -1}).Result()
	check("XREAD", err, len(xs) == 1 && len(xs[0].Messages) == 1)
	// Geo, bitmaps, HyperLogLog.
	_, err = c.GeoAdd(ctx, k("g"), &GeoLocation{Name: "p", Longitude: 13.36, Latitude: 38.11},
		&GeoLocation{Name: "q", Longitude: 15.08, Latitude: 37.5}).Result()
	check("GEOADD", err, true)
	d, err := c.GeoDist(ctx, k("g"), "p", "q", "km").Result()
	check("GEODIST", err, d > 100 && d < 200)
	_, err = c.SetBit(ctx, k("bits"), 7, 1).Result()
	check("SETBIT", err, true)
	bc, err := c.BitCount(ctx, k("bits"), nil).Result()
	check("BITCOUNT", err, bc == 1)
	_, err = c.BitOpAnd(ctx, k("bits2"), k("bits"), k("bits")).Result()
	check("BITOP", err, true)
	_, err = c.PFAdd(ctx, k("hll"), "a", "b", "c").Result()
	check("PFADD", err, true)
	pc, err := c.PFCount(ctx, k("hll")).Result()
	check("PFCOUNT", err, pc == 3)
	// Keys.
	ok, err := c.Expire(ctx, k("a"), time.Minute).Result()
	check("EXPIRE", err, ok)
	ttl, err := c.TTL(ctx, k("a")).Result()
	check("TTL", err, ttl > 0)
	check("RENAME", c.Rename(ctx, k("b"), k("b2")).Err(), true)
	cp, err := c.Copy(ctx, k("b2"), k("b3"), false).Result()
	check("COPY", err, cp)
	// Scripts and functions, keyed and keyless.
	v, err := c.Eval(ctx, "return redis.call('INCR', KEYS[1])", []string{k("ev")}).Result()
	n, _ = v.Int()
	check("EVAL", err, n == 1)
	v, err = c.Eval(ctx, "return ARGV[1]", nil, "keyless").Result()
	check("EVAL keyless", err, v.Text() == "keyless")
	scr := NewScript("return redis.call('GET', KEYS[1])")
	v, err = scr.Run(ctx, c, []string{k("ev")}).Result()
	check("Script.Run", err, v.Text() == "1")
	lib := fmt.Sprintf("#!lua name=lib%d\nredis.register_function('echo_key', function(keys, args) return keys[1] end)", time.Now().UnixNano())
	fn := NewFunction(lib)
	v, err = fn.Call(ctx, c, "echo_key", []string{k("fc")}).Result()
	check("FCALL", err, v.Text() == k("fc"))
	// Pub/sub: PUBLISH is keyless, SPUBLISH goes by the channel's slot.
	_, err = c.Publish(ctx, k("chan"), "hello").Result()
	check("PUBLISH", err, true)
	_, err = c.SPublish(ctx, k("chan"), "hello").Result()
	check("SPUBLISH", err, true)
	if c.Stats().Moved != 0 {
		t.Fatalf("stats %+v: a command was misrouted", c.Stats())
	}
}

func nilIsOK(err error) error {
	if errors.Is(err, Nil) {
		return nil
	}
	return err
}

// testCrossSlot: keys of several slots fail before anything is sent.
func (env *clusterEnv) testCrossSlot(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	a, b := tagged(t, "a", "k"), tagged(t, "b", "k")
	if cluster.Slot(a) == cluster.Slot(b) {
		t.Fatal("test keys share a slot")
	}
	for name, cmd := range map[string]Cmder{
		"MSET":    c.MSet(ctx, a, "1", b, "2"),
		"MGET":    c.MGet(ctx, a, b),
		"DEL":     c.Del(ctx, a, b),
		"RENAME":  c.Rename(ctx, a, b),
		"SINTER":  c.SInter(ctx, a, b),
		"EVAL":    c.Eval(ctx, "return 1", []string{a, b}),
		"SUNSTOR": c.SUnionStore(ctx, a, b),
	} {
		err := cmd.Err()
		var cse *CrossSlotError
		if !errors.Is(err, ErrCrossSlot) || !errors.As(err, &cse) || OutcomeOf(err) != OutcomeNotSent {
			t.Errorf("%s across slots: %v, want a *CrossSlotError with OutcomeNotSent", name, err)
		}
	}
	for _, k := range []string{a, b} {
		if n, err := c.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("%s exists after refused commands: %d %v", k, n, err)
		}
	}
	if err := c.Watch(ctx, func(*Tx) error { return nil }, a, b); !errors.Is(err, ErrCrossSlot) {
		t.Fatalf("WATCH across slots: %v", err)
	}
}

// testSplitMultiKey: with SplitMultiKey, the six splittable commands take
// keys of any slots and merge their replies.
func (env *clusterEnv) testSplitMultiKey(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, func(o *ClusterOptions) { o.SplitMultiKey = true })
	keys := spreadKeys(t, 40)
	var pairs []any
	for i, k := range keys {
		pairs = append(pairs, k, "v"+strconv.Itoa(i))
	}
	if err := c.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	query := append(slices.Clone(keys[:20]), tagged(t, "x", "missing"))
	query = append(query, keys[20:]...)
	vals, err := c.MGet(ctx, query...).Result()
	if err != nil || len(vals) != len(query) {
		t.Fatalf("MGET: %d values, %v", len(vals), err)
	}
	for i, q := range query {
		want := ""
		if j := slices.Index(keys, q); j >= 0 {
			want = "v" + strconv.Itoa(j)
		}
		if vals[i].OK != (want != "") || vals[i].Val != want {
			t.Fatalf("MGET value %d (%s) = %+v, want %q", i, q, vals[i], want)
		}
	}
	if n, err := c.Exists(ctx, query...).Result(); err != nil || n != int64(len(keys)) {
		t.Fatalf("EXISTS = %d, %v", n, err)
	}
	if n, err := c.Touch(ctx, keys...).Result(); err != nil || n != int64(len(keys)) {
		t.Fatalf("TOUCH = %d, %v", n, err)
	}
	if n, err := c.Del(ctx, keys[:25]...).Result(); err != nil || n != 25 {
		t.Fatalf("DEL = %d, %v", n, err)
	}
	if n, err := c.Unlink(ctx, keys...).Result(); err != nil || n != int64(len(keys)-25) {
		t.Fatalf("UNLINK = %d, %v", n, err)
	}
	// Other multi-key commands are still refused across slots.
	if err := c.SInter(ctx, keys[0], keys[1], keys[2], keys[3]).Err(); !errors.Is(err, ErrCrossSlot) {
		t.Fatalf("SINTER across slots with SplitMultiKey: %v", err)
	}

	// In a pipeline too: the parts of a split command run in its place
	// among the commands of their nodes, so a SET queued before an MGET
	// is seen by it and a DEL queued after it is not.
	p := c.Pipeline()
	mset := p.MSet(ctx, pairs...)
	set := p.Set(ctx, keys[3], "changed", 0)
	mget := p.MGet(ctx, query...)
	del := p.Del(ctx, keys[:10]...)
	sinter := p.SInter(ctx, keys[0], keys[1], keys[2], keys[3])
	exists := p.Exists(ctx, keys...)
	if err := p.Exec(ctx); !errors.Is(err, ErrCrossSlot) {
		t.Fatalf("pipeline Exec = %v; want the SINTER's cross-slot error", err)
	}
	if mset.Err() != nil || set.Err() != nil {
		t.Fatalf("pipelined MSET, SET: %v, %v", mset.Err(), set.Err())
	}
	pvals, err := mget.Result()
	if err != nil || len(pvals) != len(query) {
		t.Fatalf("pipelined MGET: %d values, %v", len(pvals), err)
	}
	for i, q := range query {
		want := ""
		if j := slices.Index(keys, q); j == 3 {
			want = "changed"
		} else if j >= 0 {
			want = "v" + strconv.Itoa(j)
		}
		if pvals[i].OK != (want != "") || pvals[i].Val != want {
			t.Fatalf("pipelined MGET value %d (%s) = %+v, want %q", i, q, pvals[i], want)
		}
	}
	if n, err := del.Result(); err != nil || n != 10 {
		t.Fatalf("pipelined DEL = %d, %v", n, err)
	}
	if !errors.Is(sinter.Err(), ErrCrossSlot) {
		t.Fatalf("pipelined SINTER across slots: %v", sinter.Err())
	}
	if n, err := exists.Result(); err != nil || n != int64(len(keys)-10) {
		t.Fatalf("pipelined EXISTS = %d, %v; want %d", n, err, len(keys)-10)
	}
}

// testSeeds: unreachable seeds are passed over; with none reachable,
// commands fail with a typed error, fast, without anything sent.
func (env *clusterEnv) testSeeds(t *testing.T) {
	ctx := clusterContext(t)
	dead := deadAddr(t)
	c := env.newClient(t, func(o *ClusterOptions) { o.Addrs = []string{dead, env.cl.Addrs()[2]} })
	if err := c.Set(ctx, tagged(t, "s", "k"), "v", 0).Err(); err != nil {
		t.Fatalf("one live seed is enough: %v", err)
	}
	none := env.newClient(t, func(o *ClusterOptions) { o.Addrs = []string{dead} })
	err := none.Get(ctx, tagged(t, "s", "k")).Err()
	var ce *ConnError
	if !errors.As(err, &ce) || OutcomeOf(err) != OutcomeNotSent || ctx.Err() != nil {
		t.Fatalf("no live seed: %v, want a *ConnError with OutcomeNotSent", err)
	}
}

// testReadOnly: with ReadOnly every read goes to a replica; with
// RouteRandomly and RouteByLatency reads work from any node of the shard.
func (env *clusterEnv) testReadOnly(t *testing.T) {
	ctx := clusterContext(t)
	w := env.newClient(t, nil)
	keys := spreadKeys(t, 30)
	for _, k := range keys {
		if err := w.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	replicaGets := func() int {
		total := 0
		for _, s := range env.cl.Replicas(t) {
			info := s.Info(t, "commandstats")["cmdstat_get"]
			if f, _, ok := cutField(info, "calls="); ok {
				n, _ := strconv.Atoi(f)
				total += n
			}
		}
		return total
	}
	before := replicaGets()
	r := env.newClient(t, func(o *ClusterOptions) { o.ReadOnly = true })
	reads := 0
	for _, k := range keys {
		pollUntil(t, 10*time.Second, "replica sees "+k, func() bool {
			reads++
			v, err := r.Get(ctx, k).Result()
			if err != nil && !errors.Is(err, Nil) {
				t.Fatalf("GET from a replica: %v", err)
			}
			return v == "v"
		})
	}
	if got := replicaGets() - before; got != reads {
		for _, s := range env.cl.Nodes {
			t.Logf("%s %s %s", s.Addr, s.Info(t, "replication")["role"], s.Info(t, "commandstats")["cmdstat_get"])
		}
		t.Logf("stats %+v", r.Stats())
		t.Fatalf("replicas ran %d GETs, want all %d reads of the ReadOnly client", got, reads)
	}
	if err := r.Set(ctx, keys[0], "w", 0).Err(); err != nil {
		t.Fatalf("a write with ReadOnly goes to the primary: %v", err)
	}
	if r.Stats().Moved != 0 {
		t.Fatalf("stats %+v: reads or writes misrouted", r.Stats())
	}
	for _, mod := range []func(*ClusterOptions){
		func(o *ClusterOptions) { o.RouteRandomly = true },
		func(o *ClusterOptions) { o.RouteByLatency = true },
	} {
		rc := env.newClient(t, mod)
		for _, k := range keys[1:] {
			pollUntil(t, 10*time.Second, "a node sees "+k, func() bool {
				v, err := rc.Get(ctx, k).Result()
				if err != nil && !errors.Is(err, Nil) {
					t.Fatalf("GET: %v", err)
				}
				return v == "v"
			})
		}
	}
}

// cutField returns the value of name in "a=1,calls=5,b=2".
func cutField(s, name string) (string, string, bool) {
	for len(s) > 0 {
		var part string
		part, s, _ = cutComma(s)
		if len(part) > len(name) && part[:len(name)] == name {
			return part[len(name):], s, true
		}
	}
	return "", "", false
}

func cutComma(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// testHooks: hooks see each call once, around routing and redirections.
func (env *clusterEnv) testHooks(t *testing.T) {
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	var cmds, pipes atomic.Int64
	c.AddHook(Hook{
		Process: func(next ProcessFunc) ProcessFunc {
			return func(ctx context.Context, cmd Cmder) error {
				cmds.Add(1)
				return next(ctx, cmd)
			}
		},
		ProcessPipeline: func(next ProcessPipelineFunc) ProcessPipelineFunc {
			return func(ctx context.Context, cs []Cmder) error {
				pipes.Add(int64(len(cs)))
				return next(ctx, cs)
			}
		},
	})
	for _, k := range spreadKeys(t, 10) {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Pipelined(ctx, func(p *Pipeline) error {
		for _, k := range spreadKeys(t, 5) {
			p.Get(ctx, k)
		}
		return nil
	})
	if err != nil || cmds.Load() != 10 || pipes.Load() != 5 {
		t.Fatalf("hooks saw %d commands and %d pipelined ones (%v), want 10 and 5", cmds.Load(), pipes.Load(), err)
	}
}

// testClose: Close closes every node's Client and stops the refresh
// goroutine (the package's leak check covers the goroutines).
func (env *clusterEnv) testClose(t *testing.T) {
	ctx := clusterContext(t)
	c := NewClusterClient(&ClusterOptions{Addrs: env.cl.Addrs()})
	for _, k := range spreadKeys(t, 10) {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("GET after Close: %v", err)
	}
	if err := c.Pipeline().Do(ctx, "GET", "k").Err(); err != nil {
		t.Fatalf("queueing never fails: %v", err)
	}
	if st := c.Stats(); st.Nodes != 0 {
		t.Fatalf("stats after Close: %+v", st)
	}
	var v resp.Value
	if v, _ = c.Do(ctx, "PING"); !v.IsNull() && v.Kind() != resp.KindInvalid {
		t.Fatalf("PING after Close answered %v", v)
	}
}
