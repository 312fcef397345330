package respool

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// PubSub is a subscription to channels, patterns and shard channels of one
// server, on a connection of its own: it is dialled with the Client's
// Options but outside its Pool (it does not count against PoolSize), and it
// is never handed to anyone else. Create one with Client.Subscribe,
// PSubscribe or SSubscribe; close it with Close. Closing the Client does not
// close its PubSubs. A PubSub is safe for concurrent use.
//
// Read it in one of two ways, not both: Receive (or ReceiveMessage) reads
// the connection on the caller's goroutine, one reply per call; Channel
// starts one goroutine that reads it and delivers messages to a Go channel
// with a bounded buffer. Subscribe, Unsubscribe and Ping write on the
// connection under a mutex and wait for the server's answer.
//
// The PubSub survives disconnects. When the connection fails (a server
// restart, a proxy or CLIENT KILL closing it, the server cutting off a slow
// subscriber at its output-buffer limit, a failed health check), it dials
// again with exponential backoff between Options.MinRetryBackoff and
// MaxRetryBackoff, for as long as it stays open, and subscribes again to
// every channel, pattern and shard channel it had. The Channel goroutine
// does so at once; without it, the failure is found and repaired by
// whichever call reads next (Receive, or a Subscribe or Ping waiting for
// its reply). Messages published while it was disconnected are lost (Redis
// keeps none for a subscriber), so the PubSub then delivers one *Gap
// (Receive) or one Message whose Gap is set (Channel, ReceiveMessage) per
// outage, before the first message received afterwards.
//
// While something reads it, a PubSub whose connection has been silent for
// Options.PubSubPingInterval (30s) sends PING, and closes and makes the
// connection again when no reply at all arrives within
// Options.PubSubPingTimeout (ReadTimeout, 3s, by default): a peer that
// died or stopped without
// closing the connection is noticed within the sum of both. Reads never
// depend on the socket read timeout otherwise: a subscription may stay
// quiet for hours.
//
// Both protocols work: with RESP3 (the default) confirmations and messages
// arrive as push frames; with RESP2 as arrays. The connection carries
// nothing but pub/sub commands and PING.
type PubSub struct {
	opt    *Options
	health pubSubHealth
	life   context.Context    // ends at Close: bounds background dials and waits
	stop   context.CancelFunc // ends life
	done   chan struct{}      // closed by Close

	// readTurn holds one token for whoever reads the connection: a
	// Receive, a Subscribe or Ping waiting for its reply with nobody else
	// reading, or the Channel goroutine (for good). Holding it is owning rd.
	readTurn chan struct{}
	rd       readerState
	// channelStarted is closed by the first call of Channel.
	channelStarted chan struct{}

	// cur is the connection in use, for Close to cut a write stuck under mu.
	cur atomic.Pointer[Conn]
	// closed is set by Close before anything else, so that a reader whose
	// connection Close cuts does not take it for a failure.
	closed atomic.Bool

	mu sync.Mutex // guards the fields below
	// cn is the connection in use; nil while disconnected. Only the reader
	// sets or clears it (and Close).
	cn *Conn
	// subs is what the PubSub wants subscribed, by kind: what a new
	// connection subscribes to.
	subs [subKinds]map[string]struct{}
	// inflight are the PINGs written on cn whose replies are not read yet,
	// in order.
	inflight []*marker
	// stalled are callers whose command was lost with a connection; the
	// next connection's resubscription answers them (or its failed dial).
	stalled []*waiter
	ch      chan *Message // Channel's channel, nil until Channel is called

	wg sync.WaitGroup // the Channel goroutine

	stats struct {
		messages, reconnects, disconnects, dropped atomic.Int64
	}
}

// subKind is the kind of a subscription: channel, pattern or shard channel.
type subKind uint8

const (
	subChannel subKind = iota
	subPattern
	subShard
	subKinds // how many kinds there are
)

func (k subKind) String() string {
	switch k {
	case subChannel:
		return "channel"
	case subPattern:
		return "pattern"
	case subShard:
		return "shard channel"
	}
	return "invalid"
}

func (k subKind) subscribeCommand() string {
	return [...]string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"}[k]
}

