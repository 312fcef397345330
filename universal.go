package respool

import "time"

// UniversalClient is a Client, a ClusterClient or a FailoverClient, as
// NewUniversalClient chose: every command of Cmdable, and Close. A type
// switch on it finds the client behind it (for ClusterClient.ForEachNode,
// FailoverClient.Stats...).
type UniversalClient interface {
	Cmdable
	// Close closes the client and everything it owns (see the Close of
	// each client).
	Close() error
}

// UniversalOptions configure NewUniversalClient, which picks the client
// from them: the union of the options of the three clients, with the
// same defaults. Fields that do not apply to the client picked are
// ignored.
type UniversalOptions struct {
	// Addrs are "host:port" addresses: the server's for a Client (one);
	// seed nodes for a ClusterClient (several); the sentinels' when
	// MasterName is set. Empty means Options.Addr, or DefaultAddr.
	Addrs []string
	// MasterName, when set, makes the client a FailoverClient for the
	// primary the sentinels at Addrs monitor under this name.
	MasterName string
	// IsClusterMode makes the client a ClusterClient even with one
	// address.
	IsClusterMode bool

	// Options is the template of every connection to a data node: see
	// Options, ClusterOptions.Options and FailoverOptions.Options. Addr is
	// used only when Addrs is empty.
	Options

	// Of a FailoverClient: see FailoverOptions.
	SentinelUsername  string
	SentinelPassword  string
	FailoverWriteHold time.Duration
	ReplicaOnly       bool

	// Of a ClusterClient: see ClusterOptions.
	MaxRedirects   int
	ReadOnly       bool
	RouteByLatency bool
	// RouteRandomly is ClusterOptions.RouteRandomly for a ClusterClient
	// and FailoverOptions.RouteRandomly for a FailoverClient.
	RouteRandomly bool
}

// NewUniversalClient returns, like go-redis's function of the same name:
//
//   - a *FailoverClient when MasterName is set (Addrs are the sentinels);
//   - a *ClusterClient when Addrs has more than one address, or
//     IsClusterMode is set;
//   - a *Client otherwise, for Addrs[0] (or Options.Addr when Addrs is
//     empty).
//
// nil opt means all defaults: a Client for DefaultAddr. The caller must
// Close the client.
func NewUniversalClient(opt *UniversalOptions) UniversalClient {
	var o UniversalOptions
	if opt != nil {
		o = *opt
	}
	switch {
	case o.MasterName != "":
		return NewFailoverClient(o.Failover())
	case len(o.Addrs) > 1 || o.IsClusterMode:
		return NewClusterClient(o.Cluster())
	default:
		return NewClient(o.Simple())
	}
}

// Failover returns the FailoverOptions that o describes.
func (o *UniversalOptions) Failover() *FailoverOptions {
	fo := &FailoverOptions{
		MasterName:        o.MasterName,
		SentinelAddrs:     append([]string(nil), o.Addrs...),
		SentinelUsername:  o.SentinelUsername,
		SentinelPassword:  o.SentinelPassword,
		Options:           o.Options,
		FailoverWriteHold: o.FailoverWriteHold,
		ReplicaOnly:       o.ReplicaOnly,
		RouteRandomly:     o.RouteRandomly,
	}
	fo.Addr = ""
	return fo
}

// Cluster returns the ClusterOptions that o describes.
func (o *UniversalOptions) Cluster() *ClusterOptions {
	co := &ClusterOptions{
		Addrs:          append([]string(nil), o.Addrs...),
		Options:        o.Options,
		MaxRedirects:   o.MaxRedirects,
		ReadOnly:       o.ReadOnly,
		RouteByLatency: o.RouteByLatency,
		RouteRandomly:  o.RouteRandomly,
	}
	if len(co.Addrs) > 0 {
		co.Addr = ""
	}
	return co
}

// Simple returns the Options of a Client that o describes.
func (o *UniversalOptions) Simple() *Options {
	opt := o.Options
	if len(o.Addrs) > 0 {
		opt.Addr = o.Addrs[0]
	}
	return &opt
}
