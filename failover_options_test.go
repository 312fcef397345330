package respool

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFailoverURL(t *testing.T) {
	fo, err := ParseFailoverURL("redis://suser:s%40cret@10.0.0.1:26380/3?master_name=mymaster&addr=10.0.0.2:26379&addr=[::1]:26381" +
		"&username=app&password=p%26w&dial_timeout=2s&pool_size=7&replica_only=true&failover_write_hold=-1&client_name=svc")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1:26380", "10.0.0.2:26379", "[::1]:26381"}; !slices.Equal(fo.SentinelAddrs, want) {
		t.Fatalf("SentinelAddrs = %v, want %v", fo.SentinelAddrs, want)
	}
	if fo.MasterName != "mymaster" || fo.SentinelUsername != "suser" || fo.SentinelPassword != "s@cret" {
		t.Fatalf("failover options %+v", fo)
	}
	if fo.Username != "app" || fo.Password != "p&w" || fo.DB != 3 || fo.DialTimeout != 2*time.Second ||
		fo.PoolSize != 7 || fo.ClientName != "svc" || fo.Addr != "" {
		t.Fatalf("node options %+v", fo.Options)
	}
	if !fo.ReplicaOnly || fo.RouteRandomly || fo.FailoverWriteHold != -time.Second {
		t.Fatalf("failover options %+v", fo)
	}

	fo, err = ParseFailoverURL("rediss://sentinel.example?master_name=m&skip_verify=true&route_randomly=1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fo.SentinelAddrs, []string{"sentinel.example:26379"}) || !fo.RouteRandomly {
		t.Fatalf("default port: %+v", fo)
	}
	if fo.TLSConfig == nil || fo.TLSConfig.ServerName != "" || !fo.TLSConfig.InsecureSkipVerify {
		t.Fatalf("rediss: %+v", fo.TLSConfig)
	}

	for _, bad := range []struct{ url, want string }{
		{"redis://h:26379", `missing query key "master_name"`},
		{"redis://h:26379?master_name=", `empty value for query key "master_name"`},
		{"redis://h:26379?master_name=a&master_name=b", `"master_name" given more than once`},
		{"redis://h:26379?master_name=m&addr=h2", `query key "addr": want host:port`},
		{"redis://h:26379?master_name=m&addr=h2:x", `bad port "x" in query key "addr"`},
		{"redis://h:26379?master_name=m&addr=b@d:1", `query key "addr"`},
		{"redis://h:26379?master_name=m&replica_only=maybe", `"replica_only"`},
		{"redis://h:26379?master_name=m&failover_write_hold=soon", `"failover_write_hold"`},
		{"redis://h:26379?master_name=m&pool_size=-1", `"pool_size"`},
		{"redis://h:26379?master_name=m&nosuch=1", `unknown query key "nosuch"`},
		{"redis://h:26379?master_name=m&password=a&password=b", `"password" given more than once`},
		{"unix:///tmp/sentinel.sock?master_name=m", "not unix"},
		{"redis://user:secret@h:26379/x?master_name=m", "bad path"},
	} {
		_, err := ParseFailoverURL(bad.url)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.HasPrefix(err.Error(), "respool: parse url: ") {
			t.Errorf("ParseFailoverURL(%q) = %v, want an error with %q", bad.url, err, bad.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error quotes the password: %v", err)
		}
	}
}

func TestFailoverOptionsDefaults(t *testing.T) {
	cfg := (*FailoverOptions)(nil).config()
	if !slices.Equal(cfg.seeds, []string{DefaultSentinelAddr}) || cfg.hold != DefaultFailoverWriteHold ||
		cfg.replicaOnly || cfg.randomly {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg = (&FailoverOptions{
		MasterName:       "m",
		SentinelUsername: "su",
		SentinelPassword: "sp",
		Options:          Options{Addr: "ignored:1", Username: "u", Password: "p", DB: 2, DialTimeout: time.Second},
		ReplicaOnly:      true,
		RouteRandomly:    true,
	}).config()
	if cfg.node.Addr != "m" || cfg.node.Username != "u" || cfg.node.DB != 2 {
		t.Fatalf("node template %+v", cfg.node)
	}
	s := cfg.sentinelOptions("s:1")
	if s.Addr != "s:1" || s.Username != "su" || s.Password != "sp" || s.DB != 0 || s.DialTimeout != time.Second ||
		s.ReadTimeout != DefaultReadTimeout {
		t.Fatalf("sentinel options %+v", s)
	}
	if !cfg.replicaOnly || cfg.randomly {
		t.Fatal("ReplicaOnly wins over RouteRandomly")
	}
}

func TestSentinelEventParsing(t *testing.T) {
	for _, tc := range []struct {
		payload string
		master  string
		ok      bool
	}{
		{"master mymaster 127.0.0.1 6379", "mymaster", true},
		{"slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379", "mymaster", true},
		{"sentinel 29849d3d 127.0.0.1 26379 @ other 127.0.0.1 6379", "other", true},
		{"1", "", false},
	} {
		m, ok := eventMaster(strings.Fields(tc.payload))
		if m != tc.master || ok != tc.ok {
			t.Errorf("eventMaster(%q) = %q, %v", tc.payload, m, ok)
		}
	}
	if !healthyReplica(map[string]string{"flags": "slave", "master-link-status": "ok"}) ||
		healthyReplica(map[string]string{"flags": "slave,s_down", "master-link-status": "ok"}) ||
		healthyReplica(map[string]string{"flags": "slave,disconnected", "master-link-status": "ok"}) ||
		healthyReplica(map[string]string{"flags": "slave", "master-link-status": "err"}) {
		t.Fatal("healthyReplica")
	}
}

// TestFailoverWriteClassification: what the hold counts as a write.
func TestFailoverWriteClassification(t *testing.T) {
	for _, tc := range []struct {
		argv  []any
		write bool
	}{
		{[]any{"GET", "k"}, false},
		{[]any{"SET", "k", "v"}, true},
		{[]any{"EVAL", "return 1", "0"}, true},
		{[]any{"EVAL_RO", "return 1", "0"}, false},
		{[]any{"PUBLISH", "c", "m"}, true},
		{[]any{"NOSUCHCOMMAND"}, true},
		{[]any{"CONFIG", "GET", "x"}, true},
		{[]any{"XINFO", "STREAM", "s"}, false},
	} {
		if got := mayWrite(tc.argv); got != tc.write {
			t.Errorf("mayWrite(%v) = %v, want %v", tc.argv, got, tc.write)
		}
	}
	get, set := newCmd(DecodeString, "GET", "k"), newCmd(DecodeStatus, "SET", "k", "v")
	multi, exec := newCmd(DecodeStatus, "MULTI"), newCmd(DecodeValue, "EXEC")
	if jobWrites(&job{cmds: []Cmder{multi, get, exec}}) || !jobWrites(&job{cmds: []Cmder{get, set}}) {
		t.Fatal("jobWrites of batches")
	}
}
