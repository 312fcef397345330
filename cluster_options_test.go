package respool

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseClusterURL(t *testing.T) {
	co, err := ParseClusterURL("redis://user:p%40ss@10.0.0.1:7000?addr=10.0.0.2:7001&dial_timeout=2s&addr=[::1]:7002&read_only=true&max_redirects=5&refresh_interval=-1&split_multi_key=1&pool_size=7")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1:7000", "10.0.0.2:7001", "[::1]:7002"}; !slices.Equal(co.Addrs, want) {
		t.Fatalf("Addrs = %v, want %v", co.Addrs, want)
	}
	if co.Username != "user" || co.Password != "p@ss" || co.DialTimeout != 2*time.Second || co.PoolSize != 7 || co.Addr != "" {
		t.Fatalf("node options %+v", co.Options)
	}
	if !co.ReadOnly || co.MaxRedirects != 5 || co.RefreshInterval != -time.Second || !co.SplitMultiKey {
		t.Fatalf("cluster options %+v", co)
	}
	co, err = ParseClusterURL("rediss://h1:7000?addr=h2:7000&skip_verify=true")
	if err != nil || co.TLSConfig == nil || co.TLSConfig.ServerName != "" || !co.TLSConfig.InsecureSkipVerify {
		t.Fatalf("rediss: %+v %v", co, err)
	}
	for _, bad := range []struct{ url, want string }{
		{"redis://h:7000?addr=h2", "want host:port"},
		{"redis://h:7000?addr=", "empty value"},
		{"redis://h:7000?read_only=maybe", "read_only"},
		{"redis://h:7000?max_redirects=1&max_redirects=2", "more than once"},
		{"redis://h:7000/2", "database 0"},
		{"redis://h:7000?nosuch=1", "unknown query key"},
		{"unix:///tmp/redis.sock", "not unix"},
		{"redis://user:secret@h:7000?addr=h2:x", "bad port"},
	} {
		_, err := ParseClusterURL(bad.url)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.HasPrefix(err.Error(), "respool: parse url: ") {
			t.Errorf("ParseClusterURL(%q) = %v, want an error with %q", bad.url, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}

func TestClusterOptionsDefaults(t *testing.T) {
	cfg := (*ClusterOptions)(nil).config()
	if !slices.Equal(cfg.seeds, []string{DefaultAddr}) || cfg.maxRedirects != DefaultMaxRedirects ||
		cfg.refresh != DefaultClusterRefresh || cfg.minRefresh != DefaultClusterMinRefresh ||
		cfg.node.MaxRetries != -1 || cfg.retry.MaxRetries != DefaultMaxRetries || cfg.readOnly ||
		cfg.node.MultiplexConns != DefaultClusterMultiplexConns {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg := (&ClusterOptions{Options: Options{MultiplexConns: 5}}).config(); cfg.node.MultiplexConns != 5 {
		t.Fatalf("MultiplexConns 5 became %d on the nodes", cfg.node.MultiplexConns)
	}
	cfg = (&ClusterOptions{Options: Options{Addr: "h:1"}, MaxRedirects: -1, RouteByLatency: true}).config()
	if !slices.Equal(cfg.seeds, []string{"h:1"}) || cfg.maxRedirects != 0 || !cfg.readOnly || !cfg.byLatency {
		t.Fatalf("config: %+v", cfg)
	}
}

// TestClusterRouteOf checks where commands go, without a server.
func TestClusterRouteOf(t *testing.T) {
	c := &ClusterClient{cfg: (&ClusterOptions{}).config()}
	split := &ClusterClient{cfg: (&ClusterOptions{SplitMultiKey: true}).config()}
	slot := func(k string) int { return argSlotOf(k) }
	for _, tc := range []struct {
		argv     []any
		slot     int
		readOnly bool
		fanout   fanOut
		reply    replyPolicy
		cross    bool
	}{
		{argv: []any{"GET", "k"}, slot: slot("k"), readOnly: true},
		{argv: []any{"set", []byte("k"), "v"}, slot: slot("k")},
		{argv: []any{"SET", 12345, "v"}, slot: slot("12345")},
		{argv: []any{"MGET", "{t}a", "{t}b"}, slot: slot("t"), readOnly: true},
		{argv: []any{"MGET", "a", "b"}, cross: true},
		{argv: []any{"EVAL", "s", 2, "{x}1", "{x}2", "arg"}, slot: slot("x")},
		{argv: []any{"EVAL", "s", "0", "arg"}, slot: -1},
		{argv: []any{"XREAD", "COUNT", 1, "STREAMS", "{s}1", "{s}2", "0", "0"}, slot: slot("s"), readOnly: true},
		{argv: []any{"ZUNIONSTORE", "{z}d", 2, "{z}a", "{z}b"}, slot: slot("z")},
		{argv: []any{"ZUNIONSTORE", "d", 2, "a", "b"}, cross: true},
		{argv: []any{"OBJECT", "ENCODING", "k"}, slot: slot("k"), readOnly: true},
		{argv: []any{"SPUBLISH", "ch", "m"}, slot: slot("ch")},
		{argv: []any{"SSUBSCRIBE", "{c}1", "{c}2"}, slot: slot("c")},
		{argv: []any{"PUBLISH", "ch", "m"}, slot: -1},
		{argv: []any{"PING"}, slot: -1, fanout: fanPrimaries, reply: replyAllSucceeded},
		{argv: []any{"FLUSHALL"}, slot: -1, fanout: fanPrimaries, reply: replyAllSucceeded},
		{argv: []any{"DBSIZE"}, slot: -1, readOnly: true, fanout: fanPrimaries, reply: replySum},
		{argv: []any{"KEYS", "*"}, slot: -1, readOnly: true, fanout: fanPrimaries, reply: replyMerge},
		{argv: []any{"SCRIPT", "LOAD", "return 1"}, slot: -1, fanout: fanNodes, reply: replyAllSucceeded},
		{argv: []any{"SCRIPT", "EXISTS", "abc"}, slot: -1, fanout: fanPrimaries, reply: replyAnd},
		{argv: []any{"INFO"}, slot: -1},
		{argv: []any{"SCAN", "0"}, slot: -1, readOnly: true},
		{argv: []any{"NOSUCHCOMMAND", "k"}, slot: -1},
	} {
		rt, err := c.routeOf(tc.argv)
		if tc.cross {
			if !errors.Is(err, ErrCrossSlot) {
				t.Errorf("%v: %v, want a cross-slot error", tc.argv, err)
			}
			continue
		}
		if err != nil || rt.slot != tc.slot || rt.readOnly != tc.readOnly || rt.fanout != tc.fanout || rt.reply != tc.reply || rt.split {
			t.Errorf("%v: route %+v, %v; want slot %d readOnly %v fanout %d reply %d",
				tc.argv, rt, err, tc.slot, tc.readOnly, tc.fanout, tc.reply)
		}
	}
	for _, argv := range [][]any{{"MGET", "a", "b"}, {"DEL", "a", "b", "c"}, {"MSET", "a", "1", "b", "2"}, {"EXISTS", "a", "b"}} {
		if rt, err := split.routeOf(argv); err != nil || !rt.split {
			t.Errorf("%v with SplitMultiKey: %+v %v", argv, rt, err)
		}
	}
	if _, err := split.routeOf([]any{"SUNION", "a", "b"}); !errors.Is(err, ErrCrossSlot) {
		t.Errorf("SUNION across slots with SplitMultiKey: %v", err)
	}
}

func argSlotOf(tag string) int { return argSlot(tag) }

// Replica connections send READONLY in the handshake's one write.
func TestClusterReadOnlyHandshake(t *testing.T) {
	opt := readOnlyOptions(Options{ClientName: "x"})
	steps := handshakeSteps(opt.withDefaults(), Credentials{}, 3)
	found := false
	for _, s := range steps {
		if s.kind == stepReadOnly && len(s.argv) == 1 && s.argv[0] == "READONLY" {
			found = true
		}
	}
	if !found {
		t.Fatalf("handshake steps %v lack READONLY", steps)
	}
	for _, s := range handshakeSteps((&Options{}).withDefaults(), Credentials{}, 3) {
		if s.kind == stepReadOnly {
			t.Fatal("READONLY sent without being asked for")
		}
	}
}
