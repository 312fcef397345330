package respool

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseURL returns the Options described by a Redis URL. It is strict: an
// unknown query key, a key given twice, a value it cannot parse, a path
// other than a database number, or a fragment is an error, so a typo never
// silently falls back to a default. Errors start with "respool: parse url: "
// and never quote the password.
//
// Three schemes are accepted:
//
//	redis://[[user]:password@]host[:port][/db][?key=value&...]
//	rediss://[[user]:password@]host[:port][/db][?key=value&...]
//	unix://[[user]:password@]/path/to/socket[?db=N&key=value&...]
//
// The host is required for redis and rediss; the port defaults to 6379 and
// an IPv6 literal goes in brackets ("redis://[::1]:6380"). rediss sets
// TLSConfig to a new tls.Config with ServerName set to the host and
// MinVersion TLS 1.2, so the server's certificate is verified. unix sets
// Network to "unix" and Addr to the socket path; it takes no host and its
// database comes from the db query key only.
//
// The user information is percent-decoded: "redis://:p%40ss@host" sets
// Password to "p@ss" and leaves Username empty (the "default" user);
// "redis://user@host" sets only Username. The path is empty, "/", or "/N"
// where N is the database number (DB); the database may instead be given
// with the db query key, but not both ways at once.
//
// Query keys use the names of go-redis's ParseURL where both libraries have
// the option, so existing URLs carry over. Each sets one Options field:
//
//	key                    Options field         value
//	db                     DB                    integer >= 0
//	protocol               Protocol              2 or 3
//	client_name            ClientName            printable ASCII, no spaces
//	disable_identity       DisableIdentity       bool
//	dial_timeout           DialTimeout           duration >= 0
//	read_timeout           ReadTimeout           duration, negative = none
//	write_timeout          WriteTimeout          duration, negative = none
//	drain_timeout          DrainTimeout          duration, negative = off
//	tcp_user_timeout       TCPUserTimeout        duration, negative = system default
//	pool_size              PoolSize              integer >= 0
//	pool_timeout           PoolTimeout           duration >= 0
//	pool_fail_fast         PoolFailFast          bool
//	min_idle_conns         MinIdleConns          integer >= 0
//	max_idle_conns         MaxIdleConns          integer >= 0
//	max_concurrent_dials   MaxConcurrentDials    integer >= 0
//	conn_max_idle_time     ConnMaxIdleTime       duration, negative = never
//	conn_max_lifetime      ConnMaxLifetime       duration >= 0
//	health_check_interval  HealthCheckInterval   duration, negative = off
//	max_retries            MaxRetries            integer, negative = no retries
//	min_retry_backoff      MinRetryBackoff       duration >= 0
//	max_retry_backoff      MaxRetryBackoff       duration >= 0
//	leak_threshold         LeakThreshold         duration >= 0
//	skip_verify            TLSConfig.InsecureSkipVerify  bool, rediss only
//
// A duration is a Go duration ("500ms", "1s", "2m30s") or a bare integer
// counting seconds ("5" is 5s, "-1" is -1s). A bool is one of 1, t, true,
// 0, f, false (any case, as strconv.ParseBool). An empty value is an error.
// Keys are case-sensitive.
//
// ParseURL sets only the fields the URL names; every other field stays
// zero, and an explicit 0 ("pool_size=0") is the same as leaving the key
// out. Zero means the documented default, so NewPool(opt) and NewClient(opt)
// apply exactly the defaults they apply to Options built by hand. The caller
// may change the returned Options (add a Dialer, OnLeak, a
// CredentialsProvider...) before passing them on.
func ParseURL(rawURL string) (*Options, error) {
	// Before url.Parse, which would cut an unescaped '#' in a password
	// short and quote the rest of it as a bad port.
	if strings.Contains(rawURL, "#") {
		return nil, urlErrorf("fragments (#...) are not allowed; write # in a password as %%23")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// A *url.Error quotes the whole URL, password included: keep only
		// the cause, and not even that when it may quote part of the
		// password ("redis://u:pa/ss@h" has the port ":pa").
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(err.Error(), "port") {
			return nil, urlErrorf("bad port after the host (in a user name or password, write / ? # @ : %% as %%2F %%3F %%23 %%40 %%3A %%25)")
		}
		return nil, urlErrorf("%v", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	case "":
		return nil, urlErrorf("missing scheme: want redis://, rediss:// or unix://")
	default:
		return nil, urlErrorf("unsupported scheme %q: want redis, rediss or unix", u.Scheme)
	}
	if u.Opaque != "" || !strings.HasPrefix(rawURL[len(u.Scheme)+1:], "//") {
		return nil, urlErrorf("missing \"//\" after the scheme: want %s://...", u.Scheme)
	}

	opt := &Options{}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}

	pathDB := false
	if u.Scheme == "unix" {
		if u.Host != "" {
			return nil, urlErrorf("unix url takes no host, got %q: want unix:///path/to/socket", u.Host)
		}
		if u.Path == "" || u.Path == "/" {
			return nil, urlErrorf("missing socket path")
		}
		opt.Network = "unix"
		opt.Addr = u.Path
	} else {
		host, err := urlHostPort(u)
		if err != nil {
			return nil, err
		}
		opt.Addr = host
		if u.Scheme == "rediss" {
			opt.TLSConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		}
		switch p := u.Path; p {
		case "", "/":
		default:
			if strings.Contains(p, "@") {
				// "redis://u:pa/ss@h": do not quote what may be a password.
				return nil, urlErrorf("bad path with @ (in a user name or password, write / as %%2F)")
			}
			n, err := strconv.Atoi(p[1:])
			if err != nil || !isDigits(p[1:]) {
				return nil, urlErrorf("bad path %q: want /N, a database number >= 0", p)
			}
			opt.DB = n
			pathDB = true
		}
	}

	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, urlErrorf("query: %v", err)
	}
	// Sorted, so that of several mistakes the same one is reported every
	// time.
	for _, key := range slices.Sorted(maps.Keys(query)) {
		values := query[key]
		if len(values) > 1 {
			return nil, urlErrorf("query key %q given %d times", key, len(values))
		}
		if key == "db" && pathDB {
			return nil, urlErrorf("db given both in the path and as a query key")
		}
		if err := setURLQueryKey(opt, u.Scheme, key, values[0]); err != nil {
			return nil, err
		}
	}
	return opt, nil
}

