package cmdinfo

import (
	"strconv"
	"strings"
)

// Flags is the set of command flags the server reports in COMMAND INFO.
type Flags uint32

// The command flags of Redis 7.0, one bit each. The comment gives the name
// the server uses.
const (
	Write           Flags = 1 << iota // "write": may modify the dataset
	ReadOnly                          // "readonly": only reads keys
	DenyOOM                           // "denyoom": refused when over maxmemory
	Module                            // "module": implemented by a module
	Admin                             // "admin": administrative command
	PubSub                            // "pubsub": publish/subscribe
	NoScript                          // "noscript": not allowed in scripts
	Blocking                          // "blocking": may block the client
	Loading                           // "loading": allowed while loading the dataset
	Stale                             // "stale": allowed on a replica with stale data
	SkipMonitor                       // "skip_monitor": not shown by MONITOR
	SkipSlowlog                       // "skip_slowlog": not logged in the slow log
	Asking                            // "asking": cluster ASKING
	Fast                              // "fast": O(1) or O(log N)
	NoAuth                            // "no_auth": allowed before authentication
	MayReplicate                      // "may_replicate": may be propagated to replicas
	Sentinel                          // "sentinel": available in sentinel mode
	OnlySentinel                      // "only_sentinel": only in sentinel mode
	NoMandatoryKeys                   // "no_mandatory_keys": may take no key at all
	Protected                         // "protected": protected by enable-*-command
	NoAsyncLoading                    // "no_async_loading": refused during async loading
	NoMulti                           // "no_multi": not allowed inside MULTI
	Movablekeys                       // "movablekeys": key positions depend on the arguments
	AllowBusy                         // "allow_busy": allowed while a script is busy
	ModuleGetKeys                     // "module_getkeys": a module's own key finder
	ModuleNoCluster                   // "module_no_cluster": module command refused in cluster mode

	numFlags = iota
)

// flagNames holds the server's name of each flag, by bit position.
var flagNames = [numFlags]string{
	"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
	"blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
	"fast", "no_auth", "may_replicate", "sentinel", "only_sentinel",
	"no_mandatory_keys", "protected", "no_async_loading", "no_multi",
	"movablekeys", "allow_busy", "module_getkeys", "module_no_cluster",
}

// String lists the flags by their server names, separated by '|', for
// example "readonly|fast". The empty set is "".
func (f Flags) String() string {
	return bitNames(uint32(f), flagNames[:])
}

// KeyFlags is the set of flags of one key specification.
type KeyFlags uint16

// The key specification flags of Redis 7.0 (the server names them in
// upper case for the first four).
const (
	KeyRO            KeyFlags = 1 << iota // "RO": read-only access
	KeyRW                                 // "RW": read and write
	KeyOW                                 // "OW": overwrite
	KeyRM                                 // "RM": remove
	KeyAccess                             // "access": reads or returns user data
	KeyUpdate                             // "update": updates existing data
	KeyInsert                             // "insert": adds data
	KeyDelete                             // "delete": deletes data
	KeyNotKey                             // "not_key": not a key name (for example a channel)
	KeyIncomplete                         // "incomplete": may miss some keys
	KeyVariableFlags                      // "variable_flags": flags depend on the arguments

	numKeyFlags = iota
)

var keyFlagNames = [numKeyFlags]string{
	"RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
	"not_key", "incomplete", "variable_flags",
}

// String lists the flags by their server names, separated by '|'.
func (f KeyFlags) String() string {
	return bitNames(uint32(f), keyFlagNames[:])
}

// bitNames joins the names of the bits set in v, with a hexadecimal
// remainder for bits that have no name.
func bitNames(v uint32, names []string) string {
	var b strings.Builder
	for i, name := range names {
		if v&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(name)
		v &^= 1 << i
	}
	if v != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x")
		b.WriteString(strconv.FormatUint(uint64(v), 16))
	}
	return b.String()
}

// BeginSearch says how a key specification finds its first key.
type BeginSearch uint8

// The begin_search types.
const (
	BeginUnknown BeginSearch = iota // "unknown": keys cannot be found from the arguments alone
	BeginIndex                      // "index": at a fixed position, KeySpec.Index
	BeginKeyword                    // "keyword": after KeySpec.Keyword, searched from KeySpec.StartFrom
)

// String returns the server's name of the type.
func (b BeginSearch) String() string {
	switch b {
	case BeginIndex:
		return "index"
	case BeginKeyword:
		return "keyword"
	default:
		return "unknown"
	}
}

// FindKeys says how a key specification finds the keys after the first.
type FindKeys uint8

// The find_keys types.
const (
	FindUnknown FindKeys = iota // "unknown": keys cannot be found from the arguments alone
	FindRange                   // "range": LastKey, KeyStep and Limit
	FindKeynum                  // "keynum": a count argument, then the keys
)

// String returns the server's name of the type.
func (f FindKeys) String() string {
	switch f {
	case FindRange:
		return "range"
	case FindKeynum:
		return "keynum"
	default:
		return "unknown"
	}
}
