package respool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// The pub/sub tests use real servers: the shared one for what leaves the
// server as it was, a server of their own for restarts, kills, pauses,
// CLIENT KILL TYPE pubsub, NUMPAT counts and server flags. Every wait is
// bounded by a context (a safety net against a hang, never a timing
// assumption); nothing sleeps to synchronise.

// pubSubProtocols runs f once per protocol.
func pubSubProtocols(t *testing.T, f func(t *testing.T, proto int)) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) { f(t, proto) })
	}
}

// testContext returns a context that ends when the test does, or after
// 30s (a safety net).
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ownServerClient starts a server of the test's own and returns it with
// a Client on it.
func ownServerClient(t *testing.T, proto int, args ...string) (*respooltest.Server, *Client) {
	t.Helper()
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t, respooltest.WithArgs(args...))
	c := NewClient(&Options{Addr: srv.Addr, Protocol: proto})
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

// receive returns the next event of ps, which must be of type T.
func receive[T any](t *testing.T, ctx context.Context, ps *PubSub) T {
	t.Helper()
	ev, err := ps.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	v, ok := ev.(T)
	if !ok {
		var want T
		t.Fatalf("Receive = %T %v, want a %T", ev, ev, want)
	}
	return v
}

func wantSubscription(t *testing.T, ctx context.Context, ps *PubSub, want Subscription) {
	t.Helper()
	if got := receive[*Subscription](t, ctx, ps); *got != want {
		t.Fatalf("Receive = %+v, want %+v", *got, want)
	}
}

func wantMessage(t *testing.T, ctx context.Context, ps *PubSub, want Message) {
	t.Helper()
	if got := receive[*Message](t, ctx, ps); *got != want {
		t.Fatalf("Receive = %+v, want %+v", *got, want)
	}
}

func wantPublished(t *testing.T, cmd *Cmd[int64], want int64) {
	t.Helper()
	if n, err := cmd.Result(); err != nil || n != want {
		t.Fatalf("%v: got %d, %v; want %d receivers", cmd.Args(), n, err, want)
	}
}

