package respool

import (
	"context"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// TestDeadlineFor checks the deadline policy: a timeout's deadline may be
// served by any socket deadline from now+timeout to half a timeout later,
// a context's only by itself, and no timeout by no deadline.
func TestDeadlineFor(t *testing.T) {
	now := time.Now()
	const timeout = 2 * time.Second
	plain := deadlineFor(context.Background(), now, timeout)
	if !plain.at.Equal(now.Add(timeout)) || !plain.latest.Equal(now.Add(3*time.Second)) {
		t.Fatalf("timeout alone: %v..%v, want now+2s..now+3s", plain.at.Sub(now), plain.latest.Sub(now))
	}
	soon, cancel := context.WithDeadline(context.Background(), now.Add(time.Second))
	defer cancel()
	if d := deadlineFor(soon, now, timeout); !d.at.Equal(now.Add(time.Second)) || !d.latest.Equal(d.at) {
		t.Fatalf("context sooner than the timeout: %v..%v, want exactly now+1s", d.at.Sub(now), d.latest.Sub(now))
	}
	between, cancel2 := context.WithDeadline(context.Background(), now.Add(2500*time.Millisecond))
	defer cancel2()
	if d := deadlineFor(between, now, timeout); !d.at.Equal(now.Add(timeout)) || !d.latest.Equal(now.Add(2500*time.Millisecond)) {
		t.Fatalf("context within the slack: %v..%v, want now+2s..now+2.5s", d.at.Sub(now), d.latest.Sub(now))
	}
	if d := deadlineFor(soon, now, 0); !d.at.Equal(now.Add(time.Second)) || !d.latest.Equal(d.at) {
		t.Fatalf("context, no timeout: %v..%v, want exactly now+1s", d.at.Sub(now), d.latest.Sub(now))
	}
	if d := deadlineFor(context.Background(), now, -1); !d.at.IsZero() || !d.latest.IsZero() {
		t.Fatalf("neither: %v..%v, want none", d.at, d.latest)
	}

	for _, c := range []struct {
		name string
		set  socketDeadline
		want deadline
		ok   bool
	}{
		{"none serves none", socketDeadline{}, deadline{}, true},
		{"a deadline does not serve none", socketDeadline(now), deadline{}, false},
		{"none does not serve a deadline", socketDeadline{}, plain, false},
		{"the latest end serves", socketDeadline(plain.latest), plain, true},
		{"the earliest end serves", socketDeadline(plain.at), plain, true},
		{"earlier than needed does not", socketDeadline(plain.at.Add(-time.Nanosecond)), plain, false},
		{"past the slack does not", socketDeadline(plain.latest.Add(time.Nanosecond)), plain, false},
		{"a past deadline does not", socketDeadline(aLongTimeAgo), plain, false},
		{"an exact deadline serves itself", socketDeadline(now), exactly(now), true},
		{"an exact deadline is served by nothing later", socketDeadline(now.Add(time.Nanosecond)), exactly(now), false},
	} {
		if got := c.set.within(c.want); got != c.ok {
			t.Errorf("%s: within = %v", c.name, got)
		}
	}
}

// TestSocketDeadlineKeptAcrossCommands checks, on a real server, that a
// loop of commands sets the socket's deadlines once and that a context's
// deadline replaces them.
func TestSocketDeadlineKeptAcrossCommands(t *testing.T) {
	srv := respooltest.StartServer(t)
	ctx := context.Background()
	cn, err := Dial(ctx, &Options{Addr: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if _, err := cn.Do(ctx, "PING"); err != nil {
		t.Fatal(err)
	}
	read, write := cn.readDeadline, cn.writeDeadline
	if time.Time(read).IsZero() || time.Time(write).IsZero() {
		t.Fatalf("no deadline set: read %v, write %v", read, write)
	}
	for range 10 {
		if _, err := cn.Do(ctx, "PING"); err != nil {
			t.Fatal(err)
		}
	}
	if cn.readDeadline != read || cn.writeDeadline != write {
		t.Fatalf("the deadlines moved within half a timeout: read %v -> %v, write %v -> %v", read, cn.readDeadline, write, cn.writeDeadline)
	}
	short, cancel := context.WithTimeout(ctx, time.Second) // sooner than ReadTimeout
	defer cancel()
	if _, err := cn.Do(short, "PING"); err != nil {
		t.Fatal(err)
	}
	dl, _ := short.Deadline()
	if !time.Time(cn.readDeadline).Equal(dl) || !time.Time(cn.writeDeadline).Equal(dl) {
		t.Fatalf("deadlines read %v, write %v; want the context's %v exactly", cn.readDeadline, cn.writeDeadline, dl)
	}
}
