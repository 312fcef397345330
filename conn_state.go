package respool

import (
	"strconv"
	"time"

	"github.com/respool/respool/internal/cmdinfo"
	"github.com/respool/respool/resp"
)

// argString returns an argument as text when it is a string or []byte.
func argString(a any) (string, bool) {
	switch v := a.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// A command's effect on its connection comes from its class in the
// command table (cmdinfo.ClassOf): its session effect and where its
// timeout sits for afterWrite, whether it may share a connection for
// muxable. The lookups allocate nothing and run for every command; each
// first asks the inlined cmdinfo.IsOrdinary, which answers most commands
// without a call.

// afterWrite is track and blockFor with one lookup, for the write path:
// it updates the protocol state for a command just written and returns
// how long the command may block on the server.
func (cn *Conn) afterWrite(argv []any) time.Duration {
	if cmdinfo.IsOrdinary(argv) {
		return 0
	}
	c := cmdinfo.ClassOf(argv)
	cn.trackSession(c.Session)
	return blockTime(c, argv)
}

// trackSession updates the protocol state for a command's session effect.
func (cn *Conn) trackSession(s cmdinfo.Session) {
	switch s {
	case cmdinfo.SessionNone, cmdinfo.SessionUnsubscribe:
		// An UNSUBSCRIBE may leave other subscriptions: subscribed stays.
	case cmdinfo.SessionMulti:
		cn.inMulti = true
	case cmdinfo.SessionEndMulti:
		cn.inMulti = false
		cn.watching = false
	case cmdinfo.SessionWatch:
		cn.watching = true
	case cmdinfo.SessionUnwatch:
		if !cn.inMulti {
			cn.watching = false
		}
	case cmdinfo.SessionSubscribe:
		cn.subscribed = true
	default: // SessionChange, SessionClose
		cn.sessionChanged = true
	}
}

// blockTime returns how long a command of class c may wait on the server
// by its own timeout argument: 0 for a command that does not block, a
// negative duration for one that blocks until data arrives (timeout 0).
func blockTime(c cmdinfo.Class, argv []any) time.Duration {
	if c.Timeout == cmdinfo.TimeoutNone {
		return 0
	}
	i, unit := c.Timeout.Arg(argv)
	if i < 0 {
		return 0
	}
	f, ok := argFloat(argv[i])
	if !ok {
		return 0
	}
	if f <= 0 {
		return -1
	}
	return time.Duration(f * float64(unit))
}

// muxable reports whether argv may share a connection: its class allows it
// (it neither blocks nor touches the session state, see cmdinfo.Class),
// it carries no BLOCK argument, and all its arguments are writable.
func muxable(argv []any) bool {
	if !cmdinfo.IsOrdinary(argv) {
		c := cmdinfo.ClassOf(argv)
		if !c.Shared {
			return false
		}
		if i, _ := c.Timeout.Arg(argv); i >= 0 {
			return false // XREAD ... BLOCK
		}
	}
	return resp.CheckArgs(argv) == nil
}

// argFloat returns a timeout argument as a number. A time.Duration counts
// in seconds, which is only right for a timeout in seconds.
func argFloat(a any) (float64, bool) {
	switch v := a.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case time.Duration:
		return v.Seconds(), true // only meaningful for seconds arguments
	case string, []byte:
		s, _ := argString(v)
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// blocking reports whether argv blocks on the server by its own timeout
// argument (BLPOP, XREAD BLOCK...).
func blocking(argv []any) bool {
	return !cmdinfo.IsOrdinary(argv) && blockTime(cmdinfo.ClassOf(argv), argv) != 0
}
