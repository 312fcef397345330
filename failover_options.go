package respool

import (
	"math"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Defaults of FailoverOptions, used when the matching field is zero.
const (
	// DefaultFailoverWriteHold is how long a FailoverClient holds writes,
	// at most, from the moment a sentinel reports that it is promoting a
	// replica until it reports the new primary. A failover measured on
	// loopback takes about 1.1 s between the two (+selected-slave at
	// ~175 ms after SENTINEL FAILOVER, +switch-master at ~1.26 s); the
	// default leaves room for a slower network and a busier Sentinel.
	DefaultFailoverWriteHold = 5 * time.Second
	// DefaultSentinelAddr is the sentinel asked when
	// FailoverOptions.SentinelAddrs is empty.
	DefaultSentinelAddr = "127.0.0.1:26379"
)

// FailoverOptions configure a FailoverClient. As with Options, the zero
// value of every field means its documented default, and the constructor
// copies them: changing them afterwards has no effect.
type FailoverOptions struct {
	// MasterName is the name the sentinels monitor the primary under
	// ("mymaster"). A name the sentinels do not know fails every command
	// with a *SentinelError whose Err is ErrMasterUnknown.
	MasterName string
	// SentinelAddrs are "host:port" addresses of some of the sentinels
	// that monitor the primary. The client learns the others from them
	// (SENTINEL SENTINELS) and asks any that answers. Empty means
	// DefaultSentinelAddr.
	SentinelAddrs []string
	// SentinelUsername and SentinelPassword authenticate the connections to
	// the sentinels, which have credentials of their own (sentinel.conf's
	// requirepass or ACL users); Options.Username and Password are the
	// data nodes'. Empty means no AUTH (or, with a password alone, the
	// "default" user).
	SentinelUsername string
	SentinelPassword string

	// Options is the template of the connections to the data nodes:
	// timeouts, pool size, credentials, database, TLS, protocol, retries,
	// Exclusive... Addr is not used: every connection goes to the address
	// Sentinel names (the Client's Options report MasterName as Addr, and
	// each Conn its own address). Network must be "tcp" (the default).
	//
	// The connections to the sentinels use its Dialer, DialTimeout,
	// ReadTimeout, WriteTimeout, KeepAlive, TCPUserTimeout, TLSConfig,
	// Protocol, ClientName and DisableIdentity, with the sentinel
	// credentials and database 0. A TLSConfig whose ServerName is empty
	// checks each server's certificate against that server's own host.
	Options

	// FailoverWriteHold bounds how long writes are held while a failover
	// is under way (see FailoverClient): from the first sentinel event
	// saying that a replica is being promoted (+selected-slave or
	// +failover-state-send-slaveof-noone) until the one naming the new
	// primary (+switch-master). A write still held when it passes, or whose
	// context ends first, fails with OutcomeNotSent. Default
	// DefaultFailoverWriteHold (5s); negative turns holding off (writes
	// then go on to the old primary until +switch-master, and may be
	// lost).
	FailoverWriteHold time.Duration

	// ReplicaOnly sends every command to a replica: each new connection
	// goes to a replica chosen at random among those the sentinels list
	// (SENTINEL REPLICAS) and do not flag s_down, o_down or disconnected,
	// whose link to the primary is ok, and which answer ROLE with "slave".
	// When there is none it goes to the primary. Writes then fail with
	// READONLY. Replicas replicate asynchronously: a read may not see a
	// write that was just acknowledged.
	ReplicaOnly bool
	// RouteRandomly sends each read-only command (by the server's command
	// table; not blocking), and each pipeline made only of them, to a node
	// chosen at random: the primary or one of the healthy replicas (as for
	// ReplicaOnly). Writes, transactions, Watch and pub/sub go to the
	// primary.
	RouteRandomly bool
}

// failoverConfig is FailoverOptions with defaults applied.
type failoverConfig struct {
	master      string
	seeds       []string
	node        Options  // the data nodes' template; Addr is the master's name
	sentinel    *Options // the sentinels' template, defaults applied; Addr per sentinel
	hold        time.Duration
	replicaOnly bool
	randomly    bool
}

func (o *FailoverOptions) config() *failoverConfig {
	var fo FailoverOptions
	if o != nil {
		fo = *o
	}
	cfg := &failoverConfig{
		master:      fo.MasterName,
		seeds:       append([]string(nil), fo.SentinelAddrs...),
		hold:        fo.FailoverWriteHold,
		replicaOnly: fo.ReplicaOnly,
		randomly:    fo.RouteRandomly && !fo.ReplicaOnly,
	}
	if len(cfg.seeds) == 0 {
		cfg.seeds = []string{DefaultSentinelAddr}
	}
	if cfg.hold == 0 {
		cfg.hold = DefaultFailoverWriteHold
	}
	cfg.node = fo.Options
	cfg.node.Addr = fo.MasterName
	cfg.node.target, cfg.node.role = nil, ""

	s := Options{
		Network:         fo.Network,
		Dialer:          fo.Dialer,
		TLSConfig:       fo.TLSConfig,
		Protocol:        fo.Protocol,
		Username:        fo.SentinelUsername,
		Password:        fo.SentinelPassword,
		ClientName:      fo.ClientName,
		DisableIdentity: fo.DisableIdentity,
		DialTimeout:     fo.DialTimeout,
		ReadTimeout:     fo.ReadTimeout,
		WriteTimeout:    fo.WriteTimeout,
		KeepAlive:       fo.KeepAlive,
		TCPUserTimeout:  fo.TCPUserTimeout,
		ReplyLimits:     fo.ReplyLimits,

		PubSubPingInterval: fo.PubSubPingInterval,
		PubSubPingTimeout:  fo.PubSubPingTimeout,
		MinRetryBackoff:    fo.MinRetryBackoff,
		MaxRetryBackoff:    fo.MaxRetryBackoff,
		now:                fo.now,
	}
	cfg.sentinel = s.withDefaults()
	return cfg
}

// sentinelOptions returns the options of a connection to the sentinel at
// addr.
func (cfg *failoverConfig) sentinelOptions(addr string) *Options {
	o := *cfg.sentinel
	o.Addr = addr
	return &o
}

// isFailoverURLKey reports whether key is one of the query keys
// ParseFailoverURL takes in addition to those of ParseURL.
func isFailoverURLKey(key string) bool {
	switch key {
	case "master_name", "addr", "username", "password", "replica_only", "route_randomly",
		"failover_write_hold":
		return true
	}
	return false
}

// ParseFailoverURL returns the FailoverOptions described by a URL naming
// the sentinels, in the form go-redis's ParseFailoverURL reads:
//
//	redis://[[user]:password@]sentinelhost[:port][/db]?master_name=NAME[&addr=host2:port2&key=value...]
//	rediss://... (TLS, to the sentinels and to the data nodes)
//
// The URL's host is the first sentinel (port 26379 when none is given),
// each addr query key (which may be repeated) another one. The user
// information authenticates to the sentinels (SentinelUsername,
// SentinelPassword); the username and password query keys to the data
// nodes. The path, or the db key, is the data nodes' database. Every other
// part is read by ParseURL into the embedded Options, with the same keys
// and the same strictness, except that, for rediss, TLSConfig's ServerName
// is left empty so that each server's certificate is checked against its
// own host. The failover keys are:
//
//	key                   FailoverOptions field      value
//	master_name           MasterName                 required
//	addr                  SentinelAddrs (appended)   host:port, may repeat
//	username              Options.Username           the data nodes' user
//	password              Options.Password           the data nodes' password
//	replica_only          ReplicaOnly                bool
//	route_randomly        RouteRandomly              bool
//	failover_write_hold   FailoverWriteHold          duration, negative = off
//
// An error names the key or the part it is about, starts with "respool:
// parse url: " and never quotes a password.
func ParseFailoverURL(rawURL string) (*FailoverOptions, error) {
	fo := &FailoverOptions{}
	base, err := splitOwnKeys(rawURL, isFailoverURLKey, isAddrKey, fo.setURLKey)
	if err != nil {
		return nil, err
	}
	if fo.MasterName == "" {
		return nil, urlErrorf("missing query key %q: the name the sentinels monitor the primary under", "master_name")
	}
	opt, err := ParseURL(base)
	if err != nil {
		return nil, err
	}
	if opt.Network == "unix" {
		return nil, urlErrorf("a sentinel url takes redis:// or rediss://, not unix://")
	}
	if u, err := url.Parse(base); err == nil && u.Port() == "" {
		host, _, _ := net.SplitHostPort(opt.Addr)
		opt.Addr = net.JoinHostPort(host, "26379")
	}
	if opt.TLSConfig != nil {
		opt.TLSConfig.ServerName = ""
	}
	fo.SentinelUsername, opt.Username = opt.Username, fo.Username
	fo.SentinelPassword, opt.Password = opt.Password, fo.Password
	fo.SentinelAddrs = append([]string{opt.Addr}, fo.SentinelAddrs...)
	opt.Addr = ""
	fo.Options = *opt
	return fo, nil
}

// setURLKey sets the field of one failover query key. The data nodes'
// username and password are kept in the embedded Options until
// ParseFailoverURL puts the parsed Options in place.
func (fo *FailoverOptions) setURLKey(key, value string) error {
	if value == "" {
		return urlErrorf("empty value for query key %q", key)
	}
	var err error
	switch key {
	case "master_name":
		fo.MasterName = value
	case "addr":
		_, port, splitErr := net.SplitHostPort(value)
		if splitErr != nil {
			return urlErrorf("bad value %q for query key %q: want host:port", value, key)
		}
		if n, convErr := strconv.Atoi(port); convErr != nil || n < 1 || n > math.MaxUint16 {
			return urlErrorf("bad port %q in query key %q: want 1 to 65535", port, key)
		}
		addr, hostErr := urlHostPort(&url.URL{Host: value})
		if hostErr != nil {
			return urlErrorf("bad value %q for query key %q: want host:port, the host a name, an IPv4 address or [IPv6]", value, key)
		}
		fo.SentinelAddrs = append(fo.SentinelAddrs, addr)
	case "username":
		fo.Username = value
	case "password":
		fo.Password = value
	case "replica_only":
		fo.ReplicaOnly, err = urlBool(key, value)
	case "route_randomly":
		fo.RouteRandomly, err = urlBool(key, value)
	case "failover_write_hold":
		fo.FailoverWriteHold, err = urlDuration(key, value, allowNegative)
	}
	return err
}
