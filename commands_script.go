package respool

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/respool/respool/resp"
)

// Scripting and function commands. Their replies are whatever the script
// returns, so they come back as the raw resp.Value: a null reply (a Lua
// nil or false) is a value, not an error.

// evalArgv builds NAME script|sha numkeys key... arg...
func evalArgv(name, scriptOrSHA string, keys []string, args []any) []any {
	argv := make([]any, 0, 3+len(keys)+len(args))
	argv = append(argv, name, scriptOrSHA, len(keys))
	for _, k := range keys {
		argv = append(argv, k)
	}
	return append(argv, args...)
}

// Eval runs a Lua script (loading it into the script cache) with keys and
// args and returns its reply.
func (c cmdable) Eval(ctx context.Context, script string, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := newCmdArgv(DecodeValue, evalArgv("EVAL", script, keys, args))
	c(ctx, cmd)
	return cmd
}

// EvalSha runs a cached script by its SHA1 hex digest; the error is an
// *Error with prefix NOSCRIPT when the server does not have it.
func (c cmdable) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := newCmdArgv(DecodeValue, evalArgv("EVALSHA", sha1, keys, args))
	c(ctx, cmd)
	return cmd
}

// EvalRO is Eval for a script that does not write (runs on replicas).
func (c cmdable) EvalRO(ctx context.Context, script string, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := newCmdArgv(DecodeValue, evalArgv("EVAL_RO", script, keys, args))
	c(ctx, cmd)
	return cmd
}

// EvalShaRO is EvalSha for a script that does not write.
func (c cmdable) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := newCmdArgv(DecodeValue, evalArgv("EVALSHA_RO", sha1, keys, args))
	c(ctx, cmd)
	return cmd
}

// ScriptLoad loads a script into the script cache and returns its SHA1
// hex digest.
func (c cmdable) ScriptLoad(ctx context.Context, script string) *Cmd[string] {
	cmd := newStringCmd("SCRIPT", "LOAD", script)
	c(ctx, cmd)
	return cmd
}

// ScriptExists reports, for each digest in order, whether the script is
// in the cache.
func (c cmdable) ScriptExists(ctx context.Context, hashes ...string) *Cmd[[]bool] {
	cmd := borrowing(newCmdArgv(DecodeBools, appendStrings(argvOf(len(hashes), "SCRIPT", "EXISTS"), hashes)))
	c(ctx, cmd)
	return cmd
}

// ScriptFlush empties the script cache of the whole server (every client's
// scripts).
func (c cmdable) ScriptFlush(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("SCRIPT", "FLUSH")
	c(ctx, cmd)
	return cmd
}

// ScriptKill stops the script running now, if it has not written yet.
func (c cmdable) ScriptKill(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("SCRIPT", "KILL")
	c(ctx, cmd)
	return cmd
}

// FCall calls a library function with keys and args and returns its reply.
func (c cmdable) FCall(ctx context.Context, function string, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := newCmdArgv(DecodeValue, evalArgv("FCALL", function, keys, args))
	c(ctx, cmd)
	return cmd
}

// FCallRO is FCall for a function flagged no-writes.
func (c cmdable) FCallRO(ctx context.Context, function string, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := newCmdArgv(DecodeValue, evalArgv("FCALL_RO", function, keys, args))
	c(ctx, cmd)
	return cmd
}

// FunctionLoad loads a library (code starting "#!lua name=...") and
// returns its name; an error when a library of that name exists.
func (c cmdable) FunctionLoad(ctx context.Context, code string) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "LOAD", code)
	c(ctx, cmd)
	return cmd
}

// FunctionLoadReplace is FunctionLoad replacing a library of the same name.
func (c cmdable) FunctionLoadReplace(ctx context.Context, code string) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "LOAD", "REPLACE", code)
	c(ctx, cmd)
	return cmd
}

// FunctionDelete deletes a library and its functions.
func (c cmdable) FunctionDelete(ctx context.Context, libName string) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "DELETE", libName)
	c(ctx, cmd)
	return cmd
}