func (k subKind) unsubscribeCommand() string {
	return [...]string{"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}[k]
}

// pubSubHealth is the health check of an idle subscription.
type pubSubHealth struct {
	interval time.Duration // silence before a PING; <= 0 turns the check off
	timeout  time.Duration // how long to wait for any reply after it
}

// defaultPubSubPingInterval is how long a subscription may stay silent
// before a PING checks that the server is still there.
const defaultPubSubPingInterval = 30 * time.Second

// pubSubHealthFor returns the health check for opt (defaults applied).
func pubSubHealthFor(opt *Options) pubSubHealth {
	h := pubSubHealth{interval: opt.PubSubPingInterval, timeout: opt.PubSubPingTimeout}
	if h.interval == 0 {
		h.interval = defaultPubSubPingInterval
	}
	if h.timeout <= 0 {
		h.timeout = opt.ReadTimeout
	}
	if h.timeout <= 0 {
		h.timeout = DefaultReadTimeout
	}
	return h
}

// newPubSub returns a PubSub for opt (defaults applied) with nothing
// subscribed and no connection yet.
func newPubSub(opt *Options) *PubSub {
	life, stop := context.WithCancel(context.Background())
	ps := &PubSub{
		opt:      opt,
		health:   pubSubHealthFor(opt),
		life:     life,
		stop:     stop,
		done:     make(chan struct{}),
		readTurn: make(chan struct{}, 1),

		channelStarted: make(chan struct{}),
	}
	for k := range ps.subs {
		ps.subs[k] = make(map[string]struct{})
	}
	return ps
}

// pubSub returns a new PubSub subscribed to names of kind k. The first
// subscription waits, within ctx, for the connection and the server's
// confirmation; when it fails (the server cannot be reached, ctx ended)
// the names stay registered: the PubSub subscribes them once it connects,
// which Receive or Channel make it do, and reports the gap.
func (c *Client) pubSub(ctx context.Context, k subKind, names []string) *PubSub {
	ps := newPubSub(c.opt)
	if c.closed.Load() {
		_ = ps.Close()
		return ps
	}
	_ = ps.subscribe(ctx, k, names)
	return ps
}

// Subscribe returns a PubSub subscribed to channels, on a connection of its
// own (not from the Pool). It returns once the server confirmed the
// subscription, so a message published afterwards is received; if that
// fails within ctx the PubSub keeps the channels and subscribes them when
// it connects (see PubSub). The caller closes the PubSub. With no channels,
// nothing is dialled until the first Subscribe, Receive or Channel.
func (c *Client) Subscribe(ctx context.Context, channels ...string) *PubSub {
	return c.pubSub(ctx, subChannel, channels)
}

// PSubscribe is Subscribe for glob-style patterns (PSUBSCRIBE): "news.*"
// receives the messages of every channel it matches.
func (c *Client) PSubscribe(ctx context.Context, patterns ...string) *PubSub {
	return c.pubSub(ctx, subPattern, patterns)
}

// SSubscribe is Subscribe for shard channels (SSUBSCRIBE, Redis 7.0 and
// later), whose messages are published with SPublish.
func (c *Client) SSubscribe(ctx context.Context, channels ...string) *PubSub {
	return c.pubSub(ctx, subShard, channels)
}

// Subscribe subscribes to channels and returns once the server confirmed
// it: a message published on them after Subscribe returned is received.
// The confirmations (one *Subscription per channel) are also returned by
// Receive. ctx bounds the wait, not the subscription: if ctx ends first,
// the channels stay subscribed (the confirmation arrives later). If the
// connection is down and the next attempt to make it fails, Subscribe
// returns that error and the PubSub subscribes the channels when it
// connects. A server error reply (such as NOPERM) is returned as an *Error
// and the channels it refused are forgotten. After Close it returns
// ErrClosed.
func (ps *PubSub) Subscribe(ctx context.Context, channels ...string) error {
	return ps.subscribe(ctx, subChannel, channels)
}

// PSubscribe is Subscribe for patterns.
func (ps *PubSub) PSubscribe(ctx context.Context, patterns ...string) error {
	return ps.subscribe(ctx, subPattern, patterns)
}

// SSubscribe is Subscribe for shard channels.
func (ps *PubSub) SSubscribe(ctx context.Context, channels ...string) error {
	return ps.subscribe(ctx, subShard, channels)
}

// Unsubscribe unsubscribes from channels, or from every channel when none
// is named, and returns once the server confirmed it (or at once when the
// PubSub is disconnected: the next connection does not subscribe them).
// Messages already received for them may still be delivered. ctx bounds
// the wait; the channels are forgotten whatever happens.
func (ps *PubSub) Unsubscribe(ctx context.Context, channels ...string) error {
	return ps.unsubscribe(ctx, subChannel, channels)
}

// PUnsubscribe is Unsubscribe for patterns.
func (ps *PubSub) PUnsubscribe(ctx context.Context, patterns ...string) error {
	return ps.unsubscribe(ctx, subPattern, patterns)
}

// SUnsubscribe is Unsubscribe for shard channels.
func (ps *PubSub) SUnsubscribe(ctx context.Context, channels ...string) error {
	return ps.unsubscribe(ctx, subShard, channels)
}

func (ps *PubSub) subscribe(ctx context.Context, k subKind, names []string) error {
	if len(names) == 0 {
		return nil
	}
	w := newWaiter()
	ps.mu.Lock()
	if ps.closed.Load() {
		ps.mu.Unlock()
		return ErrClosed
	}
	var added []string
	for _, n := range names {
		if _, ok := ps.subs[k][n]; !ok {
			ps.subs[k][n] = struct{}{}
			added = append(added, n)
		}
	}
	ps.sendLocked(&marker{kind: markerConfirm, waiters: []*waiter{w}}, commandsFor(k.subscribeCommand(), names)...)
	ps.mu.Unlock()
	err := ps.wait(ctx, w)
	var se *Error
	if errors.As(err, &se) && len(added) > 0 {
		ps.mu.Lock()
		for _, n := range added {
			delete(ps.subs[k], n)
		}
		ps.mu.Unlock()
	}
	return err
}

func (ps *PubSub) unsubscribe(ctx context.Context, k subKind, names []string) error {
	w := newWaiter()
	ps.mu.Lock()
	if ps.closed.Load() {
		ps.mu.Unlock()
		return ErrClosed
	}
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(ps.subs[k]))
	}
	for _, n := range names {
		delete(ps.subs[k], n)
	}
	if len(names) == 0 || ps.cn == nil {
		ps.mu.Unlock()
		return nil
	}
	ps.sendLocked(&marker{kind: markerConfirm, waiters: []*waiter{w}}, commandsFor(k.unsubscribeCommand(), names)...)
	ps.mu.Unlock()
	return ps.wait(ctx, w)
}

