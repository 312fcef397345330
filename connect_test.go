package respool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// mustConnect is Connect for a test that expects it to succeed; the
// Client is closed when the test ends.
func mustConnect(t *testing.T, opt *Options) *Client {
	t.Helper()
	c, err := Connect(guardContext(t), opt)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// connectFails runs Connect with opt, which must fail, and returns its
// error; a Client returned with the error fails the test.
func connectFails(t *testing.T, ctx context.Context, opt *Options) error {
	t.Helper()
	c, err := Connect(ctx, opt)
	if c != nil {
		_ = c.Close()
		t.Fatalf("Connect returned a Client (error %v); want an error and no Client", err)
	}
	if err == nil {
		t.Fatal("Connect returned no Client and no error")
	}
	t.Logf("the error: %v", err)
	return err
}

// connectFailsUndialled is connectFails for a failure that must come
// before anything is dialled (opt's Dialer is replaced by one that
// counts).
func connectFailsUndialled(t *testing.T, ctx context.Context, opt *Options) error {
	t.Helper()
	d := newNetDialer()
	opt.Dialer = d.Dial
	err := connectFails(t, ctx, opt)
	if n := d.dials.Load(); n != 0 {
		t.Errorf("%d dials; want none", n)
	}
	return err
}

// trackingConns returns how many connections named name the server at
// srv has with tracking on (flag t in CLIENT LIST).
func trackingConns(t *testing.T, srv *respooltest.Server, name string) int {
	t.Helper()
	n := 0
	for _, l := range clientsNamed(t, srv, name) {
		for _, f := range strings.Fields(l) {
			if flags, ok := strings.CutPrefix(f, "flags="); ok && strings.Contains(flags, "t") {
				n++
			}
		}
	}
	return n
}

// startRESP2Server starts a scripted server that speaks RESP2 only (HELLO
// is an unknown command, as before Redis 6) and answers the rest of a
// handshake and PING as redis-server does. tracking counts the CLIENT
// TRACKING commands it received.
func startRESP2Server(t *testing.T) (srv *respooltest.FakeServer, tracking *atomic.Int64) {
	t.Helper()
	tracking = new(atomic.Int64)
	defaults := respooltest.FakeDefaults(nil)
	srv = respooltest.StartFakeServer(t, func(fc *respooltest.FakeConn, cmd []string) {
		switch {
		case strings.EqualFold(cmd[0], "HELLO"):
			fc.Write("-ERR unknown command 'HELLO', with args beginning with: '3' \r\n")
			return
		case len(cmd) > 1 && strings.EqualFold(cmd[0], "CLIENT") && strings.EqualFold(cmd[1], "TRACKING"):
			tracking.Add(1)
		}
		defaults(fc, cmd)
	})
	return srv, tracking
}

// TestConnect: Connect returns a Client that works, with one connection
// of its pool dialled and idle, and, with a cache, a tracking connection
// open on the server before the first cached read.
func TestConnect(t *testing.T) {
	srv := sharedServer(t)
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		t.Run(mode.name, func(t *testing.T) {
			leakCheck(t)
			ctx := context.Background()
			c := mustConnect(t, &Options{Addr: srv.Addr, Exclusive: mode.exclusive})
			if st := c.Pool().Stats(); st.Idle != 1 || st.Dials != 1 || st.DialErrors != 0 {
				t.Fatalf("after Connect: %+v; want one connection dialled and idle", st)
			}
			key := testKey(t, "k")
			if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := c.Get(ctx, key).Result(); err != nil || v != "v" {
				t.Fatalf("GET: %q, %v", v, err)
			}

			// One tracking connection (MultiplexConns 1): the cached reads
			// use the one Connect opened.
			name := fmt.Sprintf("connect-cache-%d", clientNames.Add(1))
			cached := mustConnect(t, &Options{Addr: srv.Addr, Exclusive: mode.exclusive, ClientName: name,
				MultiplexConns: 1, ClientCache: &CacheOptions{}})
			if n := trackingConns(t, srv, name); n != 1 {
				t.Fatalf("after Connect with a cache: %d tracking connections on the server, want 1", n)
			}
			cv := cached.Cached(time.Minute)
			for range 2 {
				if v, err := cv.Get(ctx, key).Result(); err != nil || v != "v" {
					t.Fatalf("cached GET: %q, %v", v, err)
				}
			}
			if st := cached.CacheStats(); st.Hits != 1 || st.Misses != 1 {
				t.Fatalf("cache stats: %+v; want 1 miss then 1 hit", st)
			}
			if n := trackingConns(t, srv, name); n != 1 {
				t.Fatalf("after the cached reads: %d tracking connections, want the one Connect opened", n)
			}
		})
	}
}

