package respool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/respool/respool/internal/cluster"
	"github.com/respool/respool/internal/cmdinfo"
	"github.com/respool/respool/resp"
)

// ErrCrossSlot matches every *CrossSlotError (errors.Is).
var ErrCrossSlot = errors.New("respool: CROSSSLOT keys in request don't hash to the same slot")

// CrossSlotError is returned by a ClusterClient, before anything is sent,
// for a command, transaction or WATCH whose keys hash to different slots.
// Hash tags keep related keys in one slot: only the part between the
// first "{" and the next "}" is hashed, so "{user1}:a" and "{user1}:b"
// share a slot. errors.Is(err, ErrCrossSlot) holds; OutcomeOf(err) is
// OutcomeNotSent.
type CrossSlotError struct {
	Command string // the command's lower-case name ("mget", "multi", "watch"...)
	Slots   [2]int // two of the slots the keys hash to
}

// Error returns "respool: CROSSSLOT <command>: keys hash to slots A and B".
func (e *CrossSlotError) Error() string {
	return fmt.Sprintf("respool: CROSSSLOT %s: keys hash to slots %d and %d (use a hash tag such as {user1}:key to keep them in one slot)",
		e.Command, e.Slots[0], e.Slots[1])
}

// Is reports whether target is ErrCrossSlot.
func (e *CrossSlotError) Is(target error) bool { return target == ErrCrossSlot }

// Outcome is OutcomeNotSent: nothing was sent.
func (e *CrossSlotError) Outcome() Outcome { return OutcomeNotSent }

// fanOut says which nodes a keyless command goes to.
type fanOut uint8

const (
	fanNone      fanOut = iota // one node
	fanPrimaries               // every primary (request_policy:all_shards)
	fanNodes                   // every node (request_policy:all_nodes)
)

// replyPolicy says how the replies of a fanned-out command are merged
// (the server's response_policy tip).
type replyPolicy uint8

const (
	replyMerge        replyPolicy = iota // no tip: arrays concatenated, else the first non-null reply
	replyAllSucceeded                    // the first reply, or the first error
	replyOneSucceeded                    // the first reply that is not an error
	replySum                             // integers added up
	replyMin                             // the least integer
	replyMax                             // the greatest integer
	replyAnd                             // arrays of 0/1 combined element by element
	replyOr
)

// clusterRoute is where a command goes.
type clusterRoute struct {
	slot     int  // the slot of its keys; -1 for a keyless command
	readOnly bool // it only reads (replicas may serve it)
	fanout   fanOut
	reply    replyPolicy
	split    bool  // keys of several slots, to be split by slot
	keys     []int // the key positions, when split
	name     string
}

// routeOf returns where the command argv goes, or a *CrossSlotError.
func (c *ClusterClient) routeOf(argv []any) (clusterRoute, error) {
	rt := clusterRoute{slot: -1}
	if len(argv) == 0 {
		return rt, nil
	}
	name, ok := argString(argv[0])
	if !ok {
		return rt, nil
	}
	var head [2]string
	head[0] = name
	n := 1
	if len(argv) > 1 {
		if s, ok := argString(argv[1]); ok {
			head[1], n = s, 2
		}
	}
	info, known := cmdinfo.LookupArgs(head[:n])
	if !known {
		return rt, nil // a module's command, or a newer one: any primary
	}
	rt.readOnly = info.IsReadOnly()
	rt.name = info.Name
	if pos, ok := singleKeyIndex(&info); ok {
		if pos < len(argv) {
			rt.slot = argSlot(argv[pos])
		}
		return rt, nil
	}
	positions := keyPositions(&info, argv)
	if len(positions) == 0 {
		rt.fanout, rt.reply = fanOutOf(&info)
		return rt, nil
	}
	rt.slot = argSlot(argv[positions[0]])
	for _, p := range positions[1:] {
		if s := argSlot(argv[p]); s != rt.slot {
			if c.cfg.split && splittable(info.Name) {
				rt.split, rt.keys = true, positions
				return rt, nil
			}
			return rt, &CrossSlotError{Command: info.Name, Slots: [2]int{rt.slot, s}}
		}
	}
	return rt, nil
}

// singleKeyIndex returns the position of the only key of a command that
// has exactly one, at a fixed position (GET, SET, HSET, RPUSH...).
func singleKeyIndex(info *cmdinfo.Info) (int, bool) {
	if len(info.KeySpecs) != 1 {
		return 0, false
	}
	s := &info.KeySpecs[0]
	if s.Flags&cmdinfo.KeyNotKey != 0 || s.BeginSearch != cmdinfo.BeginIndex ||
		s.FindKeys != cmdinfo.FindRange || s.LastKey != 0 {
		return 0, false
	}
	return s.Index, true
}

// keyPositions returns the positions of argv's keys. The channels of the
// shard pub/sub commands count as keys: the server routes them by slot
// although its table flags them not_key.
func keyPositions(info *cmdinfo.Info, argv []any) []int {
	switch info.Name {
	case "spublish":
		return []int{1}
	case "ssubscribe", "sunsubscribe":
		pos := make([]int, len(argv)-1)
		for i := range pos {
			pos[i] = i + 1
		}
		return pos
	}
	strs := make([]string, len(argv))
	for i, a := range argv {
		strs[i] = argText(a)
	}
	return info.KeyIndexes(strs)
}

