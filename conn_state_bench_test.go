package respool

import (
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/resp"
)

// BenchmarkCommandClass compares the command-table lookups ("table") with
// the switch statements they replaced ("switch", kept below as the
// baseline), for the calls every command makes: muxable in runCmd, then
// track and blockFor in roundTrip (afterWrite, one lookup for both).
func BenchmarkCommandClass(b *testing.B) {
	lines := []struct {
		name string
		argv []any
	}{
		{"GET-fast", fastOps[opGet].argv}, // what a fast command's args() returns
		{"GET", []any{"GET", "k"}},
		{"get", []any{"get", "k"}},
		{"HGETALL", []any{"HGETALL", "h"}},
		{"zrangebyscore", []any{"zrangebyscore", "z", "0", "1"}},
		{"bytes-SET", []any{[]byte("SET"), "k", "v"}},
		{"hgetall", []any{"hgetall", "h"}},
		{"MULTI", []any{"MULTI"}},
		{"EXEC", []any{"EXEC"}},
		{"WATCH", []any{"WATCH", "k"}},
		{"SELECT", []any{"SELECT", "1"}},
		{"CLIENT-SETNAME", []any{"CLIENT", "SETNAME", "n"}},
		{"BLPOP", []any{"BLPOP", "k", "1"}},
		{"XREAD-BLOCK", []any{"XREAD", "BLOCK", "10", "STREAMS", "s", "$"}},
	}
	for _, l := range lines {
		b.Run(l.name+"/switch", func(b *testing.B) {
			cn := &Conn{}
			b.ReportAllocs()
			for b.Loop() {
				switchMuxable(l.argv)
				switchTrack(cn, l.argv)
				switchBlockFor(l.argv)
			}
		})
		b.Run(l.name+"/table", func(b *testing.B) {
			cn := &Conn{}
			b.ReportAllocs()
			for b.Loop() {
				muxable(l.argv)
				cn.afterWrite(l.argv)
			}
		})
	}
}

// The switch statements the command table replaced, as they were.

func switchTrack(cn *Conn, argv []any) {
	if len(argv) == 0 {
		return
	}
	name, ok := argString(argv[0])
	if !ok || len(name) < 4 || len(name) > 11 {
		return
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

func switchBlockFor(argv []any) time.Duration {
	if len(argv) < 2 {
		return 0
	}
	name, ok := argString(argv[0])
	if !ok || len(name) < 4 || (name[0] != 'B' && name[0] != 'b' && name[0] != 'X' && name[0] != 'x' && name[0] != 'W' && name[0] != 'w') {
		return 0
	}
	switch strings.ToUpper(name) {
	case "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BZPOPMIN", "BZPOPMAX":
		return switchTimeout(argv[len(argv)-1], time.Second)
	case "BLMPOP", "BZMPOP":
		return switchTimeout(argv[1], time.Second)
	case "WAIT", "WAITAOF":
		return switchTimeout(argv[len(argv)-1], time.Millisecond)
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
				return switchTimeout(argv[i+1], time.Millisecond)
			}
		}
	}
	return 0
}

func switchTimeout(a any, unit time.Duration) time.Duration {
	f, ok := argFloat(a)
	if !ok {
		return 0
	}
	if f <= 0 {
		return -1
	}
	return time.Duration(f * float64(unit))
}

func switchMuxable(argv []any) bool {
	if len(argv) == 0 || switchBlockFor(argv) != 0 {
		return false
	}
	name, ok := argString(argv[0])
	if !ok {
		return false
	}
	if len(name) >= 4 && len(name) <= 11 {
		switch strings.ToUpper(name) {
		case "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
			"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
			"MONITOR", "SELECT", "HELLO", "AUTH", "RESET", "READONLY", "READWRITE", "CLIENT",
			"SWAPDB", "SHUTDOWN", "QUIT", "SYNC", "PSYNC", "DEBUG", "XREAD", "XREADGROUP":
			return false
		}
	}
	return resp.CheckArgs(argv) == nil
}