// Ping sends PING, with a payload if one is given, and returns once the
// server answered; the reply is also returned by Receive as a *Pong. If the
// connection is down, Ping returns once a new one answered, or with the
// error of the next failed attempt. ctx bounds the wait.
func (ps *PubSub) Ping(ctx context.Context, payload ...string) error {
	if len(payload) > 1 {
		return errors.New("respool: PubSub.Ping takes at most one payload")
	}
	m := &marker{kind: markerPing, waiters: []*waiter{newWaiter()}}
	if len(payload) == 1 {
		m.payload, m.hasPayload = payload[0], true
	}
	ps.mu.Lock()
	if ps.closed.Load() {
		ps.mu.Unlock()
		return ErrClosed
	}
	ps.sendLocked(m)
	ps.mu.Unlock()
	return ps.wait(ctx, m.waiters[0])
}

// Receive returns the next event: a *Message, a *Subscription, a *Pong or
// a *Gap. It reads the connection on the caller's goroutine, making it
// again (with backoff) when it failed, and returns the *Gap first after
// that. ctx bounds the wait: when it ends, Receive returns the context's
// error and the PubSub is intact (a message being read when ctx ends is
// read to its end first). A server error reply that no call of the PubSub
// waits for (a subscription refused after a reconnect) is returned as an
// *Error. Receive returns ErrClosed after Close, and an error once Channel
// was called. Concurrent calls take turns.
func (ps *PubSub) Receive(ctx context.Context) (any, error) {
	select {
	case ps.readTurn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-ps.done:
		return nil, ErrClosed
	case <-ps.channelStarted:
		return nil, errReceiveAfterChannel
	}
	defer func() { <-ps.readTurn }()
	ps.mu.Lock()
	closed, chanMode := ps.closed.Load(), ps.ch != nil
	ps.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case chanMode:
		return nil, errReceiveAfterChannel
	}
	return ps.next(ctx)
}

var errReceiveAfterChannel = errors.New("respool: PubSub.Receive after PubSub.Channel: the channel's goroutine reads the connection")

// ReceiveMessage returns the next message, passing over subscription
// confirmations and pongs. After a gap it returns a Message whose Gap is
// set (see Message), once per gap. ctx bounds the wait as for Receive.
func (ps *PubSub) ReceiveMessage(ctx context.Context) (*Message, error) {
	for {
		ev, err := ps.Receive(ctx)
		if err != nil {
			return nil, err
		}
		switch e := ev.(type) {
		case *Message:
			return e, nil
		case *Gap:
			return &Message{Gap: e}, nil
		}
	}
}

