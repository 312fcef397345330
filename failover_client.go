package respool

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// FailoverClient is a client for a primary that Redis Sentinel manages: it
// asks the sentinels where the primary is, follows it when Sentinel
// promotes a replica, and does not lose the writes that other clients
// send to the old primary during a failover. It is safe for concurrent
// use.
//
// It is a Client (embedded) whose connections are dialled to the address
// the sentinels give (SENTINEL GET-MASTER-ADDR-BY-NAME), each one
// confirmed with ROLE in its handshake: a connection to a server that
// does not answer "master" is refused, the address is asked for again, and
// the command is retried (its outcome is OutcomeNotSent). Everything
// Client has works the same way, in both its multiplexed and exclusive
// modes: typed commands, Do, Process, pipelines, transactions, Watch,
// scripts, SCAN iterators, hooks and pub/sub. Two exceptions: a Conn taken
// with Conn (a pinned connection for session commands) is not held during
// a failover, and is closed when given back after one; and Close must be
// the FailoverClient's, not the embedded Client's.
//
// The client subscribes to the events of every sentinel it knows (it
// learns the others with SENTINEL SENTINELS and from +sentinel events),
// since only the sentinel leading a failover publishes its steps:
//
//   - On +selected-slave or +failover-state-send-slaveof-noone for
//     MasterName, a replica is about to be promoted. From then on, writes
//     are held: a command the server's command table does not mark
//     read-only (so PING, PUBLISH and EVAL too), and a pipeline or
//     transaction that contains one, waits before it is sent, at most
//     FailoverOptions.FailoverWriteHold (5s) from the event and at most
//     until its context ends; then it fails with OutcomeNotSent (a
//     *ConnError): it was never written. Reads go on to the old primary,
//     which still has every acknowledged write: they see the data as it
//     was when the replica was promoted.
//   - On +switch-master, every connection to the old primary is closed
//     (idle ones at once, those in use when they come back, the shared
//     ones and those of the PubSubs of this client at once), and the held
//     writes go to the new primary. A PubSub subscribes again there and
//     reports the gap (see PubSub).
//   - A -failover-abort-... event ends the hold: the writes go on to the
//     primary the sentinels name.
//
// Without the hold, writes sent to the old primary between the promotion
// and the moment Sentinel demotes it (about 11 s later) are acknowledged
// and then erased.
//
// A failover the client did not see is found two ways: a ROLE other than
// master on a new connection, and a READONLY error reply, which a demoted
// primary sends to writes. A command or pipeline refused with READONLY was
// not applied (a replica applies no write of a client), so the client asks
// the sentinels for the primary again and runs it once more there, at once;
// a pipeline only when every write of it was refused, a transaction only
// when EXEC was refused. A hold that expires, a gap in a sentinel's events
// and an aborted failover also make it ask the sentinels again, in the
// background.
//
// When no sentinel answers, or none knows MasterName, commands that need a
// new connection fail with a *SentinelError (OutcomeNotSent); a
// connection already open goes on being used. Every question to a
// sentinel is bounded by DialTimeout and ReadTimeout, and by the context
// of the command that needs the answer.
//
// With FailoverOptions.ReplicaOnly or RouteRandomly, reads go to
// replicas (see there).
type FailoverClient struct {
	// Client is the client of the primary (of the replicas with
	// ReplicaOnly): its connections go to the address the sentinels give.
	// Do not close it: close the FailoverClient.
	*Client

	cfg       *failoverConfig
	replicas  *Client // RouteRandomly: the replicas' client; nil otherwise
	sentinels sentinelSet

	life   context.Context    // ends at Close
	stop   context.CancelFunc // ends life
	wg     sync.WaitGroup     // the event watchers and the checker
	check  chan struct{}      // buffered(1): asks the checker to ask the sentinels again
	closed atomic.Bool

	// resolveSem holds one token for whoever asks the sentinels for the
	// primary; replicaSem the same for the replicas.
	resolveSem chan struct{}
	replicaSem chan struct{}
	// resolved counts the questions the sentinels answered with the
	// primary's address.
	resolved atomic.Uint64

	// holding mirrors hold != nil, for the check every command makes.
	holding atomic.Bool

	mu sync.Mutex // guards the fields below
	// primary is the primary's address, "" until the sentinels first gave
	// it; primaryOK is false when it must be asked for again.
	primary   string
	primaryOK bool
	// refused are the addresses whose server answered ROLE with another
	// role since the primary last changed.
	refused map[string]bool
	// resolveErr is the last failure to learn the primary, at resolveAt:
	// callers within failedResolveReuse of it get it at once.
	resolveErr error
	resolveAt  time.Time
	hold       *writeHold
	replicaSet replicaSet
	pubsubs    []*PubSub // PubSubs of this client, closed ones pruned at times
	watched    map[string]bool

	stats failoverCounters
}

// failedResolveReuse is how long a failure to learn the primary from the
// sentinels is given, as it is, to the callers that come after, so that a
// burst of commands does not ask dead sentinels once each.
const failedResolveReuse = 100 * time.Millisecond