func TestPubSubReceive(t *testing.T) {
	pubSubProtocols(t, func(t *testing.T, proto int) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		c := newTestClient(t, &Options{Protocol: proto})
		ch, pat, sch := testKey(t, "news"), testKey(t, "p")+".*", testKey(t, "shard")
		ps := c.Subscribe(ctx, ch)
		defer ps.Close()

		wantSubscription(t, ctx, ps, Subscription{Kind: "subscribe", Channel: ch, Count: 1})
		// Subscribe returned after the confirmation: the publish reaches it.
		wantPublished(t, c.Publish(ctx, ch, "hello"), 1)
		wantMessage(t, ctx, ps, Message{Channel: ch, Payload: "hello"})

		if err := ps.PSubscribe(ctx, pat); err != nil {
			t.Fatal(err)
		}
		wantSubscription(t, ctx, ps, Subscription{Kind: "psubscribe", Channel: pat, Count: 2})
		wantPublished(t, c.Publish(ctx, testKey(t, "p")+".x", []byte("hi")), 1)
		wantMessage(t, ctx, ps, Message{Channel: testKey(t, "p") + ".x", Pattern: pat, Payload: "hi"})

		if err := ps.SSubscribe(ctx, sch); err != nil {
			t.Fatal(err)
		}
		wantSubscription(t, ctx, ps, Subscription{Kind: "ssubscribe", Channel: sch, Count: 1})
		wantPublished(t, c.SPublish(ctx, sch, 42), 1)
		wantMessage(t, ctx, ps, Message{Channel: sch, Payload: "42", Shard: true})

		// The PUBSUB introspection commands see the subscriptions.
		if got, err := c.PubSubNumSub(ctx, ch, testKey(t, "none")).Result(); err != nil || got[ch] != 1 || got[testKey(t, "none")] != 0 || len(got) != 2 {
			t.Fatalf("PUBSUB NUMSUB = %v, %v", got, err)
		}
		if got, err := c.PubSubChannels(ctx, testKey(t, "n*")).Result(); err != nil || len(got) != 1 || got[0] != ch {
			t.Fatalf("PUBSUB CHANNELS = %v, %v", got, err)
		}
		if got, err := c.PubSubNumPat(ctx).Result(); err != nil || got < 1 {
			t.Fatalf("PUBSUB NUMPAT = %v, %v", got, err)
		}
		if got, err := c.PubSubShardChannels(ctx, sch).Result(); err != nil || len(got) != 1 || got[0] != sch {
			t.Fatalf("PUBSUB SHARDCHANNELS = %v, %v", got, err)
		}
		if got, err := c.PubSubShardNumSub(ctx, sch).Result(); err != nil || got[sch] != 1 {
			t.Fatalf("PUBSUB SHARDNUMSUB = %v, %v", got, err)
		}

		if err := ps.Ping(ctx, "payload"); err != nil {
			t.Fatal(err)
		}
		if got := receive[*Pong](t, ctx, ps); got.Payload != "payload" {
			t.Fatalf("Pong = %+v", got)
		}

		if err := ps.Unsubscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		wantSubscription(t, ctx, ps, Subscription{Kind: "unsubscribe", Channel: ch, Count: 1})
		wantPublished(t, c.Publish(ctx, ch, "gone"), 0)
		if err := ps.PUnsubscribe(ctx); err != nil { // all patterns
			t.Fatal(err)
		}
		wantSubscription(t, ctx, ps, Subscription{Kind: "punsubscribe", Channel: pat, Count: 0})
		if err := ps.SUnsubscribe(ctx, sch); err != nil {
			t.Fatal(err)
		}
		wantSubscription(t, ctx, ps, Subscription{Kind: "sunsubscribe", Channel: sch, Count: 0})
		wantPublished(t, c.SPublish(ctx, sch, "gone"), 0)

		// With nothing subscribed any more (RESP2 leaves subscribed mode),
		// PING still works and so does a new subscription.
		if err := ps.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if got := receive[*Pong](t, ctx, ps); got.Payload != "" {
			t.Fatalf("Pong = %+v", got)
		}
		if err := ps.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		wantPublished(t, c.Publish(ctx, ch, "back"), 1)
		if m, err := ps.ReceiveMessage(ctx); err != nil || m.Payload != "back" {
			t.Fatalf("ReceiveMessage = %v, %v", m, err)
		}
		if s := ps.Stats(); s.Messages != 4 || s.Disconnects != 0 || s.Reconnects != 0 {
			t.Fatalf("Stats = %+v", s)
		}
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Receive(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Receive after Close: %v", err)
		}
		if err := ps.Subscribe(ctx, ch); !errors.Is(err, ErrClosed) {
			t.Fatalf("Subscribe after Close: %v", err)
		}
	})
}

// A Receive whose context ends leaves the connection intact, however long
// it waited: the socket read timeout plays no part in waiting for messages.
func TestPubSubReceiveContextKeepsConnection(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	c := newTestClient(t, &Options{ReadTimeout: 20 * time.Millisecond})
	ch := testKey(t, "ch")
	ps := c.Subscribe(ctx, ch)
	defer ps.Close()
	wantSubscription(t, ctx, ps, Subscription{Kind: "subscribe", Channel: ch, Count: 1})
	for range 3 {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := ps.Receive(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Receive with a short context: %v", err)
		}
	}
	wantPublished(t, c.Publish(ctx, ch, "still here"), 1)
	wantMessage(t, ctx, ps, Message{Channel: ch, Payload: "still here"})
	if s := ps.Stats(); s.Disconnects != 0 {
		t.Fatalf("Stats = %+v, want no disconnect", s)
	}
}

