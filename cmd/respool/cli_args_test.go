package main

import (
	"context"
	"slices"
	"testing"

	"github.com/respool/respool/respooltest"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		line string
		want []string // nil: refused
	}{
		{"", []string{}},
		{"   \t ", []string{}},
		{"SET k v", []string{"SET", "k", "v"}},
		{"  SET   k\tv  ", []string{"SET", "k", "v"}},
		{`SET "a b" 'c d'`, []string{"SET", "a b", "c d"}},
		{`"" ''`, []string{"", ""}},
		{`"\x41\x4a\x4B" "\n\r\t\b\a\\\"\q"`, []string{"AJK", "\n\r\t\b\a\\\"q"}},
		{`"\x4" "\xZZ"`, []string{"x4", "xZZ"}},
		{`'it\'s' 'a\b'`, []string{"it's", `a\b`}},
		{`a"b"c`, nil}, // as redis-cli: "Invalid argument(s)"
		{`"unterminated`, nil},
		{`'unterminated`, nil},
		{`"closed"x`, nil},
		{`'closed'x`, nil},
		{`"trailing\`, nil},
	}
	for _, tt := range tests {
		got, ok := splitArgs(tt.line)
		if tt.want == nil {
			if ok {
				t.Errorf("splitArgs(%q) = %q, want a refusal", tt.line, got)
			}
			continue
		}
		if !ok || !slices.Equal(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", tt.line, got, ok, tt.want)
		}
	}
}

// TestHelpTable builds the help from a real server's COMMAND DOCS, in
// both protocols, and checks the hints and completions it gives against
// redis-cli 7.0's, and that the built-in fallback knows the same commands.
func TestHelpTable(t *testing.T) {
	respooltest.RequireRedis(t)
	srv := respooltest.StartServer(t)
	ctx := context.Background()
	for _, proto := range []string{"-2", "-3"} {
		cfg, err := parseCLIArgs(append(hostPort(srv.Addr), proto), false, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		s := newSession(cfg, nil, nil)
		table := loadHelp(ctx, s)
		s.close()

		hints := []struct{ line, want string }{
			{"SET", " key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
			{"set k", " value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
			{"set k v ", "[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"},
			{"CONFIG GET", " parameter [parameter ...]"},
			// redis-cli 7.0's hint, odd as it is (a oneof of optional blocks).
			{"client kill", " ip:port|[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] [[ID client-id]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no] ...]"},
			{"ZADD k", " [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"},
			{"LPOS", " key element [RANK rank] [COUNT num-matches] [MAXLEN len]"},
			{"nosuchcommand", ""},
			{"", ""},
		}
		for _, h := range hints {
			if got := table.hint(h.line); got != h.want {
				t.Errorf("%s: hint(%q) = %q, want %q", proto, h.line, got, h.want)
			}
		}
		if got := table.complete("config ge"); !slices.Equal(got, []string{"CONFIG GET"}) {
			t.Errorf("%s: complete(config ge) = %q", proto, got)
		}
		if got := table.complete("lp"); !slices.Equal(got, []string{"LPOP", "LPOS", "LPUSH", "LPUSHX"}) {
			t.Errorf("%s: complete(lp) = %q", proto, got)
		}
		if got := table.complete("help  @strin"); !slices.Equal(got, []string{"help  @string"}) {
			t.Errorf("%s: complete(help  @strin) = %q", proto, got)
		}
		if got := table.complete("@strin"); len(got) != 0 {
			t.Errorf("%s: groups complete outside help: %q", proto, got)
		}

		fallback := helpFromTable()
		names := func(t helpTable) []string {
			var out []string
			for _, e := range t {
				out = append(out, e.full)
			}
			return out
		}
		if !slices.Equal(names(fallback), names(table)) {
			t.Errorf("%s: the built-in table has %d entries, COMMAND DOCS %d", proto, len(fallback), len(table))
		}
	}
}

// TestHelpWithoutServer falls back on the built-in table.
func TestHelpWithoutServer(t *testing.T) {
	cfg, err := parseCLIArgs(cliArgs("-p", "1"), false, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut waitWriter
	out.changed, errOut.changed = make(chan struct{}), make(chan struct{})
	s := newSession(cfg, &out, &errOut)
	s.printHelp(context.Background(), cliArgs("get"))
	if got := out.String(); got != "\r\n  \x1b[1mGET\x1b[0m \x1b[90m\x1b[0m\r\n  \x1b[33msummary:\x1b[0m Get the value of a key\r\n"+
		"  \x1b[33msince:\x1b[0m 1.0.0\r\n  \x1b[33mgroup:\x1b[0m string\r\n\r\n" {
		t.Errorf("HELP GET without a server: %q", got)
	}
	if errOut.String() != "" {
		t.Errorf("stderr %q", errOut.String())
	}
}
