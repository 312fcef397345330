package respool

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/respool/respool/internal/cluster"
)

// errFanOutInPipeline is the error of a command meaning "every node"
// (FLUSHALL, SCRIPT LOAD...) queued in a cluster pipeline.
func errFanOutInPipeline(name string) error {
	return notSentError(fmt.Sprintf("respool: cluster: %s runs on every node and cannot be pipelined: call it on the ClusterClient", name))
}

// notSentError is the error of a command refused before it was sent.
type notSentError string

func (e notSentError) Error() string { return string(e) }

// Outcome is OutcomeNotSent.
func (e notSentError) Outcome() Outcome { return OutcomeNotSent }

// Pipeline returns an empty pipeline for the cluster. Exec sends each
// node its commands as one pipeline, all nodes in parallel, follows the
// redirections of each command, and leaves every result in its *Cmd, in
// the order the commands were queued. Commands for the same node run in
// the order queued; commands for different nodes run concurrently.
// Keyless commands run on one random primary; commands meaning every
// node (FLUSHALL, SCRIPT LOAD...) fail without being sent. A command whose
// keys span slots fails without being sent too, unless SplitMultiKey lets
// it be cut into one command per slot, as outside pipelines: its parts go
// out with the rest of the pipeline, each in its place among the commands
// of its node, and the command gets their merged replies.
func (c *ClusterClient) Pipeline() *Pipeline {
	return newPipeline(c.processPipeline, false)
}

// TxPipeline returns an empty pipeline whose commands Exec wraps in MULTI
// and EXEC on the node of their slot. All their keys must hash to one slot
// (a hash tag keeps them together); otherwise Exec fails with a
// *CrossSlotError for every command and sends nothing. A transaction
// refused as a whole by a redirection (MOVED, ASK, TRYAGAIN... nothing of
// it ran) is sent again where the redirection leads.
func (c *ClusterClient) TxPipeline() *Pipeline {
	return newPipeline(c.processPipeline, true)
}

// Pipelined queues the commands fn adds to a new Pipeline and runs them
// with Exec.
func (c *ClusterClient) Pipelined(ctx context.Context, fn func(*Pipeline) error) ([]Cmder, error) {
	return runPipelined(ctx, c.Pipeline(), fn)
}

// TxPipelined is Pipelined in a MULTI/EXEC transaction.
func (c *ClusterClient) TxPipelined(ctx context.Context, fn func(*Pipeline) error) ([]Cmder, error) {
	return runPipelined(ctx, c.TxPipeline(), fn)
}

func (c *ClusterClient) runPipeline(ctx context.Context, cmds []Cmder) error {
	if c.closed.Load() {
		for _, cmd := range cmds {
			cmd.setErr(ErrClosed)
		}
		return ErrClosed
	}
	if isTxBatch(cmds) {
		return c.runTx(ctx, cmds)
	}
	c.runBatch(ctx, cmds)
	return firstErr(cmds)
}

// expandSplits replaces each command of cmds whose keys span slots, and
// that SplitMultiKey lets split, by its parts. It returns nil when there is
// none.
func (c *ClusterClient) expandSplits(cmds []Cmder) ([]Cmder, []*splitCmd) {
	var (
		expanded []Cmder
		splits   []*splitCmd
	)
	for i, cmd := range cmds {
		rt, err := c.routeOf(cmd.Args())
		if err != nil || !rt.split {
			if splits != nil {
				expanded = append(expanded, cmd)
			}
			continue
		}
		if splits == nil {
			expanded = append(make([]Cmder, 0, len(cmds)+8), cmds[:i]...)
		}
		sp := newSplitCmd(cmd, rt)
		splits = append(splits, sp)
		expanded = append(expanded, sp.batch...)
	}
	return expanded, splits
}

// batchItem is one command of a pipeline on its way.
type batchItem struct {
	slot     int
	readOnly bool
	to       *clusterNode // set by a redirection; nil: where the map says
	asking   bool
	from     *clusterNode // where the last attempt went
}

// batchGroup is the commands of a pipeline for one node.
type batchGroup struct {
	node   *clusterNode
	asking bool
	idx    []int
}

