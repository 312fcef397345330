package respool

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"runtime"
	"time"

	"github.com/respool/respool/resp"
)

// Defaults used when the matching Options field is zero. Every constructor
// (NewPool, NewClient, ParseURL) applies the same ones.
const (
	DefaultAddr              = "127.0.0.1:6379"
	DefaultProtocol          = 3
	DefaultDialTimeout       = 5 * time.Second
	DefaultReadTimeout       = 3 * time.Second
	DefaultWriteTimeout      = 3 * time.Second
	DefaultKeepAliveIdle     = 30 * time.Second
	DefaultKeepAliveInterval = 5 * time.Second
	DefaultKeepAliveCount    = 3
	DefaultConnMaxIdleTime   = 30 * time.Minute
	// DefaultHealthCheckInterval is the idle time after which a connection
	// taken from the pool is peeked at (see Options.HealthCheckInterval).
	DefaultHealthCheckInterval = 2 * time.Microsecond
	DefaultMaxRetries          = 3
	DefaultMultiplexConns      = 3
	DefaultMaxWatchRetries     = 10
	DefaultMinRetryBackoff     = 8 * time.Millisecond
	DefaultMaxRetryBackoff     = 512 * time.Millisecond
	// DefaultPoolSizePerCPU times GOMAXPROCS is the default PoolSize.
	DefaultPoolSizePerCPU = 10
)

// Credentials are a username and password for AUTH or HELLO ... AUTH.
// An empty Username means the "default" user.
type Credentials struct {
	Username string
	Password string
}

