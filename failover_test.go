package respool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// The tests that leave their sentinel set as they found it share one,
// started on first use and closed by TestMain. Tests that fail the
// primary over or kill sentinels start a set of their own. The shared
// set's data nodes and sentinels have passwords of their own, so that
// every test on it checks that each password goes where it belongs.
var sharedSentinel struct {
	once sync.Once
	set  *respooltest.Sentinel
	err  error
}

const (
	sharedDataPassword     = "data-secret"
	sharedSentinelPassword = "sentinel-secret"
)

func sharedSentinelSet(t testing.TB) *respooltest.Sentinel {
	t.Helper()
	respooltest.RequireRedis(t)
	sharedSentinel.once.Do(func() {
		sharedSentinel.set, sharedSentinel.err = respooltest.NewSentinel(
			respooltest.WithSentinelArgs("--requirepass", sharedDataPassword),
			respooltest.WithSentinelPassword(sharedSentinelPassword))
	})
	if sharedSentinel.err != nil {
		t.Fatalf("start the shared sentinel set: %v", sharedSentinel.err)
	}
	return sharedSentinel.set
}

var clientNames atomic.Int64

// newFailoverClient returns a FailoverClient for set, closed when the test
// ends. Its connections carry a client name of their own (returned), so
// that CLIENT LIST on a server shows which are its.
func newFailoverClient(t testing.TB, set *respooltest.Sentinel, opt FailoverOptions) (*FailoverClient, string) {
	t.Helper()
	name := fmt.Sprintf("failover-test-%d", clientNames.Add(1))
	opt.MasterName = cmpOr(opt.MasterName, set.MasterName)
	if opt.SentinelAddrs == nil {
		opt.SentinelAddrs = set.Addrs()
	}
	opt.ClientName = name
	if set.SentinelPassword != "" && opt.SentinelPassword == "" {
		opt.Password, opt.SentinelPassword = sharedDataPassword, set.SentinelPassword
	}
	fc := NewFailoverClient(&opt)
	t.Cleanup(func() {
		if err := fc.Close(); err != nil {
			t.Error(err)
		}
	})
	return fc, name
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clientsNamed returns the lines of CLIENT LIST on srv for connections
// named name.
func clientsNamed(t testing.TB, srv *respooltest.Server, name string) []string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(srv.CLI(t, "CLIENT", "LIST"), "\n") {
		if strings.Contains(l, " name="+name+" ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// waitFor waits until cond holds, polling; it fails the test after 30s
// (a safety net against a hang, not a timing assumption).
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSubscribed waits until every running sentinel of set has a
// connection of the client named name subscribed to its events.
func waitSubscribed(t testing.TB, set *respooltest.Sentinel, name string) {
	t.Helper()
	waitUntil(t, "the client subscribed to every sentinel", func() bool {
		for _, sn := range set.Sentinels {
			if sn.PID() == 0 {
				continue
			}
			subscribed := false
			for _, l := range clientsNamed(t, sn, name) {
				if !strings.Contains(l, " sub=0 ") {
					subscribed = true
				}
			}
			if !subscribed {
				return false
			}
		}
		return true
	})
}

// TestFailoverClientCommands runs the client's kinds of call on a
// Sentinel-managed primary, in both modes.
func TestFailoverClientCommands(t *testing.T) {
	set := sharedSentinelSet(t)
	for _, exclusive := range []bool{false, true} {
		t.Run(fmt.Sprintf("exclusive=%v", exclusive), func(t *testing.T) {
			leakCheck(t)
			ctx := context.Background()
			fc, name := newFailoverClient(t, set, FailoverOptions{Options: Options{Exclusive: exclusive}})
			k := testKey(t, "k")

			if err := fc.Set(ctx, k, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := fc.Get(ctx, k).Result(); err != nil || v != "v" {
				t.Fatalf("Get = %q, %v", v, err)
			}
			if got := set.Primary.CLI(t, "GET", k); got != "v" {
				t.Fatalf("the primary has %q", got)
			}
			if st := fc.Stats(); st.Primary != set.Primary.Addr || st.Resolves == 0 {
				t.Fatalf("stats %+v, want primary %s", st, set.Primary.Addr)
			}
			if v, err := fc.Do(ctx, "STRLEN", k); err != nil || v.String() != "(integer) 1" {
				t.Fatalf("Do = %v, %v", v, err)
			}
			cmd := NewCmd(DecodeInt, "APPEND", k, "w")
			if err := fc.Process(ctx, cmd); err != nil || cmd.Val() != 2 {
				t.Fatalf("Process = %d, %v", cmd.Val(), err)
			}
			cmds, err := fc.Pipelined(ctx, func(p *Pipeline) error {
				p.Incr(ctx, k+":n")
				p.Incr(ctx, k+":n")
				return nil
			})
			if err != nil || cmds[1].(*Cmd[int64]).Val() != 2 {
				t.Fatalf("Pipelined = %v, %v", cmds, err)
			}
			if _, err := fc.TxPipelined(ctx, func(p *Pipeline) error {
				p.Incr(ctx, k+":n")
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			err = fc.Watch(ctx, func(tx *Tx) error {
				v, err := tx.Get(ctx, k+":n").Result()
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(v)
				_, err = tx.TxPipelined(ctx, func(p *Pipeline) error {
					p.Set(ctx, k+":n", n*10, 0)
					return nil
				})
				return err
			}, k+":n")
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := fc.Get(ctx, k+":n").Result(); v != "30" {
				t.Fatalf("after Watch: %q, want 30", v)
			}
			s := NewScript(`return redis.call("GET", KEYS[1])`)
			if v, err := s.Run(ctx, fc, []string{k}).Result(); err != nil || v.Text() != "vw" {
				t.Fatalf("script = %v, %v", v, err)
			}
			var keys []string
			for key, err := range fc.ScanAll(ctx, ScanArgs{Match: k + "*"}) {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, key)
			}
			slices.Sort(keys)
			if want := []string{k, k + ":n"}; !slices.Equal(keys, want) {
				t.Fatalf("ScanAll = %q, want %q", keys, want)
			}

			ps := fc.Subscribe(ctx, k+":chan")
			defer ps.Close()
			if err := fc.Publish(ctx, k+":chan", "hello").Err(); err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if m, err := ps.ReceiveMessage(rctx); err != nil || m.Payload != "hello" {
				t.Fatalf("ReceiveMessage = %v, %v", m, err)
			}
			_ = ps.Close()

			// Every connection went to the primary, none to the replica.
			if lines := clientsNamed(t, set.Replica, name); len(lines) > 0 {
				t.Fatalf("connections to the replica: %q", lines)
			}
		})
	}
}

// TestFailoverClientReplicaReads reads from the replica with ReplicaOnly,
// and from either node with RouteRandomly.
func TestFailoverClientReplicaReads(t *testing.T) {
	set := sharedSentinelSet(t)
	ctx := context.Background()
	k := testKey(t, "k")
	set.Primary.CLI(t, "SET", k, "v")
	set.Primary.CLI(t, "WAIT", "1", "5000")

	t.Run("ReplicaOnly", func(t *testing.T) {
		leakCheck(t)
		fc, name := newFailoverClient(t, set, FailoverOptions{ReplicaOnly: true})
		if v, err := fc.Get(ctx, k).Result(); err != nil || v != "v" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		if err := fc.Set(ctx, k, "w", 0).Err(); !isReadOnlyError(err) {
			t.Fatalf("Set on a replica: %v, want READONLY", err)
		}
		if lines := clientsNamed(t, set.Primary, name); len(lines) > 0 {
			t.Fatalf("connections to the primary: %q", lines)
		}
		if lines := clientsNamed(t, set.Replica, name); len(lines) == 0 {
			t.Fatal("no connection to the replica")
		}
	})
	t.Run("RouteRandomly", func(t *testing.T) {
		leakCheck(t)
		fc, name := newFailoverClient(t, set, FailoverOptions{RouteRandomly: true, Options: Options{Exclusive: true}})
		waitUntil(t, "the replicas known", func() bool { return fc.replicaCount() == 1 })
		for range 50 {
			if v, err := fc.Get(ctx, k).Result(); err != nil || v != "v" {
				t.Fatalf("Get = %q, %v", v, err)
			}
		}
		if err := fc.Set(ctx, k+":w", "w", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if len(clientsNamed(t, set.Primary, name)) == 0 || len(clientsNamed(t, set.Replica, name)) == 0 {
			t.Fatal("want connections to both nodes")
		}
	})
}

// TestFailoverClientUnknownMaster: a name no sentinel knows is a typed
// error, at once.
func TestFailoverClientUnknownMaster(t *testing.T) {
	set := sharedSentinelSet(t)
	leakCheck(t)
	fc, _ := newFailoverClient(t, set, FailoverOptions{MasterName: "no-such-master"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := fc.Set(ctx, "k", "v", 0).Err()
	var se *SentinelError
	if !errors.As(err, &se) || !errors.Is(err, ErrMasterUnknown) || se.MasterName != "no-such-master" {
		t.Fatalf("err = %v, want a *SentinelError for ErrMasterUnknown", err)
	}
	if OutcomeOf(err) != OutcomeNotSent || ctx.Err() != nil {
		t.Fatalf("outcome %v, ctx %v", OutcomeOf(err), ctx.Err())
	}
	if len(se.Sentinels) == 0 || !strings.Contains(err.Error(), "no-such-master") {
		t.Fatalf("error says too little: %v", err)
	}
}

// TestFailoverClientCredentials: the sentinels' password goes to the
// sentinels, the data nodes' to the data nodes.
func TestFailoverClientCredentials(t *testing.T) {
	set := sharedSentinelSet(t)
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wrongSentinel, _ := newFailoverClient(t, set, FailoverOptions{SentinelPassword: "wrong", Options: Options{Password: sharedDataPassword}})
	err := wrongSentinel.Ping(ctx).Err()
	var se *SentinelError
	var ae *AuthError
	if !errors.As(err, &se) || !errors.Is(err, ErrNoSentinel) || len(se.Sentinels) != 3 || !errors.As(se.Sentinels[0], &ae) {
		t.Fatalf("wrong sentinel password: %v, want ErrNoSentinel with an *AuthError per sentinel", err)
	}
	wrongData, _ := newFailoverClient(t, set, FailoverOptions{SentinelPassword: sharedSentinelPassword, Options: Options{Password: "wrong"}})
	err = wrongData.Ping(ctx).Err()
	if !errors.As(err, &ae) || ae.Addr != set.Primary.Addr || errors.As(err, &se) {
		t.Fatalf("wrong data password: %v, want an *AuthError from the primary", err)
	}
	right, _ := newFailoverClient(t, set, FailoverOptions{})
	if err := right.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestFailoverClientSentinelsDown: with two of three sentinels killed the
// client resolves through the third; with all three a typed error comes
// back at once, and a client that knows the primary goes on working.
func TestFailoverClientSentinelsDown(t *testing.T) {
	set := respooltest.StartSentinel(t)
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := testKey(t, "k")
	before, _ := newFailoverClient(t, set, FailoverOptions{})
	if err := before.Set(ctx, k, "1", 0).Err(); err != nil {
		t.Fatal(err)
	}

	set.Sentinels[0].Kill(t)
	set.Sentinels[1].Kill(t)
	fc, _ := newFailoverClient(t, set, FailoverOptions{})
	if err := fc.Set(ctx, k, "2", 0).Err(); err != nil {
		t.Fatalf("with one sentinel left: %v", err)
	}
	if st := fc.Stats(); st.Primary != set.Primary.Addr {
		t.Fatalf("primary %q, want %s", st.Primary, set.Primary.Addr)
	}

	set.Sentinels[2].Kill(t)
	none, _ := newFailoverClient(t, set, FailoverOptions{})
	err := none.Set(ctx, k, "3", 0).Err()
	var se *SentinelError
	if !errors.As(err, &se) || !errors.Is(err, ErrNoSentinel) || len(se.Sentinels) != 3 {
		t.Fatalf("err = %v, want a *SentinelError for ErrNoSentinel naming 3 sentinels", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the call waited for its context")
	}
	if err := before.Set(ctx, k, "4", 0).Err(); err != nil {
		t.Fatalf("a client that knows the primary: %v", err)
	}
	if got := set.Primary.CLI(t, "GET", k); got != "4" {
		t.Fatalf("the primary has %q", got)
	}
}
