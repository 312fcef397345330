package cmdinfo

import (
	"fmt"
	"slices"
)

// How each command of the table gets its Class.
//
// The server's flags, ACL categories and documentation groups say which
// commands may touch their connection: those flagged blocking, pubsub or
// no_multi, and those in the connection, transaction, pubsub or blocking
// category or group. The flags do not say how (MULTI and PING are both
// fast connection commands), so every such command must be named in the
// overlay below, and a command of a newer table that is not fails the
// tests until someone decides it. Every other command is ordinary: no
// session effect, no timeout, may share a connection. A container (CLIENT,
// SCRIPT ...) is never named: its class is joined from its subcommands'.

// overlay decides the commands whose flags cannot say what they do to a
// connection. Each name is a command or subcommand of the table, named
// once; a test holds both to be true.
var overlay = []struct {
	class Class
	names []string
}{
	// Blocking commands, by where their timeout sits. WAIT is not flagged
	// blocking, yet waits for replicas. XREAD and XREADGROUP block only
	// with BLOCK, and without it may share a connection.
	{Class{Timeout: TimeoutLastSeconds}, []string{"blmove", "blpop", "brpop", "brpoplpush", "bzpopmax", "bzpopmin"}},
	{Class{Timeout: TimeoutArg1Seconds}, []string{"blmpop", "bzmpop"}},
	{Class{Timeout: TimeoutLastMilliseconds}, []string{"wait"}},
	{Class{Timeout: TimeoutBlockMilliseconds, Shared: true}, []string{"xread", "xreadgroup"}},

	// Transactions.
	{Class{Session: SessionMulti}, []string{"multi"}},
	{Class{Session: SessionEndMulti}, []string{"discard", "exec"}},
	{Class{Session: SessionWatch}, []string{"watch"}},
	{Class{Session: SessionUnwatch}, []string{"unwatch"}},

	// The connection turns to pushes: pub/sub, MONITOR, the replication
	// stream of SYNC and PSYNC.
	{Class{Session: SessionSubscribe}, []string{"monitor", "psubscribe", "psync", "ssubscribe", "subscribe", "sync"}},
	{Class{Session: SessionUnsubscribe}, []string{"punsubscribe", "sunsubscribe", "unsubscribe"}},

	// Settings the next user of the connection would inherit. REPLCONF
	// marks the connection as a replica's; SCRIPT DEBUG sends its next
	// EVAL to the Lua debugger; SWAPDB leaves the connection's database
	// holding other data, and retires it as a precaution.
	{Class{Session: SessionChange}, []string{
		"auth", "client|caching", "client|no-evict", "client|reply", "client|setname",
		"client|tracking", "hello", "readonly", "readwrite", "replconf", "reset",
		"script|debug", "select", "swapdb",
	}},
	{Class{Session: SessionClose}, []string{"quit"}},

	// No lasting effect, but each wants a connection of its own. ASKING
	// applies to the next command on the connection, whoever sends it.
	// CLIENT KILL may close the connection it runs on. CLIENT PAUSE,
	// UNPAUSE and UNBLOCK act on other clients, and must not queue behind
	// a command that a pause holds up. DEBUG (SLEEP, RELOAD ...), SAVE and
	// SHUTDOWN may hold the server past a shared connection's deadline,
	// which would fail every command on it.
	{Class{}, []string{
		"asking", "client|kill", "client|pause", "client|unblock", "client|unpause",
		"debug", "save", "shutdown",
	}},

	// Flagged or grouped with the commands above, yet ordinary: they
	// answer one reply and leave the connection as it was.
	{Class{Shared: true}, []string{
		"client|getname", "client|getredir", "client|help", "client|id", "client|info",
		"client|list", "client|trackinginfo",
		"command|count", "command|docs", "command|getkeys", "command|getkeysandflags",
		"command|help", "command|info", "command|list",
		"echo", "ping", "publish", "spublish",
		"pubsub|channels", "pubsub|help", "pubsub|numpat", "pubsub|numsub",
		"pubsub|shardchannels", "pubsub|shardnumsub",
	}},
}

// overlayClasses returns the overlay by name, and an error for each name
// it lists twice.
func overlayClasses() (map[string]Class, []error) {
	m := make(map[string]Class)
	var errs []error
	for _, g := range overlay {
		for _, name := range g.names {
			if _, dup := m[name]; dup {
				errs = append(errs, fmt.Errorf("respool: the class overlay names %q twice", name))
			}
			m[name] = g.class
		}
	}
	return m, errs
}

// undecided returns why the flags of a command that is not a container
// cannot decide its class, or "" when they can.
func undecided(info Info) string {
	switch {
	case info.Flags&Blocking != 0:
		return "is flagged blocking"
	case info.Flags&PubSub != 0:
		return "is flagged pubsub"
	case info.Flags&NoMulti != 0:
		return "is flagged no_multi"
	}
	for _, cat := range info.ACLCategories {
		switch cat {
		case "connection", "transaction", "pubsub", "blocking":
			return "is in @" + cat
		}
	}
	switch info.Group {
	case "connection", "transactions", "pubsub":
		return "is in the " + info.Group + " group"
	}
	return ""
}

// classifyAll decides the class of every command and subcommand in infos,
// by the rules above. A command they cannot decide gets the zero Class,
// which is the careful one, and an error; so does a container whose
// subcommands cannot be joined. infos is a whole table: every container's
// subcommands are in it.
func classifyAll(infos []Info) (map[string]Class, []error) {
	over, errs := overlayClasses()
	decided := make(map[string]Class, len(infos))
	for _, info := range infos {
		if info.IsContainer() {
			if _, ok := over[info.Name]; ok {
				errs = append(errs, fmt.Errorf("respool: the class overlay names %q, a container: name its subcommands", info.Name))
			}
			continue
		}
		c, ok := over[info.Name]
		if !ok {
			if why := undecided(info); why != "" {
				errs = append(errs, fmt.Errorf("respool: command %q %s; the class overlay must decide it", info.Name, why))
			} else {
				c = ordinary()
			}
		}
		decided[info.Name] = c
	}
	for _, info := range infos {
		if info.IsContainer() {
			c, err := join(info, decided)
			if err != nil {
				errs = append(errs, err)
			}
			decided[info.Name] = c
		}
	}
	return decided, errs
}

// join returns the class of a container: it shares a connection only if
// every subcommand does; its session effect is theirs if they agree, and
// SessionChange (retire the connection) if they do not; its subcommands
// must agree on their timeout.
func join(info Info, decided map[string]Class) (Class, error) {
	var c Class
	for i, name := range info.Subcommands {
		s, ok := decided[name]
		if !ok {
			return Class{}, fmt.Errorf("respool: container %q lists %q, which has no class", info.Name, name)
		}
		if i == 0 {
			c = s
			continue
		}
		c.Shared = c.Shared && s.Shared
		if s.Session != c.Session {
			c.Session = SessionChange
		}
		if s.Timeout != c.Timeout {
			return Class{}, fmt.Errorf("respool: the subcommands of %q block in different ways", info.Name)
		}
	}
	return c, nil
}

// overlayNames returns every name the overlay lists, sorted.
func overlayNames() []string {
	var names []string
	for _, g := range overlay {
		names = append(names, g.names...)
	}
	slices.Sort(names)
	return names
}