func TestPubSubChannelOrder(t *testing.T) {
	pubSubProtocols(t, func(t *testing.T, proto int) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		c := newTestClient(t, &Options{Protocol: proto})
		ch := testKey(t, "ch")
		ps := c.Subscribe(ctx, ch)
		defer ps.Close()
		msgs := ps.Channel()
		const n = 1000
		errc := make(chan error, 1)
		go func() {
			for i := range n {
				if err := c.Publish(ctx, ch, strconv.Itoa(i)).Err(); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for i := range n {
			select {
			case m := <-msgs:
				if m.Gap != nil || m.Channel != ch || m.Payload != strconv.Itoa(i) {
					t.Fatalf("message %d = %v", i, m)
				}
			case <-ctx.Done():
				t.Fatalf("message %d: %v", i, ctx.Err())
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Receive(ctx); !errors.Is(err, errReceiveAfterChannel) {
			t.Fatalf("Receive after Channel: %v", err)
		}
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := <-msgs; ok {
			t.Fatal("Channel still open after Close")
		}
	})
}

// A Subscribe the server refuses returns its error, and the refused
// channel is not subscribed again after a reconnect.
func TestPubSubSubscribeRefused(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	admin := newTestClient(t)
	user := "u" + strings.NewReplacer("/", "_", ":", "_").Replace(t.Name())
	allowed := testKey(t, "allowed")
	if _, err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "resetchannels", "&"+allowed, "+@all"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Do(context.Background(), "ACL", "DELUSER", user) })
	c := newTestClient(t, &Options{Username: user, Password: "pw"})
	ps := c.Subscribe(ctx, allowed)
	defer ps.Close()
	err := ps.Subscribe(ctx, testKey(t, "forbidden"))
	var se *Error
	if !errors.As(err, &se) || se.Prefix() != "NOPERM" {
		t.Fatalf("Subscribe to a forbidden channel: %v", err)
	}
	if got := ps.String(); strings.Contains(got, "forbidden") || !strings.Contains(got, allowed) {
		t.Fatalf("subscriptions after the refusal: %s", got)
	}
	wantSubscription(t, ctx, ps, Subscription{Kind: "subscribe", Channel: allowed, Count: 1})
	wantPublished(t, admin.Publish(ctx, allowed, "ok"), 1)
	wantMessage(t, ctx, ps, Message{Channel: allowed, Payload: "ok"})
}

// nextMessage returns the next message from a Channel, counting the gap
// notices before it.
func nextMessage(t *testing.T, ctx context.Context, msgs <-chan *Message) (m *Message, gaps []*Gap) {
	t.Helper()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("channel closed")
			}
			if m.Gap == nil {
				return m, gaps
			}
			gaps = append(gaps, m.Gap)
		case <-ctx.Done():
			t.Fatalf("no message: %v", ctx.Err())
		}
	}
}

