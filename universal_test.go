package respool

import (
	"context"
	"testing"
)

func TestNewUniversalClient(t *testing.T) {
	srv := sharedServer(t)
	set := sharedSentinelSet(t)
	ctx := context.Background()

	c := NewUniversalClient(&UniversalOptions{Addrs: []string{srv.Addr}})
	defer c.Close()
	if _, ok := c.(*Client); !ok {
		t.Fatalf("one address: %T, want *Client", c)
	}
	if err := c.Set(ctx, testKey(t, "plain"), "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	fc := NewUniversalClient(&UniversalOptions{Addrs: set.Addrs(), MasterName: set.MasterName,
		SentinelPassword: sharedSentinelPassword, Options: Options{Password: sharedDataPassword}})
	defer fc.Close()
	if _, ok := fc.(*FailoverClient); !ok {
		t.Fatalf("MasterName: %T, want *FailoverClient", fc)
	}
	k := testKey(t, "failover")
	if err := fc.Set(ctx, k, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := set.Primary.CLI(t, "GET", k); got != "v" {
		t.Fatalf("the primary has %q", got)
	}

	for _, opt := range []*UniversalOptions{
		{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{Addrs: []string{"127.0.0.1:1"}, IsClusterMode: true},
	} {
		cc := NewUniversalClient(opt)
		if _, ok := cc.(*ClusterClient); !ok {
			t.Errorf("%+v: %T, want *ClusterClient", opt, cc)
		}
		_ = cc.Close()
	}

	u := &UniversalOptions{Addrs: []string{"a:1", "b:2"}, MasterName: "m", RouteRandomly: true, ReadOnly: true,
		Options: Options{Addr: "ignored:1", PoolSize: 3}}
	if fo := u.Failover(); fo.MasterName != "m" || len(fo.SentinelAddrs) != 2 || !fo.RouteRandomly || fo.PoolSize != 3 || fo.Addr != "" {
		t.Fatalf("Failover() = %+v", fo)
	}
	if co := u.Cluster(); len(co.Addrs) != 2 || !co.ReadOnly || co.Addr != "" {
		t.Fatalf("Cluster() = %+v", co)
	}
	if o := u.Simple(); o.Addr != "a:1" || o.PoolSize != 3 {
		t.Fatalf("Simple() = %+v", o)
	}
	if o := (&UniversalOptions{Options: Options{Addr: "x:1"}}).Simple(); o.Addr != "x:1" {
		t.Fatalf("Simple() without Addrs = %+v", o)
	}
}