// urlHostPort returns the "host:port" address of a redis or rediss URL,
// with the default port when the URL has none.
func urlHostPort(u *url.URL) (string, error) {
	host := u.Hostname()
	if host == "" {
		return "", urlErrorf("missing host")
	}
	if strings.HasPrefix(u.Host, "[") {
		ip, _, _ := strings.Cut(host, "%") // an IPv6 zone: [fe80::1%25eth0]
		if net.ParseIP(ip) == nil {
			return "", urlErrorf("bad IPv6 address %q", host)
		}
	} else if strings.Contains(host, ":") {
		return "", urlErrorf("IPv6 address %q must be in brackets: [addr]:port", u.Host)
	} else {
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
				return "", urlErrorf("bad host %q: want a name, an IPv4 address or [IPv6]", host)
			}
		}
	}
	port := 6379
	if strings.HasSuffix(u.Host, ":") {
		return "", urlErrorf("empty port after %q", u.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > math.MaxUint16 {
			return "", urlErrorf("bad port %q: want 1 to 65535", p)
		}
		port = n
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// valueSign says whether a numeric query key accepts negative values.
type valueSign bool

const (
	nonNegative   valueSign = false
	allowNegative valueSign = true
)

// setURLQueryKey sets the Options field of one query key.
func setURLQueryKey(opt *Options, scheme, key, value string) error {
	if value == "" {
		return urlErrorf("empty value for query key %q", key)
	}
	var err error
	switch key {
	case "db":
		opt.DB, err = urlInt(key, value, nonNegative)
	case "protocol":
		if value != "2" && value != "3" {
			return urlBadValue(key, value, "2 or 3")
		}
		opt.Protocol = int(value[0] - '0')
	case "client_name":
		for i := 0; i < len(value); i++ {
			if value[i] < '!' || value[i] > '~' {
				return urlBadValue(key, value, "printable ASCII without spaces")
			}
		}
		opt.ClientName = value
	case "disable_identity":
		opt.DisableIdentity, err = urlBool(key, value)
	case "dial_timeout":
		opt.DialTimeout, err = urlDuration(key, value, nonNegative)
	case "read_timeout":
		opt.ReadTimeout, err = urlDuration(key, value, allowNegative)
	case "write_timeout":
		opt.WriteTimeout, err = urlDuration(key, value, allowNegative)
	case "drain_timeout":
		opt.DrainTimeout, err = urlDuration(key, value, allowNegative)
	case "tcp_user_timeout":
		opt.TCPUserTimeout, err = urlDuration(key, value, allowNegative)
	case "pool_size":
		opt.PoolSize, err = urlInt(key, value, nonNegative)
	case "pool_timeout":
		opt.PoolTimeout, err = urlDuration(key, value, nonNegative)
	case "pool_fail_fast":
		opt.PoolFailFast, err = urlBool(key, value)
	case "min_idle_conns":
		opt.MinIdleConns, err = urlInt(key, value, nonNegative)
	case "max_idle_conns":
		opt.MaxIdleConns, err = urlInt(key, value, nonNegative)
	case "max_concurrent_dials":
		opt.MaxConcurrentDials, err = urlInt(key, value, nonNegative)
	case "conn_max_idle_time":
		opt.ConnMaxIdleTime, err = urlDuration(key, value, allowNegative)
	case "conn_max_lifetime":
		opt.ConnMaxLifetime, err = urlDuration(key, value, nonNegative)
	case "health_check_interval":
		opt.HealthCheckInterval, err = urlDuration(key, value, allowNegative)
	case "max_retries":
		opt.MaxRetries, err = urlInt(key, value, allowNegative)
	case "min_retry_backoff":
		opt.MinRetryBackoff, err = urlDuration(key, value, nonNegative)
	case "max_retry_backoff":
		opt.MaxRetryBackoff, err = urlDuration(key, value, nonNegative)
	case "leak_threshold":
		opt.LeakThreshold, err = urlDuration(key, value, nonNegative)
	case "skip_verify":
		if scheme != "rediss" {
			return urlErrorf("query key %q needs the rediss scheme", key)
		}
		opt.TLSConfig.InsecureSkipVerify, err = urlBool(key, value)
	default:
		return urlErrorf("unknown query key %q%s", key, urlKeyHint(key))
	}
	return err
}

// urlKeyHint points users of go-redis's older key names at ours.
func urlKeyHint(key string) string {
	switch key {
	case "idle_timeout":
		return " (use conn_max_idle_time)"
	case "max_conn_age":
		return " (use conn_max_lifetime)"
	case "password", "username", "user":
		return " (put credentials before the host: redis://user:password@host)"
	}
	return ""
}

// urlInt parses a decimal integer.
func urlInt(key, value string, sign valueSign) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil {
		if sign == allowNegative {
			return 0, urlBadValue(key, value, "an integer")
		}
		return 0, urlBadValue(key, value, "an integer >= 0")
	}
	if n < 0 && sign == nonNegative {
		return 0, urlBadValue(key, value, "an integer >= 0")
	}
	return n, nil
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// urlBool parses a bool as strconv.ParseBool does.
func urlBool(key, value string) (bool, error) {
	b, err := strconv.ParseBool(value)
	if err != nil {
		return false, urlBadValue(key, value, "true or false")
	}
	return b, nil
}

// urlDuration parses a Go duration or a bare integer counting seconds.
func urlDuration(key, value string, sign valueSign) (time.Duration, error) {
	want := "a duration >= 0 (500ms, 1s) or whole seconds"
	if sign == allowNegative {
		want = "a duration (500ms, 1s, -1) or whole seconds"
	}
	var d time.Duration
	if n, err := strconv.ParseInt(value, 10, 64); err == nil {
		const maxSeconds = math.MaxInt64 / int64(time.Second)
		if n > maxSeconds || n < -maxSeconds {
			return 0, urlBadValue(key, value, want)
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(value); err != nil {
		return 0, urlBadValue(key, value, want)
	}
	if d < 0 && sign == nonNegative {
		return 0, urlBadValue(key, value, want)
	}
	return d, nil
}

// urlBadValue is the error for a value that does not parse.
func urlBadValue(key, value, want string) error {
	return urlErrorf("bad value %q for query key %q: want %s", value, key, want)
}

// urlErrorf returns an error prefixed "respool: parse url: ".
func urlErrorf(format string, args ...any) error {
	return fmt.Errorf("respool: parse url: "+format, args...)
}

// splitOwnKeys takes the query keys of rawURL that own reports as its own
// (a ParseClusterURL's or ParseFailoverURL's) out of the URL: each is
// unescaped and given to set, once at most unless repeatable allows it.
// It returns the URL without them, for ParseURL to read the rest with its
// usual strictness.
func splitOwnKeys(rawURL string, own, repeatable func(key string) bool, set func(key, value string) error) (string, error) {
	base, query, _ := strings.Cut(rawURL, "?")
	var kept []string
	seen := make(map[string]bool)
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return "", urlErrorf("query: %v", err)
		}
		if !own(key) {
			kept = append(kept, part)
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			if key == "password" {
				return "", urlErrorf("query key %q: bad escape", key)
			}
			return "", urlErrorf("query: %v", err)
		}
		if !repeatable(key) {
			if seen[key] {
				return "", urlErrorf("query key %q given more than once", key)
			}
			seen[key] = true
		}
		if err := set(key, value); err != nil {
			return "", err
		}
	}
	if len(kept) > 0 {
		base += "?" + strings.Join(kept, "&")
	}
	return base, nil
}

// isAddrKey reports the one query key that may repeat: addr.
func isAddrKey(key string) bool { return key == "addr" }
