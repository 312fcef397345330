package respool

import (
	"context"
	"strings"
	"time"

	"github.com/respool/respool/resp"
)

// Server and connection commands.
//
// Commands that change the state of one connection (SELECT, CLIENT
// SETNAME, HELLO, AUTH, RESET, CLIENT TRACKING, CLIENT REPLY...) are
// deliberately not methods here: a Client runs each command on whichever
// pooled connection is free, so the change would stick to one connection
// at random and be lost for the next command. Set the database, name,
// protocol and credentials in Options, which every connection applies in
// its handshake; to change them for one session, take a Conn and send the
// command with Conn.Do (the pool closes such a connection instead of
// reusing it).

// Ping returns "PONG".
func (c cmdable) Ping(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("PING")
	c(ctx, cmd)
	return cmd
}

// Echo returns message.
func (c cmdable) Echo(ctx context.Context, message any) *Cmd[string] {
	cmd := newStringCmd("ECHO", message)
	c(ctx, cmd)
	return cmd
}

// Info returns the server's INFO text for sections (none: the default
// sections; "all" or "everything" for more). See InfoMap for it parsed.
func (c cmdable) Info(ctx context.Context, sections ...string) *Cmd[string] {
	cmd := newStringCmdArgv(appendStrings(argvOf(len(sections), "INFO"), sections))
	c(ctx, cmd)
	return cmd
}

// InfoMap is Info parsed: section name in lower case ("server",
// "clients", "keyspace"...) to the section's fields ("redis_version" to
// "7.0.15").
func (c cmdable) InfoMap(ctx context.Context, sections ...string) *Cmd[map[string]map[string]string] {
	cmd := newCmdArgv(decodeInfoMap, appendStrings(argvOf(len(sections), "INFO"), sections))
	c(ctx, cmd)
	return cmd
}

// decodeInfoMap parses INFO text: "# Section" lines start a section and
// "field:value" lines fill it. Fields before any heading go in "".
func decodeInfoMap(v resp.Value) (map[string]map[string]string, error) {
	text, err := DecodeString(v)
	if err != nil {
		return nil, err
	}
	return parseInfo(text), nil
}

// parseInfo parses the text of INFO; see decodeInfoMap.
func parseInfo(text string) map[string]map[string]string {
	out := make(map[string]map[string]string)
	section := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			section = strings.ToLower(strings.TrimSpace(line[1:]))
			if out[section] == nil {
				out[section] = make(map[string]string)
			}
		default:
			field, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			if out[section] == nil {
				out[section] = make(map[string]string)
			}
			out[section][field] = value
		}
	}
	return out
}

// DBSize returns the number of keys in the current database.
func (c cmdable) DBSize(ctx context.Context) *Cmd[int64] {
	cmd := newIntCmd("DBSIZE")
	c(ctx, cmd)
	return cmd
}

// FlushDB deletes every key of the current database and returns "OK".
func (c cmdable) FlushDB(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FLUSHDB")
	c(ctx, cmd)
	return cmd
}

// FlushDBAsync is FlushDB freeing the memory in the background (ASYNC).
func (c cmdable) FlushDBAsync(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FLUSHDB", "ASYNC")
	c(ctx, cmd)
	return cmd
}

// FlushAll deletes every key of every database and returns "OK".
func (c cmdable) FlushAll(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FLUSHALL")
	c(ctx, cmd)
	return cmd
}

// FlushAllAsync is FlushAll freeing the memory in the background (ASYNC).
func (c cmdable) FlushAllAsync(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FLUSHALL", "ASYNC")
	c(ctx, cmd)
	return cmd
}

// Time returns the server's clock, to the microsecond.
func (c cmdable) Time(ctx context.Context) *Cmd[time.Time] {
	cmd := newCmd(decodeServerTime, "TIME")
	c(ctx, cmd)
	return cmd
}

// decodeServerTime decodes TIME's [seconds, microseconds].
func decodeServerTime(v resp.Value) (time.Time, error) {
	parts, err := DecodeInts(v)
	if err != nil {
		return time.Time{}, err
	}
	if len(parts) != 2 {
		return time.Time{}, errShape("TIME", v)
	}
	return time.Unix(parts[0], parts[1]*int64(time.Microsecond)), nil
}

