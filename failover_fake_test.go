package respool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// fakeSentinel is a scripted sentinel: it names the primary the test
// sets, lists no other sentinel and no replica, and publishes the events
// the test sends to every connection subscribed to them.
type fakeSentinel struct {
	srv  *respooltest.FakeServer
	name string // the master name it knows

	mu      sync.Mutex
	master  string // "host:port" it answers for fakeMasterName; "" for none
	subs    []chan [2]string
	asked   int // GET-MASTER-ADDR-BY-NAME questions
	subbedc chan struct{}
	// subscribed are the connections that sent SUBSCRIBE.
	subscribed map[*respooltest.FakeConn]bool
}

const fakeMasterName = "fakemaster"

func startFakeSentinel(t *testing.T, name, master string) *fakeSentinel {
	t.Helper()
	fs := &fakeSentinel{name: name, master: master, subbedc: make(chan struct{}, 16),
		subscribed: make(map[*respooltest.FakeConn]bool)}
	defaults := respooltest.FakeDefaults(fs.handle)
	fs.srv = respooltest.StartFakeServer(t, func(c *respooltest.FakeConn, cmd []string) {
		fs.mu.Lock()
		subscribed := fs.subscribed[c]
		fs.mu.Unlock()
		if subscribed && strings.EqualFold(cmd[0], "PING") {
			fs.deliver(c)
			return
		}
		defaults(c, cmd)
	})
	return fs
}

func (fs *fakeSentinel) addr() string { return fs.srv.Addr() }

func (fs *fakeSentinel) setMaster(addr string) {
	fs.mu.Lock()
	fs.master = addr
	fs.mu.Unlock()
}

func (fs *fakeSentinel) questions() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.asked
}

// publish sends one event to every subscriber.
func (fs *fakeSentinel) publish(channel, payload string) {
	fs.mu.Lock()
	subs := append([]chan [2]string(nil), fs.subs...)
	fs.mu.Unlock()
	for _, ch := range subs {
		ch <- [2]string{channel, payload}
	}
}

// waitSubscribed waits for a client's subscription to the events.
func (fs *fakeSentinel) waitSubscribed(t *testing.T) {
	t.Helper()
	select {
	case <-fs.subbedc:
	case <-time.After(30 * time.Second):
		t.Fatal("nobody subscribed to the fake sentinel")
	}
}

func (fs *fakeSentinel) handle(c *respooltest.FakeConn, cmd []string) {
	switch strings.ToUpper(cmd[0]) {
	case "SENTINEL":
		switch sub := strings.ToUpper(cmd[1]); {
		case sub == "GET-MASTER-ADDR-BY-NAME":
			fs.mu.Lock()
			fs.asked++
			master := fs.master
			fs.mu.Unlock()
			host, port, err := net.SplitHostPort(master)
			if cmd[2] != fs.name || err != nil {
				c.WriteValue(resp.Null())
				return
			}
			c.WriteValue(resp.Array(resp.BulkString(host), resp.BulkString(port)))
		default: // SENTINELS, REPLICAS
			c.WriteValue(resp.Array())
		}
	case "SUBSCRIBE":
		for i, ch := range cmd[1:] {
			c.WriteValue(resp.Push(resp.BulkString("subscribe"), resp.BulkString(ch), resp.Integer(int64(i+1))))
		}
		fs.mu.Lock()
		fs.subscribed[c] = true
		fs.mu.Unlock()
	default:
		c.Write("-ERR unknown command\r\n")
	}
}

// deliver answers the PING a client sends after SUBSCRIBE, then delivers
// events on the connection until the server closes.
func (fs *fakeSentinel) deliver(c *respooltest.FakeConn) {
	c.Write("+PONG\r\n")
	if err := c.Flush(); err != nil {
		return
	}
	events := make(chan [2]string, 16)
	fs.mu.Lock()
	fs.subs = append(fs.subs, events)
	fs.mu.Unlock()
	fs.subbedc <- struct{}{}
	for {
		select {
		case ev := <-events:
			c.WriteValue(resp.Push(resp.BulkString("message"), resp.BulkString(ev[0]), resp.BulkString(ev[1])))
			if c.Flush() != nil {
				fs.drain(events)
				return
			}
		case <-c.Done():
			return
		}
	}
}

