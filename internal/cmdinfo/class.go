package cmdinfo

import (
	"strconv"
	"time"
)

// Session is what a command does to the session state of the connection
// that sends it: the state a pool must know before it hands the
// connection to another caller.
type Session uint8

// The session effects.
const (
	// SessionNone leaves the session as it was.
	SessionNone Session = iota
	// SessionMulti opens a transaction: MULTI.
	SessionMulti
	// SessionEndMulti ends the transaction and any WATCH: EXEC, DISCARD.
	SessionEndMulti
	// SessionWatch watches keys: WATCH.
	SessionWatch
	// SessionUnwatch forgets the watched keys, unless it is queued inside
	// a transaction: UNWATCH.
	SessionUnwatch
	// SessionSubscribe hands the connection over to pushes or a data
	// stream: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, MONITOR, SYNC, PSYNC.
	SessionSubscribe
	// SessionUnsubscribe leaves subscriptions, with one reply per channel:
	// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE. Whether any subscription
	// remains depends on the commands before it.
	SessionUnsubscribe
	// SessionChange changes a setting that the next user of the
	// connection would inherit: SELECT, AUTH, HELLO, RESET, CLIENT
	// SETNAME ...
	SessionChange
	// SessionClose makes the server close the connection after the
	// reply: QUIT.
	SessionClose

	numSessions = iota
)

var sessionNames = [numSessions]string{
	"none", "multi", "end-multi", "watch", "unwatch", "subscribe",
	"unsubscribe", "change", "close",
}

// String returns the effect's name: "none", "multi", "end-multi", "watch",
// "unwatch", "subscribe", "unsubscribe", "change" or "close".
func (s Session) String() string {
	if int(s) < len(sessionNames) {
		return sessionNames[s]
	}
	return "session(" + strconv.Itoa(int(s)) + ")"
}

// Timeout says where a blocking command carries its timeout, and in which
// unit. A timeout of 0 asks the server to wait forever.
type Timeout uint8

// The timeout positions.
const (
	// TimeoutNone: the command does not block.
	TimeoutNone Timeout = iota
	// TimeoutLastSeconds: the last argument, in seconds
	// (BLPOP k1 k2 1.5).
	TimeoutLastSeconds
	// TimeoutArg1Seconds: the first argument after the name, in seconds
	// (BLMPOP 0 2 k1 k2 LEFT).
	TimeoutArg1Seconds
	// TimeoutLastMilliseconds: the last argument, in milliseconds
	// (WAIT 1 100).
	TimeoutLastMilliseconds
	// TimeoutBlockMilliseconds: the argument after the BLOCK keyword,
	// which comes before STREAMS, in milliseconds (XREAD COUNT 1 BLOCK 0
	// STREAMS s 0). Without BLOCK the command does not block.
	TimeoutBlockMilliseconds

	numTimeouts = iota
)

var timeoutNames = [numTimeouts]string{
	"none", "last-seconds", "arg1-seconds", "last-milliseconds", "block-milliseconds",
}

// String returns the position's name: "none", "last-seconds",
// "arg1-seconds", "last-milliseconds" or "block-milliseconds".
func (t Timeout) String() string {
	if int(t) < len(timeoutNames) {
		return timeoutNames[t]
	}
	return "timeout(" + strconv.Itoa(int(t)) + ")"
}

// Arg returns the position in args (args[0] is the command name) of the
// timeout argument and the unit it counts in. It returns -1 when args
// carry no timeout: for TimeoutNone, for too few arguments, and for
// TimeoutBlockMilliseconds without a BLOCK keyword before STREAMS
// (compared case-insensitively). It does not look at the value, and does
// not allocate.
func (t Timeout) Arg(args []any) (i int, unit time.Duration) {
	switch t {
	case TimeoutLastSeconds:
		if len(args) >= 2 {
			return len(args) - 1, time.Second
		}
	case TimeoutArg1Seconds:
		if len(args) >= 2 {
			return 1, time.Second
		}
	case TimeoutLastMilliseconds:
		if len(args) >= 2 {
			return len(args) - 1, time.Millisecond
		}
	case TimeoutBlockMilliseconds:
		for i := 1; i+1 < len(args); i++ {
			if isWord(args[i], "streams") {
				break
			}
			if isWord(args[i], "block") {
				return i + 1, time.Millisecond
			}
		}
	}
	return -1, 0
}