// Close ends a Receive blocked on a quiet connection, a Subscribe waiting
// for a stopped server, and a reconnection in progress, without leaking.
func TestPubSubCloseWhileBlocked(t *testing.T) {
	t.Run("Receive", func(t *testing.T) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		c := newTestClient(t)
		ps := c.Subscribe(ctx, testKey(t, "quiet"))
		wantSubscription(t, ctx, ps, Subscription{Kind: "subscribe", Channel: testKey(t, "quiet"), Count: 1})
		errc := make(chan error, 1)
		go func() {
			_, err := ps.Receive(ctx)
			errc <- err
		}()
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Receive after Close = %v", err)
		}
		if err := ps.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
	})
	t.Run("ChannelReading", func(t *testing.T) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		c := newTestClient(t)
		ps := c.Subscribe(ctx, testKey(t, "quiet"))
		msgs := ps.Channel()
		if err := ps.Ping(ctx); err != nil { // the goroutine reads
			t.Fatal(err)
		}
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if m, ok := <-msgs; ok {
			t.Fatalf("got %v after Close", m)
		}
	})
	t.Run("SubscribeToStoppedServer", func(t *testing.T) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		srv, c := ownServerClient(t, 3)
		ps := c.Subscribe(ctx, "a")
		srv.Pause(t)
		defer srv.Resume(t)
		errc := make(chan error, 1)
		go func() { errc <- ps.Subscribe(ctx, "b") }() // waits for a reply that cannot come
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Subscribe after Close = %v", err)
		}
	})
	t.Run("Reconnecting", func(t *testing.T) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		srv, c := ownServerClient(t, 3)
		ps := c.Subscribe(ctx, "a")
		dropped := make(chan error, 1)
		ps.rd.onDrop = func(err error) {
			select {
			case dropped <- err:
			default:
			}
		}
		msgs := ps.Channel()
		srv.Kill(t)
		select {
		case <-dropped: // the goroutine is now dialling a dead server, with backoff
		case <-ctx.Done():
			t.Fatal("the killed server was never noticed")
		}
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if m, ok := <-msgs; ok {
			t.Fatalf("got %v after Close", m)
		}
		if s := ps.Stats(); s.Reconnects != 0 || s.Disconnects != 1 {
			t.Fatalf("Stats = %+v", s)
		}
	})
	t.Run("DiallingStoppedServer", func(t *testing.T) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		srv, c := ownServerClient(t, 3)
		ps := newPubSub(c.opt)
		ps.health = pubSubHealth{interval: 20 * time.Millisecond, timeout: 50 * time.Millisecond}
		dropped := make(chan error, 1)
		ps.rd.onDrop = func(err error) {
			select {
			case dropped <- err:
			default:
			}
		}
		if err := ps.Subscribe(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		msgs := ps.Channel()
		srv.Pause(t)
		defer srv.Resume(t)
		select {
		case <-dropped: // the goroutine now waits for a handshake that cannot come
		case <-ctx.Done():
			t.Fatal("the stopped server was never noticed")
		}
		if err := ps.Close(); err != nil {
			t.Fatal(err)
		}
		if m, ok := <-msgs; ok {
			t.Fatalf("got %v after Close", m)
		}
	})
}

// Close ends the Channel goroutine while it waits for room in a full
// channel nobody reads.
func TestPubSubCloseWithFullChannel(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	c := newTestClient(t)
	ch := testKey(t, "ch")
	ps := c.Subscribe(ctx, ch)
	msgs := ps.Channel(WithChannelSize(1)) // default send timeout: a minute
	for i := range 3 {
		wantPublished(t, c.Publish(ctx, ch, strconv.Itoa(i)), 1)
	}
	eventually(t, "the channel fills", func() bool { return len(msgs) == 1 })
	if err := ps.Close(); err != nil {
		t.Fatal(err)
	}
	if m := <-msgs; m == nil || m.Payload != "0" {
		t.Fatalf("buffered message = %v", m)
	}
	if m, ok := <-msgs; ok {
		t.Fatalf("got %v after Close", m)
	}
}

// With a zero wait, a full channel drops messages at once; they are
// counted and announced before the next message.
func TestPubSubChannelDropsWhenFull(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	c := newTestClient(t)
	ch := testKey(t, "ch")
	ps := c.Subscribe(ctx, ch)
	defer ps.Close()
	msgs := ps.Channel(WithChannelSize(2), WithChannelSendTimeout(-1))
	for i := range 10 {
		wantPublished(t, c.Publish(ctx, ch, strconv.Itoa(i)), 1)
	}
	// The PONG comes after the ten messages: once Ping returned, the
	// goroutine has delivered or dropped each of them.
	if err := ps.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s := ps.Stats(); s.Dropped != 8 || s.Messages != 10 {
		t.Fatalf("Stats = %+v, want 10 messages, 8 dropped", s)
	}
	for i := range 2 {
		if m := <-msgs; m.Payload != strconv.Itoa(i) {
			t.Fatalf("message %d = %v", i, m)
		}
	}
	wantPublished(t, c.Publish(ctx, ch, "next"), 1)
	m, gaps := nextMessage(t, ctx, msgs)
	if m.Payload != "next" || len(gaps) != 1 || gaps[0].Dropped != 8 || gaps[0].Reconnects != 0 {
		t.Fatalf("got %v after gaps %v", m, gaps)
	}
}

