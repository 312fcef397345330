package respool

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

func TestParseURLValid(t *testing.T) {
	tlsFor := func(host string, skip bool) *tls.Config {
		return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: skip}
	}
	tests := []struct {
		name string
		url  string
		want Options
	}{
		{"host only", "redis://example.com", Options{Addr: "example.com:6379"}},
		{"host and port", "redis://example.com:6380", Options{Addr: "example.com:6380"}},
		{"upper-case scheme", "REDIS://example.com", Options{Addr: "example.com:6379"}},
		{"port with leading zero", "redis://h:06380", Options{Addr: "h:6380"}},
		{"ipv4", "redis://10.0.0.1:7000", Options{Addr: "10.0.0.1:7000"}},
		{"ipv6 with port", "redis://[::1]:6380", Options{Addr: "[::1]:6380"}},
		{"ipv6 default port", "redis://[::1]", Options{Addr: "[::1]:6379"}},
		{"ipv6 zone", "redis://[fe80::1%25eth0]:6380", Options{Addr: "[fe80::1%eth0]:6380"}},
		{"ipv6 with db", "redis://[2001:db8::1]:7000/3", Options{Addr: "[2001:db8::1]:7000", DB: 3}},
		{"empty path", "redis://h/", Options{Addr: "h:6379"}},
		{"empty query", "redis://h?", Options{Addr: "h:6379"}},
		{"db in path", "redis://h/15", Options{Addr: "h:6379", DB: 15}},
		{"db 0 in path", "redis://h/0", Options{Addr: "h:6379"}},
		{"db percent-encoded", "redis://h/%31", Options{Addr: "h:6379", DB: 1}},
		{"db in query", "redis://h?db=4", Options{Addr: "h:6379", DB: 4}},
		{"user and password", "redis://alice:secret@h", Options{Addr: "h:6379", Username: "alice", Password: "secret"}},
		{"password only", "redis://:secret@h:6380/2", Options{Addr: "h:6380", Password: "secret", DB: 2}},
		{"user only", "redis://alice@h", Options{Addr: "h:6379", Username: "alice"}},
		{"user with empty password", "redis://alice:@h", Options{Addr: "h:6379", Username: "alice"}},
		{"percent-encoded password", "redis://:p%40ss@h", Options{Addr: "h:6379", Password: "p@ss"}},
		{"percent-encoded specials", "redis://us%3Aer:p%3A%2F%23%3F%25w@h", Options{Addr: "h:6379", Username: "us:er", Password: "p:/#?%w"}},
		{"unescaped @ in password", "redis://:p@ss@h", Options{Addr: "h:6379", Password: "p@ss"}},
		{"rediss", "rediss://cache.example.com:6380", Options{Addr: "cache.example.com:6380", TLSConfig: tlsFor("cache.example.com", false)}},
		{"rediss ipv6", "rediss://[::1]:6380", Options{Addr: "[::1]:6380", TLSConfig: tlsFor("::1", false)}},
		{"rediss everything", "rediss://u:p@h/1?skip_verify=true&client_name=app", Options{Addr: "h:6379", Username: "u", Password: "p", DB: 1, ClientName: "app", TLSConfig: tlsFor("h", true)}},
		{"rediss skip_verify false", "rediss://h?skip_verify=false", Options{Addr: "h:6379", TLSConfig: tlsFor("h", false)}},
		{"unix", "unix:///var/run/redis.sock", Options{Network: "unix", Addr: "/var/run/redis.sock"}},
		{"unix with credentials and db", "unix://u:p%40ss@/tmp/redis.sock?db=2&dial_timeout=1s", Options{Network: "unix", Addr: "/tmp/redis.sock", Username: "u", Password: "p@ss", DB: 2, DialTimeout: time.Second}},
		{"unix password only", "unix://:pw@/tmp/r.sock", Options{Network: "unix", Addr: "/tmp/r.sock", Password: "pw"}},
		{"many keys", "redis://h:1/2?dial_timeout=1s&read_timeout=500ms&write_timeout=2&pool_size=20&protocol=2",
			Options{Addr: "h:1", DB: 2, DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 2 * time.Second, PoolSize: 20, Protocol: 2}},
		{"explicit zero means default", "redis://h?pool_size=0&read_timeout=0&max_retries=0", Options{Addr: "h:6379"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.url, err)
			}
			assertOptions(t, tt.url, got, &tt.want)
		})
	}
}

