package respool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// tokenLog records what became of every token written: acknowledged,
// refused (the server answered with an error: not written), or unknown
// (the connection failed: written or not).
type tokenLog struct {
	acked atomic.Int64

	mu      sync.Mutex // guards the fields below
	keyOf   map[string]string
	status  map[string]Outcome // OutcomeNone for acknowledged
	errs    []error
	lastErr map[int]time.Time // per writer, the time of its last error
}

func newTokenLog() *tokenLog {
	return &tokenLog{keyOf: make(map[string]string), status: make(map[string]Outcome), lastErr: make(map[int]time.Time)}
}

func (l *tokenLog) record(writer int, key, token string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keyOf[token] = key
	l.status[token] = OutcomeOf(err)
	if err != nil {
		l.errs = append(l.errs, err)
		l.lastErr[writer] = time.Now()
		return
	}
	l.acked.Add(1)
}

func (l *tokenLog) errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// waitAcked waits until n more tokens than now have been acknowledged.
func (l *tokenLog) waitAcked(t testing.TB, n int64, what string) {
	t.Helper()
	target := l.acked.Load() + n
	pollUntil(t, 20*time.Second, what, func() bool { return l.acked.Load() >= target })
}

// verify reads every list the tokens went to and checks that each
// acknowledged token is there exactly once, each refused token is not
// there, no token is there twice, and nothing else is there.
func (l *tokenLog) verify(t testing.TB, ctx context.Context, c *ClusterClient) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	lists := make(map[string]bool)
	for _, k := range l.keyOf {
		lists[k] = true
	}
	count := make(map[string]int)
	for k := range lists {
		items, err := c.LRange(ctx, k, 0, -1).Result()
		if err != nil {
			t.Fatalf("LRANGE %s: %v", k, err)
		}
		for _, tok := range items {
			count[tok]++
			if l.keyOf[tok] != k {
				t.Errorf("token %q found in %s, written to %q", tok, k, l.keyOf[tok])
			}
		}
	}
	lost, dup, refusedThere, unknown := 0, 0, 0, 0
	for tok, st := range l.status {
		switch n := count[tok]; {
		case n > 1:
			dup++
		case st == OutcomeNone && n == 0:
			lost++
		case (st == OutcomeRejected || st == OutcomeNotSent) && n != 0:
			refusedThere++
		case st == OutcomeUnknown:
			unknown++
		}
	}
	t.Logf("%d tokens: %d acknowledged, %d errors (%d of unknown outcome)", len(l.status), l.acked.Load(), len(l.errs), unknown)
	if lost != 0 || dup != 0 || refusedThere != 0 {
		t.Fatalf("%d acknowledged tokens lost, %d tokens duplicated, %d refused tokens written", lost, dup, refusedThere)
	}
}

// runWriters starts n goroutines calling write(writer, i) for i = 0, 1...
// until stop is closed; the returned function closes stop and waits.
func runWriters(n int, write func(w, i int)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				write(w, i)
			}
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// shardChannels returns one shard channel of the test per primary's slot
// range, each with a PubSub of c subscribed to it.
func shardChannels(t testing.TB, ctx context.Context, env *clusterEnv, c *ClusterClient) map[string]*PubSub {
	t.Helper()
	topo := env.topology(t, env.cl.Primaries(t)[0].Addr)
	subs := make(map[string]*PubSub)
	seen := make(map[*cluster.Shard]bool)
	for i := 0; len(seen) < len(topo.Shards); i++ {
		ch := tagged(t, "ch"+strconv.Itoa(i), "news")
		if sh := topo.Lookup(cluster.Slot(ch)); !seen[sh] {
			seen[sh] = true
			ps := c.SSubscribe(ctx, ch)
			t.Cleanup(func() { _ = ps.Close() })
			subs[ch] = ps
		}
	}
	return subs
}

// checkShardChannels checks that each subscription receives what is
// published on its channel now, publishing again until it does (a
// subscription that has just moved to a new node may miss the first).
func checkShardChannels(t testing.TB, ctx context.Context, c *ClusterClient, subs map[string]*PubSub) {
	t.Helper()
	for ch, ps := range subs {
		payload := "probe:" + ch
		got := false
		for attempt := 0; attempt < 30 && !got; attempt++ {
			if err := c.SPublish(ctx, ch, payload).Err(); err != nil {
				t.Logf("SPUBLISH %s: %v", ch, err)
			}
			rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			for {
				m, err := ps.ReceiveMessage(rctx)
				if err != nil {
					break
				}
				if m.Gap == nil && m.Payload == payload {
					got = true
					break
				}
			}
			cancel()
		}
		if !got {
			t.Errorf("the subscription to %s receives nothing any more", ch)
		}
	}
}