// runBatch runs cmds (no MULTI/EXEC) split by node, in parallel, in
// rounds: each round sends every command still to run, and the commands
// redirected or failed in a way that is safe to retry go in the next
// round, within the budget of one call.
func (c *ClusterClient) runBatch(ctx context.Context, cmds []Cmder) {
	if c.cfg.split {
		if expanded, splits := c.expandSplits(cmds); splits != nil {
			c.runBatch(ctx, expanded) // the parts are of one slot each
			for _, sp := range splits {
				_ = sp.finish()
			}
			return
		}
	}
	items := make([]batchItem, len(cmds))
	pending := make([]int, 0, len(cmds))
	for i, cmd := range cmds {
		rt, err := c.routeOf(cmd.Args())
		switch {
		case err != nil:
		case rt.fanout != fanNone && rt.name != "ping":
			err = errFanOutInPipeline(rt.name)
		case rt.split:
			err = &CrossSlotError{Command: rt.name, Slots: [2]int{argSlot(cmd.Args()[rt.keys[0]]), otherSlot(cmd.Args(), rt.keys)}}
		}
		if err != nil {
			cmd.setErr(err)
			continue
		}
		items[i] = batchItem{slot: rt.slot, readOnly: rt.readOnly}
		pending = append(pending, i)
	}
	budget := clusterBudget{c: c}
	for len(pending) > 0 {
		st, err := c.loadState(ctx)
		if err != nil {
			for _, i := range pending {
				cmds[i].setErr(err)
			}
			return
		}
		anyPrimary := st.randomPrimary() // keyless commands of the round go together
		var groups []batchGroup
		for _, i := range pending {
			it := &items[i]
			n := it.to
			if n == nil {
				if it.slot < 0 {
					n = anyPrimary
				} else {
					n = st.pick(c.cfg, it.slot, it.readOnly)
				}
			}
			it.from = n
			groups = addToGroup(groups, n, it.asking, i)
		}
		c.runGroups(ctx, cmds, groups)

		var next []int
		var redirected, busy, retried bool
		busyPrefix := ""
		for _, i := range pending {
			err := cmds[i].Err()
			if err == nil {
				continue
			}
			it := &items[i]
			failure := classify(err, it.from.addr)
			switch failure.fault {
			case faultMoved, faultAsk:
				if failure.fault == faultMoved {
					c.stats.moved.Add(1)
					c.requestRefresh(failure.addr)
				} else {
					c.stats.ask.Add(1)
				}
				c.noteRedirect(failure.fault, failure.addr)
				n, nerr := c.node(failure.addr)
				if nerr != nil {
					continue
				}
				it.to, it.asking = n, failure.fault == faultAsk
				redirected = true
			case faultBusy:
				if failure.prefix != "TRYAGAIN" {
					it.to, it.asking, it.readOnly = nil, false, false
				} else {
					it.to = it.from
				}
				busy, busyPrefix = true, failure.prefix
			case faultNodeGone:
				if c.closed.Load() {
					continue
				}
				it.to, it.asking, it.readOnly = nil, false, false
				retried = true
			case faultConn:
				c.connFailed(ctx, err)
				if !retryable(err, cmds[i].Args()) {
					continue
				}
				it.to, it.asking, it.readOnly = nil, false, false
				retried = true
			default:
				continue
			}
			next = append(next, i)
		}
		if len(next) == 0 {
			return
		}
		if !budget.spendRound(ctx, redirected, busy, busyPrefix, retried) {
			return // the commands keep their errors
		}
		for _, i := range next {
			cmds[i].reset()
		}
		pending = next
	}
}

// otherSlot returns a slot of the keys at positions that differs from the
// first key's.
func otherSlot(argv []any, positions []int) int {
	first := argSlot(argv[positions[0]])
	for _, p := range positions[1:] {
		if s := argSlot(argv[p]); s != first {
			return s
		}
	}
	return first
}

// spendRound spends the budget of one round of a pipeline: one
// redirection for redirections and refusals (with the refusals' backoff),
// one retry for connection failures.
func (b *clusterBudget) spendRound(ctx context.Context, redirected, busy bool, busyPrefix string, retried bool) bool {
	if busy {
		if !b.busy(ctx, busyPrefix) {
			return false
		}
	} else if redirected {
		if b.redirects >= b.c.cfg.maxRedirects {
			return false
		}
		b.redirects++
	}
	if retried && !b.retry(ctx) {
		return false
	}
	return true
}

func addToGroup(groups []batchGroup, n *clusterNode, asking bool, i int) []batchGroup {
	for g := range groups {
		if groups[g].node == n && groups[g].asking == asking {
			groups[g].idx = append(groups[g].idx, i)
			return groups
		}
	}
	return append(groups, batchGroup{node: n, asking: asking, idx: []int{i}})
}

// runGroups runs each group on its node, in parallel.
func (c *ClusterClient) runGroups(ctx context.Context, cmds []Cmder, groups []batchGroup) {
	run := func(g batchGroup) {
		if g.asking {
			reqs := make([]request, 0, 2*len(g.idx))
			for _, i := range g.idx {
				reqs = append(reqs, askingRequest{}, cmds[i])
			}
			_ = g.node.runAsking(ctx, reqs...)
			return
		}
		part := make([]Cmder, len(g.idx))
		for j, i := range g.idx {
			part[j] = cmds[i]
		}
		_ = g.node.client.runPipeline(ctx, part)
	}
	if len(groups) == 1 {
		run(groups[0])
		return
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() { run(g) })
	}
	wg.Wait()
}

