package respool

import (
	"maps"
	"slices"
)

// Argument lists of the typed commands, built in one of two ways so that
// no list is grown or copied on its way into its Cmd.
//
// A list whose length depends on the caller's input (keys, members,
// field/value pairs) is allocated once, at its final size, by argvOf (or
// a make of its exact capacity), filled, and kept by the Cmd: newCmdArgv.
//
// A list of a few arguments and options, whose length has a small
// bound, is built in make([]any, 0, bound): its capacity is a constant,
// so the compiler keeps it on the caller's stack, and newCmd copies it
// into the command's own allocation. Up to six arguments share that
// allocation with the Cmd, so such a command allocates once.

// argvOf returns a new argument list holding head, with room for more
// arguments after it.
func argvOf(more int, head ...any) []any {
	argv := make([]any, len(head), len(head)+more)
	copy(argv, head)
	return argv
}

// appendStrings appends each of ss to argv.
func appendStrings(argv []any, ss []string) []any {
	argv = slices.Grow(argv, len(ss))
	for _, s := range ss {
		argv = append(argv, s)
	}
	return argv
}

// appendPairs appends field/value (or key/value) pairs given either as a
// flat list, or as a single map[string]any, map[string]string, []string
// or []any. Map entries are sent in key order, so the command is the same
// on every call.
func appendPairs(argv []any, values []any) []any {
	if len(values) == 1 {
		switch m := values[0].(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(m)) {
				argv = append(argv, k, m[k])
			}
			return argv
		case map[string]string:
			for _, k := range slices.Sorted(maps.Keys(m)) {
				argv = append(argv, k, m[k])
			}
			return argv
		case []string:
			return appendStrings(argv, m)
		case []any:
			return append(argv, m...)
		}
	}
	return append(argv, values...)
}

// pairsLen returns how many arguments appendPairs appends for values.
func pairsLen(values []any) int {
	if len(values) == 1 {
		switch m := values[0].(type) {
		case map[string]any:
			return 2 * len(m)
		case map[string]string:
			return 2 * len(m)
		case []string:
			return len(m)
		case []any:
			return len(m)
		}
	}
	return len(values)
}
