package cmdinfo

import (
	"slices"
	"strings"
	"testing"
)

func TestKnownCommands(t *testing.T) {
	tests := []struct {
		name     string
		arity    int
		has      Flags // all of these
		hasNot   Flags // none of these
		readOnly bool
		write    bool
		blocking bool
		group    string
	}{
		{name: "get", arity: 2, has: ReadOnly | Fast, readOnly: true, group: "string"},
		{name: "set", arity: -3, has: Write | DenyOOM, hasNot: ReadOnly, write: true, group: "string"},
		{name: "incr", arity: 2, has: Write | DenyOOM | Fast, write: true, group: "string"},
		{name: "blpop", arity: -3, has: Write | Blocking, write: true, blocking: true, group: "list"},
		{name: "brpop", arity: -3, has: Blocking, write: true, blocking: true, group: "list"},
		{name: "xread", arity: -4, has: ReadOnly | Blocking | Movablekeys, readOnly: true, blocking: true, group: "stream"},
		{name: "eval", arity: -3, has: NoScript | Movablekeys, group: "scripting"},
		{name: "client|kill", arity: -3, has: Admin | NoScript, group: "connection"},
		{name: "config|get", arity: -3, has: Admin | NoScript | Loading | Stale, group: "server"},
		{name: "subscribe", arity: -2, has: PubSub | NoScript, group: "pubsub"},
		{name: "multi", arity: 1, has: NoScript | Fast | AllowBusy, group: "transactions"},
		{name: "watch", arity: -2, has: NoScript | Fast | AllowBusy, group: "transactions"},
		{name: "save", arity: 1, has: Admin | NoScript | NoMulti, group: "server"},
		{name: "zunionstore", arity: -4, has: Write | DenyOOM | Movablekeys, write: true, group: "sorted-set"},
		{name: "ping", arity: -1, has: Fast, hasNot: Write | ReadOnly, group: "connection"},
		{name: "wait", arity: 3, has: NoScript, group: "generic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := Lookup(tt.name)
			if !ok {
				t.Fatalf("Lookup(%q) not found", tt.name)
			}
			if info.Name != tt.name {
				t.Errorf("Name = %q", info.Name)
			}
			if info.Arity != tt.arity {
				t.Errorf("Arity = %d, want %d", info.Arity, tt.arity)
			}
			if info.Flags&tt.has != tt.has {
				t.Errorf("Flags = %v, want all of %v", info.Flags, tt.has)
			}
			if info.Flags&tt.hasNot != 0 {
				t.Errorf("Flags = %v, want none of %v", info.Flags, tt.hasNot)
			}
			if info.IsReadOnly() != tt.readOnly || info.IsWrite() != tt.write || info.IsBlocking() != tt.blocking {
				t.Errorf("IsReadOnly, IsWrite, IsBlocking = %v, %v, %v; want %v, %v, %v",
					info.IsReadOnly(), info.IsWrite(), info.IsBlocking(), tt.readOnly, tt.write, tt.blocking)
			}
			if info.Group != tt.group {
				t.Errorf("Group = %q, want %q", info.Group, tt.group)
			}
			if info.Since == "" || info.Summary == "" {
				t.Errorf("Since = %q, Summary = %q: docs missing", info.Since, info.Summary)
			}
		})
	}
}

func TestDocsAndTips(t *testing.T) {
	get, _ := Lookup("get")
	if get.Since != "1.0.0" || !slices.Contains(get.ACLCategories, "read") {
		t.Errorf("get: Since %q, ACLCategories %q", get.Since, get.ACLCategories)
	}
	keys, _ := Lookup("keys")
	if !slices.Contains(keys.Tips, "request_policy:all_shards") {
		t.Errorf("keys: Tips = %q, want request_policy:all_shards", keys.Tips)
	}
	dbsize, _ := Lookup("dbsize")
	if !slices.Contains(dbsize.Tips, "response_policy:agg_sum") {
		t.Errorf("dbsize: Tips = %q, want response_policy:agg_sum", dbsize.Tips)
	}
	if georadius, _ := Lookup("georadius"); !georadius.Deprecated {
		t.Error("georadius is not marked deprecated")
	}
	if get.Deprecated {
		t.Error("get is marked deprecated")
	}
}