// Close closes the connection and ends the PubSub: calls waiting in
// Subscribe, Ping or Receive return ErrClosed, a reconnection in progress
// stops, the Channel goroutine ends and the channel is closed (messages
// still buffered in it can be read first). Close returns once the
// goroutine has ended. It is idempotent and returns nil.
func (ps *PubSub) Close() error {
	if !ps.closed.CompareAndSwap(false, true) {
		// A Channel goroutine may still be joining wg: wait for it to leave
		// the critical section.
		ps.mu.Lock()
		//lint:ignore SA2001 the lock is taken only to wait for its holder
		ps.mu.Unlock()
		ps.wg.Wait()
		return nil
	}
	ps.stop()
	close(ps.done)
	if cn := ps.cur.Load(); cn != nil {
		_ = cn.Close() // also frees a write blocked under mu
	}
	ps.mu.Lock()
	cn := ps.cn
	ps.cn = nil
	ps.cur.Store(nil)
	for _, m := range ps.inflight {
		resolveAll(m.waiters, ErrClosed)
	}
	ps.inflight = nil
	resolveAll(ps.stalled, ErrClosed)
	ps.stalled = nil
	ps.mu.Unlock()
	if cn != nil {
		_ = cn.Close()
	}
	ps.wg.Wait()
	return nil
}

// PubSubStats are counters of a PubSub since it was created.
type PubSubStats struct {
	Messages    int64 // messages received from the server
	Disconnects int64 // outages: connections lost or that could not be made, once until one is made
	Reconnects  int64 // connections made again after a loss
	Dropped     int64 // messages dropped because Channel's buffer stayed full
}

// Stats returns the PubSub's counters.
func (ps *PubSub) Stats() PubSubStats {
	return PubSubStats{
		Messages:    ps.stats.messages.Load(),
		Disconnects: ps.stats.disconnects.Load(),
		Reconnects:  ps.stats.reconnects.Load(),
		Dropped:     ps.stats.dropped.Load(),
	}
}

// String returns "PubSub(<channels>, <patterns>, <shard channels>)" for
// logs.
func (ps *PubSub) String() string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	s := "PubSub("
	for k, set := range ps.subs {
		if k > 0 {
			s += "; "
		}
		s += subKind(k).String() + "s:"
		for _, n := range slices.Sorted(maps.Keys(set)) {
			s += " " + n
		}
	}
	return s + ")"
}

// waiter is a caller of Subscribe, Unsubscribe or Ping waiting for the
// reply to the PING written after its command.
type waiter struct {
	done chan struct{}
	err  error
}

func newWaiter() *waiter { return &waiter{done: make(chan struct{})} }

// resolveAll answers waiters with err. ps.mu is held: a waiter is in one
// list at a time and answered once.
func resolveAll(ws []*waiter, err error) {
	for _, w := range ws {
		w.err = err
		close(w.done)
	}
}

// markerKind says what a PING written by the PubSub is for.
type markerKind uint8

const (
	markerConfirm     markerKind = iota // follows a (un)subscribe of a caller
	markerPing                          // a caller's Ping
	markerHealth                        // the health check of an idle connection
	markerResubscribe                   // follows the resubscription of a new connection
	markerAuth                          // an AUTH after RotateCredentials, written instead of a PING
)

func (k markerKind) String() string {
	switch k {
	case markerConfirm:
		return "confirm"
	case markerPing:
		return "ping"
	case markerHealth:
		return "health"
	case markerResubscribe:
		return "resubscribe"
	case markerAuth:
		return "auth"
	}
	return "invalid"
}

// marker is one PING written on the connection. Replies come in order, so
// when its PONG arrives every command written before it was answered: an
// error reply read in between belongs to the commands it follows. A
// marker of kind markerAuth is an AUTH instead, whose +OK (or error)
// stands for the PONG.
type marker struct {
	kind       markerKind
	payload    string // the payload of a caller's Ping
	hasPayload bool
	auth       []any     // the AUTH command of a markerAuth
	err        error     // the first error reply read before the PONG
	waiters    []*waiter // answered when the PONG arrives
}

// commandsFor splits names into commands of at most 1024 names each.
func commandsFor(command string, names []string) [][]any {
	const most = 1024
	var cmds [][]any
	for len(names) > 0 {
		n := min(len(names), most)
		argv := make([]any, 0, n+1)
		argv = append(argv, command)
		for _, name := range names[:n] {
			argv = append(argv, name)
		}
		cmds = append(cmds, argv)
		names = names[n:]
	}
	return cmds
}

