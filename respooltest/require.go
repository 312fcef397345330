package respooltest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// installHint says how to get the binaries the kit runs.
const installHint = "install it with `apt-get update && apt-get install -y redis-server redis-tools redis-sentinel`"

// requiredBinaries are looked up in PATH. Sentinels run as
// `redis-server CONFIG --sentinel`, so redis-sentinel itself is not needed.
var requiredBinaries = [...]string{"redis-server", "redis-cli"}

// RequireRedis checks that redis-server and redis-cli are in PATH. When one
// is missing it fails the test if the environment variable CI is true
// (CI=true, as CI services set it), and skips it otherwise; either way the
// message says how to install them. StartServer, StartCluster and
// StartSentinel call it first.
func RequireRedis(t testing.TB) {
	t.Helper()
	requireRedis(t, exec.LookPath, os.Getenv)
}

// requireRedis is RequireRedis with its lookups passed in, for tests.
func requireRedis(t testing.TB, lookPath func(string) (string, error), getenv func(string) string) {
	t.Helper()
	if _, _, err := lookupBinaries(lookPath); err != nil {
		if ci, _ := strconv.ParseBool(getenv("CI")); ci {
			t.Fatal(err.Error())
			return
		}
		t.Skip(err.Error())
	}
}

// lookupBinaries returns the paths of redis-server and redis-cli, or an
// error naming the first one missing and how to install it.
func lookupBinaries(lookPath func(string) (string, error)) (server, cli string, err error) {
	var paths [len(requiredBinaries)]string
	for i, name := range requiredBinaries {
		p, err := lookPath(name)
		if err != nil {
			return "", "", fmt.Errorf("respooltest: %s not found: %s", name, installHint)
		}
		paths[i] = p
	}
	return paths[0], paths[1], nil
}