// FailoverStats are counters of a FailoverClient since it was created,
// and where the primary is.
type FailoverStats struct {
	// Primary is the primary's address as the client knows it, "" before
	// the sentinels first gave it.
	Primary string
	// Sentinels is the number of sentinels the client knows.
	Sentinels int
	// Resolves counts the questions to the sentinels for the primary
	// (each asks one sentinel after another until one knows the master);
	// ResolveErrors those that found none.
	Resolves, ResolveErrors uint64
	// Switches counts changes of the primary's address.
	Switches uint64
	// Holds counts failovers during which writes were held; HeldWrites
	// the commands and pipelines that waited in one; HoldsExpired the
	// holds that FailoverWriteHold ended before the new primary was known.
	Holds, HeldWrites, HoldsExpired uint64
	// ReadOnlyRetries counts commands and pipelines run again on the new
	// primary after the old one refused them with READONLY.
	ReadOnlyRetries uint64
	// Events counts the sentinel events that concerned this master.
	Events uint64
}

type failoverCounters struct {
	resolves, resolveErrors, switches         atomic.Uint64
	holds, heldWrites, holdsExpired, readOnly atomic.Uint64
	events                                    atomic.Uint64
}

// NewFailoverClient returns a FailoverClient for the primary that the
// sentinels of opt monitor under opt.MasterName (nil means all defaults:
// a sentinel at 127.0.0.1:26379 and an empty name, which no sentinel
// knows). It returns at once: it subscribes to the sentinels' events and
// asks them for the primary in the background, and the first commands
// ask them too if they come first (ConnectFailover waits for the primary
// and checks it). The caller must Close the FailoverClient.
func NewFailoverClient(opt *FailoverOptions) *FailoverClient {
	fc := &FailoverClient{
		cfg:        opt.config(),
		check:      make(chan struct{}, 1),
		resolveSem: make(chan struct{}, 1),
		replicaSem: make(chan struct{}, 1),
		refused:    make(map[string]bool),
		watched:    make(map[string]bool),
	}
	fc.sentinels.addrs = append([]string(nil), fc.cfg.seeds...)
	fc.life, fc.stop = context.WithCancel(context.Background())

	node := fc.cfg.node
	if fc.cfg.replicaOnly {
		node.target = &replicaTarget{fc: fc}
	} else {
		node.target = &primaryTarget{fc: fc}
	}
	fc.Client = NewClient(&node)
	fc.Client.gate = &failoverGate{fc: fc, client: fc.Client, primary: !fc.cfg.replicaOnly}
	if fc.cfg.randomly {
		ropt := fc.cfg.node
		ropt.target = &replicaTarget{fc: fc}
		fc.replicas = NewClient(&ropt)
		fc.replicas.gate = &failoverGate{fc: fc, client: fc.replicas}
	}

	for _, addr := range fc.cfg.seeds {
		fc.watch(addr)
	}
	fc.wg.Add(1)
	go fc.checker()
	fc.requestCheck()
	return fc
}

// Close stops following the sentinels and closes the Client (and the
// replicas' Client of RouteRandomly). Writes held at that moment fail
// with ErrClosed, and so does every command issued afterwards. PubSubs
// made with Subscribe stay open until their own Close, as a Client's do;
// they can no longer connect. Close waits for the client's goroutines to
// end. It is idempotent.
func (fc *FailoverClient) Close() error {
	if !fc.closed.CompareAndSwap(false, true) {
		return nil
	}
	fc.mu.Lock()
	fc.watched = nil // no more watchers start
	fc.mu.Unlock()
	fc.stop()
	fc.endHold(nil, holdClosed)
	fc.wg.Wait()
	err := fc.Client.Close()
	if fc.replicas != nil {
		err = errors.Join(err, fc.replicas.Close())
	}
	return err
}

// Stats returns the FailoverClient's counters.
func (fc *FailoverClient) Stats() FailoverStats {
	fc.mu.Lock()
	primary := fc.primary
	fc.mu.Unlock()
	return FailoverStats{
		Primary:         primary,
		Sentinels:       len(fc.sentinels.list()),
		Resolves:        fc.stats.resolves.Load(),
		ResolveErrors:   fc.stats.resolveErrors.Load(),
		Switches:        fc.stats.switches.Load(),
		Holds:           fc.stats.holds.Load(),
		HeldWrites:      fc.stats.heldWrites.Load(),
		HoldsExpired:    fc.stats.holdsExpired.Load(),
		ReadOnlyRetries: fc.stats.readOnly.Load(),
		Events:          fc.stats.events.Load(),
	}
}

// Subscribe is Client.Subscribe on the primary (on a replica with
// ReplicaOnly): the PubSub follows the failovers the client follows,
// subscribing again on the new primary and reporting the gap. The caller
// closes it.
func (fc *FailoverClient) Subscribe(ctx context.Context, channels ...string) *PubSub {
	return fc.track(fc.Client.Subscribe(ctx, channels...))
}