// sendLocked writes cmds followed by the PING of m on the connection, or,
// while there is none, leaves m's waiters for the next connection's
// resubscription. A failed write closes the connection; the reader then
// notices, and m's waiters move to the next connection with the other
// unanswered ones. ps.mu is held.
func (ps *PubSub) sendLocked(m *marker, cmds ...[]any) {
	if ps.cn == nil {
		ps.stalled = append(ps.stalled, m.waiters...)
		return
	}
	ps.inflight = append(ps.inflight, m)
	cn := ps.cn
	// Writes are bounded by WriteTimeout alone: a caller's context must not
	// cut a write short, which would break the connection for everyone.
	ctx := context.Background()
	for _, argv := range cmds {
		if cn.Send(ctx, argv...) != nil {
			return
		}
	}
	var err error
	switch {
	case m.kind == markerAuth:
		err = cn.Send(ctx, m.auth...)
	case m.hasPayload:
		err = cn.Send(ctx, "PING", m.payload)
	default:
		err = cn.Send(ctx, "PING")
	}
	if err == nil {
		_ = cn.Flush(ctx)
	}
}

// wait waits for w's answer within ctx. When nobody reads the connection,
// the caller reads it itself until the answer arrives, keeping what it
// reads for Receive.
func (ps *PubSub) wait(ctx context.Context, w *waiter) error {
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	case ps.readTurn <- struct{}{}:
		defer func() { <-ps.readTurn }()
		return ps.readUntil(ctx, w)
	}
}

// Publish posts message on channel (PUBLISH) and returns how many
// subscribers received it (in a cluster: of the node that took it).
// message is any argument type the client writes (string, []byte,
// numbers...).
func (c cmdable) Publish(ctx context.Context, channel string, message any) *Cmd[int64] {
	cmd := newCmd(DecodeInt, "PUBLISH", channel, message)
	c(ctx, cmd)
	return cmd
}

// SPublish posts message on the shard channel channel (SPUBLISH, Redis 7.0
// and later) and returns how many subscribers received it.
func (c cmdable) SPublish(ctx context.Context, channel string, message any) *Cmd[int64] {
	cmd := newCmd(DecodeInt, "SPUBLISH", channel, message)
	c(ctx, cmd)
	return cmd
}

// PubSubChannels returns the channels with at least one subscriber
// (patterns not counted) matching the glob-style pattern; "" means all
// (PUBSUB CHANNELS).
func (c cmdable) PubSubChannels(ctx context.Context, pattern string) *Cmd[[]string] {
	argv := []any{"PUBSUB", "CHANNELS"}
	if pattern != "" {
		argv = append(argv, pattern)
	}
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// PubSubNumSub returns the number of subscribers (patterns not counted) of
// each of channels (PUBSUB NUMSUB).
func (c cmdable) PubSubNumSub(ctx context.Context, channels ...string) *Cmd[map[string]int64] {
	cmd := newCmdArgv(decodeNumSub, appendStrings([]any{"PUBSUB", "NUMSUB"}, channels))
	c(ctx, cmd)
	return cmd
}

// PubSubNumPat returns the number of patterns subscribed to, by all
// clients together (PUBSUB NUMPAT).
func (c cmdable) PubSubNumPat(ctx context.Context) *Cmd[int64] {
	cmd := newCmd(DecodeInt, "PUBSUB", "NUMPAT")
	c(ctx, cmd)
	return cmd
}

// PubSubShardChannels is PubSubChannels for shard channels (PUBSUB
// SHARDCHANNELS).
func (c cmdable) PubSubShardChannels(ctx context.Context, pattern string) *Cmd[[]string] {
	argv := []any{"PUBSUB", "SHARDCHANNELS"}
	if pattern != "" {
		argv = append(argv, pattern)
	}
	cmd := borrowing(newCmd(DecodeStrings, argv...))
	c(ctx, cmd)
	return cmd
}

// PubSubShardNumSub is PubSubNumSub for shard channels (PUBSUB
// SHARDNUMSUB).
func (c cmdable) PubSubShardNumSub(ctx context.Context, channels ...string) *Cmd[map[string]int64] {
	cmd := newCmdArgv(decodeNumSub, appendStrings([]any{"PUBSUB", "SHARDNUMSUB"}, channels))
	c(ctx, cmd)
	return cmd
}

// decodeNumSub decodes PUBSUB NUMSUB's channel/count pairs (a map in
// RESP3, a flat array in RESP2).
var decodeNumSub = DecodeMap(DecodeString, DecodeInt)
