package cmdinfo

import (
	"strings"
	"testing"
	"time"
)

// TestEveryCommandClassified fails when a command of the table has no
// class decided by rule or overlay: a table generated from a newer server
// brings commands someone has to decide.
func TestEveryCommandClassified(t *testing.T) {
	decided, errs := classifyAll(commands)
	for _, err := range errs {
		t.Error(err)
	}
	for _, info := range commands {
		c, ok := decided[info.Name]
		if !ok {
			t.Errorf("%s: no class", info.Name)
			continue
		}
		if got, _ := LookupClass(info.Name); got != c {
			t.Errorf("LookupClass(%q) = %v, classifyAll says %v", info.Name, got, c)
		}
		if c.Shared && (c.Session != SessionNone || (c.Timeout != TimeoutNone && c.Timeout != TimeoutBlockMilliseconds)) {
			t.Errorf("%s: %v shares a connection with a session effect or a fixed timeout", info.Name, c)
		}
		if info.IsBlocking() && c.Timeout == TimeoutNone {
			t.Errorf("%s: flagged blocking, but its class has no timeout", info.Name)
		}
	}
}

// TestOverlayNamesTableCommands: every name in the overlay is a command or
// subcommand of the table, in its lower-case form, not a container, and
// named once.
func TestOverlayNamesTableCommands(t *testing.T) {
	if _, errs := overlayClasses(); len(errs) > 0 {
		t.Error(errs)
	}
	for _, name := range overlayNames() {
		info, ok := Lookup(name)
		switch {
		case !ok:
			t.Errorf("the overlay names %q, which the table does not know", name)
		case info.Name != name:
			t.Errorf("the overlay names %q, the table %q", name, info.Name)
		case info.IsContainer():
			t.Errorf("the overlay names the container %q", name)
		}
	}
}

// TestClassRules shows the rules at work on commands a newer table might
// bring: the flags that may mean an effect on the connection leave a
// command undecided until the overlay names it.
func TestClassRules(t *testing.T) {
	undecidedCases := []Info{
		{Name: "bnewpop", Flags: Write | Blocking},
		{Name: "xsubscribe", Flags: PubSub},
		{Name: "resync", Flags: Admin | NoMulti},
		{Name: "client|newthing", ACLCategories: []string{"slow", "connection"}},
		{Name: "multi2", ACLCategories: []string{"transaction"}},
		{Name: "xpublish", ACLCategories: []string{"pubsub"}},
		{Name: "bwait", ACLCategories: []string{"blocking"}},
		{Name: "greet", Group: "connection"},
	}
	for _, info := range undecidedCases {
		decided, errs := classifyAll([]Info{info})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), info.Name) {
			t.Errorf("%s (%v %v %q): errors %v, want one naming it", info.Name, info.Flags, info.ACLCategories, info.Group, errs)
		}
		if c := decided[info.Name]; c != (Class{}) {
			t.Errorf("%s undecided: class %v, want the zero (careful) Class", info.Name, c)
		}
	}

	// Other flags do not stop the rules: an ordinary command.
	plain := Info{Name: "newget", Flags: ReadOnly | Fast | Admin | Loading | Stale, ACLCategories: []string{"read", "string"}}
	if decided, errs := classifyAll([]Info{plain}); len(errs) > 0 || decided["newget"] != ordinary() {
		t.Errorf("newget: %v %v, want ordinary", decided["newget"], errs)
	}

	// A container joins its subcommands: the most careful of them.
	subs := []Info{
		{Name: "box", Subcommands: []string{"box|id", "box|setname"}},
		{Name: "box|id"},
		{Name: "box|setname", Group: "connection"},
	}
	if _, errs := classifyAll(subs); len(errs) != 1 {
		t.Errorf("box|setname is undecided: errors %v", errs)
	}
	decided := map[string]Class{"box|id": ordinary(), "box|setname": {Session: SessionChange}}
	if c, err := join(subs[0], decided); err != nil || c != (Class{Session: SessionChange}) {
		t.Errorf("join(box) = %v, %v; want a session change, exclusive", c, err)
	}
	decided["box|setname"] = Class{Timeout: TimeoutLastSeconds}
	if _, err := join(subs[0], decided); err == nil {
		t.Error("join of a blocking and a non-blocking subcommand: no error")
	}
	if c, err := join(Info{Name: "box", Subcommands: []string{"box|id"}}, decided); err != nil || c != ordinary() {
		t.Errorf("join(box of ordinary) = %v, %v; want ordinary", c, err)
	}

	// The overlay may not name a container.
	if _, errs := classifyAll([]Info{{Name: "client", Subcommands: []string{"client|setname"}}, {Name: "client|setname"}}); len(errs) != 0 {
		t.Errorf("unexpected errors %v", errs)
	}
	if _, errs := classifyAll([]Info{{Name: "auth", Subcommands: []string{"auth|x"}}, {Name: "auth|x"}}); len(errs) != 1 {
		t.Errorf("an overlay name used as a container: errors %v, want one", errs)
	}
}