// splittable reports whether a command's keys may be split by slot.
func splittable(name string) bool {
	switch name {
	case "mget", "mset", "del", "exists", "unlink", "touch":
		return true
	}
	return false
}

// fanOutOf reads the request and response policies of a keyless command
// from its tips. Commands whose replies need a merge of their own
// ("special") go to one node.
func fanOutOf(info *cmdinfo.Info) (fanOut, replyPolicy) {
	var f fanOut
	r := replyMerge
	for _, tip := range info.Tips {
		switch tip {
		case "request_policy:all_shards":
			f = fanPrimaries
		case "request_policy:all_nodes":
			f = fanNodes
		case "response_policy:special":
			return fanNone, replyMerge
		case "response_policy:all_succeeded":
			r = replyAllSucceeded
		case "response_policy:one_succeeded":
			r = replyOneSucceeded
		case "response_policy:agg_sum":
			r = replySum
		case "response_policy:agg_min":
			r = replyMin
		case "response_policy:agg_max":
			r = replyMax
		case "response_policy:agg_logical_and":
			r = replyAnd
		case "response_policy:agg_logical_or":
			r = replyOr
		}
	}
	return f, r
}

// argText returns an argument as the text the server receives.
func argText(a any) string {
	switch v := a.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case resp.ArgAppender:
		return string(v.AppendArg(nil))
	}
	b, err := resp.AppendCommand(nil, a)
	if err != nil {
		return fmt.Sprint(a)
	}
	// "*1\r\n$N\r\n<text>\r\n": keep the text.
	s := string(b)
	if i := strings.Index(s[4:], "\r\n"); i >= 0 {
		s = s[4+i+2:]
	}
	return strings.TrimSuffix(s, "\r\n")
}

// argSlot returns the hash slot of a key argument.
func argSlot(a any) int {
	switch v := a.(type) {
	case string:
		return cluster.Slot(v)
	case []byte:
		return cluster.SlotBytes(v)
	}
	return cluster.Slot(argText(a))
}

// clusterFault is the kind of a clusterFailure: it decides what the call
// does next.
type clusterFault uint8

const (
	faultFinal    clusterFault = iota // give the error to the caller
	faultMoved                        // MOVED: retry on the named node, reload the map
	faultAsk                          // ASK: retry once on the named node after ASKING
	faultBusy                         // TRYAGAIN, CLUSTERDOWN, MASTERDOWN, LOADING: wait, retry
	faultNodeGone                     // the node's Client was closed under the call
	faultConn                         // the connection failed
)

// clusterFailure is what a failed attempt of a command asks for.
type clusterFailure struct {
	fault clusterFault
	// addr is where a redirection (faultMoved, faultAsk) leads.
	addr string
	// prefix is the refusal's error prefix for faultBusy: TRYAGAIN,
	// CLUSTERDOWN, MASTERDOWN or LOADING.
	prefix string
}

// classify returns what err, from the node at from, asks for.
func classify(err error, from string) clusterFailure {
	var se *Error
	if errors.As(err, &se) {
		switch p := se.Prefix(); p {
		case "MOVED", "ASK":
			kind, _, addr, ok := cluster.ParseRedirect(se.Error())
			if !ok {
				return clusterFailure{fault: faultFinal}
			}
			if strings.HasPrefix(addr, "?:") {
				// An endpoint nobody can dial: wait and reload, as for
				// CLUSTERDOWN.
				return clusterFailure{fault: faultBusy, prefix: "CLUSTERDOWN"}
			}
			addr = cluster.FillHost(addr, from)
			if kind == cluster.Moved {
				return clusterFailure{fault: faultMoved, addr: addr}
			}
			return clusterFailure{fault: faultAsk, addr: addr}
		case "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING":
			return clusterFailure{fault: faultBusy, prefix: p}
		}
		return clusterFailure{fault: faultFinal}
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return clusterFailure{fault: faultConn}
	}
	if errors.Is(err, ErrClosed) {
		return clusterFailure{fault: faultNodeGone}
	}
	return clusterFailure{fault: faultFinal}
}

// clusterBudget is what one call of a ClusterClient may spend on
// failed attempts: its redirections and its retries.
type clusterBudget struct {
	c         *ClusterClient
	redirects int
	retries   retrier
}

// redirect spends one redirection on a MOVED or ASK to addr.
func (b *clusterBudget) redirect(f clusterFault, addr string) bool {
	if f == faultMoved {
		b.c.stats.moved.Add(1)
		b.c.requestRefresh(addr)
	} else {
		b.c.stats.ask.Add(1)
	}
	b.c.noteRedirect(f, addr)
	if b.redirects >= b.c.cfg.maxRedirects {
		return false
	}
	b.redirects++
	return true
}

