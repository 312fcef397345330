package respool

import (
	"strconv"
	"strings"
	"time"
)

// PoolTimeoutError is the error of a Pool.Get that waited
// Options.PoolTimeout for a connection and got none. It describes the
// pool as the caller gave up, and its message says what to change.
// errors.Is(err, ErrPoolTimeout) holds; its outcome is OutcomeNotSent and
// it is not retried.
//
// A pool times out when PoolSize connections are busy for longer than
// PoolTimeout: the load needs more connections at once than PoolSize
// (raise PoolSize), waits of that length are normal for it (raise
// PoolTimeout), what runs on each connection takes long (blocking
// commands, transactions, long pipelines, a Conn held by the caller), or
// connections are taken and never given back with Pool.Put (a leak:
// Options.LeakThreshold reports the code that took them). A multiplexing
// Client borrows pooled connections for blocking commands, transactions,
// Watch and a command alone in flight; its shared connections are outside
// PoolSize.
type PoolTimeoutError struct {
	Addr         string        // the server of the pool (Options.Addr)
	PoolSize     int           // Options.PoolSize
	PoolTimeout  time.Duration // Options.PoolTimeout
	InUse        int           // connections taken with Get and not given back, as the caller gave up
	Idle         int           // idle connections then (one given back as the wait ended, if any)
	Dialing      int           // new connections being dialled then, each holding a slot of PoolSize
	WaitersAhead int           // Gets already waiting when this one began to wait
	Waited       time.Duration // how long this Get waited
	// Leaked is how many of the connections in use had been held longer
	// than Options.LeakThreshold, and reported as leaks; always 0 when
	// LeakThreshold is off.
	Leaked        int
	LeakThreshold time.Duration // Options.LeakThreshold; 0 when off
}

// timeoutErrorLocked describes the pool to a Get that waited for waited,
// behind ahead other waiters, and timed out. p.mu is held.
func (p *Pool) timeoutErrorLocked(ahead int, waited time.Duration) *PoolTimeoutError {
	e := &PoolTimeoutError{
		Addr:         p.opt.Addr,
		PoolSize:     p.opt.PoolSize,
		PoolTimeout:  p.opt.PoolTimeout,
		InUse:        p.numInUse,
		Idle:         len(p.idle),
		Dialing:      p.numDialing,
		WaitersAhead: ahead,
		Waited:       waited,
		Leaked:       p.numLeaked,
	}
	if p.opt.LeakThreshold > 0 {
		e.LeakThreshold = p.opt.LeakThreshold
	}
	return e
}

// Error returns what happened, the pool's state, and what to change, for
// example:
//
//	respool: pool timeout: no connection to 127.0.0.1:6379 became free within
//	PoolTimeout (4s); all 10 (PoolSize) in use, 0 idle, 0 dialling, 3 Gets
//	waiting ahead of this one; raise PoolSize if the load needs more than 10
//	connections at once, raise PoolTimeout if longer waits are acceptable,
//	or set LeakThreshold to find connections never given back with Put
func (e *PoolTimeoutError) Error() string {
	var b strings.Builder
	b.WriteString("respool: pool timeout: no connection to ")
	b.WriteString(e.Addr)
	b.WriteString(" became free within PoolTimeout (")
	b.WriteString(e.PoolTimeout.String())
	b.WriteString("); ")
	if e.InUse >= e.PoolSize {
		b.WriteString("all ")
		b.WriteString(strconv.Itoa(e.InUse))
		b.WriteString(" (PoolSize) in use")
	} else {
		b.WriteString(strconv.Itoa(e.InUse))
		b.WriteString(" of ")
		b.WriteString(strconv.Itoa(e.PoolSize))
		b.WriteString(" (PoolSize) in use")
	}
	b.WriteString(", ")
	b.WriteString(strconv.Itoa(e.Idle))
	b.WriteString(" idle, ")
	b.WriteString(strconv.Itoa(e.Dialing))
	b.WriteString(" dialling, ")
	b.WriteString(plural(e.WaitersAhead, "Get", "Gets"))
	b.WriteString(" waiting ahead of this one; ")
	b.WriteString(e.advice())
	return b.String()
}

// advice is the part of the message that says what to change.
func (e *PoolTimeoutError) advice() string {
	size := strconv.Itoa(e.PoolSize)
	switch {
	case e.Leaked > 0:
		return plural(e.Leaked, "of them was", "of them were") + " held longer than LeakThreshold (" +
			e.LeakThreshold.String() + ") without Pool.Put: look for a missing Put where the leak reports " +
			"(Options.OnLeak, Options.Logger) say those connections were taken"
	case e.Dialing > 0 && e.Dialing*2 >= e.PoolSize:
		return "most slots are waiting for new connections to be dialled: check that the server " +
			"accepts connections quickly (DialTimeout, maxclients, the network), or raise PoolSize"
	case e.LeakThreshold > 0:
		return "none was held longer than LeakThreshold (" + e.LeakThreshold.String() + "), so this is load: " +
			"raise PoolSize if it needs more than " + size + " connections at once, raise PoolTimeout if longer " +
			"waits are acceptable, or shorten what holds a connection (blocking commands, transactions, pinned Conns)"
	}
	return "raise PoolSize if the load needs more than " + size + " connections at once, raise PoolTimeout " +
		"if longer waits are acceptable, or set LeakThreshold to find connections never given back with Put"
}

// plural returns n followed by one or many.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Is reports whether target is ErrPoolTimeout.
func (e *PoolTimeoutError) Is(target error) bool { return target == ErrPoolTimeout }

// Outcome is OutcomeNotSent: no command was written.
func (e *PoolTimeoutError) Outcome() Outcome { return OutcomeNotSent }

// Timeout reports true.
func (e *PoolTimeoutError) Timeout() bool { return true }