// Shorthands for the expected classes.
var (
	plainClass     = Class{Shared: true}
	exclusiveClass = Class{}
)

func session(s Session) Class { return Class{Session: s} }

// classCases are command lines and their classes: one for every name in the
// overlay (TestClassOfCoversOverlay checks it), the containers, commands
// the table does not know, names in mixed case, as []byte, and names of
// other types.
var classCases = []struct {
	args []any
	want Class
}{
	// Blocking commands.
	{[]any{"BLMOVE", "a", "b", "LEFT", "RIGHT", "1.5"}, Class{Timeout: TimeoutLastSeconds}},
	{[]any{"BLPOP", "k1", "k2", "1.5"}, Class{Timeout: TimeoutLastSeconds}},
	{[]any{"brpop", "k", "0"}, Class{Timeout: TimeoutLastSeconds}},
	{[]any{"BRPOPLPUSH", "a", "b", "1"}, Class{Timeout: TimeoutLastSeconds}},
	{[]any{"BZPOPMAX", "z", "1"}, Class{Timeout: TimeoutLastSeconds}},
	{[]any{[]byte("bzPopMin"), "z", "1"}, Class{Timeout: TimeoutLastSeconds}},
	{[]any{"BLMPOP", "0", "2", "k1", "k2", "LEFT"}, Class{Timeout: TimeoutArg1Seconds}},
	{[]any{"BZMPOP", "1", "1", "z", "MIN"}, Class{Timeout: TimeoutArg1Seconds}},
	{[]any{"WAIT", "1", "100"}, Class{Timeout: TimeoutLastMilliseconds}},
	{[]any{"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "0"}, Class{Timeout: TimeoutBlockMilliseconds, Shared: true}},
	{[]any{"xreadgroup", "GROUP", "g", "c", "STREAMS", "s", ">"}, Class{Timeout: TimeoutBlockMilliseconds, Shared: true}},

	// Transactions.
	{[]any{"MULTI"}, session(SessionMulti)},
	{[]any{"exec"}, session(SessionEndMulti)},
	{[]any{"Discard"}, session(SessionEndMulti)},
	{[]any{"WATCH", "k"}, session(SessionWatch)},
	{[]any{"UNWATCH"}, session(SessionUnwatch)},

	// Pushes.
	{[]any{"SUBSCRIBE", "c"}, session(SessionSubscribe)},
	{[]any{"psubscribe", "p*"}, session(SessionSubscribe)},
	{[]any{[]byte("SSUBSCRIBE"), "c"}, session(SessionSubscribe)},
	{[]any{"MONITOR"}, session(SessionSubscribe)},
	{[]any{"SYNC"}, session(SessionSubscribe)},
	{[]any{"PSYNC", "?", "-1"}, session(SessionSubscribe)},
	{[]any{"UNSUBSCRIBE"}, session(SessionUnsubscribe)},
	{[]any{"PUNSUBSCRIBE", "p*"}, session(SessionUnsubscribe)},
	{[]any{"sunsubscribe", "c"}, session(SessionUnsubscribe)},

	// Session settings.
	{[]any{"AUTH", "pw"}, session(SessionChange)},
	{[]any{"HELLO", "3"}, session(SessionChange)},
	{[]any{"select", "1"}, session(SessionChange)},
	{[]any{"RESET"}, session(SessionChange)},
	{[]any{"READONLY"}, session(SessionChange)},
	{[]any{"READWRITE"}, session(SessionChange)},
	{[]any{"REPLCONF", "listening-port", "6380"}, session(SessionChange)},
	{[]any{"SWAPDB", "0", "1"}, session(SessionChange)},
	{[]any{"SCRIPT", "DEBUG", "YES"}, session(SessionChange)},
	{[]any{"CLIENT", "SETNAME", "n"}, session(SessionChange)},
	{[]any{"client", "tracking", "on"}, session(SessionChange)},
	{[]any{"CLIENT", "CACHING", "yes"}, session(SessionChange)},
	{[]any{"CLIENT", "REPLY", "OFF"}, session(SessionChange)},
	{[]any{[]byte("Client"), []byte("No-Evict"), "ON"}, session(SessionChange)},
	{[]any{"QUIT"}, session(SessionClose)},

	// Exclusive, no lasting effect.
	{[]any{"ASKING"}, exclusiveClass},
	{[]any{"CLIENT", "KILL", "ID", "7"}, exclusiveClass},
	{[]any{"CLIENT", "PAUSE", "100"}, exclusiveClass},
	{[]any{"CLIENT", "UNPAUSE"}, exclusiveClass},
	{[]any{"CLIENT", "UNBLOCK", "7"}, exclusiveClass},
	{[]any{"DEBUG", "SLEEP", "0"}, exclusiveClass},
	{[]any{"SAVE"}, exclusiveClass},
	{[]any{"SHUTDOWN", "NOSAVE"}, exclusiveClass},

	// Decided as ordinary.
	{[]any{"CLIENT", "ID"}, plainClass},
	{[]any{"client", "getname"}, plainClass},
	{[]any{"CLIENT", "GETREDIR"}, plainClass},
	{[]any{"CLIENT", "HELP"}, plainClass},
	{[]any{"CLIENT", "INFO"}, plainClass},
	{[]any{"CLIENT", "LIST"}, plainClass},
	{[]any{"CLIENT", []byte("trackinginfo")}, plainClass},
	{[]any{"COMMAND", "COUNT"}, plainClass},
	{[]any{"COMMAND", "DOCS", "get"}, plainClass},
	{[]any{"COMMAND", "GETKEYS", "get", "k"}, plainClass},
	{[]any{"COMMAND", "GETKEYSANDFLAGS", "get", "k"}, plainClass},
	{[]any{"COMMAND", "HELP"}, plainClass},
	{[]any{"COMMAND", "INFO", "get"}, plainClass},
	{[]any{"command", "list"}, plainClass},
	{[]any{"ECHO", "x"}, plainClass},
	{[]any{"PING"}, plainClass},
	{[]any{"PUBLISH", "c", "m"}, plainClass},
	{[]any{"SPUBLISH", "c", "m"}, plainClass},
	{[]any{"PUBSUB", "CHANNELS"}, plainClass},
	{[]any{"PUBSUB", "HELP"}, plainClass},
	{[]any{"PUBSUB", "NUMPAT"}, plainClass},
	{[]any{"PUBSUB", "NUMSUB", "c"}, plainClass},
	{[]any{"PUBSUB", "SHARDCHANNELS"}, plainClass},
	{[]any{"PUBSUB", "SHARDNUMSUB", "c"}, plainClass},

	// Containers: by the subcommand, else the most careful of them.
	{[]any{"CLIENT"}, session(SessionChange)},
	{[]any{"CLIENT", "SETINFO", "lib-name", "x"}, session(SessionChange)}, // a newer server's
	{[]any{"CLIENT", 7}, session(SessionChange)},
	{[]any{"SCRIPT", "LOAD", "return 1"}, plainClass},
	{[]any{"SCRIPT"}, session(SessionChange)},
	{[]any{"CONFIG", "SET", "x", "y"}, plainClass},
	{[]any{"config"}, plainClass},
	{[]any{"XINFO", "STREAM", "s"}, plainClass},

	// Ordinary commands, in any case and type.
	{[]any{"GET", "k"}, plainClass},
	{[]any{"get", "k"}, plainClass},
	{[]any{"gEt"}, plainClass},
	{[]any{[]byte("GET"), "k"}, plainClass},
	{[]any{"HGETALL", "h"}, plainClass},
	{[]any{"zrangebyscore", "z", "0", "1"}, plainClass},
	{[]any{"GEORADIUS_RO", "g", "0", "0", "1", "km"}, plainClass},
	{[]any{"RESTORE-ASKING", "k", "0", "x"}, plainClass},

	// Commands the table does not know are ordinary.
	{[]any{"JSON.GET", "k"}, plainClass},
	{[]any{"EXECUTE"}, plainClass},
	{[]any{"MULTIX"}, plainClass},
	{[]any{""}, plainClass},
	{[]any{strings.Repeat("x", 100)}, plainClass},

	// Names of no usable type, and no name.
	{nil, exclusiveClass},
	{[]any{}, exclusiveClass},
	{[]any{42}, exclusiveClass},
	{[]any{nil}, exclusiveClass},
	{[]any{struct{}{}, "k"}, exclusiveClass},
}

func TestClassOf(t *testing.T) {
	for _, tc := range classCases {
		if got := ClassOf(tc.args); got != tc.want {
			t.Errorf("ClassOf(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestClassOfCoversOverlay: classCases has a command line for every name
// in the overlay, so each overlay entry is tested through ClassOf.
func TestClassOfCoversOverlay(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range classCases {
		var args []string
		for _, a := range tc.args[:min(2, len(tc.args))] {
			switch v := a.(type) {
			case string:
				args = append(args, v)
			case []byte:
				args = append(args, string(v))
			}
		}
		if info, ok := LookupArgs(args); ok {
			covered[info.Name] = true
		}
	}
	for _, name := range overlayNames() {
		if !covered[name] {
			t.Errorf("no case in classCases for %q", name)
		}
	}
}

// TestClassOfEveryName checks the index against the table: every command
// and subcommand, in lower, upper and mixed case, as a string and as a
// []byte, has the class LookupClass gives.
func TestClassOfEveryName(t *testing.T) {
	mixed := func(s string) string {
		b := []byte(s)
		for i := range b {
			if i%2 == 0 {
				b[i] = strings.ToUpper(string(b[i]))[0]
			}
		}
		return string(b)
	}
	for _, info := range commands {
		want, _ := LookupClass(info.Name)
		words := strings.SplitN(info.Name, "|", 2)
		for _, form := range []func(string) string{strings.ToLower, strings.ToUpper, mixed} {
			var asString, asBytes []any
			for _, w := range words {
				asString = append(asString, form(w))
				asBytes = append(asBytes, []byte(form(w)))
			}
			if got := ClassOf(asString); got != want {
				t.Errorf("ClassOf(%q) = %v, want %v", asString, got, want)
			}
			if got := ClassOf(asBytes); got != want {
				t.Errorf("ClassOf(%q as []byte) = %v, want %v", asString, got, want)
			}
		}
	}
	if _, ok := LookupClass("nosuchcommand"); ok {
		t.Error("LookupClass(nosuchcommand) found a class")
	}
	if c, ok := LookupClass("CLIENT|SETNAME"); !ok || c != session(SessionChange) {
		t.Errorf("LookupClass(CLIENT|SETNAME) = %v, %v", c, ok)
	}
}

func TestTimeoutArg(t *testing.T) {
	tests := []struct {
		args []any
		i    int
		unit time.Duration
	}{
		{[]any{"BLPOP", "k1", "k2", "1.5"}, 3, time.Second},
		{[]any{"BRPOP", "k", 0}, 2, time.Second},
		{[]any{"BLMOVE", "a", "b", "LEFT", "RIGHT", "0"}, 5, time.Second},
		{[]any{"BLMPOP", "0", "2", "k1", "k2", "LEFT"}, 1, time.Second},
		{[]any{"BZMPOP", "2.5", "1", "z", "MAX", "COUNT", "3"}, 1, time.Second},
		{[]any{"WAIT", "1", "100"}, 2, time.Millisecond},
		{[]any{"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "0"}, 4, time.Millisecond},
		{[]any{"xreadgroup", "GROUP", "g", "c", "block", 250, "STREAMS", "s", ">"}, 5, time.Millisecond},
		{[]any{"XREAD", []byte("Block"), "10", "STREAMS", "s", "0"}, 2, time.Millisecond},
		// No timeout: XREAD without BLOCK, or "block" as a stream name.
		{[]any{"XREAD", "COUNT", "1", "STREAMS", "s", "0"}, -1, 0},
		{[]any{"XREAD", "STREAMS", "block", "0"}, -1, 0},
		{[]any{"XREAD", "BLOCK"}, -1, 0},
		// Too few arguments, and commands that do not block.
		{[]any{"BLPOP"}, -1, 0},
		{[]any{"BLMPOP"}, -1, 0},
		{[]any{"WAIT"}, -1, 0},
		{[]any{"GET", "k"}, -1, 0},
		{[]any{"LPOP", "k", "1"}, -1, 0},
	}
	for _, tt := range tests {
		i, unit := ClassOf(tt.args).Timeout.Arg(tt.args)
		if i != tt.i || unit != tt.unit {
			t.Errorf("%q: Arg = %d, %v; want %d, %v", tt.args, i, unit, tt.i, tt.unit)
		}
	}
}

func TestClassStrings(t *testing.T) {
	for s := range Session(numSessions) {
		if s.String() == "" || strings.HasPrefix(s.String(), "session(") {
			t.Errorf("Session %d has no name", s)
		}
	}
	for tm := range Timeout(numTimeouts) {
		if tm.String() == "" || strings.HasPrefix(tm.String(), "timeout(") {
			t.Errorf("Timeout %d has no name", tm)
		}
	}
	if got := Session(200).String(); got != "session(200)" {
		t.Errorf("Session(200) = %q", got)
	}
	if got := Timeout(12).String(); got != "timeout(12)" {
		t.Errorf("Timeout(12) = %q", got)
	}
	if got := (Class{Session: SessionEndMulti}).String(); got != "session=end-multi timeout=none exclusive" {
		t.Errorf("Class.String() = %q", got)
	}
	if got := (Class{Timeout: TimeoutBlockMilliseconds, Shared: true}).String(); got != "session=none timeout=block-milliseconds shared" {
		t.Errorf("Class.String() = %q", got)
	}
}

func TestClassOfDoesNotAllocate(t *testing.T) {
	lines := [][]any{
		{"GET", "k"},
		{"get", "k"},
		{[]byte("hgetall"), "h"},
		{"client", "setname", "n"},
		{[]byte("CLIENT"), []byte("id")},
		{"XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "0"},
		{"NOSUCHCOMMAND"},
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, args := range lines {
			c := ClassOf(args)
			c.Timeout.Arg(args)
		}
	})
	if allocs != 0 {
		t.Errorf("ClassOf allocates %v times", allocs)
	}
}

func BenchmarkClassOf(b *testing.B) {
	for _, bc := range []struct {
		name string
		args []any
	}{
		{"GET", []any{"GET"}},
		{"get", []any{"get", "k"}},
		{"HGETALL", []any{"HGETALL", "h"}},
		{"zrangebyscore", []any{"zrangebyscore", "z", "0", "1"}},
		{"bytes-SET", []any{[]byte("SET"), "k", "v"}},
		{"MULTI", []any{"MULTI"}},
		{"CLIENT-SETNAME", []any{"CLIENT", "SETNAME", "n"}},
		{"BLPOP", []any{"BLPOP", "k", "1"}},
		{"unknown", []any{"JSON.GET", "k"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ClassOf(bc.args)
			}
		})
	}
}
