package respool

import (
	"strconv"
	"strings"
	"time"
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

// track updates the connection's protocol state for a command just written.
func (cn *Conn) track(argv []any) {
	if len(argv) == 0 {
		return
	}
	name, ok := argString(argv[0])
	if !ok || len(name) < 4 || len(name) > 11 {
		return // every command below has a name of 4 to 11 bytes
	}
	switch {
	case strings.EqualFold(name, "MULTI"):
		cn.inMulti = true
	case strings.EqualFold(name, "EXEC"), strings.EqualFold(name, "DISCARD"):
		cn.inMulti = false
		cn.watching = false
	case strings.EqualFold(name, "WATCH"):
		cn.watching = true
	case strings.EqualFold(name, "UNWATCH"):
		if !cn.inMulti {
			cn.watching = false
		}
	case strings.EqualFold(name, "SUBSCRIBE"), strings.EqualFold(name, "PSUBSCRIBE"),
		strings.EqualFold(name, "SSUBSCRIBE"), strings.EqualFold(name, "MONITOR"):
		cn.subscribed = true
	case strings.EqualFold(name, "SELECT"), strings.EqualFold(name, "HELLO"),
		strings.EqualFold(name, "AUTH"), strings.EqualFold(name, "RESET"),
		strings.EqualFold(name, "READONLY"), strings.EqualFold(name, "READWRITE"),
		strings.EqualFold(name, "SWAPDB"):
		cn.sessionChanged = true
	case strings.EqualFold(name, "CLIENT"):
		if len(argv) > 1 {
			sub, _ := argString(argv[1])
			switch strings.ToUpper(sub) {
			case "SETNAME", "TRACKING", "REPLY", "NO-EVICT", "NO-TOUCH", "CACHING", "SETINFO":
				cn.sessionChanged = true
			}
		}
	}
}

// blockFor returns how long a blocking command may wait on the server by
// its own timeout argument: 0 for a command that does not block, a
// negative duration for one that blocks until data arrives (timeout 0).
func blockFor(argv []any) time.Duration {
	if len(argv) < 2 {
		return 0
	}
	name, ok := argString(argv[0])
	if !ok || len(name) < 4 || (name[0] != 'B' && name[0] != 'b' && name[0] != 'X' && name[0] != 'x' && name[0] != 'W' && name[0] != 'w') {
		return 0
	}
	switch strings.ToUpper(name) {
	case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BZPOPMIN", "BZPOPMAX":
		return seconds(argv[len(argv)-1])
	case "BLMPOP", "BZMPOP":
		return seconds(argv[1])
	case "WAIT":
		return milliseconds(argv[len(argv)-1])
	case "WAITAOF":
		return milliseconds(argv[len(argv)-1])
	case "XREAD", "XREADGROUP":
		for i := 1; i+1 < len(argv); i++ {
			s, ok := argString(argv[i])
			if !ok {
				continue
			}
			if strings.EqualFold(s, "STREAMS") {
				return 0
			}
			if strings.EqualFold(s, "BLOCK") {
				return milliseconds(argv[i+1])
			}
		}
	}
	return 0
}

// seconds converts a timeout argument in seconds; 0 means forever (-1).
func seconds(a any) time.Duration {
	f, ok := argFloat(a)
	if !ok {
		return 0
	}
	if f <= 0 {
		return -1
	}
	return time.Duration(f * float64(time.Second))
}

// milliseconds converts a timeout argument in milliseconds; 0 means
// forever (-1).
func milliseconds(a any) time.Duration {
	f, ok := argFloat(a)
	if !ok {
		return 0
	}
	if f <= 0 {
		return -1
	}
	return time.Duration(f * float64(time.Millisecond))
}

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