// PSubscribe is Subscribe for patterns.
func (fc *FailoverClient) PSubscribe(ctx context.Context, patterns ...string) *PubSub {
	return fc.track(fc.Client.PSubscribe(ctx, patterns...))
}

// SSubscribe is Subscribe for shard channels.
func (fc *FailoverClient) SSubscribe(ctx context.Context, channels ...string) *PubSub {
	return fc.track(fc.Client.SSubscribe(ctx, channels...))
}

// track remembers ps, so that a switch closes its connection to the old
// primary, and forgets the PubSubs closed since.
func (fc *FailoverClient) track(ps *PubSub) *PubSub {
	fc.mu.Lock()
	kept := fc.pubsubs[:0]
	for _, p := range fc.pubsubs {
		if !p.isClosed() {
			kept = append(kept, p)
		}
	}
	clear(fc.pubsubs[len(kept):])
	fc.pubsubs = append(kept, ps)
	fc.mu.Unlock()
	// A switch between its first dial and now missed it.
	fc.sweepPubSubs(false)
	return ps
}

// sweepPubSubs closes the connections of the client's PubSubs that lead
// to a server other than the primary (with ReplicaOnly, every one when
// all is set: the replicas changed). A PubSub takes the closed connection
// for a failure: it dials again, to the server the sentinels name now,
// subscribes again and reports the gap.
func (fc *FailoverClient) sweepPubSubs(all bool) {
	fc.mu.Lock()
	pubsubs := append([]*PubSub(nil), fc.pubsubs...)
	primary, known := fc.primary, fc.primaryOK
	fc.mu.Unlock()
	if !known || (fc.cfg.replicaOnly && !all) {
		return
	}
	for _, ps := range pubsubs {
		if cn := ps.cur.Load(); cn != nil && (all || cn.Addr() != primary) {
			_ = cn.Close()
		}
	}
}

// setPrimary records addr, which the sentinels named, as the primary's
// address. When it differs from the one known, every connection to the
// old one is retired and a hold ends: its writes go to addr.
func (fc *FailoverClient) setPrimary(addr string) {
	fc.mu.Lock()
	old := fc.primary
	fc.primary, fc.primaryOK = addr, true
	fc.resolveErr = nil
	changed := old != "" && old != addr
	if changed {
		clear(fc.refused)
		fc.replicaSet.known = false // the promoted replica is one no more
	}
	fc.mu.Unlock()
	if changed {
		fc.stats.switches.Add(1)
		if lg := fc.cfg.node.Logger; lg != nil {
			logEvent(lg, slog.LevelInfo, "respool: failover followed", slog.String("master", fc.cfg.master),
				slog.String("from", old), slog.String("to", addr))
		}
		fc.retireAll()
		fc.endHold(nil, holdSwitched)
		return
	}
	// Another sentinel's +switch-master, or the answer to a question:
	// a PubSub that connected to the old primary during the switch is
	// caught here.
	fc.sweepPubSubs(false)
}

// retireAll closes the connections of every data Client (see Pool.retire
// and muxer.retire) and of the PubSubs that lead elsewhere than the
// primary now.
func (fc *FailoverClient) retireAll() {
	for _, c := range []*Client{fc.Client, fc.replicas} {
		if c == nil {
			continue
		}
		c.pool.retire()
		if c.mux != nil {
			c.mux.retire()
		}
		if c.cache != nil {
			c.cache.mx.retire() // its entries go with its tracking connections
		}
	}
	fc.sweepPubSubs(fc.cfg.replicaOnly)
}

// refusedAddr records that the server at addr answered ROLE with got
// instead of "master": the primary is asked for again, and an answer
// naming addr is passed over while another sentinel names a different
// server.
func (fc *FailoverClient) refusedAddr(addr string) {
	fc.mu.Lock()
	fc.refused[addr] = true
	if fc.primary == addr {
		fc.primaryOK = false
	}
	fc.mu.Unlock()
}

// requestCheck asks the checker to ask the sentinels for the primary
// again.
func (fc *FailoverClient) requestCheck() {
	select {
	case fc.check <- struct{}{}:
	default:
	}
}

// checker asks the sentinels for the primary (and the replicas, when
// reads may go to them) whenever requestCheck asks, until Close. Each
// round is bounded by one DialTimeout plus ReadTimeout per sentinel.
func (fc *FailoverClient) checker() {
	defer fc.wg.Done()
	for {
		select {
		case <-fc.life.Done():
			return
		case <-fc.check:
		}
		n := max(len(fc.sentinels.list()), 1)
		per := fc.cfg.sentinel.DialTimeout + max(fc.cfg.sentinel.ReadTimeout, 0)
		ctx, cancel := context.WithTimeout(fc.life, time.Duration(n)*per)
		_, _ = fc.resolvePrimary(ctx, true)
		if fc.cfg.replicaOnly || fc.cfg.randomly {
			_, _ = fc.resolveReplicas(ctx, true)
		}
		cancel()
	}
}
