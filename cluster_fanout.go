package respool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/respool/respool/internal/cluster"
	"github.com/respool/respool/resp"
)

// runFanOut runs a keyless command on every primary or every node, in
// parallel, and merges the replies by the command's response policy.
func (c *ClusterClient) runFanOut(ctx context.Context, cmd Cmder, rt clusterRoute) error {
	st, err := c.loadState(ctx)
	if err != nil {
		cmd.setErr(err)
		return err
	}
	nodes := st.primaries
	if rt.fanout == fanNodes {
		nodes = st.all
	}
	if rt.reply == replyMerge {
		nodes = append([]*clusterNode(nil), nodes...)
		rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	}
	subs := make([]*Cmd[resp.Value], len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		subs[i] = newCmd(DecodeValue, cmd.Args()...)
		wg.Go(func() { c.runOnNode(ctx, n, subs[i]) })
	}
	wg.Wait()
	v, err := mergeReplies(rt.reply, subs)
	if err != nil {
		cmd.setErr(err)
		return err
	}
	cmd.setReply(v)
	return cmd.Err()
}

// runOnNode runs cmd on node n, waiting out refusals and retrying
// connection failures that are safe to retry, but never elsewhere.
func (c *ClusterClient) runOnNode(ctx context.Context, n *clusterNode, cmd Cmder) {
	budget := clusterBudget{c: c}
	for {
		_ = n.client.runCmd(ctx, cmd)
		err := cmd.Err()
		if err == nil {
			return
		}
		switch failure := classify(err, n.addr); failure.fault {
		case faultBusy:
			if !budget.busy(ctx, failure.prefix) {
				return
			}
		case faultConn:
			c.connFailed(ctx, err)
			if !retryable(err, cmd.Args()) || !budget.retry(ctx) {
				return
			}
		default:
			return
		}
		cmd.reset()
	}
}

// mergeReplies merges the replies of a fanned-out command.
func mergeReplies(policy replyPolicy, subs []*Cmd[resp.Value]) (resp.Value, error) {
	if len(subs) == 0 {
		return resp.Value{}, notSentError("respool: cluster: no node to send the command to")
	}
	if policy == replyOneSucceeded {
		for _, s := range subs {
			if s.Err() == nil {
				return s.val, nil
			}
		}
		return resp.Value{}, subs[0].Err()
	}
	for _, s := range subs {
		if s.Err() != nil {
			return resp.Value{}, s.Err()
		}
	}
	switch policy {
	case replyAllSucceeded:
		return subs[0].val, nil
	case replySum, replyMin, replyMax:
		var acc int64
		for i, s := range subs {
			n, err := s.val.Int()
			if err != nil {
				return resp.Value{}, err
			}
			switch {
			case i == 0:
				acc = n
			case policy == replySum:
				acc += n
			case policy == replyMin:
				acc = min(acc, n)
			default:
				acc = max(acc, n)
			}
		}
		return resp.Integer(acc), nil
	case replyAnd, replyOr:
		var acc []resp.Value
		for i, s := range subs {
			elems, err := s.val.Elems()
			if err != nil {
				return resp.Value{}, err
			}
			if i == 0 {
				acc = append([]resp.Value(nil), elems...)
				continue
			}
			if len(elems) != len(acc) {
				return resp.Value{}, fmt.Errorf("respool: cluster: nodes replied with %d and %d elements", len(acc), len(elems))
			}
			for j := range acc {
				a, _ := acc[j].Int()
				b, _ := elems[j].Int()
				if (policy == replyAnd && a != 0 && b != 0) || (policy == replyOr && (a != 0 || b != 0)) {
					acc[j] = resp.Integer(1)
				} else {
					acc[j] = resp.Integer(0)
				}
			}
		}
		return resp.Array(acc...), nil
	}
	// No policy: arrays are concatenated (KEYS, SLOWLOG GET), other
	// replies give the first that is not null (RANDOMKEY).
	var all []resp.Value
	arrays := true
	for _, s := range subs {
		elems, err := s.val.Elems()
		if err != nil || s.val.Kind() == resp.KindMap {
			arrays = false
			break
		}
		all = append(all, elems...)
	}
	if arrays {
		return resp.Array(all...), nil
	}
	for _, s := range subs {
		if !s.val.IsNull() {
			return s.val, nil
		}
	}
	return subs[0].val, nil
}

