package respooltest_test

import (
	"testing"

	"github.com/respool/respool/respooltest"
)

// TestPasswordProtected checks that --requirepass reaches every part of a
// deployment: replicas authenticate to their primary (--masterauth), the
// sentinels to the data nodes (auth-pass), and the kit's own helpers.
func TestPasswordProtected(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and a sentinel set")
	}
	t.Run("cluster", func(t *testing.T) {
		c := respooltest.StartCluster(t, respooltest.WithClusterArgs("--requirepass", "s3cret"))
		if got := c.Nodes[0].CLI(t, "-c", "SET", "k", "v"); got != "OK" {
			t.Errorf("SET through the cluster = %q", got)
		}
		if n := len(c.Replicas(t)); n != 3 {
			t.Errorf("%d replicas, want 3", n)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		s := respooltest.StartSentinel(t, respooltest.WithSentinelArgs("--requirepass", "s3cret"))
		if got := s.WaitPrimary(t); got != s.Primary.Addr {
			t.Errorf("WaitPrimary = %q, want %q", got, s.Primary.Addr)
		}
		if got := s.Replica.Info(t, "replication")["master_link_status"]; got != "up" {
			t.Errorf("replica master_link_status:%s", got)
		}
	})
}