// LastSave returns when the last successful save to disk happened (the
// server's start when there was none).
func (c cmdable) LastSave(ctx context.Context) *Cmd[time.Time] {
	cmd := newCmd(decodeUnixTime, "LASTSAVE")
	c(ctx, cmd)
	return cmd
}

// decodeUnixTime decodes an integer of Unix seconds.
func decodeUnixTime(v resp.Value) (time.Time, error) {
	n, err := DecodeInt(v)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, 0), nil
}

// Save saves the dataset to disk, blocking the server while it does, and
// returns "OK".
func (c cmdable) Save(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("SAVE")
	c(ctx, cmd)
	return cmd
}

// BgSave starts saving the dataset to disk in the background and returns
// the server's status text ("Background saving started").
func (c cmdable) BgSave(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("BGSAVE")
	c(ctx, cmd)
	return cmd
}

// ConfigGet returns the configuration parameters matching parameter (a
// glob pattern) with their values.
func (c cmdable) ConfigGet(ctx context.Context, parameter string) *Cmd[map[string]string] {
	cmd := borrowing(newCmd(DecodeStringMap, "CONFIG", "GET", parameter))
	c(ctx, cmd)
	return cmd
}

// ConfigSet sets a configuration parameter and returns "OK". It changes
// the whole server, for every client.
func (c cmdable) ConfigSet(ctx context.Context, parameter, value string) *Cmd[string] {
	cmd := newStringCmd("CONFIG", "SET", parameter, value)
	c(ctx, cmd)
	return cmd
}

// ConfigResetStat resets the statistics INFO reports and returns "OK".
func (c cmdable) ConfigResetStat(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("CONFIG", "RESETSTAT")
	c(ctx, cmd)
	return cmd
}

// ClientID returns the id of the connection the command ran on. On a
// Client that is whichever pooled connection was free.
func (c cmdable) ClientID(ctx context.Context) *Cmd[int64] {
	cmd := newIntCmd("CLIENT", "ID")
	c(ctx, cmd)
	return cmd
}

// ClientGetName returns the name of the connection the command ran on
// (Options.ClientName); Nil when it has none.
func (c cmdable) ClientGetName(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("CLIENT", "GETNAME")
	c(ctx, cmd)
	return cmd
}

// ClientList returns the server's CLIENT LIST text: one line per
// connection of "field=value" pairs.
func (c cmdable) ClientList(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("CLIENT", "LIST")
	c(ctx, cmd)
	return cmd
}

// ClientInfo returns the CLIENT LIST line of the connection the command
// ran on.
func (c cmdable) ClientInfo(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("CLIENT", "INFO")
	c(ctx, cmd)
	return cmd
}

// ClientKillArgs selects the connections CLIENT KILL closes: those
// matching every filter that is set. At least one must be set.
type ClientKillArgs struct {
	ID    int64  // the connection's id (CLIENT ID); 0: any
	Type  string // "normal", "master", "replica" or "pubsub"; "": any
	User  string // the authenticated ACL user; "": any
	Addr  string // the connection's remote "ip:port"; "": any
	LAddr string // the server-side "ip:port"; "": any
	// IncludeSelf also kills the connection sending the command, which
	// the server spares by default (SKIPME no).
	IncludeSelf bool
}

