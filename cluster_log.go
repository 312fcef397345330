package respool

import (
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/respool/respool/internal/cluster"
)

// The ClusterClient's own log events (see Options.Logger): a new slot map,
// and the MOVED and ASK redirections it follows, added up.

// redirectLogEvery is the least time between two log lines about
// redirections: during a resharding or after a failover every command may
// be redirected, and one line per redirection would drown the log.
const redirectLogEvery = 10 * time.Second

// redirectLog adds up the redirections followed since its last line.
type redirectLog struct {
	mu     sync.Mutex // guards the fields below
	moved  int
	ask    int
	last   string    // the address of the latest redirection
	since  time.Time // the first redirection not logged yet; zero: none
	logged time.Time // when the last line was written; zero: never
}

// noteRedirect counts a MOVED (f == faultMoved) or ASK to addr and logs
// the redirections counted so far, unless a line was written less than
// redirectLogEvery ago: the first redirection after a quiet spell is
// logged at once, the rest of a storm in one line per interval.
func (c *ClusterClient) noteRedirect(f clusterFault, addr string) {
	if c.cfg.retry.Logger == nil {
		return
	}
	now := c.cfg.retry.now()
	r := &c.redirects
	r.mu.Lock()
	if f == faultMoved {
		r.moved++
	} else {
		r.ask++
	}
	r.last = addr
	if r.since.IsZero() {
		r.since = now
	}
	if !r.logged.IsZero() && now.Sub(r.logged) < redirectLogEvery {
		r.mu.Unlock()
		return
	}
	c.logRedirectsLocked(now)
}

// flushRedirects logs the redirections not logged yet, if any: at Close,
// and from the refresh goroutine once redirectLogEvery has passed since
// the last line (force ignores the interval).
func (c *ClusterClient) flushRedirects(force bool) {
	if c.cfg.retry.Logger == nil {
		return
	}
	now := c.cfg.retry.now()
	r := &c.redirects
	r.mu.Lock()
	if r.since.IsZero() || !force && now.Sub(r.logged) < redirectLogEvery {
		r.mu.Unlock()
		return
	}
	c.logRedirectsLocked(now)
}

// logRedirectsLocked writes the line for the redirections counted, with
// c.redirects.mu held, which it releases.
func (c *ClusterClient) logRedirectsLocked(now time.Time) {
	r := &c.redirects
	moved, ask, last, over := r.moved, r.ask, r.last, now.Sub(r.since)
	r.moved, r.ask, r.last, r.since, r.logged = 0, 0, "", time.Time{}, now
	r.mu.Unlock()
	logEvent(c.cfg.retry.Logger, slog.LevelInfo, "respool: cluster redirections",
		slog.Int("moved", moved), slog.Int("ask", ask), slog.Duration("over", over), slog.String("last", last))
}

// logTopology logs a slot map just installed: the first one, or one that
// differs from old.
func (c *ClusterClient) logTopology(old, topo *cluster.Topology) {
	lg := c.cfg.retry.Logger
	if lg == nil {
		return
	}
	nodes := topo.Nodes()
	if old == nil {
		logEvent(lg, slog.LevelInfo, "respool: cluster slot map loaded",
			slog.Int("shards", len(topo.Shards)), slog.Int("nodes", len(nodes)))
		return
	}
	moved := 0
	for s := range cluster.NumSlots {
		a, b := old.Lookup(s), topo.Lookup(s)
		if (a == nil) != (b == nil) || a != nil && a.Primary.Addr != b.Primary.Addr {
			moved++
		}
	}
	before := make(map[string]bool)
	for _, n := range old.Nodes() {
		before[n.Addr] = true
	}
	var added, removed []string
	for _, n := range nodes {
		if !before[n.Addr] {
			added = append(added, n.Addr)
		}
		delete(before, n.Addr)
	}
	for addr := range before {
		removed = append(removed, addr)
	}
	sort.Strings(removed)
	logEvent(lg, slog.LevelInfo, "respool: cluster slot map changed",
		slog.Int("shards", len(topo.Shards)), slog.Int("nodes", len(nodes)), slog.Int("slots_moved", moved),
		slog.Any("added", added), slog.Any("removed", removed))
}