// Options configure a Conn, a Pool and a Client. The zero value of every
// field means its documented default; a negative duration turns the
// feature off where that is allowed (said per field). Options are copied by
// the constructors: changing them afterwards has no effect.
type Options struct {
	// Network is "tcp" (the default) or "unix".
	Network string
	// Addr is "host:port" for TCP (default "127.0.0.1:6379") or a socket
	// path for "unix". Every address the host resolves to is tried in turn
	// within one DialTimeout.
	Addr string
	// Dialer, when set, replaces the built-in dialer: it must return a
	// connected net.Conn, honouring ctx. DialTimeout still bounds it;
	// KeepAlive, TCPUserTimeout and TLSConfig are then the dialer's business.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig, when non-nil, wraps every connection in TLS. An empty
	// ServerName is filled from Addr's host, so the certificate is verified
	// unless InsecureSkipVerify is set explicitly.
	TLSConfig *tls.Config

	// Protocol is 3 (RESP3, the default) or 2. With 3 the handshake uses
	// HELLO 3 and falls back to RESP2 when the server does not know HELLO.
	Protocol int
	// Username and Password authenticate every new connection (AUTH, or
	// HELLO's AUTH clause). An empty Username with a Password uses the
	// "default" user.
	Username string
	Password string
	// CredentialsProvider, when set, is called for every new connection and
	// its result replaces Username and Password (for rotating tokens). An
	// error from it fails that dial with OutcomeNotSent. When it starts
	// returning new credentials, call RotateCredentials (of the Pool,
	// Client or ClusterClient): the connections already open then
	// authenticate again with AUTH, without being closed.
	CredentialsProvider func(ctx context.Context) (Credentials, error)
	// DB is selected on every new connection when non-zero.
	DB int
	// ClientName is set with CLIENT SETNAME (or HELLO SETNAME) when non-empty.
	ClientName string
	// DisableIdentity stops the handshake from sending CLIENT SETINFO
	// lib-name/lib-ver.
	DisableIdentity bool

	// DialTimeout bounds resolving, connecting, the TLS handshake and the
	// Redis handshake of one new connection. Default 5s.
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for each reply. Default 3s; negative means
	// no timeout (the context alone bounds reads). A blocking command
	// (BLPOP, XREAD BLOCK...) waits its own timeout plus ReadTimeout. The
	// timeout fires no sooner than ReadTimeout and at most half of it
	// later: one socket deadline then serves every command of that half,
	// instead of each command moving it (which costs about as much as
	// parsing a small reply). A context's deadline is kept exactly.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write. Default 3s; negative means none. As
	// for ReadTimeout, it fires up to half of it late.
	WriteTimeout time.Duration
	// DrainTimeout bounds the drain of a pooled connection whose caller
	// stopped waiting for its replies: a read that timed out, or a
	// context that ended after the command was written. Instead of
	// closing such a connection (and dialling a new one for the next
	// command), the Pool reads and discards the replies still owed in a
	// goroutine of its own, for at most DrainTimeout from the Put, and
	// then reuses the connection; one whose replies do not all arrive in
	// time is closed. Only a connection that stopped between two replies,
	// after a batch with no blocking command (BLPOP, WAIT, XREAD BLOCK...)
	// and with its session as a new connection's (no MULTI, WATCH,
	// subscription, SELECT, CLIENT REPLY...), is drained; any other is
	// closed at once. A draining connection holds its slot of PoolSize.
	// A shared connection of a multiplexing Client whose batch is not
	// answered within ReadTimeout drains the same way: its callers get the
	// timeout, and the connection reads their late replies within
	// DrainTimeout before it sends the commands queued meanwhile (a caller
	// whose context ends needs no drain: the reader drops its reply).
	// Default 0 means ReadTimeout, but at least 1s (so 3s with the
	// default ReadTimeout; 3s when ReadTimeout is negative): a reply late
	// by a few milliseconds on a loaded machine should not cost a new
	// connection. Negative turns draining off: such connections are
	// closed, as by most clients.
	DrainTimeout time.Duration
	// KeepAlive configures TCP keepalive probes. The zero value means on,
	// 30s idle, 5s interval, 3 probes. Set KeepAlive.Enable = false with
	// KeepAlive.Idle = -1 to turn probes off.
	KeepAlive net.KeepAliveConfig
	// TCPUserTimeout (Linux) is how long written data may stay
	// unacknowledged before the kernel drops the connection, so a dead peer
	// under a busy connection is noticed. Zero means ReadTimeout+WriteTimeout
	// when both are positive; negative leaves the system default.
	TCPUserTimeout time.Duration

	// PoolSize caps the open connections of a Pool. Default
	// 10 x GOMAXPROCS.
	PoolSize int
	// PoolTimeout bounds how long Pool.Get waits for a free connection when
	// PoolSize are open and busy. Default ReadTimeout + 1s.
	PoolTimeout time.Duration
	// PoolFailFast makes Pool.Get return ErrPoolExhausted at once instead of
	// waiting (the behaviour of redis-py's ConnectionPool).
	PoolFailFast bool
	// MinIdleConns idle connections are kept open (dialled in the
	// background). Default 0.
	MinIdleConns int
	// MaxIdleConns caps idle connections; a connection returned beyond it is
	// closed. Default 0 means PoolSize.
	MaxIdleConns int
	// MaxConcurrentDials caps dials in flight at once. Default 0 means
	// min(PoolSize, 4 x GOMAXPROCS) but never below 1.
	MaxConcurrentDials int
	// ConnMaxIdleTime closes a connection idle longer than this. Default
	// 30m; negative means never.
	ConnMaxIdleTime time.Duration
	// ConnMaxLifetime closes a connection this long after it was opened
	// (with up to 10% jitter so connections do not expire together).
	// Default 0 means no limit.
	ConnMaxLifetime time.Duration
	// HealthCheckInterval: a connection taken from the pool that has been
	// free at least this long is first checked without a round trip (a
	// non-blocking peek at its socket, which shows a server that closed it
	// or restarted, or bytes no command asked for) and replaced silently
	// when dead or dirty: nothing was sent on it yet. Default 0 means
	// DefaultHealthCheckInterval, 2µs: every connection is checked except
	// one given back moments ago, as in a loop of commands, where the check
	// would cost one system call per command (a few percent of a GET's
	// client CPU) and could only catch a close that the server made within
	// those microseconds, a race the check cannot close anyway (the server
	// may close the socket just after it). Set 1ns to check every
	// connection; negative turns the check off, and then a stray reply from
	// a misbehaving server or proxy that arrives after the one a command
	// read would be read as the next command's. Bytes already read past a
	// reply are caught whatever the setting, as long as it is not negative.
	// A connection that a Put hands straight to a Get waiting for one was
	// never idle and is not checked.
	HealthCheckInterval time.Duration

	// Exclusive makes a Client run every command on a connection of its
	// own, borrowed from the Pool for that command (the design of redis-py
	// and of most Go clients). By default a Client multiplexes: concurrent
	// commands that neither block nor touch session state (transactions,
	// WATCH, pub/sub, SELECT...) share MultiplexConns connections, written
	// together and answered in order, which needs far fewer system calls
	// and round trips under concurrency. Blocking commands, transactions
	// and pinned connections use the Pool in both modes.
	Exclusive bool
	// MultiplexConns is the number of shared connections of a multiplexing
	// Client, outside PoolSize. Default 3: under load one connection's
	// batch is being written while the server answers a second's and the
	// reader of a third hands out replies, so the client's work overlaps
	// the server's (each connection has one batch in flight at a time).
	// Each goroutine's commands go to one of them, the same at every call
	// (chosen by where its stack lies), so that goroutines answered
	// together write together again. A Client with a ClientCache has as
	// many tracking connections besides, in both modes. A ClusterClient's
	// node Clients default to DefaultClusterMultiplexConns instead.
	MultiplexConns int

	// ClientCache, when set, turns on client-side caching for the reads
	// made through Client.Cached (see CacheOptions). Nil: no cache.
	// Caching needs RESP3: NewClient opens no connection, so a RESP2
	// server is found by the first cached read; Connect finds it when
	// the Client is made.
	ClientCache *CacheOptions

	// PubSubPingInterval is how long a PubSub's connection may stay silent
	// before the PubSub sends PING to check it. Default 30s; negative turns
	// the check off (a dead peer is then noticed only by TCP keepalive).
	PubSubPingInterval time.Duration
	// PubSubPingTimeout is how long a PubSub waits for the reply to its
	// PING before it closes the connection and reconnects. Default
	// ReadTimeout, or 3s when ReadTimeout is negative.
	PubSubPingTimeout time.Duration

	// MaxRetries is how many times a Client retries a command that failed in
	// a way that is safe to repeat (see Client). Default 3; negative means
	// no retries.
	MaxRetries int
	// MaxWatchRetries is how many times Client.Watch runs its function
	// again after EXEC aborted because a watched key changed. Default 10;
	// negative means none (Watch then returns ErrTxFailed at once).
	MaxWatchRetries int
	// MinRetryBackoff and MaxRetryBackoff bound the exponential backoff
	// with full jitter between retries. Defaults 8ms and 512ms.
	MinRetryBackoff time.Duration
	MaxRetryBackoff time.Duration

	// ReplyLimits bound what a reply may contain (bulk length, aggregate
	// length, nesting). A reply beyond them fails with a *resp.ProtocolError
	// and the connection is closed. Zero fields mean resp's defaults.
	ReplyLimits resp.Limits

	// LeakThreshold, when positive, reports a connection held out of its
	// Pool for longer than this, once, with the stack of the code that
	// took it: to OnLeak and, at level Warn, to Logger. Off by default;
	// stacks are captured only when it is on.
	LeakThreshold time.Duration
	// OnLeak, when set, receives leak reports (see LeakThreshold).
	OnLeak func(LeakReport)

	// Logger receives the client's own events, each once, with structured
	// attributes. Nil (the default) logs nothing: respool has no global
	// logger and never writes to the standard log package. Nothing is
	// logged for a command that succeeds, and a client without a Logger
	// pays nothing for the events. The events, by level:
	//
	//	Warn  "respool: dial failed, backing off"       addr, error, backoff: a dial failed and the pool
	//	                                                  stops dialling for a while (see Pool.Get)
	//	Debug "respool: dial failed again"              addr, error, failures, backoff: during the backoff
	//	Info  "respool: dial succeeded after failures"  addr, failures, down: the backoff ended
	//	Warn  "respool: connection closed after an error"  addr, error, shared: a connection that a
	//	                                                  failure made unusable was closed (at Debug when the
	//	                                                  error is only the caller's context ending)
	//	Info  "respool: dead idle connections replaced" addr, count: idle connections that the server had
	//	                                                  closed, found by the check at Get (HealthCheckInterval)
	//	Warn  "respool: connection held without Put"    addr, held, stack: a leak (LeakThreshold)
	//	Warn  "respool: pub/sub connection lost"        addr, error, subscriptions: a PubSub's outage began
	//	Info  "respool: pub/sub reconnected, messages may have been missed"  addr, down, error: it ended
	//	                                                  (the PubSub reports the same as a *Gap)
	//	Info  "respool: credentials rotated"            addr, user: RotateCredentials
	//	Error "respool: re-authentication failed"       addr, error: a connection's AUTH after it was
	//	                                                  refused or failed; the connection is replaced
	//	Info  "respool: cluster slot map loaded"        shards, nodes: the first map of a ClusterClient
	//	Info  "respool: cluster slot map changed"       shards, nodes, slots_moved, added, removed
	//	Info  "respool: cluster redirections"           moved, ask, over, last: MOVED and ASK
	//	                                                  redirections followed, added up: at most one line
	//	                                                  per 10s however many there are
	//	Info  "respool: failover followed"              master, from, to: a FailoverClient moved to the
	//	                                                  primary Sentinel promoted
	//
	// A ClusterClient logs through the Logger of its ClusterOptions (the
	// embedded Options): its own events, and those of each node's pool
	// and PubSubs with that node's addr.
	Logger *slog.Logger

	// now is the clock; nil means time.Now. Tests replace it.
	now func() time.Time
	// creds is what RotateCredentials changes, shared by the connections
	// made with these options; withDefaults makes a new one.
	creds *credentialState
	// readOnly adds READONLY to the handshake (replica reads in a cluster).
	readOnly bool
	// target, when set, chooses the server of each new connection in place
	// of Addr (a FailoverClient's Clients); see dialTarget.
	target dialTarget
	// role, when set, adds ROLE to the handshake, and a server that reports
	// another role ("master", "slave") is refused. dialConn sets it, on the
	// connection's own copy of the Options, from target.
	role string
}