// drain keeps taking the events of a subscriber that left, so that
// publish never blocks on it.
func (fs *fakeSentinel) drain(events chan [2]string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, ch := range fs.subs {
		if ch == events {
			fs.subs = append(fs.subs[:i], fs.subs[i+1:]...)
			return
		}
	}
}

func hostPort(addr string) (string, string) {
	h, p, _ := net.SplitHostPort(addr)
	return h, p
}

// selectedEvent is the +selected-slave payload for a failover of the
// fake master from old to the replica at next.
func selectedEvent(old, next string) string {
	oh, op := hostPort(old)
	nh, np := hostPort(next)
	return "slave " + next + " " + nh + " " + np + " @ " + fakeMasterName + " " + oh + " " + op
}

func switchEvent(old, next string) string {
	oh, op := hostPort(old)
	nh, np := hostPort(next)
	return fakeMasterName + " " + oh + " " + op + " " + nh + " " + np
}

// newFakeFailoverClient returns a FailoverClient whose only sentinel is
// fs, subscribed to its events, and the name its connections carry.
func newFakeFailoverClient(t *testing.T, fs *fakeSentinel, opt FailoverOptions) (*FailoverClient, string) {
	t.Helper()
	name := fmt.Sprintf("failover-test-%d", clientNames.Add(1))
	opt.MasterName = fs.name
	opt.SentinelAddrs = []string{fs.addr()}
	opt.ClientName = name
	fc := NewFailoverClient(&opt)
	t.Cleanup(func() { _ = fc.Close() })
	fs.waitSubscribed(t)
	return fc, name
}

// TestFailoverHold: between +selected-slave and +switch-master writes
// wait and reads go on; then the writes go to the new primary, once.
func TestFailoverHold(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		t.Run(map[bool]string{false: "multiplexed", true: "exclusive"}[exclusive], func(t *testing.T) {
			a, b := respooltest.StartServer(t), respooltest.StartServer(t)
			leakCheck(t)
			fs := startFakeSentinel(t, fakeMasterName, a.Addr)
			ctx := context.Background()
			rec := &logRecorder{}
			fc, name := newFakeFailoverClient(t, fs, FailoverOptions{Options: Options{Exclusive: exclusive, Logger: slog.New(rec)}})
			k := testKey(t, "k")
			if err := fc.Set(ctx, k, "before", 0).Err(); err != nil {
				t.Fatal(err)
			}

			fs.publish("+selected-slave", selectedEvent(a.Addr, b.Addr))
			waitUntil(t, "the hold", func() bool { return fc.Stats().Holds == 1 })

			// Reads go on to the old primary.
			if v, err := fc.Get(ctx, k).Result(); err != nil || v != "before" {
				t.Fatalf("read during the hold: %q, %v", v, err)
			}
			// Writes of every kind wait.
			results := make(chan error, 4)
			go func() { results <- fc.Set(ctx, k, "single", 0).Err() }()
			go func() {
				_, err := fc.Pipelined(ctx, func(p *Pipeline) error {
					p.Get(ctx, k)
					p.RPush(ctx, k+":list", "pipelined")
					return nil
				})
				results <- err
			}()
			go func() {
				_, err := fc.TxPipelined(ctx, func(p *Pipeline) error {
					p.RPush(ctx, k+":list", "tx")
					return nil
				})
				results <- err
			}()
			go func() {
				results <- fc.Watch(ctx, func(tx *Tx) error {
					_, err := tx.TxPipelined(ctx, func(p *Pipeline) error {
						p.RPush(ctx, k+":list", "watch")
						return nil
					})
					return err
				}, k)
			}()
			waitUntil(t, "four writes held", func() bool { return fc.Stats().HeldWrites == 4 })
			if got := a.CLI(t, "GET", k); got != "before" {
				t.Fatalf("a held write reached the old primary: %q", got)
			}
			if got := a.CLI(t, "LLEN", k+":list"); got != "0" {
				t.Fatalf("a held write reached the old primary: LLEN %s", got)
			}

			fs.setMaster(b.Addr)
			fs.publish("+switch-master", switchEvent(a.Addr, b.Addr))
			for range 4 {
				if err := <-results; err != nil {
					t.Fatal(err)
				}
			}
			if got := b.CLI(t, "GET", k); got != "single" {
				t.Fatalf("the new primary has %q", got)
			}
			if got := b.CLI(t, "LLEN", k+":list"); got != "3" {
				t.Fatalf("the new primary has %s list entries, want 3", got)
			}
			if got := a.CLI(t, "LLEN", k+":list"); got != "0" {
				t.Fatalf("the old primary got %s list entries", got)
			}
			st := fc.Stats()
			if st.Primary != b.Addr || st.Switches != 1 {
				t.Fatalf("stats %+v", st)
			}
			if evs := rec.events("respool: failover followed"); len(evs) != 1 ||
				evs[0].attrs["from"] != a.Addr || evs[0].attrs["to"] != b.Addr || evs[0].attrs["master"] != fakeMasterName {
				t.Fatalf("failover log events %+v, want one from %s to %s", evs, a.Addr, b.Addr)
			}
			waitUntil(t, "no connection left to the old primary", func() bool {
				return len(clientsNamed(t, a, name)) == 0
			})
		})
	}
}