// assertOptions fails the test unless got equals want field by field.
func assertOptions(t *testing.T, url string, got, want *Options) {
	t.Helper()
	if !reflect.DeepEqual(got.TLSConfig, want.TLSConfig) {
		t.Errorf("ParseURL(%q).TLSConfig = %+v, want %+v", url, got.TLSConfig, want.TLSConfig)
	}
	g, w := *got, *want
	g.TLSConfig, w.TLSConfig = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("ParseURL(%q) =\n  %+v\nwant\n  %+v", url, g, w)
	}
}

// urlKeyCase is one query key with a value it accepts and what it sets.
type urlKeyCase struct {
	key, value string
	want       Options
}

func TestParseURLEveryKey(t *testing.T) {
	const addr = "h:6379"
	tests := []urlKeyCase{
		{"db", "7", Options{DB: 7}},
		{"protocol", "2", Options{Protocol: 2}},
		{"protocol", "3", Options{Protocol: 3}},
		{"client_name", "worker-1", Options{ClientName: "worker-1"}},
		{"client_name", "a%2Fb", Options{ClientName: "a/b"}},
		{"disable_identity", "true", Options{DisableIdentity: true}},
		{"disable_identity", "0", Options{}},
		{"dial_timeout", "1s", Options{DialTimeout: time.Second}},
		{"dial_timeout", "250ms", Options{DialTimeout: 250 * time.Millisecond}},
		{"dial_timeout", "10", Options{DialTimeout: 10 * time.Second}},
		{"read_timeout", "2m30s", Options{ReadTimeout: 150 * time.Second}},
		{"read_timeout", "-1", Options{ReadTimeout: -time.Second}},
		{"read_timeout", "-1ms", Options{ReadTimeout: -time.Millisecond}},
		{"write_timeout", "500ms", Options{WriteTimeout: 500 * time.Millisecond}},
		{"write_timeout", "-1", Options{WriteTimeout: -time.Second}},
		{"drain_timeout", "5s", Options{DrainTimeout: 5 * time.Second}},
		{"drain_timeout", "-1", Options{DrainTimeout: -time.Second}},
		{"tcp_user_timeout", "20s", Options{TCPUserTimeout: 20 * time.Second}},
		{"tcp_user_timeout", "-1", Options{TCPUserTimeout: -time.Second}},
		{"pool_size", "50", Options{PoolSize: 50}},
		{"pool_timeout", "4s", Options{PoolTimeout: 4 * time.Second}},
		{"pool_fail_fast", "true", Options{PoolFailFast: true}},
		{"pool_fail_fast", "TRUE", Options{PoolFailFast: true}},
		{"pool_fail_fast", "1", Options{PoolFailFast: true}},
		{"pool_fail_fast", "false", Options{}},
		{"min_idle_conns", "3", Options{MinIdleConns: 3}},
		{"max_idle_conns", "8", Options{MaxIdleConns: 8}},
		{"max_concurrent_dials", "2", Options{MaxConcurrentDials: 2}},
		{"conn_max_idle_time", "5m", Options{ConnMaxIdleTime: 5 * time.Minute}},
		{"conn_max_idle_time", "-1", Options{ConnMaxIdleTime: -time.Second}},
		{"conn_max_lifetime", "1h", Options{ConnMaxLifetime: time.Hour}},
		{"health_check_interval", "15s", Options{HealthCheckInterval: 15 * time.Second}},
		{"health_check_interval", "-1", Options{HealthCheckInterval: -time.Second}},
		{"max_retries", "5", Options{MaxRetries: 5}},
		{"max_retries", "-1", Options{MaxRetries: -1}},
		{"min_retry_backoff", "1ms", Options{MinRetryBackoff: time.Millisecond}},
		{"max_retry_backoff", "2s", Options{MaxRetryBackoff: 2 * time.Second}},
		{"leak_threshold", "30s", Options{LeakThreshold: 30 * time.Second}},
	}
	seen := map[string]bool{"skip_verify": true} // covered with rediss in TestParseURLValid
	for _, tt := range tests {
		seen[tt.key] = true
		url := "redis://" + addr + "?" + tt.key + "=" + tt.value
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			got, err := ParseURL(url)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", url, err)
			}
			want := tt.want
			want.Addr = addr
			assertOptions(t, url, got, &want)
		})
	}
	for _, key := range urlKeysForTest {
		if !seen[key] {
			t.Errorf("query key %q has no case in this test", key)
		}
	}
}

