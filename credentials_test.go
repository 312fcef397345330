package respool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// rotationEnv is a server with an ACL user "rotor", an admin connection
// (the default user) opened before anything else, and a
// CredentialsProvider whose password the test changes.
type rotationEnv struct {
	srv      *respooltest.Server
	admin    *Conn
	password atomic.Pointer[string]
	asked    atomic.Int64 // calls of the provider
}

func newRotationEnv(t *testing.T, ctx context.Context) *rotationEnv {
	t.Helper()
	env := &rotationEnv{srv: respooltest.StartServer(t)}
	admin, err := Dial(ctx, &Options{Addr: env.srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	env.admin = admin
	env.do(t, ctx, "ACL", "SETUSER", "rotor", "on", ">old-secret", "~*", "&*", "+@all")
	env.setPassword("old-secret")
	return env
}

func (env *rotationEnv) setPassword(p string) { env.password.Store(&p) }

func (env *rotationEnv) provider(context.Context) (Credentials, error) {
	env.asked.Add(1)
	return Credentials{Username: "rotor", Password: *env.password.Load()}, nil
}

// do runs an admin command and fails the test on an error.
func (env *rotationEnv) do(t *testing.T, ctx context.Context, args ...any) string {
	t.Helper()
	v, err := env.admin.Do(ctx, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if v.IsNull() {
		return ""
	}
	if s, err := v.Str(); err == nil {
		return s
	}
	return v.String()
}

// info returns a field of INFO section.
func (env *rotationEnv) info(t *testing.T, ctx context.Context, section, field string) string {
	t.Helper()
	for _, line := range strings.Split(env.do(t, ctx, "INFO", section), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == field {
			return v
		}
	}
	return ""
}

// rotorClients counts the server's connections of user rotor.
func (env *rotationEnv) rotorClients(t *testing.T, ctx context.Context) int {
	t.Helper()
	return strings.Count(env.do(t, ctx, "CLIENT", "LIST"), " user=rotor ")
}

// rotorIDs returns the ids of the server's connections of user rotor.
func (env *rotationEnv) rotorIDs(t *testing.T, ctx context.Context) []string {
	t.Helper()
	var ids []string
	for _, line := range strings.Split(env.do(t, ctx, "CLIENT", "LIST"), "\n") {
		if !strings.Contains(line, " user=rotor ") {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
		ids = append(ids, id)
	}
	return ids
}

// TestRotateCredentials changes the password of an ACL user while 32
// goroutines run commands, 16 on a multiplexed Client and 16 on an
// exclusive one, and a PubSub receives: the server accepts both passwords
// during the switch, the clients rotate, the old password is removed.
// No command fails, no connection is dropped or added, and every
// connection sent AUTH once, accepted, as rotor.
func TestRotateCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second) // a safety net
	defer cancel()
	env := newRotationEnv(t, ctx)
	checkGoroutines(t)

	mux := sharedOnly(NewClient(&Options{Addr: env.srv.Addr, CredentialsProvider: env.provider, MultiplexConns: 2}))
	defer mux.Close()
	excl := NewClient(&Options{Addr: env.srv.Addr, CredentialsProvider: env.provider, Exclusive: true, PoolSize: 4, MinIdleConns: 4})
	defer excl.Close()
	ps := mux.Subscribe(ctx, "rotation")
	defer ps.Close()
	messages := ps.Channel()
	var received atomic.Int64
	var gaps atomic.Int64
	receiverDone := make(chan struct{})
	go func() {
		defer close(receiverDone)
		for m := range messages {
			if m.Gap != nil {
				gaps.Add(1)
			}
			received.Add(1)
		}
	}()

	// Every connection open before the count starts: both shared
	// connections (a command goes to its goroutine's slot, which depends
	// on the depth of its stack), the four pooled ones.
	for i := 0; mux.Pool().Stats().SharedDials < 2; i++ {
		var err error
		atStackDepth(i, func() { err = mux.Ping(ctx).Err() })
		if err != nil || i == 100 {
			t.Fatalf("PING %d: %v", i, err)
		}
	}
	eventually(t, "MinIdleConns dialled", func() bool { return excl.Pool().Stats().Open == 4 })
	if n := env.rotorClients(t, ctx); n != 7 {
		t.Fatalf("%d connections of rotor, want 7 (2 shared, 4 pooled, 1 pub/sub):\n%s", n, env.do(t, ctx, "CLIENT", "LIST"))
	}
	received0 := env.info(t, ctx, "stats", "total_connections_received")

	// 32 goroutines run commands until told to stop.
	var (
		ops      atomic.Int64
		failures atomic.Int64
		firstErr atomic.Pointer[string]
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		failures.Add(1)
		s := err.Error()
		firstErr.CompareAndSwap(nil, &s)
	}
	for g := range 32 {
		c := mux
		if g%2 == 1 {
			c = excl
		}
		key := testKey(t, "n"+strconv.Itoa(g))
		wg.Go(func() {
			for want := int64(1); ; want++ {
				select {
				case <-stop:
					return
				default:
				}
				if n, err := c.Incr(ctx, key).Result(); err != nil {
					fail(err)
				} else if n != want {
					fail(fmt.Errorf("INCR %s = %d, want %d", key, n, want))
				}
				if v, err := c.Get(ctx, key).Result(); err != nil {
					fail(err)
				} else if v != strconv.FormatInt(want, 10) {
					fail(fmt.Errorf("GET %s = %q, want %d", key, v, want))
				}
				ops.Add(2)
			}
		})
	}
	// runFor waits until the goroutines have run n more commands, and
	// publishes meanwhile so that the PubSub reads.
	runFor := func(what string, n int64) {
		t.Helper()
		target := ops.Load() + n
		for i := 0; ops.Load() < target; i++ {
			env.do(t, ctx, "PUBLISH", "rotation", what+strconv.Itoa(i))
			if ctx.Err() != nil {
				t.Fatalf("%s: gave up waiting for %d commands", what, n)
			}
		}
	}
	runFor("before", 2000)

	// The switch: both passwords valid, the provider returns the new
	// one, the clients rotate.
	env.do(t, ctx, "ACL", "SETUSER", "rotor", ">new-secret")
	env.setPassword("new-secret")
	askedBefore := env.asked.Load()
	if err := mux.RotateCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	if err := excl.RotateCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	if n := env.asked.Load() - askedBefore; n != 2 {
		t.Fatalf("the provider was asked %d times by two rotations, want 2", n)
	}
	// Every connection authenticates again as it carries its next
	// command: both shared ones and the PubSub of mux, the four pooled
	// ones of excl.
	for i := 0; mux.Pool().Stats().Reauths < 3 || excl.Pool().Stats().Reauths < 4; i++ {
		env.do(t, ctx, "PUBLISH", "rotation", "during"+strconv.Itoa(i))
		if ctx.Err() != nil {
			t.Fatalf("re-authentications: %+v and %+v", mux.Pool().Stats(), excl.Pool().Stats())
		}
	}
	env.do(t, ctx, "ACL", "SETUSER", "rotor", "<old-secret")
	runFor("after", 2000)
	close(stop)
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d commands failed; the first: %s", n, ops.Load(), *firstErr.Load())
	}
	ms, es := mux.Pool().Stats(), excl.Pool().Stats()
	if ms.Reauths != 3 || es.Reauths != 4 || ms.ReauthErrors+es.ReauthErrors != 0 {
		t.Fatalf("re-authentications: mux %d (errors %d), want 3; exclusive %d (errors %d), want 4",
			ms.Reauths, ms.ReauthErrors, es.Reauths, es.ReauthErrors)
	}
	if got := env.info(t, ctx, "stats", "total_connections_received"); got != received0 {
		t.Fatalf("total_connections_received went from %s to %s: a connection was dropped or added", received0, got)
	}
	if n := env.rotorClients(t, ctx); n != 7 {
		t.Fatalf("%d connections of rotor after the switch, want the same 7:\n%s", n, env.do(t, ctx, "CLIENT", "LIST"))
	}
	// Each sent AUTH once, accepted; the handshakes used HELLO.
	auth := env.info(t, ctx, "commandstats", "cmdstat_auth")
	if !strings.HasPrefix(auth, "calls=7,") || !strings.Contains(auth, "rejected_calls=0,failed_calls=0") {
		t.Fatalf("cmdstat_auth: %q, want 7 calls, none rejected or failed", auth)
	}
	if log := env.do(t, ctx, "ACL", "LOG"); log != "" && log != "[]" {
		t.Fatalf("ACL LOG records failures: %s", log)
	}
	// The old password is gone and every connection still works: one
	// command on each pooled connection (all four taken at once) and on
	// the shared ones.
	var held []*Conn
	for range 4 {
		cn, err := excl.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, cn)
	}
	for _, cn := range held {
		if v, err := cn.Do(ctx, "ACL", "WHOAMI"); err != nil || v.Text() != "rotor" {
			t.Fatalf("ACL WHOAMI on a pooled connection: %v %v", v, err)
		}
		excl.Pool().Put(cn)
	}
	for i := range 20 {
		if v, err := mux.Do(ctx, "ACL", "WHOAMI"); err != nil || v.Text() != "rotor" {
			t.Fatalf("ACL WHOAMI %d on a shared connection: %v %v", i, v, err)
		}
	}
	if _, err := Dial(ctx, &Options{Addr: env.srv.Addr, Username: "rotor", Password: "old-secret"}); !errors.As(err, new(*AuthError)) {
		t.Fatalf("a new connection with the old password: %v, want an *AuthError", err)
	}
	if received.Load() == 0 || gaps.Load() != 0 {
		t.Fatalf("the PubSub received %d messages, %d gaps; want some and none", received.Load(), gaps.Load())
	}
	_ = ps.Close()
	<-receiverDone
}

