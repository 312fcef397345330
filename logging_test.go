package respool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// logRecorder is a slog.Handler that keeps every record, for tests of the
// client's log events.
type logRecorder struct {
	mu      sync.Mutex
	records []loggedEvent
}

// loggedEvent is one record: its level, message and attributes, each
// attribute's value as text.
type loggedEvent struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	ev := loggedEvent{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool {
		ev.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	r.mu.Lock()
	r.records = append(r.records, ev)
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// events returns the records whose message is msg.
func (r *logRecorder) events(msg string) []loggedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []loggedEvent
	for _, ev := range r.records {
		if ev.msg == msg {
			out = append(out, ev)
		}
	}
	return out
}

// all returns every record, for failure messages.
func (r *logRecorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, ev := range r.records {
		fmt.Fprintf(&b, "\n  %s %q %v", ev.level, ev.msg, ev.attrs)
	}
	return b.String()
}

// once fails the test unless exactly one record has message msg, at
// level, and returns it.
func (r *logRecorder) once(t *testing.T, level slog.Level, msg string) loggedEvent {
	t.Helper()
	evs := r.events(msg)
	if len(evs) != 1 {
		t.Fatalf("%d records %q, want 1; all records:%s", len(evs), msg, r.all())
	}
	if evs[0].level != level {
		t.Fatalf("%q logged at %s, want %s", msg, evs[0].level, level)
	}
	return evs[0]
}

// wantAttrs fails the test unless ev has each attribute of want; a value
// of "*" only asks that the attribute be there.
func wantAttrs(t *testing.T, ev loggedEvent, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := ev.attrs[k]
		if !ok || v != "*" && got != v {
			t.Errorf("%q: attribute %s = %q (present %v), want %q; attributes %v", ev.msg, k, got, ok, v, ev.attrs)
		}
	}
}

