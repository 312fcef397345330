package respool

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/internal/cmdinfo"
)

// typedCommands maps every Redis 7.0 command (and container subcommand)
// that has a typed method to that method's name on *Client. The method
// names follow go-redis v9 where it has one.
var typedCommands = map[string]string{
	// Strings.
	"append": "Append", "decr": "Decr", "decrby": "DecrBy", "get": "Get", "getdel": "GetDel",
	"getex": "GetEx", "getrange": "GetRange", "getset": "GetSet", "incr": "Incr", "incrby": "IncrBy",
	"incrbyfloat": "IncrByFloat", "lcs": "LCS", "mget": "MGet", "mset": "MSet", "msetnx": "MSetNX",
	"psetex": "PSetEx", "set": "Set", "setex": "SetEx", "setnx": "SetNX", "setrange": "SetRange",
	"strlen": "StrLen",
	// Bitmaps and HyperLogLog.
	"bitcount": "BitCount", "bitfield": "BitField", "bitfield_ro": "BitFieldRO", "bitop": "BitOpAnd",
	"bitpos": "BitPos", "getbit": "GetBit", "setbit": "SetBit",
	"pfadd": "PFAdd", "pfcount": "PFCount", "pfmerge": "PFMerge",
	// Keys.
	"copy": "Copy", "del": "Del", "dump": "Dump", "exists": "Exists", "expire": "Expire",
	"expireat": "ExpireAt", "expiretime": "ExpireTime", "keys": "Keys", "move": "Move",
	"object|encoding": "ObjectEncoding", "object|freq": "ObjectFreq", "object|idletime": "ObjectIdleTime",
	"object|refcount": "ObjectRefCount", "persist": "Persist", "pexpire": "PExpire",
	"pexpireat": "PExpireAt", "pexpiretime": "PExpireTime", "pttl": "PTTL", "randomkey": "RandomKey",
	"rename": "Rename", "renamenx": "RenameNX", "restore": "Restore", "scan": "Scan", "sort": "Sort",
	"sort_ro": "SortRO", "touch": "Touch", "ttl": "TTL", "type": "Type", "unlink": "Unlink",
	"wait": "Wait",
	// Hashes.
	"hdel": "HDel", "hexists": "HExists", "hget": "HGet", "hgetall": "HGetAll", "hincrby": "HIncrBy",
	"hincrbyfloat": "HIncrByFloat", "hkeys": "HKeys", "hlen": "HLen", "hmget": "HMGet",
	"hrandfield": "HRandField", "hscan": "HScan", "hset": "HSet", "hsetnx": "HSetNX",
	"hstrlen": "HStrLen", "hvals": "HVals",
	// Lists.
	"blmove": "BLMove", "blmpop": "BLMPop", "blpop": "BLPop", "brpop": "BRPop",
	"brpoplpush": "BRPopLPush", "lindex": "LIndex", "linsert": "LInsert", "llen": "LLen",
	"lmove": "LMove", "lmpop": "LMPop", "lpop": "LPop", "lpos": "LPos", "lpush": "LPush",
	"lpushx": "LPushX", "lrange": "LRange", "lrem": "LRem", "lset": "LSet", "ltrim": "LTrim",
	"rpop": "RPop", "rpoplpush": "RPopLPush", "rpush": "RPush", "rpushx": "RPushX",
	// Sets.
	"sadd": "SAdd", "scard": "SCard", "sdiff": "SDiff", "sdiffstore": "SDiffStore", "sinter": "SInter",
	"sintercard": "SInterCard", "sinterstore": "SInterStore", "sismember": "SIsMember",
	"smembers": "SMembers", "smismember": "SMIsMember", "smove": "SMove", "spop": "SPop",
	"srandmember": "SRandMember", "srem": "SRem", "sscan": "SScan", "sunion": "SUnion",
	"sunionstore": "SUnionStore",
	// Sorted sets.
	"bzmpop": "BZMPop", "bzpopmax": "BZPopMax", "bzpopmin": "BZPopMin", "zadd": "ZAdd", "zcard": "ZCard",
	"zcount": "ZCount", "zdiff": "ZDiff", "zdiffstore": "ZDiffStore", "zincrby": "ZIncrBy",
	"zinter": "ZInter", "zintercard": "ZInterCard", "zinterstore": "ZInterStore",
	"zlexcount": "ZLexCount", "zmpop": "ZMPop", "zmscore": "ZMScore", "zpopmax": "ZPopMax",
	"zpopmin": "ZPopMin", "zrandmember": "ZRandMember", "zrange": "ZRange",
	"zrangebylex": "ZRangeByLex", "zrangebyscore": "ZRangeByScore", "zrangestore": "ZRangeStore",
	"zrank": "ZRank", "zrem": "ZRem", "zremrangebylex": "ZRemRangeByLex",
	"zremrangebyrank": "ZRemRangeByRank", "zremrangebyscore": "ZRemRangeByScore",
	"zrevrange": "ZRevRange", "zrevrangebylex": "ZRevRangeByLex", "zrevrangebyscore": "ZRevRangeByScore",
	"zrevrank": "ZRevRank", "zscan": "ZScan", "zscore": "ZScore", "zunion": "ZUnion",
	"zunionstore": "ZUnionStore",
	// Streams.
	"xack": "XAck", "xadd": "XAdd", "xautoclaim": "XAutoClaim", "xclaim": "XClaim", "xdel": "XDel",
	"xgroup|create": "XGroupCreate", "xgroup|createconsumer": "XGroupCreateConsumer",
	"xgroup|delconsumer": "XGroupDelConsumer", "xgroup|destroy": "XGroupDestroy",
	"xgroup|setid": "XGroupSetID", "xinfo|consumers": "XInfoConsumers", "xinfo|groups": "XInfoGroups",
	"xinfo|stream": "XInfoStream", "xlen": "XLen", "xpending": "XPending", "xrange": "XRange",
	"xread": "XRead", "xreadgroup": "XReadGroup", "xrevrange": "XRevRange", "xsetid": "XSetID",
	"xtrim": "XTrimMaxLen",
	// Geo.
	"geoadd": "GeoAdd", "geodist": "GeoDist", "geohash": "GeoHash", "geopos": "GeoPos",
	"geosearch": "GeoSearch", "geosearchstore": "GeoSearchStore",
	// Scripting and functions.
	"eval": "Eval", "eval_ro": "EvalRO", "evalsha": "EvalSha", "evalsha_ro": "EvalShaRO",
	"fcall": "FCall", "fcall_ro": "FCallRO", "script|exists": "ScriptExists",
	"script|flush": "ScriptFlush", "script|kill": "ScriptKill", "script|load": "ScriptLoad",
	"function|delete": "FunctionDelete", "function|dump": "FunctionDump",
	"function|flush": "FunctionFlush", "function|kill": "FunctionKill", "function|list": "FunctionList",
	"function|load": "FunctionLoad", "function|restore": "FunctionRestore",
	"function|stats": "FunctionStats",
	// Pub/sub.
	"publish": "Publish", "spublish": "SPublish", "subscribe": "Subscribe", "psubscribe": "PSubscribe",
	"ssubscribe": "SSubscribe", "pubsub|channels": "PubSubChannels", "pubsub|numpat": "PubSubNumPat",
	"pubsub|numsub": "PubSubNumSub", "pubsub|shardchannels": "PubSubShardChannels",
	"pubsub|shardnumsub": "PubSubShardNumSub",
	// Server and connection.
	"ping": "Ping", "echo": "Echo", "info": "Info", "dbsize": "DBSize", "flushdb": "FlushDB",
	"flushall": "FlushAll", "time": "Time", "lastsave": "LastSave", "save": "Save", "bgsave": "BgSave",
	"config|get": "ConfigGet", "config|set": "ConfigSet", "config|resetstat": "ConfigResetStat",
	"client|id": "ClientID", "client|getname": "ClientGetName", "client|list": "ClientList",
	"client|info": "ClientInfo", "client|kill": "ClientKill", "memory|usage": "MemoryUsage",
	"command|count": "CommandCount", "slowlog|get": "SlowLogGet", "slowlog|len": "SlowLogLen",
	"slowlog|reset": "SlowLogReset",
}

