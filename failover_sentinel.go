package respool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/respool/respool/resp"
)

// Errors a SentinelError wraps; test for them with errors.Is.
var (
	// ErrNoSentinel: no sentinel answered (each refused the connection,
	// timed out, refused the credentials...).
	ErrNoSentinel = errors.New("respool: no sentinel answered")
	// ErrMasterUnknown: the sentinels that answered do not monitor a
	// primary under FailoverOptions.MasterName.
	ErrMasterUnknown = errors.New("respool: no sentinel knows the master name")
)

// SentinelError is the error of a FailoverClient's command that needed a
// new connection when the sentinels gave no address for it. Nothing was
// sent: its Outcome is OutcomeNotSent, and a Client does not retry it (the
// sentinels were each asked already). errors.Is(err, ErrNoSentinel) or
// errors.Is(err, ErrMasterUnknown) tells which case it is.
type SentinelError struct {
	// MasterName is the name the sentinels were asked about.
	MasterName string
	// Err is ErrNoSentinel or ErrMasterUnknown.
	Err error
	// Sentinels holds what each sentinel asked did, in the order asked:
	// its connection's failure (a *ConnError or *AuthError naming it) or
	// its answer.
	Sentinels []error
}

// Error returns "respool: master <name>: <what> (<each sentinel>; ...)".
func (e *SentinelError) Error() string {
	var b strings.Builder
	b.WriteString("respool: master ")
	b.WriteString(strconv.Quote(e.MasterName))
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "respool: "))
	for i, err := range e.Sentinels {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	if len(e.Sentinels) > 0 {
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *SentinelError) Unwrap() error { return e.Err }

// Outcome is OutcomeNotSent: no command of the caller was written.
func (e *SentinelError) Outcome() Outcome { return OutcomeNotSent }

// sentinelSet is the sentinels a FailoverClient knows, in the order it
// asks them: the last one that knew the master first.
type sentinelSet struct {
	mu    sync.Mutex // guards addrs
	addrs []string
}

func (s *sentinelSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.addrs)
}

// answered moves addr to the front.
func (s *sentinelSet) answered(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.addrs, addr); i > 0 {
		s.addrs = slices.Insert(slices.Delete(s.addrs, i, i+1), 0, addr)
	}
}

// learn adds addr at the end and reports whether it was new.
func (s *sentinelSet) learn(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.addrs, addr) {
		return false
	}
	s.addrs = append(s.addrs, addr)
	return true
}

// replicaSet is the replicas the sentinels list as healthy.
type replicaSet struct {
	addrs []string
	known bool // false: ask the sentinels before using addrs
}

// ctxError is the error of a caller whose context ended while it waited
// for the sentinels.
func (fc *FailoverClient) ctxError(ctx context.Context) error {
	return &ConnError{Op: "dial", Addr: fc.cfg.master, Outcome: OutcomeNotSent, Err: context.Cause(ctx)}
}

// knownPrimary returns the primary's address when it is known, or the
// failure of the last question to the sentinels when it is recent.
func (fc *FailoverClient) knownPrimary() (addr string, ok bool, err error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.primaryOK {
		return fc.primary, true, nil
	}
	if fc.resolveErr != nil && fc.cfg.sentinel.now().Sub(fc.resolveAt) < failedResolveReuse {
		return "", false, fc.resolveErr
	}
	return "", false, nil
}

// resolvePrimary returns the primary's address: the one known, or, when
// there is none or it was refused, the sentinels' answer. With force set
// the sentinels are asked in any case, unless they were asked (and
// answered) after the call began. One question runs at a time; callers
// arriving meanwhile wait for it (within ctx) and take its answer.
func (fc *FailoverClient) resolvePrimary(ctx context.Context, force bool) (string, error) {
	asked := fc.resolved.Load()
	if !force {
		if addr, ok, err := fc.knownPrimary(); ok || err != nil {
			return addr, err
		}
	}
	select {
	case fc.resolveSem <- struct{}{}:
	case <-ctx.Done():
		return "", fc.ctxError(ctx)
	}
	defer func() { <-fc.resolveSem }()
	if !force || fc.resolved.Load() != asked {
		if addr, ok, err := fc.knownPrimary(); ok || err != nil {
			return addr, err
		}
	}
	if fc.closed.Load() {
		return "", ErrClosed
	}
	fc.stats.resolves.Add(1)
	addr, err := fc.askPrimary(ctx)
	if err != nil {
		fc.stats.resolveErrors.Add(1)
		if ctx.Err() != nil {
			return "", fc.ctxError(ctx)
		}
		fc.mu.Lock()
		fc.resolveErr, fc.resolveAt = err, fc.cfg.sentinel.now()
		fc.mu.Unlock()
		return "", err
	}
	fc.setPrimary(addr)
	fc.resolved.Add(1)
	return addr, nil
}