// testManualFailover: CLUSTER FAILOVER on each replica in turn while 16
// writers push unique tokens to lists in every slot range. No
// acknowledged token is lost, none is written twice, and no error reaches
// the writers: the MOVED replies of the demoted primaries are followed.
func (env *clusterEnv) testManualFailover(t *testing.T) {
	env.cl.WaitHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := env.newClient(t, nil)
	lists := spreadKeys(t, 48)
	subs := shardChannels(t, ctx, env, c)
	checkShardChannels(t, ctx, c, subs)
	log := newTokenLog()
	stop := runWriters(16, func(w, i int) {
		key := lists[(w*5+i)%len(lists)]
		tok := fmt.Sprintf("%d-%d", w, i)
		log.record(w, key, tok, c.RPush(ctx, key, tok).Err())
	})
	defer stop()
	log.waitAcked(t, 500, "writers warm up")
	for _, replica := range env.cl.Replicas(t) {
		if out := replica.CLI(t, "CLUSTER", "FAILOVER"); out != "OK" {
			t.Fatalf("CLUSTER FAILOVER on %s: %s", replica.Addr, out)
		}
		pollUntil(t, 20*time.Second, replica.Addr+" promoted", func() bool {
			return replica.Info(t, "replication")["role"] == "master"
		})
		log.waitAcked(t, 300, "writes after the failover of "+replica.Addr)
	}
	env.cl.WaitHealthy(t)
	log.waitAcked(t, 300, "writes after the failovers")
	stop()
	for _, err := range log.errors() {
		t.Errorf("error reached a writer: %v", err)
	}
	log.verify(t, ctx, c)
	st := c.Stats()
	t.Logf("stats %+v", st)
	if st.Moved == 0 {
		t.Fatalf("stats %+v: no MOVED followed across three failovers", st)
	}
	// The demoted primaries keep the subscribers' connections open and
	// end their shard subscriptions themselves (an unsolicited
	// SUNSUBSCRIBE): the PubSubs must subscribe again on the new primaries.
	checkShardChannels(t, ctx, c, subs)
}

// testKillPrimary: kill -9 of a primary under load. Until its replica is
// promoted, calls for its slots fail fast with typed errors; once the
// cluster has healed they succeed again; the slot map is reloaded at most
// once per MinRefreshInterval meanwhile.
func (env *clusterEnv) testKillPrimary(t *testing.T) {
	env.cl.WaitHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := env.newClient(t, nil)
	from := env.cl.Primaries(t)[0]
	topo := env.topology(t, from.Addr)
	victimShard := topo.Lookup(0)
	victim := env.server(t, victimShard.Primary.Addr)
	heir := env.server(t, victimShard.Replicas[0].Addr)
	var keys []string
	for _, k := range spreadKeys(t, 200) {
		if topo.Lookup(cluster.Slot(k)) == victimShard {
			keys = append(keys, k)
		}
	}
	if len(keys) < 8 {
		t.Fatalf("only %d keys on the victim's shard", len(keys))
	}
	subs := shardChannels(t, ctx, env, c)
	checkShardChannels(t, ctx, c, subs)

	log := newTokenLog()
	var slowest atomic.Int64
	stop := runWriters(8, func(w, i int) {
		key := keys[(w+i)%len(keys)]
		tok := fmt.Sprintf("%d-%d", w, i)
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		err := c.RPush(cctx, key, tok).Err()
		ccancel()
		if d := int64(time.Since(start)); d > slowest.Load() {
			slowest.Store(d)
		}
		log.record(w, key, tok, err)
	})
	defer stop()
	log.waitAcked(t, 200, "writers warm up")
	before := c.Stats()
	killedAt := time.Now()
	victim.Kill(t)
	pollUntil(t, 30*time.Second, heir.Addr+" promoted", func() bool {
		return heir.Info(t, "replication")["role"] == "master"
	})
	promotedAt := time.Now()
	failedBefore := len(log.errors())
	var recovered time.Time
	ackedAtPromotion := log.acked.Load()
	pollUntil(t, 20*time.Second, "a write acknowledged after the promotion", func() bool {
		if log.acked.Load() > ackedAtPromotion {
			recovered = time.Now()
			return true
		}
		return false
	})
	env.cl.WaitHealthy(t)
	healedAt := time.Now()
	log.waitAcked(t, 300, "writes after the cluster healed")
	stop()
	after := c.Stats()

	errs := log.errors()
	if failedBefore == 0 {
		t.Fatal("no write failed while the primary was down")
	}
	for _, err := range errs {
		var ce *ConnError
		var se *Error
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			t.Errorf("a call ran into its deadline instead of failing fast: %v", err)
		case errors.As(err, &ce):
		case errors.As(err, &se) && (se.Prefix() == "CLUSTERDOWN" || se.Prefix() == "TRYAGAIN"):
		default:
			t.Errorf("untyped error: %T %v", err, err)
		}
	}
	log.mu.Lock()
	for w, at := range log.lastErr {
		if at.After(healedAt) {
			t.Errorf("writer %d failed after the cluster healed", w)
		}
	}
	log.mu.Unlock()
	// No refresh storm: reloads are at least MinRefreshInterval apart,
	// plus the periodic ones and the ones that find no map at all.
	elapsed := time.Since(killedAt)
	refreshes := after.Refreshes - before.Refreshes
	limit := uint64(elapsed/DefaultClusterMinRefresh) + 2
	t.Logf("promotion %v after the kill; first write acknowledged %v after the promotion; %d errors; slowest call %v; %d reloads in %v; stats %+v",
		promotedAt.Sub(killedAt).Round(time.Millisecond), recovered.Sub(promotedAt).Round(time.Millisecond),
		len(errs), time.Duration(slowest.Load()).Round(time.Millisecond), refreshes, elapsed.Round(time.Millisecond), after)
	if refreshes > limit {
		t.Fatalf("%d reloads of the slot map in %v: more than one per MinRefreshInterval", refreshes, elapsed)
	}
	log.verifyNoDuplicates(t, ctx, c)
	checkShardChannels(t, ctx, c, subs)
}