// TestFailoverHoldEnds: a held write whose context ends, or whose hold
// expires, fails with OutcomeNotSent and was never written; an aborted
// failover lets the writes go on.
func TestFailoverHoldEnds(t *testing.T) {
	a, b := respooltest.StartServer(t), respooltest.StartServer(t)
	leakCheck(t)
	fs := startFakeSentinel(t, fakeMasterName, a.Addr)
	ctx := context.Background()
	fc, _ := newFakeFailoverClient(t, fs, FailoverOptions{FailoverWriteHold: time.Hour})
	k := testKey(t, "k")
	held := func(ctx context.Context) <-chan error {
		n := fc.Stats().HeldWrites
		result := make(chan error, 1)
		go func() { result <- fc.Set(ctx, k, "held", 0).Err() }()
		waitUntil(t, "the write held", func() bool { return fc.Stats().HeldWrites == n+1 })
		return result
	}
	notSent := func(err error, cause error) {
		t.Helper()
		var ce *ConnError
		if !errors.As(err, &ce) || ce.Outcome != OutcomeNotSent || !errors.Is(err, cause) {
			t.Fatalf("held write: %v, want a not-sent *ConnError for %v", err, cause)
		}
	}

	fs.publish("+failover-state-send-slaveof-noone", selectedEvent(a.Addr, b.Addr))
	waitUntil(t, "the hold", func() bool { return fc.Stats().Holds == 1 })
	cctx, cancel := context.WithCancel(ctx)
	result := held(cctx)
	cancel()
	notSent(<-result, context.Canceled)

	// The hold expires (as its timer would make it).
	result = held(ctx)
	fc.mu.Lock()
	h := fc.hold
	fc.mu.Unlock()
	fc.endHold(h, holdExpired)
	notSent(<-result, errHoldExpired)
	if got := a.CLI(t, "EXISTS", k); got != "0" {
		t.Fatal("a write that failed while held reached the server")
	}
	if st := fc.Stats(); st.HoldsExpired != 1 {
		t.Fatalf("stats %+v", st)
	}

	// An aborted failover: the held writes go on to the primary.
	fs.publish("+selected-slave", selectedEvent(a.Addr, b.Addr))
	waitUntil(t, "the second hold", func() bool { return fc.Stats().Holds == 2 })
	result = held(ctx)
	fs.publish("-failover-abort-slave-timeout", "master "+fakeMasterName+" "+strings.Replace(a.Addr, ":", " ", 1))
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if got := a.CLI(t, "GET", k); got != "held" {
		t.Fatalf("the primary has %q", got)
	}

	// FailoverWriteHold's timer ends a hold.
	short, _ := newFakeFailoverClient(t, fs, FailoverOptions{FailoverWriteHold: time.Millisecond})
	fs.publish("+selected-slave", selectedEvent(a.Addr, b.Addr))
	waitUntil(t, "the hold to expire", func() bool { return short.Stats().HoldsExpired == 1 })
}