// effect is what a command left to Do does to its connection, checked
// against Conn.track and blockFor.
type effect uint8

const (
	effectNone       effect = iota
	effectSession           // changes the session: the Conn must not go back to the pool as is
	effectSubscribed        // takes the connection over (pushes, MONITOR output)
	effectMulti             // opens a transaction
	effectWatch             // watches keys
)

// doCommand is a command deliberately left to Do, with why, and an
// example command line to check its effect on a Conn.
type doCommand struct {
	reason string
	effect effect
	argv   []any
}

// doCommands lists the Redis 7.0 commands without a typed method.
var doCommands = map[string]doCommand{
	// Session-changing: the Conn tracks them and is closed, not reused.
	"auth":           {reason: "session: set Options.Username/Password instead", effect: effectSession, argv: []any{"AUTH", "pw"}},
	"hello":          {reason: "session: the handshake sends it (Options.Protocol)", effect: effectSession, argv: []any{"HELLO", "3"}},
	"select":         {reason: "session: set Options.DB, or use a Conn", effect: effectSession, argv: []any{"SELECT", "1"}},
	"reset":          {reason: "session: resets the connection's state", effect: effectSession, argv: []any{"RESET"}},
	"readonly":       {reason: "session, cluster-internal: the ClusterClient sends it to replicas", effect: effectSession, argv: []any{"READONLY"}},
	"readwrite":      {reason: "session, cluster-internal", effect: effectSession, argv: []any{"READWRITE"}},
	"client|setname": {reason: "session: set Options.ClientName", effect: effectSession, argv: []any{"CLIENT", "SETNAME", "n"}},
	"client|tracking": {reason: "session: client-side caching needs a dedicated connection", effect: effectSession,
		argv: []any{"CLIENT", "TRACKING", "ON"}},
	"client|caching":  {reason: "session: client-side caching", effect: effectSession, argv: []any{"client", "caching", "yes"}},
	"client|reply":    {reason: "session: OFF/SKIP would desynchronise replies", effect: effectSession, argv: []any{"CLIENT", "REPLY", "OFF"}},
	"client|no-evict": {reason: "session: per-connection eviction flag", effect: effectSession, argv: []any{"CLIENT", "NO-EVICT", "ON"}},
	"swapdb":          {reason: "admin: swaps databases for every client", effect: effectSession, argv: []any{"SWAPDB", "0", "1"}},

	// Transactions and pub/sub have their own types.
	"multi":        {reason: "transactions: TxPipeline / Client.Watch", effect: effectMulti, argv: []any{"MULTI"}},
	"exec":         {reason: "transactions: TxPipeline / Client.Watch"},
	"discard":      {reason: "transactions: TxPipeline / Client.Watch"},
	"watch":        {reason: "transactions: Client.Watch and Tx.Watch", effect: effectWatch, argv: []any{"WATCH", "k"}},
	"unwatch":      {reason: "transactions: Tx.Unwatch"},
	"unsubscribe":  {reason: "pub/sub: PubSub.Unsubscribe on the subscribed connection"},
	"punsubscribe": {reason: "pub/sub: PubSub.PUnsubscribe on the subscribed connection"},
	"sunsubscribe": {reason: "pub/sub: PubSub.SUnsubscribe on the subscribed connection"},
	"monitor":      {reason: "takes the connection over: use a dedicated Conn", effect: effectSubscribed, argv: []any{"MONITOR"}},
	"quit":         {reason: "deprecated: closes the connection; use Close"},

	// Deprecated commands with a typed replacement.
	"substr":               {reason: "deprecated: GetRange"},
	"hmset":                {reason: "deprecated: HSet takes many pairs"},
	"georadius":            {reason: "deprecated: GeoSearch"},
	"georadius_ro":         {reason: "deprecated: GeoSearch"},
	"georadiusbymember":    {reason: "deprecated: GeoSearch"},
	"georadiusbymember_ro": {reason: "deprecated: GeoSearch"},

	// Replication and cluster internals.
	"psync":          {reason: "replication: between servers"},
	"sync":           {reason: "replication: between servers"},
	"replconf":       {reason: "replication: between servers"},
	"replicaof":      {reason: "replication admin"},
	"slaveof":        {reason: "replication admin (deprecated name)"},
	"role":           {reason: "replication introspection"},
	"failover":       {reason: "replication admin"},
	"asking":         {reason: "cluster-internal: sent by the ClusterClient before a redirected command"},
	"restore-asking": {reason: "cluster-internal: used by MIGRATE"},
	"migrate":        {reason: "admin: moves keys between servers"},

	// Debugging and diagnostics.
	"debug":               {reason: "debug"},
	"pfdebug":             {reason: "debug"},
	"pfselftest":          {reason: "debug"},
	"lolwut":              {reason: "server art, no data"},
	"script|debug":        {reason: "debug: the interactive Lua debugger needs redis-cli"},
	"latency|doctor":      {reason: "diagnostics"},
	"latency|graph":       {reason: "diagnostics"},
	"latency|histogram":   {reason: "diagnostics"},
	"latency|history":     {reason: "diagnostics"},
	"latency|latest":      {reason: "diagnostics"},
	"latency|reset":       {reason: "diagnostics"},
	"memory|doctor":       {reason: "diagnostics"},
	"memory|malloc-stats": {reason: "diagnostics"},
	"memory|purge":        {reason: "diagnostics"},
	"memory|stats":        {reason: "diagnostics"},

	// Administration.
	"bgrewriteaof":            {reason: "admin"},
	"shutdown":                {reason: "admin"},
	"config|rewrite":          {reason: "admin"},
	"client|pause":            {reason: "admin: pauses every client"},
	"client|unpause":          {reason: "admin"},
	"client|unblock":          {reason: "admin: acts on another connection"},
	"client|getredir":         {reason: "session introspection: client-side caching"},
	"client|trackinginfo":     {reason: "session introspection: client-side caching"},
	"acl|cat":                 {reason: "admin: ACL"},
	"acl|deluser":             {reason: "admin: ACL"},
	"acl|dryrun":              {reason: "admin: ACL"},
	"acl|genpass":             {reason: "admin: ACL"},
	"acl|getuser":             {reason: "admin: ACL"},
	"acl|list":                {reason: "admin: ACL"},
	"acl|load":                {reason: "admin: ACL"},
	"acl|log":                 {reason: "admin: ACL"},
	"acl|save":                {reason: "admin: ACL"},
	"acl|setuser":             {reason: "admin: ACL"},
	"acl|users":               {reason: "admin: ACL"},
	"acl|whoami":              {reason: "admin: ACL"},
	"module|list":             {reason: "admin: modules"},
	"module|load":             {reason: "admin: modules"},
	"module|loadex":           {reason: "admin: modules"},
	"module|unload":           {reason: "admin: modules"},
	"command|docs":            {reason: "introspection: internal/cmdinfo carries the table"},
	"command|getkeys":         {reason: "introspection: internal/cmdinfo finds keys"},
	"command|getkeysandflags": {reason: "introspection: internal/cmdinfo finds keys"},
	"command|info":            {reason: "introspection: internal/cmdinfo carries the table"},
	"command|list":            {reason: "introspection: internal/cmdinfo carries the table"},
}