// TestConnectAuth: a password the server refuses, or none where it wants
// one, fails Connect with an *AuthError, and leaves no goroutine or
// connection behind. On RESP2 without a password the handshake sends
// nothing: the PING finds it.
func TestConnectAuth(t *testing.T) {
	srv := respooltest.StartServer(t, respooltest.WithArgs("--requirepass", "secret"))
	for _, tc := range []struct {
		name     string
		password string
		protocol int
		cache    bool
	}{
		{"wrong password", "wrong", 3, false},
		{"wrong password RESP2", "wrong", 2, false},
		{"no password", "", 3, false},
		{"no password RESP2", "", 2, false},
		{"wrong password with a cache", "wrong", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			opt := &Options{Addr: srv.Addr, Password: tc.password, Protocol: tc.protocol, MinIdleConns: 1}
			if tc.cache {
				opt.ClientCache = &CacheOptions{}
			}
			err := connectFails(t, guardContext(t), opt)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Addr != srv.Addr {
				t.Fatalf("Connect: %v; want an *AuthError at %s", err, srv.Addr)
			}
		})
	}
	leakCheck(t)
	mustConnect(t, &Options{Addr: srv.Addr, Password: "secret", Protocol: 2})
}

// TestConnectBadDB: a database the server does not have fails Connect
// with SELECT's refusal in a handshake *ConnError.
func TestConnectBadDB(t *testing.T) {
	srv := sharedServer(t)
	leakCheck(t)
	err := connectFails(t, guardContext(t), &Options{Addr: srv.Addr, DB: 1000})
	var ce *ConnError
	var se *Error
	if !errors.As(err, &ce) || ce.Op != "handshake" || !errors.As(err, &se) || !strings.Contains(se.Error(), "DB index") {
		t.Fatalf("Connect: %v; want a handshake *ConnError with SELECT's refusal", err)
	}
}