// askPrimary asks the known sentinels in turn, the last that knew the
// master first, for the primary's address. An answer naming a server
// that refused the primary's role is passed over while another sentinel
// names a different one (a sentinel cut off from the others may name the
// old primary), and used when none does.
func (fc *FailoverClient) askPrimary(ctx context.Context) (string, error) {
	var (
		errs     []error
		answered bool
		fallback string
	)
	for _, addr := range fc.sentinels.list() {
		if ctx.Err() != nil {
			break
		}
		master, known, peers, err := fc.askMaster(ctx, addr)
		for _, p := range peers {
			fc.learnSentinel(p)
		}
		switch {
		case err != nil:
			errs = append(errs, err)
			continue
		case !known:
			answered = true
			errs = append(errs, fmt.Errorf("sentinel %s: no master %q", addr, fc.cfg.master))
			continue
		}
		answered = true
		fc.mu.Lock()
		refused := fc.refused[master]
		fc.mu.Unlock()
		if refused {
			errs = append(errs, fmt.Errorf("sentinel %s: names %s, which is not a primary", addr, master))
			if fallback == "" {
				fallback = master
			}
			continue
		}
		fc.sentinels.answered(addr)
		return master, nil
	}
	if fallback != "" {
		return fallback, nil
	}
	e := &SentinelError{MasterName: fc.cfg.master, Err: ErrNoSentinel, Sentinels: errs}
	if answered {
		e.Err = ErrMasterUnknown
	}
	return "", e
}

// askMaster asks the sentinel at addr, on a connection of its own, for
// the primary's address and for the other sentinels it knows (SENTINEL
// GET-MASTER-ADDR-BY-NAME and SENTINEL SENTINELS, in one write). known is
// false when it does not monitor the master. DialTimeout bounds the dial,
// ReadTimeout each reply, ctx the whole.
func (fc *FailoverClient) askMaster(ctx context.Context, addr string) (master string, known bool, peers []string, err error) {
	cn, err := dialConn(ctx, fc.cfg.sentinelOptions(addr))
	if err != nil {
		return "", false, nil, err
	}
	defer cn.Close()
	name := fc.cfg.master
	if err := sendAll(ctx, cn, []any{"SENTINEL", "GET-MASTER-ADDR-BY-NAME", name}, []any{"SENTINEL", "SENTINELS", name}); err != nil {
		return "", false, nil, err
	}
	v, err := cn.Receive(ctx)
	if err != nil {
		return "", false, nil, sentinelReplyError(addr, err)
	}
	if !v.IsNull() {
		elems, _ := v.Elems()
		if len(elems) != 2 {
			return "", false, nil, fmt.Errorf("sentinel %s: GET-MASTER-ADDR-BY-NAME: unexpected reply %s", addr, v)
		}
		master, known = net.JoinHostPort(elems[0].Text(), elems[1].Text()), true
	}
	// The peers are a bonus: a failure to read them costs nothing else.
	if pv, err := cn.Receive(ctx); err == nil {
		entries, _ := pv.Elems()
		for _, e := range entries {
			f := fieldsOf(e)
			if f["ip"] != "" && f["port"] != "" {
				peers = append(peers, net.JoinHostPort(f["ip"], f["port"]))
			}
		}
	}
	return master, known, peers, nil
}

// resolveReplicas returns the healthy replicas: those known, or, when
// they are not or force is set, the sentinels' answer. One question runs
// at a time, as for resolvePrimary. When the answer differs from what
// was known, the connections to replicas are retired.
func (fc *FailoverClient) resolveReplicas(ctx context.Context, force bool) ([]string, error) {
	known := func() ([]string, bool) {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.replicaSet.addrs, fc.replicaSet.known
	}
	if addrs, ok := known(); ok && !force {
		return addrs, nil
	}
	select {
	case fc.replicaSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fc.ctxError(ctx)
	}
	defer func() { <-fc.replicaSem }()
	if addrs, ok := known(); ok && !force {
		return addrs, nil
	}
	if fc.closed.Load() {
		return nil, ErrClosed
	}
	var (
		errs     []error
		answered bool
	)
	for _, addr := range fc.sentinels.list() {
		if ctx.Err() != nil {
			return nil, fc.ctxError(ctx)
		}
		replicas, ok, err := fc.askReplicas(ctx, addr)
		switch {
		case err != nil:
			errs = append(errs, err)
			continue
		case !ok:
			answered = true
			errs = append(errs, fmt.Errorf("sentinel %s: no master %q", addr, fc.cfg.master))
			continue
		}
		fc.mu.Lock()
		before := fc.replicaSet
		fc.replicaSet = replicaSet{addrs: replicas, known: true}
		fc.mu.Unlock()
		if before.known && !sameSet(before.addrs, replicas) {
			fc.retireReplicas()
		}
		return replicas, nil
	}
	e := &SentinelError{MasterName: fc.cfg.master, Err: ErrNoSentinel, Sentinels: errs}
	if answered {
		e.Err = ErrMasterUnknown
	}
	return nil, e
}

