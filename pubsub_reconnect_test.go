package respool

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// Reconnection tests: servers restarted, killed, stopped, clients killed,
// output buffers overflowing, network faults from the fault proxy.

// pingUntilUp pings until the PubSub answers on a connection of its own,
// which means it has subscribed everything again.
func pingUntilUp(t *testing.T, ctx context.Context, ps *PubSub) {
	t.Helper()
	for {
		err := ps.Ping(ctx)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("PubSub never came back: %v", err)
		}
	}
}

func TestPubSubReconnectAfterRestart(t *testing.T) {
	pubSubProtocols(t, func(t *testing.T, proto int) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		srv, c := ownServerClient(t, proto)
		ps := c.Subscribe(ctx, "a")
		defer ps.Close()
		if err := ps.PSubscribe(ctx, "p.*"); err != nil {
			t.Fatal(err)
		}
		if err := ps.SSubscribe(ctx, "s"); err != nil {
			t.Fatal(err)
		}
		msgs := ps.Channel()
		wantPublished(t, c.Publish(ctx, "a", "before"), 1)
		if m, gaps := nextMessage(t, ctx, msgs); m.Payload != "before" || len(gaps) != 0 {
			t.Fatalf("got %v after %d gaps", m, len(gaps))
		}

		srv.Restart(t) // SIGKILL, then start again on the same port

		// Publish until a message arrives: once the PubSub is back, every
		// subscription is.
		var m *Message
		var gaps []*Gap
		for i := 0; m == nil; i++ {
			payload := "after-" + strconv.Itoa(i)
			if c.Publish(ctx, "a", payload).Val() == 1 {
				m, gaps = nextMessage(t, ctx, msgs)
				if m.Payload != payload {
					t.Fatalf("got %v, want %s", m, payload)
				}
			} else if ctx.Err() != nil {
				t.Fatal("the subscription never came back")
			}
		}
		if len(gaps) != 1 || gaps[0].Reconnects != 1 || gaps[0].Err == nil || gaps[0].Dropped != 0 {
			t.Fatalf("gap notices before the first message: %v", gaps)
		}
		wantPublished(t, c.Publish(ctx, "p.x", "pattern"), 1)
		wantPublished(t, c.SPublish(ctx, "s", "shard"), 1)
		if m, gaps := nextMessage(t, ctx, msgs); m.Pattern != "p.*" || len(gaps) != 0 {
			t.Fatalf("got %v after %d gaps", m, len(gaps))
		}
		if m, gaps := nextMessage(t, ctx, msgs); !m.Shard || len(gaps) != 0 {
			t.Fatalf("got %v after %d gaps", m, len(gaps))
		}
		if got := c.PubSubNumPat(ctx).Val(); got != 1 {
			t.Fatalf("NUMPAT = %d", got)
		}
		if s := ps.Stats(); s.Reconnects != 1 || s.Disconnects != 1 {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

// 50 channels and 10 patterns come back exactly once after CLIENT KILL
// TYPE pubsub, with one gap notice.
func TestPubSubReconnectAfterClientKill(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	_, c := ownServerClient(t, 3)
	var channels, patterns []string
	for i := range 50 {
		channels = append(channels, "ch"+strconv.Itoa(i))
	}
	for i := range 10 {
		patterns = append(patterns, "pat"+strconv.Itoa(i)+".*")
	}
	ps := c.Subscribe(ctx, channels...)
	defer ps.Close()
	if err := ps.PSubscribe(ctx, patterns...); err != nil {
		t.Fatal(err)
	}
	msgs := ps.Channel()

	for round := 1; round <= 2; round++ {
		if n, err := c.ClientKill(ctx, ClientKillArgs{Type: "pubsub"}).Result(); err != nil || n != 1 {
			t.Fatalf("CLIENT KILL = %v, %v", n, err)
		}
		pingUntilUp(t, ctx, ps)
		numsub := c.PubSubNumSub(ctx, channels...).Val()
		for _, ch := range channels {
			if numsub[ch] != 1 {
				t.Fatalf("round %d: NUMSUB %s = %d", round, ch, numsub[ch])
			}
		}
		if got := c.PubSubNumPat(ctx).Val(); got != 10 {
			t.Fatalf("round %d: NUMPAT = %d", round, got)
		}
		payload := "round" + strconv.Itoa(round)
		wantPublished(t, c.Publish(ctx, "ch7", payload), 1)
		wantPublished(t, c.Publish(ctx, "pat3.x", payload), 1)
		m, gaps := nextMessage(t, ctx, msgs)
		if m.Channel != "ch7" || m.Payload != payload || len(gaps) != 1 || gaps[0].Reconnects != 1 {
			t.Fatalf("round %d: got %v after gaps %v", round, m, gaps)
		}
		if m, gaps := nextMessage(t, ctx, msgs); m.Pattern != "pat3.*" || len(gaps) != 0 {
			t.Fatalf("round %d: got %v after gaps %v", round, m, gaps)
		}
	}
	if s := ps.Stats(); s.Reconnects != 2 {
		t.Fatalf("Stats = %+v", s)
	}
}

// A subscriber that does not read is cut off by the server's output
// buffer limit; Receive then drains what arrived, reconnects, and reports
// the gap once.
func TestPubSubReconnectAfterOutputBufferLimit(t *testing.T) {
	pubSubProtocols(t, func(t *testing.T, proto int) {
		checkGoroutines(t, ignoreServerProcess)
		ctx := testContext(t)
		_, c := ownServerClient(t, proto, "--client-output-buffer-limit", "pubsub 64kb 0 0")
		ps := c.Subscribe(ctx, "flood")
		defer ps.Close()
		payload := strings.Repeat("x", 16<<10)
		for total := 0; ; total++ {
			if c.PubSubNumSub(ctx, "flood").Val()["flood"] == 0 {
				break
			}
			if total > 20000 || ctx.Err() != nil {
				t.Fatal("the server never cut off the subscriber")
			}
			pl := c.Pipeline()
			for range 50 {
				pl.Publish(ctx, "flood", payload)
			}
			if err := pl.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var gaps []*Gap
		var flood int
		for len(gaps) == 0 {
			switch ev := receive[any](t, ctx, ps).(type) {
			case *Message:
				flood++
			case *Gap:
				gaps = append(gaps, ev)
			}
		}
		if gaps[0].Reconnects != 1 || gaps[0].Err == nil {
			t.Fatalf("gap = %+v", gaps[0])
		}
		pingUntilUp(t, ctx, ps)
		wantPublished(t, c.Publish(ctx, "flood", "calm"), 1)
		m, err := ps.ReceiveMessage(ctx)
		if err != nil || m.Payload != "calm" || m.Gap != nil {
			t.Fatalf("ReceiveMessage = %v, %v", m, err)
		}
		t.Logf("%d flood messages received before the gap", flood)
	})
}

// A server that stops answering (SIGSTOP) is noticed by the health check;
// the gap names the unanswered PING.
func TestPubSubHealthCheckStoppedServer(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	srv, c := ownServerClient(t, 3)
	ps := newPubSub(c.opt)
	defer ps.Close()
	ps.health = pubSubHealth{interval: 50 * time.Millisecond, timeout: 100 * time.Millisecond}
	dropped := make(chan error, 16)
	ps.rd.onDrop = func(err error) { dropped <- err }
	if err := ps.Subscribe(ctx, "ch"); err != nil {
		t.Fatal(err)
	}
	wantSubscription(t, ctx, ps, Subscription{Kind: "subscribe", Channel: "ch", Count: 1})

	srv.Pause(t)
	type result struct {
		ev  any
		err error
	}
	got := make(chan result, 1)
	go func() {
		ev, err := ps.Receive(ctx)
		got <- result{ev, err}
	}()
	var pte *pingTimeoutError
	select {
	case err := <-dropped:
		if !errors.As(err, &pte) {
			t.Fatalf("connection dropped with %v, want a PING timeout", err)
		}
	case <-ctx.Done():
		t.Fatal("the stopped server was never noticed")
	}
	srv.Resume(t)
	r := <-got
	g, ok := r.ev.(*Gap)
	if r.err != nil || !ok || !errors.As(g.Err, &pte) || g.Reconnects != 1 {
		t.Fatalf("Receive after Resume = %v, %v; want a Gap for the PING timeout", r.ev, r.err)
	}
	pingUntilUp(t, ctx, ps)
	wantPublished(t, c.Publish(ctx, "ch", "awake"), 1)
	if m, err := ps.ReceiveMessage(ctx); err != nil || m.Payload != "awake" {
		t.Fatalf("ReceiveMessage = %v, %v", m, err)
	}
}

// A PubSub whose first dial failed reports a gap once it connects: what
// was published meanwhile never reached it.
func TestPubSubFirstDialFails(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	ctx := testContext(t)
	srv, c := ownServerClient(t, 2)
	srv.Kill(t)
	ps := c.Subscribe(ctx, "a") // the server is down: the channel is kept
	defer ps.Close()
	if err := ps.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with the server down")
	}
	srv.Restart(t)
	g := receive[*Gap](t, ctx, ps)
	if g.Reconnects != 1 || g.Err == nil {
		t.Fatalf("gap = %+v", g)
	}
	wantSubscription(t, ctx, ps, Subscription{Kind: "subscribe", Channel: "a", Count: 1})
	wantPublished(t, c.Publish(ctx, "a", "up"), 1)
	wantMessage(t, ctx, ps, Message{Channel: "a", Payload: "up"})
}

// Faults of the network between the subscriber and the server: every one
// ends in a reconnection with one gap notice, and the subscription works
// again afterwards.
func TestPubSubThroughFaultProxy(t *testing.T) {
	faults := []struct {
		name   string
		inject func(p *respooltest.FaultProxy, publish func(string))
		health bool // a short health check
		heal   func(p *respooltest.FaultProxy)
	}{
		{name: "DropAll", inject: func(p *respooltest.FaultProxy, _ func(string)) { p.DropAll() }},
		{name: "ResetAll", inject: func(p *respooltest.FaultProxy, _ func(string)) { p.ResetAll() }},
		{
			// The connection is cut in the middle of a message: the half read
			// is discarded with the connection, nothing desynchronises.
			name: "CutMidMessage",
			inject: func(p *respooltest.FaultProxy, publish func(string)) {
				p.CutAfter(10)
				publish(strings.Repeat("m", 100))
			},
		},
		{
			// Replies vanish while both sockets stay open: only the health
			// check can notice.
			name:   "Blackhole",
			health: true,
			inject: func(p *respooltest.FaultProxy, _ func(string)) {
				p.Blackhole(respooltest.ServerToClient, true)
			},
			heal: func(p *respooltest.FaultProxy) { p.Blackhole(respooltest.ServerToClient, false) },
		},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			checkGoroutines(t, ignoreServerProcess)
			ctx := testContext(t)
			pub := newTestClient(t)
			proxy := respooltest.StartFaultProxy(t, sharedServer(t).Addr)
			c := NewClient(&Options{Addr: proxy.Addr()})
			defer c.Close()
			ps := newPubSub(c.opt)
			defer ps.Close()
			if f.health {
				ps.health = pubSubHealth{interval: 20 * time.Millisecond, timeout: 50 * time.Millisecond}
			}
			dropped := make(chan error, 1)
			ps.rd.onDrop = func(err error) {
				select {
				case dropped <- err:
				default:
				}
			}
			ch := testKey(t, "ch")
			if err := ps.Subscribe(ctx, ch); err != nil {
				t.Fatal(err)
			}
			msgs := ps.Channel()
			publish := func(payload string) { wantPublished(t, pub.Publish(ctx, ch, payload), 1) }
			publish("before")
			if m, gaps := nextMessage(t, ctx, msgs); m.Payload != "before" || len(gaps) != 0 {
				t.Fatalf("got %v after gaps %v", m, gaps)
			}

			f.inject(proxy, publish)
			select {
			case <-dropped:
			case <-ctx.Done():
				t.Fatal("the fault was never noticed")
			}
			if f.heal != nil {
				f.heal(proxy)
			}
			pingUntilUp(t, ctx, ps)
			publish("after")
			m, gaps := nextMessage(t, ctx, msgs)
			if m.Payload != "after" || len(gaps) != 1 || gaps[0].Reconnects != 1 {
				t.Fatalf("got %v after gaps %v", m, gaps)
			}
			if got := pub.PubSubNumSub(ctx, ch).Val()[ch]; got != 1 {
				t.Fatalf("NUMSUB = %d", got)
			}
		})
	}
}