// dialTarget chooses, for each new connection of a Client, the server to
// dial in place of Options.Addr and the role that server must report; the
// handshake checks the role. A FailoverClient gives one to each of its
// Clients, so that every connection, pooled, shared or pub/sub, goes to
// the server Sentinel names now.
type dialTarget interface {
	// pick returns the address to dial and the role ("master" or "slave")
	// its server must report. Its error fails the dial as it is.
	pick(ctx context.Context) (addr, role string, err error)
	// refused is told that the server at addr reported role got instead:
	// the address is stale.
	refused(addr, got string)
}

// withDefaults returns a copy of o (nil means all defaults) with every zero
// field replaced by its default.
func (o *Options) withDefaults() *Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Network == "" {
		c.Network = "tcp"
	}
	if c.Addr == "" {
		if c.Network == "unix" {
			c.Addr = "/tmp/redis.sock"
		} else {
			c.Addr = DefaultAddr
		}
	}
	if c.Protocol == 0 {
		c.Protocol = DefaultProtocol
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	ka := &c.KeepAlive
	if !ka.Enable && ka.Idle == 0 && ka.Interval == 0 && ka.Count == 0 {
		ka.Enable = true
	}
	if ka.Enable {
		if ka.Idle == 0 {
			ka.Idle = DefaultKeepAliveIdle
		}
		if ka.Interval == 0 {
			ka.Interval = DefaultKeepAliveInterval
		}
		if ka.Count == 0 {
			ka.Count = DefaultKeepAliveCount
		}
	}
	if c.TCPUserTimeout == 0 && c.ReadTimeout > 0 && c.WriteTimeout > 0 {
		c.TCPUserTimeout = c.ReadTimeout + c.WriteTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSizePerCPU * runtime.GOMAXPROCS(0)
	}
	if c.PoolTimeout == 0 {
		if c.ReadTimeout > 0 {
			c.PoolTimeout = c.ReadTimeout + time.Second
		} else {
			c.PoolTimeout = DefaultReadTimeout + time.Second
		}
	}
	if c.MinIdleConns > c.PoolSize {
		c.MinIdleConns = c.PoolSize
	}
	if c.MaxIdleConns <= 0 || c.MaxIdleConns > c.PoolSize {
		c.MaxIdleConns = c.PoolSize
	}
	if c.MaxConcurrentDials <= 0 {
		c.MaxConcurrentDials = min(c.PoolSize, 4*runtime.GOMAXPROCS(0))
	}
	if c.ConnMaxIdleTime == 0 {
		c.ConnMaxIdleTime = DefaultConnMaxIdleTime
	}
	if c.HealthCheckInterval == 0 {
		c.HealthCheckInterval = DefaultHealthCheckInterval
	}
	if c.MultiplexConns <= 0 {
		c.MultiplexConns = DefaultMultiplexConns
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxWatchRetries == 0 {
		c.MaxWatchRetries = DefaultMaxWatchRetries
	}
	if c.MinRetryBackoff == 0 {
		c.MinRetryBackoff = DefaultMinRetryBackoff
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	c.ClientCache = c.ClientCache.withDefaults()
	if c.now == nil {
		c.now = time.Now
	}
	c.creds = new(credentialState)
	return &c
}

// LeakReport describes a connection held out of its Pool for longer than
// Options.LeakThreshold.
type LeakReport struct {
	Addr  string        // the server's address
	Held  time.Duration // how long it had been held when reported
	Stack []byte        // the stack of the goroutine that took it from the pool
}
