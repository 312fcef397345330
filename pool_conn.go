package respool

import (
	"math/rand/v2"
	"time"
)

// pooledConn is the bookkeeping a Pool keeps on each of its connections.
// Every field is guarded by the owning Pool's mu, except while the
// connection is out of the pool: then the goroutine that took it reads
// them (after the mu that handed it over).
type pooledConn struct {
	pool       *Pool     // the Pool that dialled the connection
	inUse      bool      // taken with Get and not given back yet
	returnedAt time.Time // when it last became free (dialled, or given back)
	expiresAt  time.Time // end of its life (ConnMaxLifetime minus jitter); zero: never
	leak       leakState // leak detection, only with Options.LeakThreshold > 0
	gen        uint64    // the pool's generation when its dial began (Pool.retire)
	draining   bool      // given back and being drained (pool_drain.go): still in use
}

// pooled returns the Pool's bookkeeping on cn, kept beside the
// connection in Conn.owner; nil for a connection of no Pool.
func pooled(cn *Conn) *pooledConn {
	pc, _ := cn.owner.(*pooledConn)
	return pc
}

// initPooled sets up the bookkeeping of a freshly dialled connection at
// time now: it is free since now, and expires ConnMaxLifetime after its
// dial began, less a random jitter of up to a tenth of that, so that
// connections dialled together do not all expire together.
func (p *Pool) initPooled(cn *Conn, now time.Time) {
	pc := &pooledConn{pool: p, returnedAt: now}
	if life := p.opt.ConnMaxLifetime; life > 0 {
		jitter := time.Duration(rand.Int64N(int64(life/10) + 1))
		pc.expiresAt = cn.createdAt.Add(life - jitter)
	}
	cn.owner = pc
	if p.opt.DrainTimeout >= 0 {
		cn.allowDrain()
	}
}

// closeReason says why the pool closed a connection; ClosedStats counts
// each one.
type closeReason uint8

const (
	closeNone        closeReason = iota // not closed: usable
	closeIdleTimeout                    // idle longer than ConnMaxIdleTime
	closeLifetime                       // older than ConnMaxLifetime (with jitter)
	closeUnusable                       // given back broken or dirty
	closeHealthCheck                    // found dead by the check at Get
	closeMaxIdle                        // given back while MaxIdleConns were idle
	closePoolClosed                     // the Pool was closed
	closeRetired                        // dialled before Pool.retire
	numCloseReasons
)

// String returns the reason in words, as used in ClosedStats.
func (r closeReason) String() string {
	switch r {
	case closeNone:
		return "none"
	case closeIdleTimeout:
		return "idle timeout"
	case closeLifetime:
		return "lifetime"
	case closeUnusable:
		return "unusable"
	case closeHealthCheck:
		return "health check"
	case closeMaxIdle:
		return "max idle"
	case closePoolClosed:
		return "pool closed"
	case closeRetired:
		return "retired"
	}
	return "invalid close reason"
}

// expiredReason reports whether a free connection has outlived
// ConnMaxIdleTime or its lifetime at time now. It costs no system call.
func (p *Pool) expiredReason(cn *Conn, now time.Time) closeReason {
	pc := pooled(cn)
	if maxIdle := p.opt.ConnMaxIdleTime; maxIdle > 0 && now.Sub(pc.returnedAt) > maxIdle {
		return closeIdleTimeout
	}
	if !pc.expiresAt.IsZero() && !now.Before(pc.expiresAt) {
		return closeLifetime
	}
	return closeNone
}

// staleReason is the check a free connection passes before Get hands it
// out: not expired, and, unless HealthCheckInterval is negative, clean:
// nothing buffered past its last reply and, when it has been free for
// HealthCheckInterval or longer, still alive by a non-blocking peek at its
// socket. The caller owns cn (it was taken off the idle list or handed
// over under mu).
func (p *Pool) staleReason(cn *Conn, now time.Time) closeReason {
	if r := p.expiredReason(cn, now); r != closeNone {
		return r
	}
	if hc := p.opt.HealthCheckInterval; hc >= 0 {
		if now.Sub(pooled(cn).returnedAt) >= hc {
			if !cn.alive() {
				return closeHealthCheck
			}
			cn.emptyAt = now // the first flush need not look again (flushAwait)
		} else if cn.replyStarted() {
			return closeHealthCheck // given back moments ago, holding stray bytes
		}
	}
	return closeNone
}

// closeConn closes a connection the pool no longer counts, and counts the
// reason.
func (p *Pool) closeConn(cn *Conn, r closeReason) {
	_ = cn.Close()
	p.stats.closed[r].Add(1)
}