func TestPubSubParseReply(t *testing.T) {
	bulk := resp.BulkString
	tests := []struct {
		name string
		v    resp.Value
		want any // nil: ignored; error: rejected
	}{
		{"RESP2 message", resp.Array(bulk("message"), bulk("c"), bulk("p")), &Message{Channel: "c", Payload: "p"}},
		{"RESP3 message", resp.Push(bulk("message"), bulk("c"), bulk("p")), &Message{Channel: "c", Payload: "p"}},
		{"RESP2 pmessage", resp.Array(bulk("pmessage"), bulk("c.*"), bulk("c.1"), bulk("p")), &Message{Channel: "c.1", Pattern: "c.*", Payload: "p"}},
		{"RESP3 pmessage", resp.Push(bulk("pmessage"), bulk("c.*"), bulk("c.1"), bulk("")), &Message{Channel: "c.1", Pattern: "c.*"}},
		{"RESP3 smessage", resp.Push(bulk("smessage"), bulk("s"), bulk("p")), &Message{Channel: "s", Payload: "p", Shard: true}},
		{"RESP2 subscribe", resp.Array(bulk("subscribe"), bulk("c"), resp.Integer(1)), &Subscription{Kind: "subscribe", Channel: "c", Count: 1}},
		{"RESP3 punsubscribe", resp.Push(bulk("punsubscribe"), bulk("c.*"), resp.Integer(0)), &Subscription{Kind: "punsubscribe", Channel: "c.*"}},
		{"unsubscribe of nothing", resp.Array(bulk("unsubscribe"), resp.NullBulk(), resp.Integer(0)), &Subscription{Kind: "unsubscribe"}},
		{"RESP3 ssubscribe", resp.Push(bulk("ssubscribe"), bulk("s"), resp.Integer(2)), &Subscription{Kind: "ssubscribe", Channel: "s", Count: 2}},
		{"RESP2 pong", resp.Array(bulk("pong"), bulk("")), pongReply{}},
		{"RESP3 PONG", resp.SimpleString("PONG"), pongReply{}},
		{"RESP3 pong payload", bulk("x"), pongReply{}},
		{"error", resp.ErrorValue("NOPERM no"), NewError("NOPERM no")},
		{"other push", resp.Push(bulk("invalidate"), resp.Array(bulk("k"))), nil},
		{"short message", resp.Array(bulk("message"), bulk("c")), errPubSubReply},
		{"message of integers", resp.Push(bulk("message"), resp.Integer(1), bulk("p")), errPubSubReply},
		{"count not integer", resp.Push(bulk("subscribe"), bulk("c"), bulk("x")), errPubSubReply},
		{"unknown RESP2 array", resp.Array(bulk("hello")), errPubSubReply},
		{"empty array", resp.Array(), errPubSubReply},
		{"integer", resp.Integer(1), errPubSubReply},
		{"pong push", resp.Push(bulk("pong"), bulk("")), errPubSubReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePubSubReply(tt.v)
			if wantErr, ok := tt.want.(error); ok && errors.Is(wantErr, errPubSubReply) {
				if !errors.Is(err, errPubSubReply) {
					t.Fatalf("got %#v, %v; want an error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestPubSubGapString(t *testing.T) {
	for _, tt := range []struct {
		g    Gap
		want string
	}{
		{Gap{Reconnects: 1, Err: errors.New("EOF")}, "respool: reconnected after: EOF"},
		{Gap{Reconnects: 2, Err: errors.New("EOF"), Dropped: 3}, "respool: reconnected 2 times after: EOF; 3 messages dropped"},
		{Gap{Dropped: 1}, "respool: 1 message dropped"},
	} {
		if got := tt.g.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.g, got, tt.want)
		}
	}
}

// Subscribe, Unsubscribe and Ping from many goroutines while the Channel
// goroutine reads: each call returns once the server answered it.
func TestPubSubConcurrentCalls(t *testing.T) {
	pubSubProtocols(t, func(t *testing.T, proto int) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		c := newTestClient(t, &Options{Protocol: proto})
		ps := c.Subscribe(ctx)
		defer ps.Close()
		msgs := ps.Channel()
		const workers = 8
		errc := make(chan error, workers)
		for w := range workers {
			go func() {
				ch := testKey(t, "w"+strconv.Itoa(w))
				errc <- func() error {
					for i := range 20 {
						if err := ps.Subscribe(ctx, ch); err != nil {
							return err
						}
						// Subscribe returned: the server has the subscription.
						if n, err := c.Publish(ctx, ch, strconv.Itoa(i)).Result(); err != nil || n != 1 {
							return fmt.Errorf("publish %s: %d, %v", ch, n, err)
						}
						if err := ps.Ping(ctx, ch); err != nil {
							return err
						}
						if err := ps.Unsubscribe(ctx, ch); err != nil {
							return err
						}
						if n, err := c.Publish(ctx, ch, "late").Result(); err != nil || n != 0 {
							return fmt.Errorf("publish %s after Unsubscribe: %d, %v", ch, n, err)
						}
					}
					return nil
				}()
			}()
		}
		got, finished := 0, 0
		for got < workers*20 || finished < workers {
			select {
			case m := <-msgs:
				if m.Gap != nil || m.Payload == "late" {
					t.Fatalf("unexpected %v", m)
				}
				got++
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
				finished++
			case <-ctx.Done():
				t.Fatalf("%d messages, %d workers finished: %v", got, finished, ctx.Err())
			}
		}
	})
}

func TestPubSubClientPSubscribeSSubscribe(t *testing.T) {
	pubSubProtocols(t, func(t *testing.T, proto int) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		c := newTestClient(t, &Options{Protocol: proto})
		pat, sch := testKey(t, "p")+".*", testKey(t, "s")
		pps := c.PSubscribe(ctx, pat)
		defer pps.Close()
		sps := c.SSubscribe(ctx, sch)
		defer sps.Close()
		wantPublished(t, c.Publish(ctx, testKey(t, "p")+".1", "p"), 1)
		wantPublished(t, c.SPublish(ctx, sch, "s"), 1)
		if m, err := pps.ReceiveMessage(ctx); err != nil || m.Pattern != pat || m.Payload != "p" {
			t.Fatalf("ReceiveMessage = %v, %v", m, err)
		}
		if m, err := sps.ReceiveMessage(ctx); err != nil || !m.Shard || m.Channel != sch || m.Payload != "s" {
			t.Fatalf("ReceiveMessage = %v, %v", m, err)
		}
	})
}

func TestPubSubEventStrings(t *testing.T) {
	for _, tt := range []struct {
		v    fmt.Stringer
		want string
	}{
		{&Message{Channel: "c", Payload: "p"}, "message c: p"},
		{&Message{Channel: "c.1", Pattern: "c.*", Payload: "p"}, "message c.* c.1: p"},
		{&Message{Channel: "s", Payload: "p", Shard: true}, "smessage s: p"},
		{&Message{Gap: &Gap{Dropped: 2}}, "respool: 2 messages dropped"},
		{&Subscription{Kind: "subscribe", Channel: "c", Count: 1}, "subscribe c (1)"},
		{&Pong{}, "pong"},
		{&Pong{Payload: "x"}, "pong x"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%#v: got %q, want %q", tt.v, got, tt.want)
		}
	}
}