// ClientKill closes the connections a selects and returns how many.
func (c cmdable) ClientKill(ctx context.Context, a ClientKillArgs) *Cmd[int64] {
	argv := append(make([]any, 0, 14), "CLIENT", "KILL")
	if a.ID != 0 {
		argv = append(argv, "ID", a.ID)
	}
	if a.Type != "" {
		argv = append(argv, "TYPE", a.Type)
	}
	if a.User != "" {
		argv = append(argv, "USER", a.User)
	}
	if a.Addr != "" {
		argv = append(argv, "ADDR", a.Addr)
	}
	if a.LAddr != "" {
		argv = append(argv, "LADDR", a.LAddr)
	}
	if a.IncludeSelf {
		argv = append(argv, "SKIPME", "no")
	}
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// MemoryUsage returns the bytes key and its value take in memory, sampling
// up to samples[0] elements of a collection (default 5, 0 for all); Nil
// when the key does not exist.
func (c cmdable) MemoryUsage(ctx context.Context, key string, samples ...int) *Cmd[int64] {
	argv := append(make([]any, 0, 5), "MEMORY", "USAGE", key)
	if len(samples) > 0 {
		argv = append(argv, "SAMPLES", samples[0])
	}
	cmd := newIntCmd(argv...)
	c(ctx, cmd)
	return cmd
}

// CommandCount returns the number of commands the server knows.
func (c cmdable) CommandCount(ctx context.Context) *Cmd[int64] {
	cmd := newIntCmd("COMMAND", "COUNT")
	c(ctx, cmd)
	return cmd
}

// SlowLogEntry is one entry of the slow log.
type SlowLogEntry struct {
	ID         int64
	Time       time.Time     // when the command started
	Duration   time.Duration // how long it ran, to the microsecond
	Args       []string      // the command and its arguments, possibly shortened by the server
	ClientAddr string        // the client's "ip:port"
	ClientName string        // the client's name, "" if none
}

// SlowLogGet returns up to num of the most recent slow log entries, newest
// first (num -1: all of them).
func (c cmdable) SlowLogGet(ctx context.Context, num int64) *Cmd[[]SlowLogEntry] {
	cmd := newCmd(DecodeSlice(decodeSlowLogEntry), "SLOWLOG", "GET", num)
	c(ctx, cmd)
	return cmd
}

// decodeSlowLogEntry decodes [id, unix time, microseconds, [args], addr,
// name].
func decodeSlowLogEntry(v resp.Value) (SlowLogEntry, error) {
	elems, err := v.Elems()
	if err != nil {
		return SlowLogEntry{}, err
	}
	if len(elems) < 4 {
		return SlowLogEntry{}, errShape("SLOWLOG GET", v)
	}
	var e SlowLogEntry
	var at, micros int64
	if e.ID, err = DecodeInt(elems[0]); err != nil {
		return SlowLogEntry{}, err
	}
	if at, err = DecodeInt(elems[1]); err != nil {
		return SlowLogEntry{}, err
	}
	if micros, err = DecodeInt(elems[2]); err != nil {
		return SlowLogEntry{}, err
	}
	if e.Args, err = DecodeStrings(elems[3]); err != nil {
		return SlowLogEntry{}, err
	}
	e.Time = time.Unix(at, 0)
	e.Duration = time.Duration(micros) * time.Microsecond
	if len(elems) >= 6 {
		if e.ClientAddr, err = DecodeString(elems[4]); err != nil {
			return SlowLogEntry{}, err
		}
		if e.ClientName, err = DecodeString(elems[5]); err != nil {
			return SlowLogEntry{}, err
		}
	}
	return e, nil
}

// SlowLogLen returns the number of entries in the slow log.
func (c cmdable) SlowLogLen(ctx context.Context) *Cmd[int64] {
	cmd := newIntCmd("SLOWLOG", "LEN")
	c(ctx, cmd)
	return cmd
}

// SlowLogReset empties the slow log and returns "OK".
func (c cmdable) SlowLogReset(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("SLOWLOG", "RESET")
	c(ctx, cmd)
	return cmd
}

// Wait blocks until the writes sent before it on the same connection reach
// numReplicas replicas or timeout passes (0: forever), and returns how many
// replicas acknowledged them. The connection waits for the reply that long
// plus its ReadTimeout. On a Client, run it in a Pipeline or Tx (or on a
// Conn) with the writes, since another pooled connection knows nothing of
// them.
func (c cmdable) Wait(ctx context.Context, numReplicas int, timeout time.Duration) *Cmd[int64] {
	ms := int64(0)
	if timeout > 0 {
		ms = max(1, timeout.Milliseconds())
	}
	cmd := newIntCmd("WAIT", numReplicas, ms)
	c(ctx, cmd)
	return cmd
}