// urlKeysForTest lists every query key ParseURL documents.
var urlKeysForTest = []string{
	"db", "protocol", "client_name", "disable_identity",
	"dial_timeout", "read_timeout", "write_timeout", "tcp_user_timeout",
	"pool_size", "pool_timeout", "pool_fail_fast", "min_idle_conns",
	"max_idle_conns", "max_concurrent_dials", "conn_max_idle_time",
	"conn_max_lifetime", "health_check_interval", "max_retries",
	"min_retry_backoff", "max_retry_backoff", "leak_threshold", "skip_verify",
}

func TestParseURLKeysDocumented(t *testing.T) {
	src, err := os.ReadFile("url.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range urlKeysForTest {
		if !strings.Contains(string(src), "//\t"+key+" ") {
			t.Errorf("query key %q is missing from ParseURL's godoc table", key)
		}
		// Every documented key is accepted by the parser: a bad value gives
		// a "bad value" error, never "unknown query key".
		_, err := ParseURL("rediss://h?" + key + "=%7F")
		if err == nil || !strings.Contains(err.Error(), "bad value") {
			t.Errorf("ParseURL with %s=\\x7f: err = %v, want a bad value error", key, err)
		}
	}
}

func TestParseURLBadValues(t *testing.T) {
	durationKeys := map[string]bool{ // key -> accepts negative values
		"dial_timeout": false, "read_timeout": true, "write_timeout": true,
		"tcp_user_timeout": true, "pool_timeout": false, "conn_max_idle_time": true,
		"conn_max_lifetime": false, "health_check_interval": true,
		"min_retry_backoff": false, "max_retry_backoff": false, "leak_threshold": false,
	}
	intKeys := map[string]bool{ // key -> accepts negative values
		"db": false, "pool_size": false, "min_idle_conns": false, "max_idle_conns": false,
		"max_concurrent_dials": false, "max_retries": true,
	}
	boolKeys := []string{"pool_fail_fast", "disable_identity"}

	type badCase struct{ key, value string }
	var cases []badCase
	for key, negOK := range durationKeys {
		for _, v := range []string{"abc", "1x", "1.5", "s", "10 s", "99999999999", "9999999999999999999999h"} {
			cases = append(cases, badCase{key, v})
		}
		if !negOK {
			cases = append(cases, badCase{key, "-1"}, badCase{key, "-5ms"})
		}
	}
	for key, negOK := range intKeys {
		for _, v := range []string{"abc", "1.5", "1s", "0x10", "99999999999999999999", " 1"} {
			cases = append(cases, badCase{key, v})
		}
		if !negOK {
			cases = append(cases, badCase{key, "-1"})
		}
	}
	for _, key := range boolKeys {
		for _, v := range []string{"yes", "no", "on", "2", "truee"} {
			cases = append(cases, badCase{key, v})
		}
	}
	for _, v := range []string{"1", "4", "0", "resp3", "-3", "03"} {
		cases = append(cases, badCase{"protocol", v})
	}
	for _, v := range []string{"has space", "tab\there", "new\nline", "caf\u00e9"} {
		cases = append(cases, badCase{"client_name", v})
	}

	for _, c := range cases {
		url := "redis://:s3cretpw@h?" + c.key + "=" + escapeQuery(c.value)
		_, err := ParseURL(url)
		if err == nil {
			t.Errorf("ParseURL with %s=%q: no error", c.key, c.value)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "respool: parse url: ") || !strings.Contains(msg, `"`+c.key+`"`) ||
			!strings.Contains(msg, strings.Trim(strconvQuote(c.value), `"`)) {
			t.Errorf("ParseURL with %s=%q: error %q does not name the key and the value", c.key, c.value, msg)
		}
		if strings.Contains(msg, "s3cretpw") {
			t.Errorf("ParseURL error quotes the password: %q", msg)
		}
	}

	// Empty values are errors for every key.
	for _, key := range urlKeysForTest {
		for _, q := range []string{key + "=", key} {
			_, err := ParseURL("rediss://h?" + q)
			if err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
				t.Errorf("ParseURL with %q: err = %v, want an error naming the key", q, err)
			}
		}
	}
}