// retireReplicas closes the connections of the Client that reads from
// replicas, after the replicas changed.
func (fc *FailoverClient) retireReplicas() {
	c := fc.replicas
	if fc.cfg.replicaOnly {
		c = fc.Client
	}
	if c == nil {
		return
	}
	c.pool.retire()
	if c.mux != nil {
		c.mux.retire()
	}
	if c.cache != nil {
		c.cache.mx.retire() // its entries go with its tracking connections
	}
	if fc.cfg.replicaOnly {
		fc.sweepPubSubs(true)
	}
}

// askReplicas asks the sentinel at addr for the master's replicas
// (SENTINEL REPLICAS, Redis 5 and later) and returns those fit to serve
// reads: not flagged s_down, o_down or disconnected, with their link to
// the primary ok.
func (fc *FailoverClient) askReplicas(ctx context.Context, addr string) (replicas []string, known bool, err error) {
	cn, err := dialConn(ctx, fc.cfg.sentinelOptions(addr))
	if err != nil {
		return nil, false, err
	}
	defer cn.Close()
	v, err := cn.Do(ctx, "SENTINEL", "REPLICAS", fc.cfg.master)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && strings.Contains(strings.ToLower(se.Error()), "no such master") {
			return nil, false, nil
		}
		return nil, false, sentinelReplyError(addr, err)
	}
	entries, _ := v.Elems()
	for _, e := range entries {
		f := fieldsOf(e)
		if f["ip"] == "" || f["port"] == "" || !healthyReplica(f) {
			continue
		}
		replicas = append(replicas, net.JoinHostPort(f["ip"], f["port"]))
	}
	return replicas, true, nil
}

// healthyReplica reports whether a replica, described by the fields of
// SENTINEL REPLICAS, can serve reads.
func healthyReplica(f map[string]string) bool {
	for flag := range strings.SplitSeq(f["flags"], ",") {
		switch flag {
		case "s_down", "o_down", "disconnected":
			return false
		}
	}
	return f["master-link-status"] == "ok"
}

// pickReplica returns a healthy replica chosen at random, or "" when the
// sentinels list none.
func (fc *FailoverClient) pickReplica(ctx context.Context) (string, error) {
	addrs, err := fc.resolveReplicas(ctx, false)
	if err != nil || len(addrs) == 0 {
		return "", err
	}
	return addrs[rand.IntN(len(addrs))], nil
}

// replicaCount returns the number of healthy replicas known; when they
// are not known yet it asks the checker to find out, and returns 0.
func (fc *FailoverClient) replicaCount() int {
	fc.mu.Lock()
	n, known := len(fc.replicaSet.addrs), fc.replicaSet.known
	fc.mu.Unlock()
	if !known {
		fc.requestCheck()
	}
	return n
}

// sendAll writes cmds in one flush.
func sendAll(ctx context.Context, cn *Conn, cmds ...[]any) error {
	for _, argv := range cmds {
		if err := cn.Send(ctx, argv...); err != nil {
			return err
		}
	}
	return cn.Flush(ctx)
}

// sentinelReplyError names the sentinel in an error that does not.
func sentinelReplyError(addr string, err error) error {
	var ce *ConnError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("sentinel %s: %w", addr, err)
}

// fieldsOf returns the fields of a map reply (RESP3) or of a flat array
// of names and values (RESP2), such as an entry of SENTINEL REPLICAS.
func fieldsOf(v resp.Value) map[string]string {
	elems, _ := v.Elems()
	f := make(map[string]string, len(elems)/2)
	for i := 0; i+1 < len(elems); i += 2 {
		f[elems[i].Text()] = elems[i+1].Text()
	}
	return f
}

// sameSet reports whether a and b hold the same addresses, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// primaryTarget dials the primary for the FailoverClient's Client.
type primaryTarget struct{ fc *FailoverClient }

func (t *primaryTarget) pick(ctx context.Context) (string, string, error) {
	if t.fc.closed.Load() {
		return "", "", ErrClosed
	}
	addr, err := t.fc.resolvePrimary(ctx, false)
	return addr, "master", err
}

func (t *primaryTarget) refused(addr, _ string) { t.fc.refusedAddr(addr) }

// replicaTarget dials a healthy replica chosen at random, or the primary
// when there is none, for the Client that serves reads from replicas.
type replicaTarget struct{ fc *FailoverClient }

func (t *replicaTarget) pick(ctx context.Context) (string, string, error) {
	if t.fc.closed.Load() {
		return "", "", ErrClosed
	}
	addr, err := t.fc.pickReplica(ctx)
	if err != nil {
		return "", "", err
	}
	if addr != "" {
		return addr, "slave", nil
	}
	addr, err = t.fc.resolvePrimary(ctx, false)
	return addr, "master", err
}

func (t *replicaTarget) refused(addr, got string) {
	if got == "slave" {
		// Asked for as the primary (there was no replica).
		t.fc.refusedAddr(addr)
		return
	}
	// A replica promoted, or gone: ask the sentinels again.
	t.fc.mu.Lock()
	t.fc.replicaSet.known = false
	t.fc.mu.Unlock()
}