// verifyNoDuplicates is verify for a test where acknowledged writes may be
// lost (a primary killed before replicating them): no token twice.
func (l *tokenLog) verifyNoDuplicates(t testing.TB, ctx context.Context, c *ClusterClient) {
	t.Helper()
	l.mu.Lock()
	lists := make(map[string]bool)
	for _, k := range l.keyOf {
		lists[k] = true
	}
	l.mu.Unlock()
	seen := make(map[string]bool)
	for k := range lists {
		items, err := c.LRange(ctx, k, 0, -1).Result()
		if err != nil {
			t.Fatalf("LRANGE %s: %v", k, err)
		}
		for _, tok := range items {
			if seen[tok] {
				t.Fatalf("token %q written twice", tok)
			}
			seen[tok] = true
		}
	}
}

// testResharding moves a busy slot to another primary while writers use
// it: single-key writes (to existing and to new keys), transactions over
// two keys of the slot, and pipelines. ASK and then MOVED are followed;
// no token is lost or written twice; pipelines' results stay in order.
func (env *clusterEnv) testResharding(t *testing.T) {
	env.cl.WaitHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := env.newClient(t, nil)
	tag := strings.ReplaceAll(t.Name(), "/", ":")
	key := func(name string) string { return "{" + tag + "}:" + name }
	slot := cluster.Slot(key(""))
	first := env.cl.Addrs()[0]
	src := env.primaryOf(t, first, slot)
	var dst string
	for _, p := range env.cl.Primaries(t) {
		if p.Addr != src {
			dst = p.Addr
			break
		}
	}
	srcID, dstID := env.nodeID(t, src), env.nodeID(t, dst)
	srcNode, dstNode := env.node(src), env.node(dst)

	lists := make([]string, 32)
	for i := range lists {
		lists[i] = key("list:" + strconv.Itoa(i))
	}
	log := newTokenLog()
	var wmu sync.Mutex
	var pipeFailures []string
	stopSingle := runWriters(8, func(w, i int) {
		k := lists[(w*3+i)%len(lists)]
		if i%4 == 0 {
			k = key(fmt.Sprintf("new:%d:%d", w, i/40)) // created during the migration
		}
		tok := fmt.Sprintf("s%d-%d", w, i)
		log.record(w, k, tok, c.RPush(ctx, k, tok).Err())
	})
	defer stopSingle()
	stopTx := runWriters(2, func(w, i int) {
		a, b := key("tx:a"), key("tx:b")
		tok := fmt.Sprintf("t%d-%d", w, i)
		var pa, pb *Cmd[int64]
		_, err := c.TxPipelined(ctx, func(p *Pipeline) error {
			pa = p.RPush(ctx, a, tok)
			pb = p.RPush(ctx, b, tok)
			return nil
		})
		if err == nil && (pa.Err() != nil || pb.Err() != nil) {
			err = errors.Join(pa.Err(), pb.Err())
		}
		log.record(100+w, a, tok, err)
	})
	defer stopTx()
	stopPipe := runWriters(2, func(w, i int) {
		k := key("pipe:" + strconv.Itoa(w))
		p := c.Pipeline()
		cmds := make([]*Cmd[int64], 10)
		toks := make([]string, 10)
		for j := range cmds {
			toks[j] = fmt.Sprintf("p%d-%d-%d", w, i, j)
			cmds[j] = p.RPush(ctx, k, toks[j])
			p.Get(ctx, "elsewhere:"+strconv.Itoa(j)) // other slots in the same pipeline
		}
		err := p.Exec(ctx)
		for j, cmd := range cmds {
			log.record(200+w, k, toks[j], cmd.Err())
			if err == nil && cmd.Val() != cmds[0].Val()+int64(j) {
				wmu.Lock()
				pipeFailures = append(pipeFailures, fmt.Sprintf("reply %d is %d after %d", j, cmd.Val(), cmds[0].Val()))
				wmu.Unlock()
			}
		}
	})
	defer stopPipe()
	log.waitAcked(t, 500, "writers warm up")

	admin := func(n *Client, args ...any) []string {
		t.Helper()
		v, err := n.Do(ctx, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if elems, err := v.Elems(); err == nil {
			out := make([]string, len(elems))
			for i, e := range elems {
				out[i] = e.Text()
			}
			return out
		}
		return []string{v.Text()}
	}
	admin(dstNode, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID)
	admin(srcNode, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID)
	host, port, _ := net.SplitHostPort(dst)
	batches := 0
	for {
		keys := admin(srcNode, "CLUSTER", "GETKEYSINSLOT", slot, 4)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		admin(srcNode, args...)
		batches++
		log.waitAcked(t, 40, "writes between two MIGRATE batches")
	}
	for _, n := range []string{dst, src} {
		admin(env.node(n), "CLUSTER", "SETSLOT", slot, "NODE", dstID)
	}
	for _, p := range env.cl.Primaries(t) {
		if p.Addr != src && p.Addr != dst {
			admin(env.node(p.Addr), "CLUSTER", "SETSLOT", slot, "NODE", dstID)
		}
	}
	log.waitAcked(t, 500, "writes after the slot moved")
	stopSingle()
	stopTx()
	stopPipe()

	st := c.Stats()
	t.Logf("%d MIGRATE batches; stats %+v", batches, st)
	if st.Ask == 0 || st.Moved == 0 {
		t.Fatalf("stats %+v: want ASK and MOVED followed", st)
	}
	for _, f := range pipeFailures {
		t.Error("pipeline out of order: " + f)
	}
	for _, err := range log.errors() {
		var se *Error
		if !errors.As(err, &se) || se.Prefix() != "TRYAGAIN" {
			t.Errorf("error reached a writer: %v", err)
		}
	}
	log.verify(t, ctx, c)
	// Both lists of the transactions hold the same tokens, in order.
	a, err := c.LRange(ctx, key("tx:a"), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.LRange(ctx, key("tx:b"), 0, -1).Result()
	if err != nil || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("transaction lists differ: %d and %d tokens, %v", len(a), len(b), err)
	}
	if got := env.primaryOf(t, dst, slot); got != dst {
		t.Fatalf("slot %d is served by %s, want %s", slot, got, dst)
	}
	env.cl.WaitHealthy(t)
}

// testMigration walks one slot through a migration step by step, with no
// other traffic, and checks each redirection: TRYAGAIN for a multi-key
// command whose keys are split between the two nodes (waited out, then
// returned once the budget is spent), ASK once every key has moved, and
// MOVED once the slot is assigned to the new node.
func (env *clusterEnv) testMigration(t *testing.T) {
	env.cl.WaitHealthy(t)
	ctx := clusterContext(t)
	c := env.newClient(t, nil)
	a, b := tagged(t, "m", "a"), tagged(t, "m", "b")
	slot := cluster.Slot(a)
	if err := c.MSet(ctx, a, "1", b, "2").Err(); err != nil {
		t.Fatal(err)
	}
	first := env.cl.Addrs()[0]
	src := env.primaryOf(t, first, slot)
	var dst string
	for _, p := range env.cl.Primaries(t) {
		if p.Addr != src {
			dst = p.Addr
			break
		}
	}
	srcID, dstID := env.nodeID(t, src), env.nodeID(t, dst)
	admin := func(addr string, args ...any) {
		t.Helper()
		if _, err := env.node(addr).Do(ctx, args...); err != nil {
			t.Fatalf("%v at %s: %v", args, addr, err)
		}
	}
	host, port, _ := net.SplitHostPort(dst)
	admin(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID)
	admin(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID)
	admin(src, "MIGRATE", host, port, "", 0, 5000, "KEYS", a)

	// a on dst, b on src: a multi-key command cannot run anywhere yet.
	before := c.Stats()
	_, err := c.MGet(ctx, a, b).Result()
	var se *Error
	if !errors.As(err, &se) || se.Prefix() != "TRYAGAIN" || OutcomeOf(err) != OutcomeRejected {
		t.Fatalf("MGET of keys split by a migration: %v, want TRYAGAIN after the redirect budget", err)
	}
	if busy := c.Stats().Busy - before.Busy; busy != DefaultMaxRedirects+1 {
		t.Fatalf("%d TRYAGAIN replies seen, want %d (the budget, then the last one)", busy, DefaultMaxRedirects+1)
	}
	// Single keys are found where they are: b on src, a on dst by ASK.
	if v, err := c.Get(ctx, b).Result(); err != nil || v != "2" {
		t.Fatalf("GET of a key not migrated yet: %q %v", v, err)
	}
	before = c.Stats()
	if v, err := c.Get(ctx, a).Result(); err != nil || v != "1" {
		t.Fatalf("GET of a migrated key: %q %v", v, err)
	}
	if ask := c.Stats().Ask - before.Ask; ask != 1 {
		t.Fatalf("GET of a migrated key followed %d ASK, want 1", ask)
	}
	// Once every key has moved, the multi-key command follows ASK too,
	// and so does a transaction and a pipeline.
	admin(src, "MIGRATE", host, port, "", 0, 5000, "KEYS", b)
	if vals, err := c.MGet(ctx, a, b).Result(); err != nil || vals[0].Val != "1" || vals[1].Val != "2" {
		t.Fatalf("MGET after the keys moved: %v %v", vals, err)
	}
	var ga, gb *Cmd[string]
	if _, err := c.TxPipelined(ctx, func(p *Pipeline) error {
		ga, gb = p.Get(ctx, a), p.Get(ctx, b)
		return nil
	}); err != nil || ga.Val() != "1" || gb.Val() != "2" {
		t.Fatalf("transaction after the keys moved: %v", err)
	}
	cmds, err := c.Pipelined(ctx, func(p *Pipeline) error {
		p.Incr(ctx, a)
		p.Get(ctx, "elsewhere")
		p.Incr(ctx, a)
		return nil
	})
	if err != nil && !errors.Is(err, Nil) || cmds[0].(*Cmd[int64]).Val() != 2 || cmds[2].(*Cmd[int64]).Val() != 3 {
		t.Fatalf("pipeline after the keys moved: %v %v", cmds, err)
	}
	// The slot changes hands: the next command is MOVED.
	for _, addr := range []string{dst, src} {
		admin(addr, "CLUSTER", "SETSLOT", slot, "NODE", dstID)
	}
	for _, p := range env.cl.Primaries(t) {
		if p.Addr != src && p.Addr != dst {
			admin(p.Addr, "CLUSTER", "SETSLOT", slot, "NODE", dstID)
		}
	}
	before = c.Stats()
	if v, err := c.Get(ctx, b).Result(); err != nil || v != "2" {
		t.Fatalf("GET after the slot moved: %q %v", v, err)
	}
	if moved := c.Stats().Moved - before.Moved; moved != 1 {
		t.Fatalf("GET after the slot moved followed %d MOVED, want 1", moved)
	}
	// The reload the MOVED asked for leads the next commands straight
	// to the new node.
	pollUntil(t, 10*time.Second, "the slot map reloaded", func() bool {
		st := c.state.Load()
		return st != nil && st.shardOf(slot).primary.addr == dst
	})
	before = c.Stats()
	if v, err := c.Get(ctx, a).Result(); err != nil || v != "3" || c.Stats().Moved != before.Moved {
		t.Fatalf("GET with the new map: %q %v, stats %+v", v, err, c.Stats())
	}
	env.cl.WaitHealthy(t)
}