// Class says how a command treats the connection it runs on. The zero
// Class is the careful one: no known effect, no timeout, no sharing.
type Class struct {
	// Session is the command's effect on the connection's session.
	Session Session
	// Timeout says where a blocking command's timeout is.
	Timeout Timeout
	// Shared reports whether the command may be written to a connection
	// that carries other callers' commands: it changes no session state,
	// does not block (a command with TimeoutBlockMilliseconds shares only
	// when Timeout.Arg finds no BLOCK in its arguments), and nothing it
	// does to its connection can reach another caller's commands.
	Shared bool
}

// String describes the class, for example
// "session=none timeout=last-seconds exclusive".
func (c Class) String() string {
	s := "session=" + c.Session.String() + " timeout=" + c.Timeout.String()
	if c.Shared {
		return s + " shared"
	}
	return s + " exclusive"
}

// ordinary is the class of most commands, and of those the table does
// not know: no session effect, no timeout, may share a connection.
func ordinary() Class { return Class{Shared: true} }

// ClassOf returns the class of the command line args. args[0] is the
// command name, a string or a []byte in any case; for a container command
// (CLIENT, SCRIPT ...) a string or []byte args[1] names the subcommand.
//
// A container without a subcommand, or with one the table does not know,
// has the most careful class of its subcommands' (see LookupClass). A
// command the table does not know (a module's, or one of a newer server)
// is taken as an ordinary command: Class{Shared: true}. Empty args, or a
// name that is neither a string nor a []byte, give the zero Class.
//
// ClassOf does not allocate; it is meant for every command a client
// sends. IsOrdinary, inlined, answers most of them before it.
func ClassOf(args []any) Class {
	if len(args) == 0 {
		return Class{}
	}
	var e *classEntry
	switch name := args[0].(type) {
	case string:
		if len(name) == 0 || classes.buckets[bucketOf(name, 0)] == 0 {
			return ordinary() // most commands end here
		}
		e = find(&classes, name, 0)
	case []byte:
		if len(name) == 0 || classes.buckets[bucketOf(name, 0)] == 0 {
			return ordinary()
		}
		e = find(&classes, name, 0)
	default:
		return Class{}
	}
	if e == nil {
		return ordinary()
	}
	if e.subs != 0 && len(args) > 1 {
		var sub *classEntry
		switch s := args[1].(type) {
		case string:
			sub = find(&classes, s, e.subs)
		case []byte:
			sub = find(&classes, s, e.subs)
		}
		if sub != nil {
			return sub.class
		}
	}
	return e.class
}

// IsOrdinary reports whether ClassOf(args) is surely Class{Shared: true},
// by the length and first byte of a string name alone. It is small enough
// to be inlined into its caller, which saves ClassOf's call for most
// commands; false says only that ClassOf must decide.
func IsOrdinary(args []any) bool {
	if len(args) == 0 {
		return false
	}
	name, ok := args[0].(string)
	return ok && len(name) != 0 && classes.buckets[bucketOf(name, 0)] == 0
}

// LookupClass returns the class of the command or subcommand called name,
// compared case-insensitively: "get", "CLIENT|SETNAME". The class of a
// container ("client") is the one ClassOf gives it without a known
// subcommand: it shares a connection only if all its subcommands do, and
// its session effect is theirs if they agree, SessionChange otherwise.
// ok is false for a name the table does not know.
func LookupClass(name string) (c Class, ok bool) {
	info, ok := Lookup(name)
	if !ok {
		return Class{}, false
	}
	return classes.ofCommand[byName[info.Name]], true
}

// isWord reports whether a is a string or []byte equal to lower, which is
// in lower case, ignoring case.
func isWord(a any, lower string) bool {
	switch v := a.(type) {
	case string:
		return equalLower(lower, v)
	case []byte:
		return equalLower(lower, v)
	}
	return false
}

// equalLower reports whether s equals lower, which is in lower case,
// ignoring ASCII case.
func equalLower[S string | []byte](lower string, s S) bool {
	if len(s) != len(lower) {
		return false
	}
	lower = lower[:len(s)] // one bounds check for the loop
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