// clusterAdmin says why CLUSTER subcommands are left to Do.
const clusterAdmin = "cluster administration: the ClusterClient reads the topology itself"

// doReason returns why name is left to Do, or "" when it is not.
func doReason(name string) string {
	if d, ok := doCommands[name]; ok {
		return d.reason
	}
	switch {
	case strings.HasPrefix(name, "cluster|"):
		return clusterAdmin
	case strings.HasSuffix(name, "|help"):
		return "help text"
	}
	return ""
}

func TestCommandCoverage(t *testing.T) {
	t.Parallel()
	client := reflect.TypeFor[*Client]()
	var missing []string
	for _, info := range cmdinfo.All() {
		if info.IsContainer() {
			continue // its subcommands are checked one by one
		}
		method, typed := typedCommands[info.Name]
		reason := doReason(info.Name)
		switch {
		case typed && reason != "":
			t.Errorf("%s is both typed (%s) and left to Do (%s)", info.Name, method, reason)
		case typed:
			if _, ok := client.MethodByName(method); !ok {
				missing = append(missing, info.Name+" -> Client."+method)
			}
		case reason == "":
			t.Errorf("%s has neither a typed method nor a reason to be left to Do", info.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("typed methods missing on *Client:\n\t%s", strings.Join(missing, "\n\t"))
	}
	// No stale entries: every name is a Redis 7.0 command.
	for name := range typedCommands {
		if _, ok := cmdinfo.Lookup(name); !ok {
			t.Errorf("typedCommands has %q, which the command table does not know", name)
		}
	}
	for name := range doCommands {
		if _, ok := cmdinfo.Lookup(name); !ok {
			t.Errorf("doCommands has %q, which the command table does not know", name)
		}
	}
}

// TestDoCommandsTracked checks that the commands left to Do which change
// a connection's state are seen by Conn.track, so the pool closes such a
// connection instead of handing it to the next caller.
func TestDoCommandsTracked(t *testing.T) {
	t.Parallel()
	for name, d := range doCommands {
		if d.effect == effectNone {
			continue
		}
		cn := &Conn{}
		cn.track(d.argv)
		var got bool
		switch d.effect {
		case effectSession:
			got = cn.sessionChanged
		case effectSubscribed:
			got = cn.subscribed
		case effectMulti:
			got = cn.inMulti
		case effectWatch:
			got = cn.watching
		}
		if !got {
			t.Errorf("%s: track(%v) left the connection clean", name, d.argv)
		}
	}
	// And ordinary commands leave it clean.
	for _, argv := range [][]any{{"GET", "k"}, {"CLIENT", "ID"}, {"SCRIPT", "LOAD", "x"}, {"EXECUTE"}} {
		cn := &Conn{}
		cn.track(argv)
		if cn.sessionChanged || cn.subscribed || cn.inMulti || cn.watching {
			t.Errorf("track(%v) marked the connection: session %v, subscribed %v, multi %v, watching %v",
				argv, cn.sessionChanged, cn.subscribed, cn.inMulti, cn.watching)
		}
	}
}

// TestBlockingCommandsGetDeadline checks that every command the server
// flags as blocking, whether typed or left to Do, has its timeout found
// by blockFor, which extends the connection's read deadline.
func TestBlockingCommandsGetDeadline(t *testing.T) {
	t.Parallel()
	examples := map[string][]any{
		"blmove":     {"BLMOVE", "a", "b", "LEFT", "RIGHT", "1.5"},
		"blmpop":     {"BLMPOP", "1.5", "1", "a", "LEFT"},
		"blpop":      {"BLPOP", "a", "b", "1.5"},
		"brpop":      {"BRPOP", "a", "1.5"},
		"brpoplpush": {"BRPOPLPUSH", "a", "b", "1.5"},
		"bzmpop":     {"bzmpop", "1.5", "1", "a", "MIN"},
		"bzpopmax":   {"BZPOPMAX", "a", "1.5"},
		"bzpopmin":   {"BZPOPMIN", "a", "1.5"},
		"xread":      {"XREAD", "COUNT", "1", "BLOCK", "1500", "STREAMS", "s", "$"},
		"xreadgroup": {"XREADGROUP", "GROUP", "g", "c", "BLOCK", "1500", "STREAMS", "s", ">"},
	}
	for _, info := range cmdinfo.All() {
		if !info.IsBlocking() {
			continue
		}
		argv, ok := examples[info.Name]
		if !ok {
			t.Errorf("%s is blocking and has no example here", info.Name)
			continue
		}
		if d := blockFor(argv); d != 1500*time.Millisecond {
			t.Errorf("blockFor(%v) = %v, want 1.5s", argv, d)
		}
	}
	// WAIT blocks too, though 7.0 does not flag it.
	if d := blockFor([]any{"WAIT", "1", "1500"}); d != 1500*time.Millisecond {
		t.Errorf("blockFor(WAIT 1 1500) = %v", d)
	}
	// A timeout of 0 blocks forever; XREAD without BLOCK does not block.
	if d := blockFor([]any{"BLPOP", "a", "0"}); d >= 0 {
		t.Errorf("blockFor(BLPOP a 0) = %v, want negative (forever)", d)
	}
	if d := blockFor([]any{"XREAD", "STREAMS", "block", "0"}); d != 0 {
		t.Errorf("blockFor(XREAD STREAMS block 0) = %v, want 0", d)
	}
}

// TestTypedBlockingArgs checks that the typed blocking methods of this
// package format their timeouts so that blockFor finds them.
func TestTypedBlockingArgs(t *testing.T) {
	t.Parallel()
	var last Cmder
	var rec cmdable = func(_ context.Context, cmd Cmder) { last = cmd }
	ctx := context.Background()
	timeout := 1500 * time.Millisecond
	cases := []struct {
		name string
		run  func()
		want time.Duration
	}{
		{"BZPopMin", func() { rec.BZPopMin(ctx, timeout, "a", "b") }, timeout},
		{"BZPopMax", func() { rec.BZPopMax(ctx, timeout, "a") }, timeout},
		{"BZMPop", func() { rec.BZMPop(ctx, timeout, "MIN", 2, "a") }, timeout},
		{"BZPopMin forever", func() { rec.BZPopMin(ctx, 0, "a") }, -1},
		{"XRead", func() { rec.XRead(ctx, &XReadArgs{Streams: []string{"s", "$"}, Block: timeout}) }, timeout},
		{"XRead forever", func() { rec.XRead(ctx, &XReadArgs{Streams: []string{"s", "$"}}) }, -1},
		{"XRead no block", func() { rec.XRead(ctx, &XReadArgs{Streams: []string{"s", "$"}, Block: -1}) }, 0},
		{"XReadGroup", func() {
			rec.XReadGroup(ctx, &XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Block: timeout})
		}, timeout},
	}
	for _, tc := range cases {
		tc.run()
		if d := blockFor(last.Args()); d != tc.want {
			t.Errorf("%s: blockFor(%v) = %v, want %v", tc.name, last.Args(), d, tc.want)
		}
	}
	// The argument lists the server sees.
	rec.BZMPop(ctx, timeout, "MAX", 2, "a", "b")
	if want := []any{"BZMPOP", "1.5", 2, "a", "b", "MAX", "COUNT", int64(2)}; !slices.Equal(last.Args(), want) {
		t.Errorf("BZMPop args = %v, want %v", last.Args(), want)
	}
}
