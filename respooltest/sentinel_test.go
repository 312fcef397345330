package respooltest_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// sentinelView is what one sentinel says about the monitored master, from
// INFO sentinel ("master0:name=mymaster,status=ok,address=...,slaves=1,sentinels=3").
func sentinelView(t *testing.T, sn *respooltest.Server) map[string]string {
	t.Helper()
	line := sn.Info(t, "sentinel")["master0"]
	m := map[string]string{}
	for _, kv := range strings.Split(line, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestStartSentinel(t *testing.T) {
	start := time.Now()
	s := respooltest.StartSentinel(t)
	t.Logf("sentinel set ready in %v", time.Since(start).Round(time.Millisecond))

	if s.MasterName != "mymaster" {
		t.Errorf("MasterName = %q", s.MasterName)
	}
	if len(s.Sentinels) != 3 || len(s.Addrs()) != 3 {
		t.Fatalf("%d sentinels, %d addrs; want 3", len(s.Sentinels), len(s.Addrs()))
	}

	t.Run("topology", func(t *testing.T) {
		for _, sn := range s.Sentinels {
			if got := sn.Info(t, "server")["redis_mode"]; got != "sentinel" {
				t.Errorf("%s: redis_mode %q, want sentinel", sn.Addr, got)
			}
			addr := strings.Join(strings.Fields(sn.CLI(t, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")), ":")
			if addr != s.Primary.Addr {
				t.Errorf("sentinel %s: master at %q, want %q", sn.Addr, addr, s.Primary.Addr)
			}
			v := sentinelView(t, sn)
			// sentinels=3 counts the sentinel itself: it knows the other 2.
			if v["name"] != "mymaster" || v["status"] != "ok" || v["address"] != s.Primary.Addr ||
				v["slaves"] != "1" || v["sentinels"] != "3" {
				t.Errorf("sentinel %s: INFO sentinel master0 = %v", sn.Addr, v)
			}
		}
		if got := s.WaitPrimary(t); got != s.Primary.Addr {
			t.Errorf("WaitPrimary = %q, want %q", got, s.Primary.Addr)
		}
		repl := s.Replica.Info(t, "replication")
		if repl["role"] != "slave" || repl["master_link_status"] != "up" ||
			repl["master_port"] != strconv.Itoa(s.Primary.Port) {
			t.Errorf("replica: role:%s master_link_status:%s master_port:%s (primary on %d)",
				repl["role"], repl["master_link_status"], repl["master_port"], s.Primary.Port)
		}
		if got := s.Primary.Info(t, "replication")["connected_slaves"]; got != "1" {
			t.Errorf("primary: connected_slaves:%s", got)
		}
	})

	t.Run("failover", func(t *testing.T) {
		if testing.Short() {
			t.Skip("failover takes a few seconds")
		}
		s.Primary.Kill(t)
		start := time.Now()
		if got := s.WaitPrimary(t); got != s.Replica.Addr {
			t.Fatalf("after killing the primary, sentinels agree on %q, want the replica %q", got, s.Replica.Addr)
		}
		t.Logf("failover done in %v", time.Since(start).Round(time.Millisecond))
		if got := s.Replica.Info(t, "replication")["role"]; got != "master" {
			t.Errorf("promoted replica: role:%s", got)
		}
	})
}