// FunctionFlush deletes every library of the server.
func (c cmdable) FunctionFlush(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "FLUSH")
	c(ctx, cmd)
	return cmd
}

// FunctionFlushAsync is FunctionFlush freeing the libraries in the
// background.
func (c cmdable) FunctionFlushAsync(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "FLUSH", "ASYNC")
	c(ctx, cmd)
	return cmd
}

// FunctionKill stops the function running now, if it has not written yet.
func (c cmdable) FunctionKill(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "KILL")
	c(ctx, cmd)
	return cmd
}

// FunctionListQuery filters FUNCTION LIST: libraries whose name matches
// LibraryNamePattern (all when empty), with their code when WithCode.
type FunctionListQuery struct {
	LibraryNamePattern string
	WithCode           bool
}

// FunctionList describes the loaded libraries, as the raw reply (a list
// of maps, or flat arrays of pairs under RESP2).
func (c cmdable) FunctionList(ctx context.Context, q FunctionListQuery) *Cmd[resp.Value] {
	argv := append(make([]any, 0, 5), "FUNCTION", "LIST")
	if q.LibraryNamePattern != "" {
		argv = append(argv, "LIBRARYNAME", q.LibraryNamePattern)
	}
	if q.WithCode {
		argv = append(argv, "WITHCODE")
	}
	cmd := newCmd(DecodeValue, argv...)
	c(ctx, cmd)
	return cmd
}

// FunctionDump returns a serialized payload of every library, for
// FunctionRestore.
func (c cmdable) FunctionDump(ctx context.Context) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "DUMP")
	c(ctx, cmd)
	return cmd
}

// FunctionRestore loads the libraries of a FunctionDump payload; it fails
// when one of them exists (the server's default APPEND policy).
func (c cmdable) FunctionRestore(ctx context.Context, libDump string) *Cmd[string] {
	cmd := newStringCmd("FUNCTION", "RESTORE", libDump)
	c(ctx, cmd)
	return cmd
}

// FunctionStats returns FUNCTION STATS as the raw reply.
func (c cmdable) FunctionStats(ctx context.Context) *Cmd[resp.Value] {
	cmd := newCmd(DecodeValue, "FUNCTION", "STATS")
	c(ctx, cmd)
	return cmd
}

// Scripter runs scripts: Client, Pipeline and Tx implement it.
type Scripter interface {
	Eval(ctx context.Context, script string, keys []string, args ...any) *Cmd[resp.Value]
	EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *Cmd[resp.Value]
	EvalRO(ctx context.Context, script string, keys []string, args ...any) *Cmd[resp.Value]
	EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *Cmd[resp.Value]
	ScriptLoad(ctx context.Context, script string) *Cmd[string]
	ScriptExists(ctx context.Context, hashes ...string) *Cmd[[]bool]
}

var _ Scripter = cmdable(nil)

// Script is a Lua script sent by its digest, with its source as the
// fallback. A Script is immutable and safe for concurrent use.
type Script struct {
	src  string
	hash string
}

// NewScript returns a Script for the Lua source src.
func NewScript(src string) *Script {
	sum := sha1.Sum([]byte(src))
	return &Script{src: src, hash: hex.EncodeToString(sum[:])}
}

// Hash returns the script's SHA1 hex digest, the name EVALSHA uses.
func (s *Script) Hash() string { return s.hash }

// Load loads the script into the server's cache; useful before queuing
// Run on a Pipeline.
func (s *Script) Load(ctx context.Context, c Scripter) *Cmd[string] {
	return c.ScriptLoad(ctx, s.src)
}

// Exists reports whether the script is in the server's cache.
func (s *Script) Exists(ctx context.Context, c Scripter) *Cmd[[]bool] {
	return c.ScriptExists(ctx, s.hash)
}

// Eval runs the script by its source.
func (s *Script) Eval(ctx context.Context, c Scripter, keys []string, args ...any) *Cmd[resp.Value] {
	return c.Eval(ctx, s.src, keys, args...)
}