// TestConnectCacheNeedsRESP3: with a ClientCache, Options.Protocol 2
// fails Connect before anything is dialled, and a server that speaks
// RESP2 only fails it after the handshake; both errors are
// ErrCacheNeedsRESP3 and say which it was. The connection of the pool
// that the RESP2 server accepted is closed with the Client.
func TestConnectCacheNeedsRESP3(t *testing.T) {
	srv := sharedServer(t)
	t.Run("Protocol 2", func(t *testing.T) {
		leakCheck(t)
		err := connectFailsUndialled(t, guardContext(t), &Options{Addr: srv.Addr, Protocol: 2,
			ClientCache: &CacheOptions{}})
		if !errors.Is(err, ErrCacheNeedsRESP3) || !strings.Contains(err.Error(), "Options.Protocol is 2") {
			t.Fatalf("Connect: %v; want ErrCacheNeedsRESP3 naming Options.Protocol", err)
		}
	})
	for _, exclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("RESP2 server exclusive=%v", exclusive), func(t *testing.T) {
			leakCheck(t)
			fake, tracking := startRESP2Server(t)
			err := connectFails(t, guardContext(t), &Options{Addr: fake.Addr(), Exclusive: exclusive,
				ClientCache: &CacheOptions{}})
			if !errors.Is(err, ErrCacheNeedsRESP3) || !strings.Contains(err.Error(), fake.Addr()+" speaks RESP2 only") {
				t.Fatalf("Connect: %v; want ErrCacheNeedsRESP3 naming the server", err)
			}
			if fake.Commands("PING") != 1 || tracking.Load() != 0 {
				t.Fatalf("PING %d, CLIENT TRACKING %d; want the pool's connection checked and no tracking asked for",
					fake.Commands("PING"), tracking.Load())
			}
			// Without a cache the same server is fine.
			c := mustConnect(t, &Options{Addr: fake.Addr(), Exclusive: exclusive})
			if err := c.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConnectTrackingRefused: a server that refuses CLIENT TRACKING (here
// Broadcast prefixes that overlap) fails Connect with its reason.
func TestConnectTrackingRefused(t *testing.T) {
	srv := sharedServer(t)
	leakCheck(t)
	err := connectFails(t, guardContext(t), &Options{Addr: srv.Addr,
		ClientCache: &CacheOptions{Broadcast: true, Prefixes: []string{"app:", "app:users:"}}})
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "CLIENT TRACKING refused") {
		t.Fatalf("Connect: %v; want the server's refusal of CLIENT TRACKING", err)
	}
}

// TestConnectContext: a context already ended fails Connect before
// anything is dialled; one ended during the handshake ends it there.
func TestConnectContext(t *testing.T) {
	srv := sharedServer(t)
	t.Run("already cancelled", func(t *testing.T) {
		leakCheck(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := connectFailsUndialled(t, ctx, &Options{Addr: srv.Addr, ClientCache: &CacheOptions{}})
		if !errors.Is(err, context.Canceled) || OutcomeOf(err) != OutcomeNotSent {
			t.Fatalf("Connect: %v; want context.Canceled, not sent", err)
		}
	})
	t.Run("during the handshake", func(t *testing.T) {
		leakCheck(t)
		hello := make(chan struct{}, 1)
		defaults := respooltest.FakeDefaults(nil)
		fake := respooltest.StartFakeServer(t, func(fc *respooltest.FakeConn, cmd []string) {
			if strings.EqualFold(cmd[0], "HELLO") {
				hello <- struct{}{}
				fc.Stall() // never answers
				return
			}
			defaults(fc, cmd)
		})
		ctx, cancel := context.WithCancel(guardContext(t))
		go func() {
			<-hello
			cancel()
		}()
		err := connectFails(t, ctx, &Options{Addr: fake.Addr(), DialTimeout: time.Hour})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Connect: %v; want context.Canceled", err)
		}
	})
}

// TestConnectNothingListening: an address where nothing listens fails
// Connect with the dial's error, at once.
func TestConnectNothingListening(t *testing.T) {
	leakCheck(t)
	addr := deadAddr(t)
	for _, cache := range []*CacheOptions{nil, {}} {
		err := connectFails(t, guardContext(t), &Options{Addr: addr, ClientCache: cache})
		var ce *ConnError
		if !errors.As(err, &ce) || ce.Op != "dial" || ce.Addr != addr || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Connect: %v; want a dial *ConnError, connection refused", err)
		}
	}
}

// TestConnectTopologiesNothingListening: ConnectCluster with a seed and
// ConnectFailover with a sentinel where nothing listens fail, and close
// what they started (the slot map's reloader, the sentinel watchers).
func TestConnectTopologiesNothingListening(t *testing.T) {
	leakCheck(t)
	ctx := guardContext(t)
	addr := deadAddr(t)
	cc, err := ConnectCluster(ctx, &ClusterOptions{Addrs: []string{addr}})
	if cc != nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("ConnectCluster: %v; want connection refused and no client", err)
	}
	t.Logf("ConnectCluster: %v", err)
	fc, err := ConnectFailover(ctx, &FailoverOptions{MasterName: "m", SentinelAddrs: []string{addr}})
	var se *SentinelError
	if fc != nil || !errors.As(err, &se) || !errors.Is(err, ErrNoSentinel) {
		t.Fatalf("ConnectFailover: %v; want a *SentinelError, ErrNoSentinel, and no client", err)
	}
	t.Logf("ConnectFailover: %v", err)
}