// escapeQuery percent-encodes a query value the way a user would.
func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '&' || c == '=' || c == '+' || c == '#' {
			b.WriteString("%")
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// strconvQuote quotes s as %q does, which is how errors show values.
func strconvQuote(s string) string {
	var b strings.Builder
	b.WriteString(`"`)
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`"`)
	return b.String()
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		name, url string
		wantIn    []string // substrings of the error
	}{
		{"empty", "", []string{"missing scheme"}},
		{"no scheme", "localhost:6379", []string{`unsupported scheme "localhost"`}},
		{"http scheme", "http://h", []string{`unsupported scheme "http"`}},
		{"tcp scheme", "tcp://h:6379", []string{`unsupported scheme "tcp"`}},
		{"opaque", "redis:h:6379", []string{`missing "//"`}},
		{"no authority", "redis:/h", []string{`missing "//"`}},
		{"unix no slashes", "unix:/tmp/r.sock", []string{`missing "//"`}},
		{"leading space", " redis://h", nil},
		{"missing host", "redis://", []string{"missing host"}},
		{"missing host with path", "redis:///0", []string{"missing host"}},
		{"missing host with credentials", "redis://u:s3cretpw@:6380", []string{"missing host"}},
		{"empty port", "redis://h:", []string{"empty port"}},
		{"port zero", "redis://h:0", []string{`bad port "0"`}},
		{"port too big", "redis://h:65536", []string{`bad port "65536"`}},
		{"port not numeric", "redis://u:s3cretpw@h:abc", []string{"port"}},
		{"unescaped / in password", "redis://u:s3cretpw/x@h", []string{"port", "%2F"}},
		{"unescaped ? in password", "redis://u:s3cretpw?x@h", []string{"port"}},
		{"unescaped / in numeric password", "redis://u:6379/s3cretpw@h", []string{"bad path", "%2F"}},
		{"ipv6 without brackets", "redis://::1:6379", []string{"brackets"}},
		{"bad ipv6 in brackets", "redis://[zz::1]:6379", nil},
		{"bracket in host", "redis://]0", []string{`bad host "]0"`}},
		{"percent in host", "redis://a%25b", []string{`bad host "a%b"`}},
		{"non-ascii host", "redis://caf%C3%A9.example", []string{"bad host"}},
		{"bad escape in password", "redis://u:s3cretpw%zz@h", []string{"escape"}},
		{"fragment", "redis://h/0#frag", []string{"fragment"}},
		{"unescaped # in password", "redis://:pa#ss@h", []string{"fragment", "%23"}},
		{"path not a number", "redis://h/abc", []string{`bad path "/abc"`}},
		{"path negative", "redis://h/-1", []string{`bad path "/-1"`}},
		{"path with sign", "redis://h/+1", []string{`bad path "/+1"`}},
		{"path trailing slash", "redis://h/1/", []string{`bad path "/1/"`}},
		{"path two segments", "redis://h/1/2", []string{`bad path "/1/2"`}},
		{"path double slash", "redis://h//1", []string{`bad path "//1"`}},
		{"path overflow", "redis://h/99999999999999999999", []string{"bad path"}},
		{"db in path and query", "redis://h/1?db=2", []string{"db", "both"}},
		{"db 0 in path and query", "redis://h/0?db=0", []string{"db", "both"}},
		{"unknown key", "redis://h?pool_fifo=true", []string{`unknown query key "pool_fifo"`}},
		{"unknown key addr", "redis://h?addr=x:1", []string{`unknown query key "addr"`}},
		{"unknown key case", "redis://h?DB=1", []string{`unknown query key "DB"`}},
		{"unknown key empty", "redis://h?=1", []string{`unknown query key ""`}},
		{"old key idle_timeout", "redis://h?idle_timeout=1s", []string{`"idle_timeout"`, "conn_max_idle_time"}},
		{"old key max_conn_age", "redis://h?max_conn_age=1s", []string{`"max_conn_age"`, "conn_max_lifetime"}},
		{"password as key", "redis://h?password=x", []string{`"password"`, "user:password@host"}},
		{"repeated key", "redis://h?db=1&db=1", []string{`"db"`, "2 times"}},
		{"repeated duration key", "redis://h?dial_timeout=1s&read_timeout=1s&dial_timeout=2s", []string{`"dial_timeout"`, "2 times"}},
		{"semicolon", "redis://h?db=1;pool_size=2", []string{"semicolon"}},
		{"bad query escape", "redis://h?db=%zz", []string{"escape"}},
		{"skip_verify without tls", "redis://h?skip_verify=true", []string{`"skip_verify"`, "rediss"}},
		{"skip_verify on unix", "unix:///tmp/r.sock?skip_verify=true", []string{`"skip_verify"`, "rediss"}},
		{"unix with host", "unix://localhost/tmp/r.sock", []string{"no host", `"localhost"`}},
		{"unix with port", "unix://:6379/tmp/r.sock", nil},
		{"unix without path", "unix://", []string{"missing socket path"}},
		{"unix root path", "unix:///", []string{"missing socket path"}},
		{"unix credentials without path", "unix://u:s3cretpw@", []string{"missing socket path"}},
		{"unix unknown key", "unix:///tmp/r.sock?timeout=1", []string{`unknown query key "timeout"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, err := ParseURL(tt.url)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %+v, want an error", tt.url, opt)
			}
			if opt != nil {
				t.Errorf("ParseURL(%q) returned Options with its error", tt.url)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "respool: parse url: ") {
				t.Errorf("error %q lacks the prefix %q", msg, "respool: parse url: ")
			}
			if strings.Contains(msg, "s3cretpw") {
				t.Errorf("error %q quotes the password", msg)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
		})
	}
}

func TestParseURLReturnsFreshTLSConfig(t *testing.T) {
	a, err := ParseURL("rediss://h")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseURL("rediss://h")
	if err != nil {
		t.Fatal(err)
	}
	if a.TLSConfig == b.TLSConfig {
		t.Fatal("two ParseURL calls share one *tls.Config")
	}
}

func TestParseURLDefaultsMatchHandBuilt(t *testing.T) {
	// What ParseURL leaves out, the constructors fill in exactly as for
	// Options built by hand.
	opt, err := ParseURL("redis://h:7000?pool_size=5")
	if err != nil {
		t.Fatal(err)
	}
	got := opt.withDefaults()
	want := (&Options{Addr: "h:7000", PoolSize: 5}).withDefaults()
	got.now, want.now = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults after ParseURL =\n  %+v\nby hand\n  %+v", got, want)
	}
}

// pingAt sends PING over a new connection to opt's address and fails the
// test unless the reply is +PONG.
func pingAt(t *testing.T, opt *Options) {
	t.Helper()
	network := opt.Network
	if network == "" {
		network = "tcp"
	}
	c, err := net.Dial(network, opt.Addr)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, opt.Addr, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line != "+PONG\r\n" {
		t.Fatalf("PING at %s: got %q, want +PONG", opt.Addr, line)
	}
}

func TestParseURLServerURL(t *testing.T) {
	srv := sharedServer(t)
	opt, err := ParseURL(srv.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", srv.URL(), err)
	}
	if opt.Addr != srv.Addr {
		t.Fatalf("ParseURL(%q).Addr = %q, want %q", srv.URL(), opt.Addr, srv.Addr)
	}
	pingAt(t, opt)
}

func TestParseURLUnixSocketServer(t *testing.T) {
	respooltest.RequireRedis(t)
	// Socket paths are limited to about 100 bytes, so not t.TempDir().
	dir, err := os.MkdirTemp("", "rpurl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "redis.sock")
	respooltest.StartServer(t, respooltest.WithArgs("--unixsocket", sock, "--unixsocketperm", "700"))
	opt, err := ParseURL("unix://" + sock + "?db=1")
	if err != nil {
		t.Fatal(err)
	}
	if opt.Network != "unix" || opt.Addr != sock || opt.DB != 1 {
		t.Fatalf("ParseURL(unix://%s?db=1) = network %q addr %q db %d", sock, opt.Network, opt.Addr, opt.DB)
	}
	pingAt(t, opt)
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://h", "rediss://u:p@[::1]:6380/2?dial_timeout=1s", "unix:///tmp/r.sock?db=1",
		"redis://:p%40ss@h?pool_size=3&read_timeout=-1", "redis://h/x", "redis://h?db=1&db=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opt, err := ParseURL(s)
		if err != nil {
			if opt != nil {
				t.Fatalf("ParseURL(%q) returned Options with error %v", s, err)
			}
			if !strings.HasPrefix(err.Error(), "respool: parse url: ") {
				t.Fatalf("ParseURL(%q): error %q lacks the prefix", s, err)
			}
			return
		}
		if opt.Addr == "" {
			t.Fatalf("ParseURL(%q) succeeded with an empty Addr", s)
		}
		if opt.Network == "" {
			if _, _, err := net.SplitHostPort(opt.Addr); err != nil {
				t.Fatalf("ParseURL(%q).Addr = %q: %v", s, opt.Addr, err)
			}
		}
		if (opt.TLSConfig != nil) != strings.HasPrefix(strings.ToLower(s), "rediss:") {
			t.Fatalf("ParseURL(%q): TLSConfig %v does not match the scheme", s, opt.TLSConfig)
		}
	})
}