// TestFailoverReadOnlyRetry: a primary that became a replica without the
// client seeing the failover answers writes with READONLY; the client asks
// the sentinels again and runs the write once more, on the new primary,
// where it is applied once.
func TestFailoverReadOnlyRetry(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		t.Run(map[bool]string{false: "multiplexed", true: "exclusive"}[exclusive], func(t *testing.T) {
			a, b := respooltest.StartServer(t), respooltest.StartServer(t)
			leakCheck(t)
			fs := startFakeSentinel(t, fakeMasterName, a.Addr)
			ctx := context.Background()
			fc, _ := newFakeFailoverClient(t, fs, FailoverOptions{Options: Options{Exclusive: exclusive}})
			k := testKey(t, "k")
			if err := fc.RPush(ctx, k, "on a").Err(); err != nil {
				t.Fatal(err)
			}

			// a becomes a replica of b; the sentinel names b, but says
			// nothing.
			_, bp := hostPort(b.Addr)
			a.CLI(t, "REPLICAOF", "127.0.0.1", bp)
			fs.setMaster(b.Addr)
			waitUntil(t, "a to be a replica", func() bool { return strings.Contains(a.CLI(t, "ROLE"), "slave") })

			if err := fc.RPush(ctx, k, "single").Err(); err != nil {
				t.Fatalf("single: %v", err)
			}
			// A command of the fast form (SET), after the switch.
			if err := fc.Set(ctx, k+":s", "fast", 0).Err(); err != nil {
				t.Fatalf("fast form: %v", err)
			}
			if got := b.CLI(t, "GET", k+":s"); got != "fast" {
				t.Fatalf("the new primary has %q", got)
			}
			if _, err := fc.Pipelined(ctx, func(p *Pipeline) error {
				p.LLen(ctx, k)
				p.RPush(ctx, k, "pipelined")
				return nil
			}); err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			if _, err := fc.TxPipelined(ctx, func(p *Pipeline) error {
				p.RPush(ctx, k, "tx")
				return nil
			}); err != nil {
				t.Fatalf("transaction: %v", err)
			}
			list, err := fc.LRange(ctx, k, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"single", "pipelined", "tx"}; strings.Join(list, ",") != strings.Join(want, ",") {
				t.Fatalf("the new primary has %q, want %q", list, want)
			}
			if st := fc.Stats(); st.Primary != b.Addr || st.ReadOnlyRetries == 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestFailoverRoleCheck: a sentinel that names a replica (a stale
// answer) is caught by the ROLE check; the next sentinel's answer is used.
func TestFailoverRoleCheck(t *testing.T) {
	set := sharedSentinelSet(t)
	leakCheck(t)
	liar := startFakeSentinel(t, set.MasterName, set.Replica.Addr)
	ctx := context.Background()
	fc, name := newFailoverClient(t, set, FailoverOptions{SentinelAddrs: append([]string{liar.addr()}, set.Addrs()...)})
	k := testKey(t, "k")
	if err := fc.Set(ctx, k, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := set.Primary.CLI(t, "GET", k); got != "v" {
		t.Fatalf("the primary has %q", got)
	}
	if liar.questions() == 0 {
		t.Fatal("the lying sentinel was not asked")
	}
	if st := fc.Stats(); st.Primary != set.Primary.Addr {
		t.Fatalf("primary %s, want %s", st.Primary, set.Primary.Addr)
	}
	if lines := clientsNamed(t, set.Replica, name); len(lines) > 0 {
		t.Fatalf("a connection to the replica stayed: %q", lines)
	}
	// The check itself: a ROLE other than the one wanted refuses the
	// connection, with nothing sent.
	_, err := Dial(ctx, &Options{Addr: set.Replica.Addr, Password: sharedDataPassword, role: "master"})
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Outcome != OutcomeNotSent || !strings.Contains(err.Error(), `role "slave"`) {
		t.Fatalf("dial of a replica as a primary: %v", err)
	}
}
