package respool

import (
	"fmt"
	"os"
	"strings"
	"sync"
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
// server never see each other's data.
func testKey(t testing.TB, name string) string {
	return "{" + strings.ReplaceAll(t.Name(), "/", ":") + "}:" + name
}