// TestRotateCredentialsRefused rotates to credentials the server refuses:
// every connection's AUTH fails and it is closed and replaced, its
// commands going to the replacement (whose handshake asks the provider
// again, and is given a password that works): no command fails.
func TestRotateCredentialsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a safety net
	defer cancel()
	env := newRotationEnv(t, ctx)
	checkGoroutines(t)

	var rotating atomic.Bool
	provider := func(ctx context.Context) (Credentials, error) {
		if rotating.Load() {
			return Credentials{Username: "rotor", Password: "not-the-secret"}, nil
		}
		return env.provider(ctx)
	}
	mux := sharedOnly(NewClient(&Options{Addr: env.srv.Addr, CredentialsProvider: provider, MultiplexConns: 2}))
	defer mux.Close()
	excl := NewClient(&Options{Addr: env.srv.Addr, CredentialsProvider: provider, Exclusive: true})
	defer excl.Close()
	ps := mux.Subscribe(ctx, "rotation")
	defer ps.Close()
	if ev, err := ps.Receive(ctx); err != nil {
		t.Fatalf("the subscription's confirmation: %v %v", ev, err)
	}
	for i := 0; mux.Pool().Stats().SharedDials < 2; i++ {
		var err error
		atStackDepth(i, func() { err = mux.Ping(ctx).Err() })
		if err != nil || i == 100 {
			t.Fatalf("PING %d: %v", i, err)
		}
	}
	if err := excl.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	oldIDs := map[string]bool{}
	for _, id := range env.rotorIDs(t, ctx) {
		oldIDs[id] = true
	}
	if len(oldIDs) != 4 {
		t.Fatalf("%d connections of rotor, want 4 (2 shared, 1 pooled, 1 pub/sub)", len(oldIDs))
	}
	rotating.Store(true)
	if err := mux.RotateCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	if err := excl.RotateCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	rotating.Store(false)

	key := testKey(t, "k")
	if err := excl.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("SET after a refused re-authentication (exclusive): %v", err)
	}
	// Both shared connections, reached from several stack depths.
	for i := 0; mux.Pool().Stats().ReauthErrors < 2; i++ {
		var v string
		var err error
		atStackDepth(i, func() { v, err = mux.Get(ctx, key).Result() })
		if err != nil || v != "v" || i == 100 {
			t.Fatalf("GET %d after a refused re-authentication (shared): %q %v", i, v, err)
		}
	}
	// The PubSub sends AUTH at its next read; a message published before
	// may come first.
	env.do(t, ctx, "PUBLISH", "rotation", "before")
	for {
		ev, err := ps.Receive(ctx)
		if err != nil {
			t.Fatalf("the PubSub after its AUTH was refused: %v", err)
		}
		if _, ok := ev.(*Gap); ok {
			break // it reconnected
		}
		if m, ok := ev.(*Message); !ok || m.Payload != "before" {
			t.Fatalf("the PubSub after its AUTH was refused: %v, want the message before it, then a *Gap", ev)
		}
	}
	env.do(t, ctx, "PUBLISH", "rotation", "after")
	if m, err := ps.ReceiveMessage(ctx); err != nil || m.Payload != "after" {
		t.Fatalf("a message after the reconnection: %v %v", m, err)
	}
	ms, es := mux.Pool().Stats(), excl.Pool().Stats()
	if ms.ReauthErrors != 3 || es.ReauthErrors != 1 || ms.Reauths+es.Reauths != 0 {
		t.Fatalf("re-authentications refused: mux %d, exclusive %d (accepted %d, %d); want 3 (2 shared, 1 pub/sub) and 1",
			ms.ReauthErrors, es.ReauthErrors, ms.Reauths, es.Reauths)
	}
	if es.Closed.Unusable != 1 || es.Dials != 2 {
		t.Fatalf("the exclusive pool: %+v, want the refused connection closed and one dialled in its place", es)
	}
	for _, id := range env.rotorIDs(t, ctx) {
		if oldIDs[id] {
			t.Fatalf("connection %s, whose AUTH was refused, is still open:\n%s", id, env.do(t, ctx, "CLIENT", "LIST"))
		}
	}
	if log := env.do(t, ctx, "ACL", "LOG"); !strings.Contains(log, "rotor") {
		t.Fatalf("ACL LOG does not record the refused AUTH: %s", log)
	}
}

// TestRotateCredentialsWithoutProvider checks the errors of a rotation
// that cannot happen.
func TestRotateCredentialsWithoutProvider(t *testing.T) {
	c := NewClient(&Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if err := c.RotateCredentials(context.Background()); !errors.Is(err, errNoCredentialsProvider) {
		t.Fatalf("RotateCredentials without a provider: %v", err)
	}
	boom := errors.New("vault unreachable")
	p := NewPool(&Options{Addr: "127.0.0.1:1", CredentialsProvider: func(context.Context) (Credentials, error) { return Credentials{}, boom }})
	defer p.Close()
	if err := p.RotateCredentials(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("RotateCredentials with a failing provider: %v", err)
	}
	if g := p.opt.creds.generation(); g != 0 {
		t.Fatalf("a failed rotation moved the generation to %d", g)
	}
}
