package respool

import (
	"math"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Defaults of ClusterOptions, used when the matching field is zero.
const (
	DefaultMaxRedirects          = 3
	DefaultClusterRefresh        = 30 * time.Second
	DefaultClusterMinRefresh     = 100 * time.Millisecond
	DefaultClusterRefreshTimeout = 2 * time.Second
	// DefaultClusterMultiplexConns is the MultiplexConns of each node's
	// Client when Options.MultiplexConns is zero: a node carries only its
	// slots' share of the commands, and two shared connections keep its
	// batches large (a third, the default of a Client of one server,
	// splits them further than the overlap it brings is worth).
	DefaultClusterMultiplexConns = 2
)

// ClusterOptions configure a ClusterClient. As with Options, the zero
// value of every field means its documented default, and the constructor
// copies them: changing them afterwards has no effect.
type ClusterOptions struct {
	// Addrs are seed addresses ("host:port") of some nodes of the cluster.
	// The client asks them for the slot map when it starts, and again when
	// every node it knows has become unreachable (names are then resolved
	// again). Empty means Options.Addr, or DefaultAddr.
	Addrs []string

	// Options is the template of every node's Client: timeouts, pool size,
	// credentials, TLS, protocol, retries and backoff, Exclusive... Addr is
	// replaced by each node's address. A node reached over TLS
	// (TLSConfig set) is dialled at its TLS port when the cluster reports
	// one. DB must be 0: a cluster has one database.
	//
	// Logger receives the ClusterClient's own events (a new slot map,
	// redirections added up) and those of every node's pool and PubSubs,
	// which carry the node's addr; see Options.Logger.
	//
	// MultiplexConns is per node; zero means DefaultClusterMultiplexConns.
	//
	// MaxRetries, MinRetryBackoff and MaxRetryBackoff bound the retries of
	// the ClusterClient itself (commands that failed without reaching a
	// node, or that are safe to repeat, are retried after a topology
	// refresh, possibly on another node); the node Clients do not retry on
	// their own.
	Options

	// MaxRedirects is how many MOVED and ASK redirections, and TRYAGAIN,
	// CLUSTERDOWN, MASTERDOWN and LOADING refusals, one call follows or
	// waits out before it returns the last one to the caller. Default 3;
	// negative means none.
	MaxRedirects int

	// ReadOnly sends read-only commands (by the server's command table) to
	// a random replica of the slot's shard (one the cluster has not marked
	// failed), or to its primary when it has none; a read that fails on a
	// replica (LOADING, a broken connection...) is retried on the primary.
	// Every connection then starts with READONLY. Replicas replicate
	// asynchronously: a read may not see a write that was just
	// acknowledged.
	ReadOnly bool
	// RouteByLatency sends read-only commands to the node of the slot's
	// shard (primary or replica) that answered PING fastest at the last
	// topology refresh. It implies ReadOnly.
	RouteByLatency bool
	// RouteRandomly sends read-only commands to a random node of the slot's
	// shard, primary or replica. It implies ReadOnly.
	RouteRandomly bool

	// SplitMultiKey lets MGET, MSET, DEL, EXISTS, UNLINK and TOUCH take keys
	// of several slots: the command is split into one command per slot, sent
	// to the nodes in parallel, and the replies merged (MGET's values in
	// the caller's key order; the counts of DEL, EXISTS, UNLINK and TOUCH
	// added up; MSET's OK when every part succeeded). The split command is
	// no longer atomic: an MSET may be applied on some slots and fail on
	// others, and the error says so. It applies in pipelines too (not in
	// transactions). Off by default: keys of several slots then fail with a
	// *CrossSlotError before anything is sent.
	SplitMultiKey bool

	// RefreshInterval is how often the slot map is reloaded in the
	// background. Default 30s; negative turns the periodic reload off (the
	// map is still reloaded on MOVED and when a node cannot be reached).
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two reloads of the slot
	// map, however many redirections and failures ask for one: requests
	// meanwhile are merged into one reload at the end of the interval.
	// Default 100ms.
	MinRefreshInterval time.Duration
	// RefreshTimeout bounds the question to one node during a reload; the
	// next node is asked when it passes. Default 2s.
	RefreshTimeout time.Duration
}

// clusterConfig is ClusterOptions with defaults applied.
type clusterConfig struct {
	seeds          []string
	node           Options // the node template; MaxRetries -1, Addr empty
	retry          *Options
	maxRedirects   int
	readOnly       bool
	byLatency      bool
	randomly       bool
	split          bool
	refresh        time.Duration
	minRefresh     time.Duration
	refreshTimeout time.Duration
}

func (o *ClusterOptions) config() *clusterConfig {
	var co ClusterOptions
	if o != nil {
		co = *o
	}
	cfg := &clusterConfig{
		seeds:          append([]string(nil), co.Addrs...),
		maxRedirects:   co.MaxRedirects,
		byLatency:      co.RouteByLatency,
		randomly:       co.RouteRandomly,
		split:          co.SplitMultiKey,
		refresh:        co.RefreshInterval,
		minRefresh:     co.MinRefreshInterval,
		refreshTimeout: co.RefreshTimeout,
	}
	cfg.readOnly = co.ReadOnly || co.RouteByLatency || co.RouteRandomly
	if len(cfg.seeds) == 0 {
		if co.Addr != "" {
			cfg.seeds = []string{co.Addr}
		} else {
			cfg.seeds = []string{DefaultAddr}
		}
	}
	if cfg.maxRedirects == 0 {
		cfg.maxRedirects = DefaultMaxRedirects
	}
	if cfg.maxRedirects < 0 {
		cfg.maxRedirects = 0
	}
	if cfg.refresh == 0 {
		cfg.refresh = DefaultClusterRefresh
	}
	if cfg.minRefresh <= 0 {
		cfg.minRefresh = DefaultClusterMinRefresh
	}
	if cfg.refreshTimeout <= 0 {
		cfg.refreshTimeout = DefaultClusterRefreshTimeout
	}
	cfg.retry = co.Options.withDefaults()
	cfg.node = co.Options
	cfg.node.Addr = ""
	cfg.node.MaxRetries = -1
	if cfg.node.MultiplexConns == 0 {
		cfg.node.MultiplexConns = DefaultClusterMultiplexConns
	}
	return cfg
}

// readOnlyOptions returns opt with READONLY added to the handshake of
// every connection, for reads from replicas.
func readOnlyOptions(opt Options) Options {
	opt.readOnly = true
	return opt
}

// isClusterURLKey reports whether key is one of the query keys
// ParseClusterURL takes in addition to those of ParseURL.
func isClusterURLKey(key string) bool {
	switch key {
	case "addr", "max_redirects", "read_only", "route_by_latency", "route_randomly",
		"split_multi_key", "refresh_interval", "min_refresh_interval", "refresh_timeout":
		return true
	}
	return false
}

// ParseClusterURL returns the ClusterOptions described by a Redis URL with
// several seed addresses:
//
//	redis://[[user]:password@]host:port[?addr=host2:port2&addr=host3:port3&key=value...]
//	rediss://... (TLS)
//
// The host of the URL is the first seed, each addr query key (which may be
// repeated) another one. Every other part is read by ParseURL into the
// embedded node Options, with the same keys and the same strictness,
// except that the database must be 0 and that, for rediss, TLSConfig's
// ServerName is left empty so that each node's certificate is checked
// against that node's own host. The cluster's own keys are:
//
//	key                    ClusterOptions field  value
//	addr                   Addrs (appended)      host:port, may repeat
//	max_redirects          MaxRedirects          integer, negative = none
//	read_only              ReadOnly              bool
//	route_by_latency       RouteByLatency        bool
//	route_randomly         RouteRandomly         bool
//	split_multi_key        SplitMultiKey         bool
//	refresh_interval       RefreshInterval       duration, negative = off
//	min_refresh_interval   MinRefreshInterval    duration >= 0
//	refresh_timeout        RefreshTimeout        duration >= 0
//
// Errors start with "respool: parse url: " and never quote the password.
func ParseClusterURL(rawURL string) (*ClusterOptions, error) {
	co := &ClusterOptions{}
	base, err := splitOwnKeys(rawURL, isClusterURLKey, isAddrKey, co.setURLKey)
	if err != nil {
		return nil, err
	}
	opt, err := ParseURL(base)
	if err != nil {
		return nil, err
	}
	if opt.Network == "unix" {
		return nil, urlErrorf("a cluster url takes redis:// or rediss://, not unix://")
	}
	if opt.DB != 0 {
		return nil, urlErrorf("a cluster has only database 0")
	}
	if opt.TLSConfig != nil {
		opt.TLSConfig.ServerName = ""
	}
	co.Options = *opt
	co.Addrs = append([]string{opt.Addr}, co.Addrs...)
	co.Addr = ""
	return co, nil
}

func (co *ClusterOptions) setURLKey(key, value string) error {
	if value == "" {
		return urlErrorf("empty value for query key %q", key)
	}
	var err error
	switch key {
	case "addr":
		_, port, splitErr := net.SplitHostPort(value)
		if splitErr != nil {
			return urlErrorf("bad addr %q: want host:port", value)
		}
		if n, convErr := strconv.Atoi(port); convErr != nil || n < 1 || n > math.MaxUint16 {
			return urlErrorf("bad port %q in addr %q: want 1 to 65535", port, value)
		}
		var addr string
		if addr, err = urlHostPort(&url.URL{Host: value}); err == nil {
			co.Addrs = append(co.Addrs, addr)
		}
	case "max_redirects":
		co.MaxRedirects, err = urlInt(key, value, allowNegative)
	case "read_only":
		co.ReadOnly, err = urlBool(key, value)
	case "route_by_latency":
		co.RouteByLatency, err = urlBool(key, value)
	case "route_randomly":
		co.RouteRandomly, err = urlBool(key, value)
	case "split_multi_key":
		co.SplitMultiKey, err = urlBool(key, value)
	case "refresh_interval":
		co.RefreshInterval, err = urlDuration(key, value, allowNegative)
	case "min_refresh_interval":
		co.MinRefreshInterval, err = urlDuration(key, value, nonNegative)
	case "refresh_timeout":
		co.RefreshTimeout, err = urlDuration(key, value, nonNegative)
	}
	return err
}
