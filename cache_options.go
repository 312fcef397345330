package respool

import (
	"errors"
	"time"
)

// Defaults of CacheOptions.
const (
	// DefaultCacheMaxBytes is CacheOptions.MaxBytes when it is zero.
	DefaultCacheMaxBytes = 64 << 20
	// DefaultCacheMaxTTL is CacheOptions.MaxTTL when it is zero.
	DefaultCacheMaxTTL = time.Hour
)

// CacheOptions turn on client-side caching (Redis's CLIENT TRACKING) for
// the reads made through a CachedClient (Client.Cached,
// ClusterClient.Cached). Values read through the view are kept in memory
// and answered from there until the server says the key changed, the
// entry's lifetime ends or the memory bound evicts it.
//
// Caching needs RESP3: the server sends its invalidations as push
// messages on the connection that read the key. With a RESP2 server (or
// Options.Protocol 2) every cached read fails with an error that is
// ErrCacheNeedsRESP3; the Client's other commands are not affected.
// NewClient opens no connection, so it cannot tell: use Connect
// (ConnectCluster, ConnectFailover) to have that error when the client
// is made, before the first cached read.
type CacheOptions struct {
	// MaxBytes bounds the memory the cached entries take, counted from
	// their keys, commands and replies plus a fixed overhead per entry
	// (an estimate that errs on the high side). CacheStats().Bytes never
	// exceeds it: the least recently used entries are evicted to make
	// room, and a reply too large to fit in its shard of the cache (the
	// cache is split into shards of MaxBytes/shards each) is returned
	// without being kept. Default 64 MiB.
	MaxBytes int64
	// MaxTTL caps the lifetime of every entry, whatever the ttl given to
	// Cached. Default 1h; it is also the lifetime used when Cached gets
	// a ttl <= 0.
	MaxTTL time.Duration
	// Broadcast uses tracking's broadcasting mode (CLIENT TRACKING on
	// BCAST): the server sends an invalidation for every change of a key
	// that starts with one of Prefixes, read by this client or not, and
	// keeps no per-key state for it. With Prefixes set, reads of keys
	// outside them go to the server and are not kept. By default the
	// server remembers the keys each tracking connection read and tells
	// it of changes to those alone.
	Broadcast bool
	// Prefixes are the key prefixes of Broadcast mode (PREFIX ...); none
	// means every key. Ignored without Broadcast.
	Prefixes []string
}

// ErrCacheNeedsRESP3 is the error of a cached read when the server, or
// Options.Protocol, speaks RESP2: invalidations are RESP3 push messages.
// Connect, ConnectCluster and ConnectFailover return it (wrapped, with
// the reason) instead of a client whose cache cannot work.
var ErrCacheNeedsRESP3 = errors.New("respool: client-side caching needs RESP3 (a Redis 6 or later server, and Options.Protocol 3, the default)")

// withDefaults returns a copy of o with every zero field replaced by
// its default, or nil when o is nil (no caching).
func (o *CacheOptions) withDefaults() *CacheOptions {
	if o == nil {
		return nil
	}
	c := *o
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultCacheMaxBytes
	}
	if c.MaxTTL <= 0 {
		c.MaxTTL = DefaultCacheMaxTTL
	}
	c.Prefixes = append([]string(nil), o.Prefixes...)
	return &c
}

// matches reports whether key may be cached in this mode: always, except
// in Broadcast mode with prefixes that key has none of (the server sends
// no invalidation for it).
func (o *CacheOptions) matches(key string) bool {
	if !o.Broadcast || len(o.Prefixes) == 0 {
		return true
	}
	for _, p := range o.Prefixes {
		if len(key) >= len(p) && key[:len(p)] == p {
			return true
		}
	}
	return false
}

// trackingArgs returns the CLIENT TRACKING command that turns tracking on
// for a connection in this mode.
func (o *CacheOptions) trackingArgs() []any {
	argv := []any{"CLIENT", "TRACKING", "on"}
	if o.Broadcast {
		argv = append(argv, "BCAST")
		for _, p := range o.Prefixes {
			argv = append(argv, "PREFIX", p)
		}
	}
	return argv
}
