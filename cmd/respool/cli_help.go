package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/respool/respool"
	"github.com/respool/respool/internal/cmdinfo"
	"github.com/respool/respool/resp"
)

// This file is the interactive mode's knowledge of commands: HELP, the
// hints shown as you type and tab completion, from the server's COMMAND
// DOCS as redis-cli 7.0 builds them (cliInitHelp, cliOutputHelp,
// hintsCallback, completionCallback), or from the command table respool
// was built with when the server cannot be asked.

// helpEntry is one command, subcommand ("CONFIG GET") or group ("@list").
type helpEntry struct {
	argv    []string // upper case: ["CONFIG", "GET"]; ["@list"] for a group
	full    string   // argv joined by spaces
	group   bool     // a group entry
	params  string   // "key value [NX|XX] ..."
	summary string
	since   string
	cmdGrp  string // the command's group
}

// helpTable is the sorted help entries.
type helpTable []helpEntry

// loadHelp asks the server for COMMAND DOCS on the session's connection
// and falls back on the built-in table (names, summaries, groups; no
// argument lists) when there is no connection or the server refuses.
func loadHelp(ctx context.Context, s *session) helpTable {
	if s.conn == nil {
		_ = s.connect(ctx, true)
	}
	if s.conn != nil {
		v, err := s.conn.Do(ctx, "COMMAND", "DOCS")
		if err == nil {
			if t := helpFromDocs(v); len(t) > 0 {
				return t
			}
		}
	}
	return helpFromTable()
}

// helpFromDocs builds the table from a COMMAND DOCS reply (a map, or in
// RESP2 a flat array of names and docs).
func helpFromDocs(v resp.Value) helpTable {
	var t helpTable
	groups := map[string]bool{}
	elems, _ := v.Elems()
	for i := 0; i+1 < len(elems); i += 2 {
		t = addDocsEntry(t, groups, elems[i].Text(), "", elems[i+1])
	}
	return t.withGroups(groups)
}

// addDocsEntry adds the command (or the subcommand "container|sub") and,
// recursively, its subcommands.
func addDocsEntry(t helpTable, groups map[string]bool, name, sub string, docs resp.Value) helpTable {
	e := helpEntry{argv: []string{strings.ToUpper(name)}}
	if sub != "" {
		_, s, _ := strings.Cut(sub, "|")
		e.argv = append(e.argv, strings.ToUpper(s))
	}
	e.full = strings.Join(e.argv, " ")
	fields, _ := docs.Elems()
	var subs []resp.Value
	for j := 0; j+1 < len(fields); j += 2 {
		val := fields[j+1]
		switch fields[j].Text() {
		case "summary":
			e.summary = val.Text()
		case "since":
			e.since = val.Text()
		case "group":
			e.cmdGrp = val.Text()
			groups[e.cmdGrp] = true
		case "arguments":
			args, _ := val.Elems()
			e.params = concatArguments(args, " ")
		case "subcommands":
			subs, _ = val.Elems()
		}
	}
	t = append(t, e)
	for j := 0; j+1 < len(subs); j += 2 {
		t = addDocsEntry(t, groups, name, subs[j].Text(), subs[j+1])
	}
	return t
}

// concatArguments is cliConcatArguments: each argument's syntax, apart by
// sep.
func concatArguments(args []resp.Value, sep string) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, argumentSyntax(a))
	}
	return strings.Join(parts, sep)
}

// argumentSyntax is cliAddArgument: "[TOKEN name [name ...]]" from one
// argument's docs (name, type, token, flags, nested arguments).
func argumentSyntax(a resp.Value) string {
	var (
		name, typ, token          string
		optional, multiple, multi bool
		nested                    []resp.Value
	)
	fields, _ := a.Elems()
	for j := 0; j+1 < len(fields); j += 2 {
		val := fields[j+1]
		switch fields[j].Text() {
		case "name":
			name = val.Text()
		case "type":
			typ = val.Text()
		case "token":
			token = orEmpty(val.Text())
		case "arguments":
			nested, _ = val.Elems()
		case "flags":
			flags, _ := val.Elems()
			for _, f := range flags {
				switch f.Text() {
				case "optional":
					optional = true
				case "multiple":
					multiple = true
				case "multiple_token":
					multi = true
				}
			}
		}
	}
	var repeat string
	switch typ {
	case "key", "string", "integer", "double", "pattern", "unix-time", "token":
		repeat = orEmpty(name)
	case "oneof":
		repeat = concatArguments(nested, "|")
	case "block":
		repeat = concatArguments(nested, " ")
	}
	if token != "" && typ != "pure-token" {
		token += " "
	}
	var b strings.Builder
	if optional {
		b.WriteString("[")
	}
	b.WriteString(token + repeat)
	if multiple {
		b.WriteString(" [")
		if multi {
			b.WriteString(token)
		}
		b.WriteString(repeat + " ...]")
	}
	if optional {
		b.WriteString("]")
	}
	return b.String()
}

