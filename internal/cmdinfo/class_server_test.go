package cmdinfo

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// cliJSON runs redis-cli --json (RESP3) against the server and decodes
// its output into v.
func cliJSON(t *testing.T, port int, v any, args ...string) {
	t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(port), "--json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("redis-cli --json %q: %v", args, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("redis-cli --json %q: %v\n%.300s", args, err, out)
	}
}

// liveInfo turns one COMMAND INFO entry (and its subcommands, appended
// after it) into Infos with what the class rules read: name, flags, ACL
// categories and subcommands.
func liveInfo(t *testing.T, entry []any, infos *[]Info) {
	t.Helper()
	if len(entry) < 10 {
		t.Fatalf("COMMAND INFO entry %v: want 10 fields", entry)
	}
	name, _ := entry[0].(string)
	info := Info{Name: strings.ToLower(name)}
	for _, f := range entry[2].([]any) {
		bit := slices.Index(flagNames[:], f.(string))
		if bit < 0 {
			t.Errorf("%s: flag %q unknown to cmdinfo", info.Name, f)
			continue
		}
		info.Flags |= 1 << bit
	}
	for _, c := range entry[6].([]any) {
		info.ACLCategories = append(info.ACLCategories, strings.TrimPrefix(c.(string), "@"))
	}
	var subs []Info
	for _, sub := range entry[9].([]any) {
		liveInfo(t, sub.([]any), &subs)
	}
	for _, s := range subs {
		info.Subcommands = append(info.Subcommands, s.Name)
	}
	slices.Sort(info.Subcommands)
	*infos = append(*infos, info)
	*infos = append(*infos, subs...)
}

// liveGroups collects the documentation group of every command and
// subcommand of a COMMAND DOCS reply.
func liveGroups(docs map[string]any, groups map[string]string) {
	for name, d := range docs {
		fields, _ := d.(map[string]any)
		group, _ := fields["group"].(string)
		groups[strings.ToLower(name)] = group
		if subs, ok := fields["subcommands"].(map[string]any); ok {
			liveGroups(subs, groups)
		}
	}
}

// TestClassesCoverServer reads COMMAND INFO and COMMAND DOCS from a real
// redis-server and fails when one of its commands or subcommands has no
// class: one the table lacks, or one the class rules cannot decide from
// the server's own flags. It also checks that those flags give the class
// the table has.
func TestClassesCoverServer(t *testing.T) {
	port := startServer(t)

	var entries [][]any
	cliJSON(t, port, &entries, "COMMAND", "INFO")
	var docs map[string]any
	cliJSON(t, port, &docs, "COMMAND", "DOCS")
	if len(entries) == 0 || len(docs) == 0 {
		t.Fatalf("COMMAND INFO gave %d commands, COMMAND DOCS %d", len(entries), len(docs))
	}

	var infos []Info
	for _, e := range entries {
		liveInfo(t, e, &infos)
	}
	groups := map[string]string{}
	liveGroups(docs, groups)
	for i := range infos {
		group, ok := groups[infos[i].Name]
		if !ok {
			t.Errorf("%s: in COMMAND INFO, not in COMMAND DOCS", infos[i].Name)
		}
		infos[i].Group = group
		delete(groups, infos[i].Name)
	}
	for name := range groups {
		t.Errorf("%s: in COMMAND DOCS, not in COMMAND INFO, so it has no class", name)
	}

	decided, errs := classifyAll(infos)
	for _, err := range errs {
		t.Error(err)
	}
	for _, info := range infos {
		want, ok := LookupClass(info.Name)
		if !ok {
			t.Errorf("%s: on the server, not in the table (generated from %s): it has no class; run go generate", info.Name, ServerVersion)
			continue
		}
		if got := decided[info.Name]; got != want {
			t.Errorf("%s: the server's flags give %v, the table %v", info.Name, got, want)
		}
	}
	t.Logf("%d commands and subcommands classified", len(infos))
}