// EvalSha runs the script by its digest, with no fallback.
func (s *Script) EvalSha(ctx context.Context, c Scripter, keys []string, args ...any) *Cmd[resp.Value] {
	return c.EvalSha(ctx, s.hash, keys, args...)
}

// Run runs the script with EVALSHA and, when the server answers NOSCRIPT
// (after a restart or SCRIPT FLUSH), again with EVAL, which also caches
// it. A Client and a Tx run commands at once, so they fall back; a
// Pipeline only queues them and cannot: on a Pipeline, Run queues EVALSHA
// alone, so load the script first (Load) or queue Eval instead.
func (s *Script) Run(ctx context.Context, c Scripter, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := c.EvalSha(ctx, s.hash, keys, args...)
	if isErrorPrefix(cmd.Err(), "NOSCRIPT") {
		return c.Eval(ctx, s.src, keys, args...)
	}
	return cmd
}

// RunRO is Run with EVALSHA_RO and EVAL_RO, for a script that does not
// write.
func (s *Script) RunRO(ctx context.Context, c Scripter, keys []string, args ...any) *Cmd[resp.Value] {
	cmd := c.EvalShaRO(ctx, s.hash, keys, args...)
	if isErrorPrefix(cmd.Err(), "NOSCRIPT") {
		return c.EvalRO(ctx, s.src, keys, args...)
	}
	return cmd
}

// isErrorPrefix reports whether err is a server error reply with prefix.
func isErrorPrefix(err error, prefix string) bool {
	var e *Error
	return errors.As(err, &e) && e.Prefix() == prefix
}

// FunctionCaller calls library functions: Client, Pipeline and Tx
// implement it.
type FunctionCaller interface {
	FCall(ctx context.Context, function string, keys []string, args ...any) *Cmd[resp.Value]
	FCallRO(ctx context.Context, function string, keys []string, args ...any) *Cmd[resp.Value]
	FunctionLoadReplace(ctx context.Context, code string) *Cmd[string]
}

var _ FunctionCaller = cmdable(nil)

// Function is a library of functions whose code is loaded on demand. A
// Function is immutable and safe for concurrent use.
type Function struct {
	code string
}

// NewFunction returns a Function for the library code, which starts with
// "#!lua name=<library>".
func NewFunction(code string) *Function { return &Function{code: code} }

// Call calls the library's function name with FCALL and, when the server
// does not know it (after a restart, FUNCTION DELETE or FLUSH), loads the
// library with FUNCTION LOAD REPLACE and calls it once more. A failed load
// gives the load's error. As with Script.Run, a Pipeline only queues the
// FCALL, with no fallback.
func (f *Function) Call(ctx context.Context, c FunctionCaller, name string, keys []string, args ...any) *Cmd[resp.Value] {
	return f.call(ctx, c.FCall, c, name, keys, args)
}

// CallRO is Call with FCALL_RO, for a function flagged no-writes.
func (f *Function) CallRO(ctx context.Context, c FunctionCaller, name string, keys []string, args ...any) *Cmd[resp.Value] {
	return f.call(ctx, c.FCallRO, c, name, keys, args)
}

func (f *Function) call(ctx context.Context, fcall func(context.Context, string, []string, ...any) *Cmd[resp.Value],
	c FunctionCaller, name string, keys []string, args []any) *Cmd[resp.Value] {
	cmd := fcall(ctx, name, keys, args...)
	if !isFunctionNotFound(cmd.Err()) {
		return cmd
	}
	if err := c.FunctionLoadReplace(ctx, f.code).Err(); err != nil {
		cmd.SetErr(err)
		return cmd
	}
	return fcall(ctx, name, keys, args...)
}

// isFunctionNotFound reports the error FCALL gives for an unknown function.
func isFunctionNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Prefix() == "ERR" &&
		strings.Contains(strings.ToLower(e.Error()), "function not found")
}