// orEmpty is sdscat_orempty: an empty string shows as "".
func orEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// helpFromTable builds the table from the command table respool was
// built with (internal/cmdinfo, generated from redis-server's COMMAND
// DOCS): names, summaries, groups and versions, without argument lists.
func helpFromTable() helpTable {
	var t helpTable
	groups := map[string]bool{}
	for _, info := range cmdinfo.All() {
		e := helpEntry{summary: info.Summary, since: info.Since, cmdGrp: info.Group}
		for part := range strings.SplitSeq(info.Name, "|") {
			e.argv = append(e.argv, strings.ToUpper(part))
		}
		e.full = strings.Join(e.argv, " ")
		groups[info.Group] = true
		t = append(t, e)
	}
	return t.withGroups(groups)
}

// withGroups adds the "@group" entries and sorts the table.
func (t helpTable) withGroups(groups map[string]bool) helpTable {
	for g := range groups {
		if g != "" {
			t = append(t, helpEntry{argv: []string{"@" + g}, full: "@" + g, group: true})
		}
	}
	slices.SortFunc(t, func(a, b helpEntry) int { return strings.Compare(a.full, b.full) })
	return t
}

// printHelp is HELP (cliOutputHelp): with no argument a short text;
// "HELP @group" the commands of a group; "HELP cmd [sub]" each command
// whose name starts with those words.
func (s *session) printHelp(ctx context.Context, argv []string) {
	if len(argv) == 0 {
		fmt.Fprintf(s.out, "respool %s (redis-cli 7.0 compatible)\n"+
			"To get help about Redis commands type:\n"+
			"      \"help @<group>\" to get a list of commands in <group>\n"+
			"      \"help <command>\" for help on <command>\n"+
			"      \"help <tab>\" to get a list of possible help topics\n"+
			"      \"quit\" to exit\n"+
			"\n"+
			"To set preferences:\n"+
			"      \":set hints\" enable online hints\n"+
			"      \":set nohints\" disable online hints\n", respool.Version)
		return
	}
	if s.help == nil {
		s.help = loadHelp(ctx, s)
	}
	group, isGroup := strings.CutPrefix(argv[0], "@")
	for _, e := range s.help {
		if e.group {
			continue
		}
		switch {
		case isGroup:
			if strings.EqualFold(group, e.cmdGrp) {
				writeCommandHelp(s.out, e, false)
			}
		case len(argv) <= len(e.argv):
			match := true
			for j := range argv {
				if !strings.EqualFold(argv[j], e.argv[j]) {
					match = false
					break
				}
			}
			if match {
				writeCommandHelp(s.out, e, true)
			}
		}
	}
	io.WriteString(s.out, "\r\n")
}

// writeCommandHelp is cliOutputCommandHelp.
func writeCommandHelp(w io.Writer, e helpEntry, withGroup bool) {
	fmt.Fprintf(w, "\r\n  \x1b[1m%s\x1b[0m \x1b[90m%s\x1b[0m\r\n", e.full, e.params)
	fmt.Fprintf(w, "  \x1b[33msummary:\x1b[0m %s\r\n", e.summary)
	if e.since != "" {
		fmt.Fprintf(w, "  \x1b[33msince:\x1b[0m %s\r\n", e.since)
	}
	if withGroup {
		fmt.Fprintf(w, "  \x1b[33mgroup:\x1b[0m %s\r\n", e.cmdGrp)
	}
}

// hint is hintsCallback: for the longest command (or command and
// subcommand) that the typed words start with, the part of its syntax not
// typed yet, with a leading space unless the line ends in one. "" when
// nothing matches.
func (t helpTable) hint(line string) string {
	argv, ok := splitArgs(line)
	if !ok || len(argv) == 0 {
		return ""
	}
	var (
		entry    *helpEntry
		matchLen int
	)
	for i := range t {
		e := &t[i]
		if e.group || len(e.argv) > len(argv) || len(e.argv) <= matchLen {
			continue
		}
		match := true
		for j := range e.argv {
			if !strings.EqualFold(e.argv[j], argv[j]) {
				match = false
				break
			}
		}
		if match {
			entry, matchLen = e, len(e.argv)
		}
	}
	if entry == nil {
		return ""
	}
	hint := entry.params
	// Drop the arguments already typed, up to the first optional one.
	for toRemove := len(argv) - matchLen; toRemove > 0 && hint != ""; {
		if hint[0] == '[' {
			break
		}
		if hint[0] == ' ' {
			toRemove--
		}
		hint = hint[1:]
	}
	if !isSpace(line[len(line)-1]) {
		hint = " " + hint
	}
	return hint
}

// complete is completionCallback: the lines that complete line, in the
// table's order: line's start up to "help " (if any) followed by each
// entry (command, "COMMAND SUB", and after "help " the groups too) that
// the rest of line is a case-insensitive prefix of.
func (t helpTable) complete(line string) []string {
	start := 0
	withGroups := false
	if len(line) >= 5 && strings.EqualFold(line[:5], "help ") {
		start = 5
		for start < len(line) && isSpace(line[start]) {
			start++
		}
		withGroups = true
	}
	typed := line[start:]
	var out []string
	for _, e := range t {
		if e.group && !withGroups {
			continue
		}
		if len(e.full) >= len(typed) && strings.EqualFold(e.full[:len(typed)], typed) {
			out = append(out, line[:start]+e.full)
		}
	}
	return out
}
