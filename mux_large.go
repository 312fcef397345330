package respool

import "sync/atomic"

// Large replies go to connections of their own.
//
// A shared connection carries the replies of many callers one after the
// other, and redis-server writes at most 64 KiB to one connection per turn
// of its event loop while others wait. Replies of 100 KiB queued on two
// shared connections then take several turns each, where the same replies
// spread over a connection per caller go out together. So when the
// replies read on the shared connections have been large for a while, a
// Client runs its shareable commands as it runs a lone command, on a
// connection of the Pool (falling back to a shared one when the Pool has
// none free), and it comes back to the shared connections once the
// replies it reads there, or on the shared connections it fell back to,
// have been small for a while.

const (
	// largeReplyOn is the running mean of reply sizes on a shared
	// connection above which commands go to connections of their own.
	largeReplyOn = 32 << 10
	// largeReplyOff is the running mean of reply sizes on connections of
	// their own below which commands share again.
	largeReplyOff = 8 << 10
)

// largeReplies is a muxer's switch between the two.
type largeReplies struct {
	on atomic.Bool
	// avg is the running mean of reply sizes while on, kept by the
	// callers that run on connections of their own. Updates may be lost
	// to a concurrent one: it is an estimate.
	avg atomic.Int64
}

// meanStep moves a running mean an eighth of the way towards n.
func meanStep(avg, n int64) int64 { return avg + (n-avg)/8 }

// noteReply takes the size n of a reply read on the shared connection
// and the reader's running mean avg, and returns the new mean: once it
// reaches largeReplyOn, commands go to connections of their own. Only a
// large reply turns it on: after the switch went off, the mean of a reader
// that read nothing meanwhile is still the old one.
//
// The readers turn it off too, once their mean falls below largeReplyOff:
// while the Pool has no connection free, every command comes back to the
// shared connections, and only their replies can say that the large ones
// are over.
func (mc *muxConn) noteReply(avg, n int64) int64 {
	avg = meanStep(avg, n)
	if mc.large == nil {
		return avg
	}
	on := mc.large.on.Load()
	switch {
	case !on && n >= largeReplyOn && avg >= largeReplyOn:
		mc.large.avg.Store(avg)
		mc.large.on.Store(true)
	case on && avg < largeReplyOff:
		mc.large.on.Store(false)
	}
	return avg
}

// noteOwn takes the size of the n replies of a job (a command, or a
// batch's commands) that ran on a connection of its own while on: once
// the running mean of the replies' sizes falls below largeReplyOff,
// commands share again.
func (l *largeReplies) noteOwn(bytes int64, n int) {
	avg := meanStep(l.avg.Load(), bytes/int64(max(n, 1)))
	l.avg.Store(avg)
	if avg < largeReplyOff {
		l.on.Store(false)
	}
}