// busy spends one redirection on a refusal and waits its backoff.
func (b *clusterBudget) busy(ctx context.Context, prefix string) bool {
	b.c.stats.busy.Add(1)
	if prefix == "CLUSTERDOWN" || prefix == "MASTERDOWN" {
		b.c.requestRefresh("")
	}
	if b.redirects >= b.c.cfg.maxRedirects {
		return false
	}
	b.redirects++
	opt := b.c.cfg.retry
	return sleepCtx(ctx, opt, backoff(b.redirects, opt.MinRetryBackoff, opt.MaxRetryBackoff))
}

// retry spends one retry after a connection failure and waits its backoff.
func (b *clusterBudget) retry(ctx context.Context) bool {
	if !b.retries.wait(ctx, b.c.cfg.retry) {
		return false
	}
	b.c.stats.retries.Add(1)
	return true
}

// sleepCtx waits d, unless ctx ends first or its deadline comes before
// d is over; it reports whether the wait completed.
func sleepCtx(ctx context.Context, opt *Options, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && opt.now().Add(d).After(dl) {
		return false
	}
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// connFailed asks for a reload of the slot map after a connection
// failure that is not the caller's own cancellation: the node may be gone.
func (c *ClusterClient) connFailed(ctx context.Context, err error) {
	if ctx.Err() == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		c.requestRefresh("")
	}
}

// runCmd routes one command and runs it, following redirections.
func (c *ClusterClient) runCmd(ctx context.Context, cmd Cmder) error {
	if c.closed.Load() {
		cmd.setErr(ErrClosed)
		return ErrClosed
	}
	rt, err := c.routeOf(cmd.Args())
	if err != nil {
		cmd.setErr(err)
		return err
	}
	switch {
	case rt.fanout != fanNone:
		return c.runFanOut(ctx, cmd, rt)
	case rt.split:
		return c.runSplit(ctx, cmd, rt)
	}
	return c.runRouted(ctx, cmd, rt.slot, rt.readOnly)
}

// runRouted runs cmd on the node of slot, then where redirections lead.
func (c *ClusterClient) runRouted(ctx context.Context, cmd Cmder, slot int, readOnly bool) error {
	budget := clusterBudget{c: c}
	var target *clusterNode
	asking := false
	for {
		if target == nil {
			st, err := c.loadState(ctx)
			if err != nil {
				cmd.setErr(err)
				return err
			}
			target = st.pick(c.cfg, slot, readOnly)
		}
		if asking {
			_ = target.runAsking(ctx, askingRequest{}, cmd)
		} else {
			_ = target.client.runCmd(ctx, cmd)
		}
		err := cmd.Err()
		if err == nil {
			return nil
		}
		next, ask, ok := c.nextTarget(ctx, &budget, err, cmd.Args(), target, asking)
		if !ok {
			return err
		}
		if next == nil {
			readOnly = false // after a failure, a read goes to the primary
		}
		target, asking = next, ask
		cmd.reset()
	}
}

// nextTarget decides, after err on node from, where the command goes
// next (nil: where the slot map says) and whether with ASKING; ok is
// false when err goes to the caller. It spends the budget and waits any
// backoff.
func (c *ClusterClient) nextTarget(ctx context.Context, budget *clusterBudget, err error, argv []any,
	from *clusterNode, asking bool) (next *clusterNode, ask bool, ok bool) {
	failure := classify(err, from.addr)
	switch failure.fault {
	case faultMoved, faultAsk:
		if !budget.redirect(failure.fault, failure.addr) {
			return nil, false, false
		}
		n, nerr := c.node(failure.addr)
		if nerr != nil {
			return nil, false, false
		}
		return n, failure.fault == faultAsk, true
	case faultBusy:
		if !budget.busy(ctx, failure.prefix) {
			return nil, false, false
		}
		if failure.prefix == "TRYAGAIN" {
			return from, asking, true // a multi-key command during a migration
		}
		return nil, false, true
	case faultNodeGone:
		if c.closed.Load() || !budget.retry(ctx) {
			return nil, false, false
		}
		return nil, false, true
	case faultConn:
		c.connFailed(ctx, err)
		if !retryable(err, argv) || !budget.retry(ctx) {
			return nil, false, false
		}
		return nil, false, true
	}
	return nil, false, false
}

// askingArgv is the ASKING command.
var askingArgv = []any{"ASKING"}

// askingRequest is ASKING before a command redirected by ASK; its reply
// (+OK) is not kept.
type askingRequest struct{}

func (askingRequest) classArgs() []any               { return askingArgv }
func (askingRequest) writeArgs(w *resp.Writer) error { return w.WriteArgs(askingArgv) }
func (askingRequest) setReply(resp.Value)            {}
func (askingRequest) setErr(error)                   {}
func (askingRequest) borrowsElems() bool             { return false }

// runAsking runs reqs (ASKING requests among them) in one round trip on
// a connection of the node's Pool of its own, so that nothing else comes
// between an ASKING and its command.
func (n *clusterNode) runAsking(ctx context.Context, reqs ...request) error {
	cn, err := n.client.Conn(ctx)
	if err != nil {
		failAll(reqs, err)
		return err
	}
	err = cn.run(ctx, reqs...)
	n.client.pool.Put(cn)
	return err
}
