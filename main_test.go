package respool

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/respool/respool/respooltest"
)

// The package's tests share one private redis-server, started on first
// use and stopped when they end. Tests that need a server of their own
// (kill, restart, pause, passwords) start one with respooltest.StartServer.
var shared struct {
	once sync.Once
	srv  *respooltest.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		_ = shared.srv.Close()
	}
	if sharedSentinel.set != nil {
		_ = sharedSentinel.set.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: errors on successful test run:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sharedServer returns the package's shared server, starting it once.
func sharedServer(t testing.TB) *respooltest.Server {
	t.Helper()
	respooltest.RequireRedis(t)
	shared.once.Do(func() { shared.srv, shared.err = respooltest.NewServer() })
	if shared.err != nil {
		t.Fatalf("start the shared redis-server: %v", shared.err)
	}
	return shared.srv
}

// testKey returns a key unique to the running test, so tests sharing the
// server never see each other's data. It is unique to this run of the
// test as well: with -count=N the same test runs N times against the same
// server, and must not find the keys its previous run left. The same
// testing.TB and name always give the same key; the hash tag keeps a
// test's keys in one cluster slot.
func testKey(t testing.TB, name string) string {
	run, ok := testRuns.Load(t)
	if !ok {
		run, _ = testRuns.LoadOrStore(t, testRunSeq.Add(1))
	}
	return "{" + strings.ReplaceAll(t.Name(), "/", ":") + "#" + strconv.FormatInt(run.(int64), 10) + "}:" + name
}

var (
	testRuns   sync.Map // testing.TB -> int64, its run's number
	testRunSeq atomic.Int64
)