// TestLoggerEvents kills a server and restarts it, kills a connection in
// the middle of a command and a pub/sub connection, and holds a
// connection past LeakThreshold: each event is logged once, at its level,
// with its attributes.
func TestLoggerEvents(t *testing.T) {
	checkGoroutines(t, ignoreServerProcess)
	srv := respooltest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a safety net
	defer cancel()

	rec := new(logRecorder)
	c := NewClient(&Options{Addr: srv.Addr, Logger: slog.New(rec), Exclusive: true, MaxRetries: -1})
	defer c.Close()
	sharedRec := new(logRecorder)
	shared := sharedOnly(NewClient(&Options{Addr: srv.Addr, Logger: slog.New(sharedRec), MaxRetries: -1}))
	defer shared.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := shared.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if s := c.Pool().Stats(); s.Idle != 1 {
		t.Fatalf("after a PING: %+v, want one idle connection", s)
	}
	if n := len(rec.events("")) + len(sharedRec.events("")); n != 0 || rec.all() != "" || sharedRec.all() != "" {
		t.Fatalf("events logged while all was well:%s%s", rec.all(), sharedRec.all())
	}

	// The server dies: the idle connection is found dead at the next
	// Get, the dial that replaces it fails, the pool backs off. The
	// shared connection is found closed by the next command's flush.
	srv.Kill(t)
	if err := c.Ping(ctx).Err(); OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("PING with the server down: %v, want a dial failure", err)
	}
	dead := rec.once(t, slog.LevelInfo, "respool: dead idle connections replaced")
	wantAttrs(t, dead, map[string]string{"addr": srv.Addr, "count": "1"})
	began := rec.once(t, slog.LevelWarn, "respool: dial failed, backing off")
	wantAttrs(t, began, map[string]string{"addr": srv.Addr, "error": "*", "backoff": "100ms"})
	if !strings.Contains(began.attrs["error"], "dial") {
		t.Errorf("the dial failure's error: %q", began.attrs["error"])
	}
	// (A command goes to its goroutine's slot, which depends on the depth
	// of its stack: one slot has the connection, the other none yet, and
	// its dial fails.)
	for i := 0; len(sharedRec.events("respool: connection closed after an error")) == 0; i++ {
		var err error
		atStackDepth(i, func() { err = shared.Ping(ctx).Err() })
		if err == nil || i == 100 {
			t.Fatalf("PING %d on the shared connections with the server down: %v", i, err)
		}
	}
	lost := sharedRec.once(t, slog.LevelWarn, "respool: connection closed after an error")
	wantAttrs(t, lost, map[string]string{"addr": srv.Addr, "shared": "true", "error": "*"})

	// It comes back: the next dial ends the backoff.
	srv.Restart(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after the restart: %v", err)
	}
	up := rec.once(t, slog.LevelInfo, "respool: dial succeeded after failures")
	wantAttrs(t, up, map[string]string{"addr": srv.Addr, "failures": "1", "down": "*"})

	// A connection killed under a BLPOP is closed when it comes back.
	key := testKey(t, "list")
	blpop := make(chan error, 1)
	go func() { blpop <- c.BLPop(ctx, 0, key).Err() }()
	pollUntil(t, 10*time.Second, "BLPOP blocked on the server", func() bool {
		return strings.Contains(srv.CLI(t, "CLIENT", "LIST"), "cmd=blpop")
	})
	srv.CLI(t, "CLIENT", "KILL", "TYPE", "normal")
	if err := <-blpop; OutcomeOf(err) != OutcomeUnknown {
		t.Fatalf("BLPOP on a killed connection: %v, want an unknown outcome", err)
	}
	closed := rec.once(t, slog.LevelWarn, "respool: connection closed after an error")
	wantAttrs(t, closed, map[string]string{"addr": srv.Addr, "shared": "false", "error": "*"})

	// A pub/sub connection killed: lost, then back with a gap.
	ps := c.Subscribe(ctx, "news")
	defer ps.Close()
	if ev, err := ps.Receive(ctx); err != nil {
		t.Fatalf("the subscription's confirmation: %v %v", ev, err)
	}
	srv.CLI(t, "CLIENT", "KILL", "TYPE", "pubsub")
	if ev, err := ps.Receive(ctx); err != nil {
		t.Fatalf("Receive after the pub/sub connection was killed: %v", err)
	} else if _, ok := ev.(*Gap); !ok {
		t.Fatalf("Receive after the pub/sub connection was killed: %v, want a *Gap", ev)
	}
	psLost := rec.once(t, slog.LevelWarn, "respool: pub/sub connection lost")
	wantAttrs(t, psLost, map[string]string{"addr": srv.Addr, "subscriptions": "1", "error": "*"})
	psBack := rec.once(t, slog.LevelInfo, "respool: pub/sub reconnected, messages may have been missed")
	wantAttrs(t, psBack, map[string]string{"addr": srv.Addr, "down": "*", "error": "*"})

	// A connection held past LeakThreshold.
	leakRec := new(logRecorder)
	p := NewPool(&Options{Addr: srv.Addr, Logger: slog.New(leakRec), LeakThreshold: time.Millisecond})
	defer p.Close()
	cn, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the leak logged", func() bool { return len(leakRec.events("respool: connection held without Put")) > 0 })
	p.Put(cn)
	leak := leakRec.once(t, slog.LevelWarn, "respool: connection held without Put")
	wantAttrs(t, leak, map[string]string{"addr": srv.Addr, "held": "*", "stack": "*"})
	if !strings.Contains(leak.attrs["stack"], "TestLoggerEvents") {
		t.Errorf("the leak's stack does not show the code that took the connection:\n%s", leak.attrs["stack"])
	}

	// Nothing else was logged by the client, at any level.
	rec.mu.Lock()
	total := len(rec.records)
	rec.mu.Unlock()
	if total != 6 {
		t.Errorf("%d records, want the 6 checked:%s", total, rec.all())
	}
}

// TestLoggerNilLogsNothing checks that a pool without a Logger reports a
// leak only to OnLeak, and that nothing falls back to a global logger: the
// default slog logger sees nothing.
func TestLoggerNilLogsNothing(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	rec := new(logRecorder)
	prev := slog.Default()
	slog.SetDefault(slog.New(rec))
	defer slog.SetDefault(prev)

	reports := make(chan LeakReport, 1)
	p := newServerPool(t, &Options{Addr: srv.Addr, LeakThreshold: time.Millisecond, OnLeak: func(r LeakReport) { reports <- r }})
	cn := mustGet(t, p)
	select {
	case r := <-reports:
		if r.Addr != srv.Addr {
			t.Fatalf("leak report for %q", r.Addr)
		}
	case <-time.After(10 * time.Second): // a safety net against a hang
		t.Fatal("no leak report")
	}
	p.Put(cn)
	bad := NewPool(&Options{Addr: deadAddr(t), MaxRetries: -1})
	defer bad.Close()
	if _, err := bad.Get(context.Background()); err == nil || !errors.As(err, new(*ConnError)) {
		t.Fatalf("Get from a dead address: %v", err)
	}
	if all := rec.all(); all != "" {
		t.Fatalf("records on the default logger:%s", all)
	}
}