// runTx runs MULTI ... EXEC on the node of its commands' slot.
func (c *ClusterClient) runTx(ctx context.Context, cmds []Cmder) error {
	inner := cmds[1 : len(cmds)-1]
	slot := -1
	var txErr error
	for _, cmd := range inner {
		rt, err := c.routeOf(cmd.Args())
		switch {
		case err != nil:
			txErr = err
		case rt.fanout != fanNone && rt.name != "ping":
			txErr = errFanOutInPipeline(rt.name)
		case rt.split:
			txErr = &CrossSlotError{Command: "multi", Slots: [2]int{argSlot(cmd.Args()[rt.keys[0]]), otherSlot(cmd.Args(), rt.keys)}}
		case rt.slot >= 0 && slot >= 0 && rt.slot != slot:
			txErr = &CrossSlotError{Command: "multi", Slots: [2]int{slot, rt.slot}}
		case rt.slot >= 0:
			slot = rt.slot
		}
		if txErr != nil {
			break
		}
	}
	if txErr != nil {
		for _, cmd := range cmds {
			cmd.setErr(txErr)
		}
		return txErr
	}
	budget := clusterBudget{c: c}
	var to *clusterNode
	asking := false
	exec := cmds[len(cmds)-1]
	for {
		if to == nil {
			st, err := c.loadState(ctx)
			if err != nil {
				for _, cmd := range cmds {
					cmd.setErr(err)
				}
				return err
			}
			to = st.pick(c.cfg, slot, false)
		}
		if asking {
			reqs := append([]request{askingRequest{}}, pipelineRequests(cmds)...)
			_ = to.runAsking(ctx, reqs...)
		} else {
			_ = to.client.runPipeline(ctx, cmds)
		}
		err := exec.Err()
		if err == nil {
			return firstErr(inner)
		}
		cause, ranNothing := txFailure(cmds)
		if !ranNothing {
			return firstErr(inner)
		}
		next, ask, ok := c.nextTarget(ctx, &budget, cause, nil, to, asking)
		if !ok {
			return firstErr(inner)
		}
		to, asking = next, ask
		for _, cmd := range cmds {
			cmd.reset()
		}
	}
}

// txFailure returns why a transaction failed when nothing of it ran and
// the reason may go away elsewhere or later: a redirection or refusal of
// EXEC itself or of a queued command (EXECABORT), or a failure to reach
// the node before anything was sent.
func txFailure(cmds []Cmder) (error, bool) {
	exec := cmds[len(cmds)-1]
	err := exec.Err()
	if OutcomeOf(err) == OutcomeNotSent && !errors.Is(err, ErrTxFailed) {
		if f := classify(err, "").fault; f == faultConn || f == faultNodeGone {
			return err, true
		}
		return nil, false
	}
	var se *Error
	if !errors.As(err, &se) {
		return nil, false
	}
	if f := classify(err, "").fault; f != faultFinal && f != faultConn {
		return err, true
	}
	if se.Prefix() != "EXECABORT" {
		return nil, false
	}
	for _, cmd := range cmds[1 : len(cmds)-1] {
		if f := classify(cmd.Err(), "").fault; f == faultMoved || f == faultAsk || f == faultBusy {
			return cmd.Err(), true
		}
	}
	return nil, false
}

// Watch runs fn in an optimistic transaction, as Client.Watch does, on
// the node of keys' slot: all keys must hash to one slot (a
// *CrossSlotError otherwise), and fn's commands and transaction should
// use keys of that slot too. When the node answers with a redirection
// (fn returned the error of a command, or EXEC, that was MOVED), Watch
// runs fn again on the node the redirection leads to, within
// MaxRedirects; a key in a slot being migrated (ASK) is waited out the
// same way.
func (c *ClusterClient) Watch(ctx context.Context, fn func(*Tx) error, keys ...string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	slot := -1
	for _, k := range keys {
		s := cluster.Slot(k)
		if slot >= 0 && s != slot {
			return &CrossSlotError{Command: "watch", Slots: [2]int{slot, s}}
		}
		slot = s
	}
	budget := clusterBudget{c: c}
	var to *clusterNode
	for {
		if to == nil {
			st, err := c.loadState(ctx)
			if err != nil {
				return err
			}
			to = st.pick(c.cfg, slot, false)
		}
		err := to.client.Watch(ctx, fn, keys...)
		if err == nil {
			return nil
		}
		failure := classify(err, to.addr)
		switch {
		case failure.fault == faultMoved:
			if !budget.redirect(failure.fault, failure.addr) {
				return err
			}
			n, nerr := c.node(failure.addr)
			if nerr != nil {
				return err
			}
			to = n
			continue
		case failure.fault == faultAsk:
			c.stats.ask.Add(1)
			if !budget.busy(ctx, "TRYAGAIN") {
				return err
			}
			to = nil
			continue
		case OutcomeOf(err) != OutcomeNotSent && failure.fault != faultBusy:
			return err
		}
		next, _, ok := c.nextTarget(ctx, &budget, err, nil, to, false)
		if !ok {
			return err
		}
		to = next
	}
}
