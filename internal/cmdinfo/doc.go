// Package cmdinfo describes every Redis command: its arity, its flags
// (read-only, write, blocking ...), where its key arguments are, and the
// cluster routing tips the server publishes.
//
// It also gives each command a Class: what it does to the session state
// of its connection, where a blocking command's timeout is, and whether it
// may share a connection with other callers' commands (ClassOf). Classes
// are derived at init from the table's flags, ACL categories and groups,
// with a small hand-written overlay for what those cannot say
// (class_rules.go); the tests fail when a command is left undecided.
//
// The table is generated from a real server's own COMMAND INFO and COMMAND
// DOCS replies (see gen/main.go) and checked in as commands_gen.go, so the
// client never guesses what a command does. To regenerate it against the
// redis-server on PATH:
//
//	go generate ./internal/cmdinfo
//
// The package holds no mutable state: the table and the index built from it
// at init are read-only, and everything here is safe for concurrent use.
package cmdinfo

//go:generate go run ./gen -o commands_gen.go