func TestLookupCase(t *testing.T) {
	for _, name := range []string{"GET", "Get", "get", "CLIENT|KILL", "Client|Kill", "client|kill"} {
		info, ok := Lookup(name)
		if !ok || info.Name != strings.ToLower(name) {
			t.Errorf("Lookup(%q) = %q, %v", name, info.Name, ok)
		}
	}
	for _, name := range []string{"", "nosuchcommand", "NOSUCHCOMMAND", "client kill", "client|", strings.Repeat("G", 100)} {
		if info, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) = %q, want not found", name, info.Name)
		}
	}
}

func TestLookupArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string // "" for not found
	}{
		{[]string{"GET", "k"}, "get"},
		{[]string{"CLIENT", "KILL", "ID", "1"}, "client|kill"},
		{[]string{"client", "Kill"}, "client|kill"},
		{[]string{"CONFIG", "get", "maxmemory"}, "config|get"},
		{[]string{"XINFO", "STREAM", "s"}, "xinfo|stream"},
		{[]string{"CLIENT"}, "client"},           // container without a subcommand
		{[]string{"CLIENT", "NOSUCH"}, "client"}, // unknown subcommand: the container
		{[]string{"GET", "KILL"}, "get"},         // not a container: args[1] is an argument
		{[]string{"SET", "k", "v"}, "set"},
		{[]string{"nosuch", "x"}, ""},
		{nil, ""},
		{[]string{"CLIENT", strings.Repeat("x", 80)}, "client"},
	}
	for _, tt := range tests {
		info, ok := LookupArgs(tt.args)
		if tt.want == "" {
			if ok {
				t.Errorf("LookupArgs(%q) = %q, want not found", tt.args, info.Name)
			}
			continue
		}
		if !ok || info.Name != tt.want {
			t.Errorf("LookupArgs(%q) = %q, %v; want %q", tt.args, info.Name, ok, tt.want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	clientKill := []string{"CLIENT", "KILL", "ID", "7"}
	allocs := testing.AllocsPerRun(100, func() {
		Lookup("get")
		Lookup("GET")
		Lookup("Client|Kill")
		Lookup("nosuch")
		LookupArgs(clientKill)
	})
	if allocs != 0 {
		t.Errorf("Lookup and LookupArgs allocate %v times per run, want 0", allocs)
	}
}

func TestTableShape(t *testing.T) {
	all := All()
	if len(all) < 200 {
		t.Fatalf("All() has %d commands, want hundreds", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b Info) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("All() is not sorted by name")
	}
	all[0].Name = "changed" // All returns a copy
	if first := All()[0]; first.Name == "changed" {
		t.Error("All() shares its slice with the table")
	}
	for _, info := range All() {
		if info.Name != strings.ToLower(info.Name) {
			t.Errorf("%q is not lower case", info.Name)
		}
		if got, ok := Lookup(info.Name); !ok || got.Name != info.Name {
			t.Errorf("Lookup(%q) = %q, %v", info.Name, got.Name, ok)
		}
		for _, sub := range info.Subcommands {
			parent, _, ok := strings.Cut(sub, "|")
			if !ok || parent != info.Name {
				t.Errorf("%s: subcommand %q is not named %s|...", info.Name, sub, info.Name)
			}
			if _, ok := Lookup(sub); !ok {
				t.Errorf("%s: subcommand %q is not in the table", info.Name, sub)
			}
		}
		if info.Group == "" {
			t.Errorf("%s: no group from COMMAND DOCS", info.Name)
		}
		if info.Flags.String() != "" && strings.Contains(info.Flags.String(), "0x") {
			t.Errorf("%s: unnamed flag bits in %v", info.Name, info.Flags)
		}
	}
}

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    fmtStringer
		want string
	}{
		{Flags(0), ""},
		{ReadOnly | Fast, "readonly|fast"},
		{Write | DenyOOM, "write|denyoom"},
		{Blocking, "blocking"},
		{Flags(1 << 31), "0x80000000"},
		{KeyRO | KeyAccess, "RO|access"},
		{KeyFlags(0), ""},
		{BeginKeyword, "keyword"},
		{FindKeynum, "keynum"},
		{FindUnknown, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

type fmtStringer interface{ String() string }
