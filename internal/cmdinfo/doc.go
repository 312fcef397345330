// Package cmdinfo describes every Redis command: its arity, its flags
// (read-only, write, blocking ...), where its key arguments are, and the
// cluster routing tips the server publishes.
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
