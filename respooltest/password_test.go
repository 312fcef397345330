package respooltest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

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
	t.Run("sentinel password", func(t *testing.T) {
		s := respooltest.StartSentinel(t, respooltest.WithSentinelArgs("--requirepass", "data"),
			respooltest.WithSentinelPassword("guard"))
		if s.SentinelPassword != "guard" {
			t.Errorf("SentinelPassword = %q", s.SentinelPassword)
		}
		if got := s.WaitPrimary(t); got != s.Primary.Addr {
			t.Errorf("WaitPrimary = %q, want %q", got, s.Primary.Addr)
		}
		// Without the password a sentinel refuses.
		if got, err := rawSentinelPing(s.Sentinels[0].Addr); err != nil || !strings.HasPrefix(got, "-NOAUTH") {
			t.Errorf("PING without the password: %q, %v", got, err)
		}
	})
}

// rawSentinelPing sends PING on a fresh connection and returns the reply's
// first line.
func rawSentinelPing(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