// runSplit runs a multi-key command whose keys hash to several slots as
// one command per slot (ClusterOptions.SplitMultiKey), and merges the
// replies: MGET's values back in the order of its keys, the counts of
// DEL, EXISTS, UNLINK and TOUCH added up, MSET's OK when every part
// succeeded.
func (c *ClusterClient) runSplit(ctx context.Context, cmd Cmder, rt clusterRoute) error {
	sp := newSplitCmd(cmd, rt)
	c.runBatch(ctx, sp.batch)
	return sp.finish()
}

// splitCmd is a multi-key command cut into one command per slot.
type splitCmd struct {
	cmd    Cmder
	name   string
	nkeys  int
	groups []cluster.Group
	subs   []*Cmd[resp.Value]
	batch  []Cmder // subs, as Cmders
}

func newSplitCmd(cmd Cmder, rt clusterRoute) *splitCmd {
	argv := cmd.Args()
	keys := make([]string, len(rt.keys))
	for i, p := range rt.keys {
		keys[i] = argText(argv[p])
	}
	sp := &splitCmd{cmd: cmd, name: rt.name, nkeys: len(keys), groups: cluster.GroupBySlot(keys)}
	sp.subs = make([]*Cmd[resp.Value], len(sp.groups))
	sp.batch = make([]Cmder, len(sp.groups))
	for i, g := range sp.groups {
		n := 1 + len(g.Indexes)
		if rt.name == "mset" {
			n += len(g.Indexes) // each key's value
		}
		sub := append(make([]any, 0, n), argv[0])
		for _, k := range g.Indexes {
			p := rt.keys[k]
			sub = append(sub, argv[p])
			if rt.name == "mset" && p+1 < len(argv) {
				sub = append(sub, argv[p+1])
			}
		}
		sp.subs[i] = newCmdArgv(DecodeValue, sub)
		sp.batch[i] = sp.subs[i]
	}
	return sp
}

// finish gives the command the merged replies of its parts, once they ran.
func (sp *splitCmd) finish() error {
	v, err := mergeSplit(sp.name, sp.nkeys, sp.groups, sp.subs)
	if err != nil {
		sp.cmd.setErr(err)
		return err
	}
	sp.cmd.setReply(v)
	return sp.cmd.Err()
}

func mergeSplit(name string, nkeys int, groups []cluster.Group, subs []*Cmd[resp.Value]) (resp.Value, error) {
	failed := 0
	var firstErr error
	for _, s := range subs {
		if s.Err() != nil {
			failed++
			if firstErr == nil {
				firstErr = s.Err()
			}
		}
	}
	if firstErr != nil {
		if failed < len(subs) && name == "mset" {
			return resp.Value{}, fmt.Errorf("respool: cluster: mset split by slot failed on %d of %d slots (the others were set): %w",
				failed, len(subs), firstErr)
		}
		return resp.Value{}, firstErr
	}
	switch name {
	case "mget":
		vals := make([]resp.Value, nkeys)
		for i, g := range groups {
			elems, err := subs[i].val.Elems()
			if err != nil {
				return resp.Value{}, err
			}
			if len(elems) != len(g.Indexes) {
				return resp.Value{}, fmt.Errorf("respool: cluster: mget part replied %d values for %d keys", len(elems), len(g.Indexes))
			}
			for j, k := range g.Indexes {
				vals[k] = elems[j]
			}
		}
		return resp.Array(vals...), nil
	case "mset":
		return subs[0].val, nil
	}
	var sum int64
	for _, s := range subs {
		n, err := s.val.Int()
		if err != nil {
			return resp.Value{}, err
		}
		sum += n
	}
	return resp.Integer(sum), nil
}