// TestConnectFailover: ConnectFailover finds the primary through the
// sentinels and checks it; a master name no sentinel knows fails it with
// a *SentinelError.
func TestConnectFailover(t *testing.T) {
	set := sharedSentinelSet(t)
	leakCheck(t)
	ctx := guardContext(t)
	name := fmt.Sprintf("connect-failover-%d", clientNames.Add(1))
	fc, err := ConnectFailover(ctx, &FailoverOptions{MasterName: set.MasterName, SentinelAddrs: set.Addrs(),
		SentinelPassword: set.SentinelPassword,
		Options:          Options{Password: sharedDataPassword, ClientName: name, ClientCache: &CacheOptions{}}})
	if err != nil {
		t.Fatalf("ConnectFailover: %v", err)
	}
	defer fc.Close()
	primary := set.WaitPrimary(t)
	var srv *respooltest.Server
	for _, s := range []*respooltest.Server{set.Primary, set.Replica} {
		if s.Addr == primary {
			srv = s
		}
	}
	if srv == nil {
		t.Fatalf("no server of the set at %s", primary)
	}
	if n := trackingConns(t, srv, name); n != 1 {
		t.Fatalf("%d tracking connections on the primary, want 1", n)
	}
	key := testKey(t, "k")
	if err := fc.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	unknown, err := ConnectFailover(ctx, &FailoverOptions{MasterName: "no-such-master", SentinelAddrs: set.Addrs(),
		SentinelPassword: set.SentinelPassword, Options: Options{Password: sharedDataPassword}})
	var se *SentinelError
	if unknown != nil || !errors.As(err, &se) || !errors.Is(err, ErrMasterUnknown) {
		t.Fatalf("ConnectFailover with an unknown master: %v; want a *SentinelError, ErrMasterUnknown", err)
	}
}

// testConnect: ConnectCluster loads the slot map and checks every
// primary (with a cache, each has a tracking connection); on RESP2 with a
// cache it fails with ErrCacheNeedsRESP3; with no node listening it fails.
func (env *clusterEnv) testConnect(t *testing.T) {
	ctx := guardContext(t)
	name := fmt.Sprintf("connect-cluster-%d", clientNames.Add(1))
	c, err := ConnectCluster(ctx, &ClusterOptions{Addrs: env.cl.Addrs()[:1],
		Options: Options{ClientName: name, ClientCache: &CacheOptions{}}})
	if err != nil {
		t.Fatalf("ConnectCluster: %v", err)
	}
	defer c.Close()
	primaries := env.cl.Primaries(t)
	for _, p := range primaries {
		if n := trackingConns(t, p, name); n != 1 {
			t.Fatalf("primary %s: %d tracking connections, want 1", p.Addr, n)
		}
	}
	key := testKey(t, "k")
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Cached(time.Minute).Get(ctx, key).Result(); err != nil || v != "v" {
		t.Fatalf("cached GET: %q, %v", v, err)
	}

	resp2, err := ConnectCluster(ctx, &ClusterOptions{Addrs: env.cl.Addrs()[:1],
		Options: Options{Protocol: 2, ClientCache: &CacheOptions{}}})
	if resp2 != nil || !errors.Is(err, ErrCacheNeedsRESP3) {
		t.Fatalf("ConnectCluster on RESP2 with a cache: %v; want ErrCacheNeedsRESP3", err)
	}

	dead, err := ConnectCluster(ctx, &ClusterOptions{Addrs: []string{deadAddr(t)}})
	if dead != nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("ConnectCluster with nothing listening: %v; want connection refused", err)
	}
}
