package respool

import (
	"sync/atomic"
	"time"
)

// PoolStats is a snapshot of a Pool's state and counters, from
// Pool.Stats. The gauges (Open, Idle, InUse, Dialing, Waiting) are read
// together under the pool's lock, so Open == Idle + InUse and Open +
// Dialing <= PoolSize hold in every snapshot; the counters only grow,
// from the Pool's creation.
type PoolStats struct {
	Open    int // connections open: Idle + InUse
	Idle    int // open connections waiting in the pool
	InUse   int // open connections taken with Get and not given back yet
	Dialing int // new connections being dialled (each holds a slot of PoolSize)
	Waiting int // Gets waiting now for a connection because PoolSize were busy
	// Draining counts the connections given back with replies still owed
	// and being drained now (see Options.DrainTimeout); they are counted
	// in InUse too, and hold their slot of PoolSize until the drain ends.
	Draining int

	Hits     uint64        // Gets that returned an existing connection
	Misses   uint64        // Gets that returned a newly dialled connection
	Waits    uint64        // Gets that waited for a connection because PoolSize were busy
	WaitTime time.Duration // total time Gets spent waiting
	Timeouts uint64        // Gets that failed with a *PoolTimeoutError

	// Dials counts every dial attempt, for one of three reasons: a Get
	// that found no usable idle connection (Dials - MinIdleDials -
	// SharedDials; Misses counts those that succeeded), the MinIdleConns
	// filler (MinIdleDials), and the shared connections of a multiplexing
	// Client (SharedDials), which do not count against PoolSize.
	Dials        uint64
	MinIdleDials uint64 // dial attempts of the MinIdleConns filler
	SharedDials  uint64 // dial attempts of a multiplexing Client's shared connections
	DialErrors   uint64 // dial attempts that failed (the dial or the handshake)

	// Reauths counts connections that authenticated again after
	// RotateCredentials (the pool's, and the shared connections and
	// PubSubs of its Clients); ReauthErrors the re-authentications refused
	// or failed, each of which closed its connection.
	Reauths      uint64
	ReauthErrors uint64

	// Drains counts the connections given back while replies were still
	// owed to a caller that stopped waiting (a read timeout, a context
	// that ended after the write) and handed to a background drain
	// instead of being closed (see Options.DrainTimeout), and the shared
	// connections of a multiplexing Client whose batch timed out and
	// which read the late replies instead of reconnecting. Drained counts
	// the drains that read every owed reply in time (the connection then
	// goes back as with Put); DrainFailures those whose connection was
	// closed instead (no reply within DrainTimeout, an error, unexpected
	// bytes, the pool closed), also counted in Closed (Unusable, or
	// PoolClosed) for a pooled one. Once no drain runs, Drains == Drained
	// + DrainFailures.
	Drains        uint64
	Drained       uint64
	DrainFailures uint64

	DoublePuts  uint64 // Puts of a connection that was not out of the pool (ignored)
	ForeignPuts uint64 // Puts of a connection of another Pool or of Dial (ignored)

	Closed ClosedStats // connections the pool closed, by reason
}

// ClosedStats counts the connections a Pool closed, by reason.
type ClosedStats struct {
	IdleTimeout uint64 // free for longer than ConnMaxIdleTime
	Lifetime    uint64 // older than ConnMaxLifetime (less its jitter)
	Unusable    uint64 // given back broken (an error after a write, a timeout or cancellation that could not be drained) or dirty (MULTI, WATCH, a subscription, unread replies, a changed session), or whose drain failed
	HealthCheck uint64 // found dead (closed by the server, or holding unexpected bytes) when Get took it
	MaxIdle     uint64 // given back while MaxIdleConns were already idle
	PoolClosed  uint64 // closed by Pool.Close, or given back after it
	Retired     uint64 // led to a server the client stopped using (a FailoverClient after a failover)
}

// Total returns the number of connections closed for any reason.
func (c ClosedStats) Total() uint64 {
	return c.IdleTimeout + c.Lifetime + c.Unusable + c.HealthCheck + c.MaxIdle + c.PoolClosed + c.Retired
}

// poolCounters are the Pool's counters, updated without its lock.
type poolCounters struct {
	hits, misses, waits, timeouts atomic.Uint64
	waitTime                      atomic.Int64 // nanoseconds
	dialErrors                    atomic.Uint64
	dialsFor                      [numDialReasons]atomic.Uint64
	doublePuts, foreignPuts       atomic.Uint64
	drains, drained               atomic.Uint64
	drainFailures                 atomic.Uint64
	closed                        [numCloseReasons]atomic.Uint64
}

// Stats returns the pool's current state and counters. It takes the
// pool's lock once and allocates nothing; it is cheap enough to call
// from a metrics scrape or a test loop.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	s := PoolStats{
		Idle:     len(p.idle),
		InUse:    p.numInUse,
		Dialing:  p.numDialing,
		Waiting:  p.waiters.n,
		Draining: len(p.draining),
	}
	p.mu.Unlock()
	s.Open = s.Idle + s.InUse
	c := &p.stats
	s.Hits = c.hits.Load()
	s.Misses = c.misses.Load()
	s.Waits = c.waits.Load()
	s.WaitTime = time.Duration(c.waitTime.Load())
	s.Timeouts = c.timeouts.Load()
	// Dials is the sum of the reasons' counts as loaded here, so that
	// Dials - MinIdleDials - SharedDials is exact within one snapshot even
	// while the filler dials.
	forGet := c.dialsFor[dialForGet].Load()
	s.MinIdleDials = c.dialsFor[dialMinIdle].Load()
	s.SharedDials = c.dialsFor[dialShared].Load()
	s.Dials = forGet + s.MinIdleDials + s.SharedDials
	s.DialErrors = c.dialErrors.Load()
	s.Reauths = p.opt.creds.reauths.Load()
	s.ReauthErrors = p.opt.creds.reauthErrors.Load()
	s.Drains = c.drains.Load()
	s.Drained = c.drained.Load()
	s.DrainFailures = c.drainFailures.Load()
	s.DoublePuts = c.doublePuts.Load()
	s.ForeignPuts = c.foreignPuts.Load()
	s.Closed = ClosedStats{
		IdleTimeout: c.closed[closeIdleTimeout].Load(),
		Lifetime:    c.closed[closeLifetime].Load(),
		Unusable:    c.closed[closeUnusable].Load(),
		HealthCheck: c.closed[closeHealthCheck].Load(),
		MaxIdle:     c.closed[closeMaxIdle].Load(),
		PoolClosed:  c.closed[closePoolClosed].Load(),
		Retired:     c.closed[closeRetired].Load(),
	}
	return s
}
