package respool

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

// uniqueScript returns a Lua script that no other test sends, so its
// presence in the shared server's cache is this test's doing alone.
func uniqueScript(t *testing.T, body string) string {
	return "-- " + t.Name() + "\n" + body
}

func TestScriptCommands(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k := testKey(t, "k")
		src := uniqueScript(t, "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], tonumber(ARGV[2]) + 1}")

		v, err := c.Eval(ctx, src, []string{k}, "val", 41).Result()
		if err != nil || v.Len() != 2 {
			t.Fatalf("Eval = %v, %v", v, err)
		}
		if elems, _ := v.Elems(); elems[0].Text() != k || elems[1].String() != "(integer) 42" {
			t.Fatalf("Eval = %v", v)
		}
		s := NewScript(src)
		sha, err := c.ScriptLoad(ctx, src).Result()
		if err != nil || sha != s.Hash() || len(sha) != 40 {
			t.Fatalf("ScriptLoad = %q, %v; want %q", sha, err, s.Hash())
		}
		if ex, err := c.ScriptExists(ctx, sha, strings.Repeat("0", 40)).Result(); err != nil || len(ex) != 2 || !ex[0] || ex[1] {
			t.Fatalf("ScriptExists = %v, %v", ex, err)
		}
		if v, err := c.EvalSha(ctx, sha, []string{k}, "x", 1).Result(); err != nil || v.Len() != 2 {
			t.Fatalf("EvalSha = %v, %v", v, err)
		}
		ro := uniqueScript(t, "return redis.call('GET', KEYS[1])")
		if v, err := c.EvalRO(ctx, ro, []string{k}).Result(); err != nil || v.Text() != "x" {
			t.Fatalf("EvalRO = %v, %v", v, err)
		}
		if v, err := c.EvalShaRO(ctx, NewScript(ro).Hash(), []string{k}).Result(); err != nil || v.Text() != "x" {
			t.Fatalf("EvalShaRO = %v, %v", v, err)
		}
		var se *Error
		if err := c.EvalRO(ctx, uniqueScript(t, "return redis.call('DEL', KEYS[1])"), []string{k}).Err(); !errors.As(err, &se) {
			t.Fatalf("EvalRO of a write: %v, want a server error", err)
		}
		if err := c.EvalSha(ctx, strings.Repeat("0", 40), nil).Err(); !errors.As(err, &se) || se.Prefix() != "NOSCRIPT" {
			t.Fatalf("EvalSha of an unknown digest: %v, want NOSCRIPT", err)
		}
		// A script returning nil is a null value, not an error.
		if v, err := c.Eval(ctx, "return nil", nil).Result(); err != nil || !v.IsNull() {
			t.Fatalf("Eval of nil = %v, %v", v, err)
		}
		if err := c.ScriptKill(ctx).Err(); !errors.As(err, &se) || se.Prefix() != "NOTBUSY" {
			t.Fatalf("ScriptKill with nothing running: %v, want NOTBUSY", err)
		}
	})
}

// TestScriptRunFallsBack is not parallel: its SCRIPT FLUSH empties the
// shared server's cache, which would break other tests' EVALSHA after
// SCRIPT LOAD if they ran meanwhile (parallel tests start only after the
// sequential ones end).
func TestScriptRunFallsBack(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t)
	dropTestKeys(t, c)
	k := testKey(t, "counter")
	s := NewScript(uniqueScript(t, "return redis.call('INCRBY', KEYS[1], ARGV[1])"))

	// Never loaded before: EVALSHA fails with NOSCRIPT and Run sends EVAL.
	if v, err := s.Run(ctx, c, []string{k}, 2).Result(); err != nil || v.String() != "(integer) 2" {
		t.Fatalf("first Run = %v, %v", v, err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatalf("ScriptFlush: %v", err)
	}
	if ex, err := s.Exists(ctx, c).Result(); err != nil || len(ex) != 1 || ex[0] {
		t.Fatalf("Exists after SCRIPT FLUSH = %v, %v; want false", ex, err)
	}
	cmd := s.Run(ctx, c, []string{k}, 3)
	if v, err := cmd.Result(); err != nil || v.String() != "(integer) 5" {
		t.Fatalf("Run after SCRIPT FLUSH = %v, %v", v, err)
	}
	if name := cmd.Name(); name != "eval" {
		t.Fatalf("Run after SCRIPT FLUSH returned the %q command, want the EVAL fallback", name)
	}
	// Cached again by that EVAL: the next Run is an EVALSHA that succeeds
	// (unless another test flushed in between, which Run survives too).
	if v, err := s.Run(ctx, c, []string{k}, 1).Result(); err != nil || v.String() != "(integer) 6" {
		t.Fatalf("third Run = %v, %v", v, err)
	}

	ro := NewScript(uniqueScript(t, "return redis.call('GET', KEYS[1])"))
	if v, err := ro.RunRO(ctx, c, []string{k}).Result(); err != nil || v.Text() != "6" {
		t.Fatalf("RunRO = %v, %v", v, err)
	}

	// A Tx runs its commands at once, so it falls back too.
	inTx := NewScript(uniqueScript(t, "-- tx\nreturn redis.call('GET', KEYS[1])"))
	err := c.Watch(ctx, func(tx *Tx) error {
		v, err := inTx.Run(ctx, tx, []string{k}).Result()
		if err == nil && v.Text() != "6" {
			t.Errorf("Run in a Tx = %v", v)
		}
		return err
	}, k)
	if err != nil {
		t.Fatalf("Run in a Tx: %v", err)
	}

	// A Pipeline only queues: Run queues EVALSHA alone.
	inPipe := NewScript(uniqueScript(t, "-- pipeline\nreturn ARGV[1]"))
	p := c.Pipeline()
	queued := inPipe.Run(ctx, p, nil, "hello")
	if p.Len() != 1 || queued.Name() != "evalsha" {
		t.Fatalf("Run on a Pipeline queued %d commands, the first %q; want one EVALSHA", p.Len(), queued.Name())
	}
	if err := inPipe.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Exec(ctx); err != nil {
		t.Fatalf("Exec after Load: %v", err)
	}
	if v, err := queued.Result(); err != nil || v.Text() != "hello" {
		t.Fatalf("queued Run = %v, %v", v, err)
	}
	if v, err := inPipe.Eval(ctx, c, nil, "direct").Result(); err != nil || v.Text() != "direct" {
		t.Fatalf("Script.Eval = %v, %v", v, err)
	}
	if v, err := inPipe.EvalSha(ctx, c, nil, "sha").Result(); err != nil || v.Text() != "sha" {
		t.Fatalf("Script.EvalSha = %v, %v", v, err)
	}
}

// TestFunctions uses a server of its own: FUNCTION FLUSH, DUMP and
// RESTORE act on every library of the server.
func TestFunctions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := respooltest.StartServer(t)
	for _, proto := range []int{3, 2} {
		c := NewClient(&Options{Addr: srv.Addr, Protocol: proto})
		t.Cleanup(func() { _ = c.Close() })
		if err := c.FunctionFlush(ctx).Err(); err != nil {
			t.Fatalf("FunctionFlush: %v", err)
		}
		code := "#!lua name=mylib\n" +
			"redis.register_function('echo', function(keys, args) return args[1] end)\n" +
			"redis.register_function{function_name='getk', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={'no-writes'}}\n"
		f := NewFunction(code)

		// Not loaded yet: Call loads the library and calls again.
		if v, err := f.Call(ctx, c, "echo", nil, "hi").Result(); err != nil || v.Text() != "hi" {
			t.Fatalf("RESP%d: first Call = %v, %v", proto, v, err)
		}
		var se *Error
		if err := c.FunctionLoad(ctx, code).Err(); !errors.As(err, &se) {
			t.Fatalf("FunctionLoad of an existing library: %v, want a server error", err)
		}
		if name, err := c.FunctionLoadReplace(ctx, code).Result(); err != nil || name != "mylib" {
			t.Fatalf("FunctionLoadReplace = %q, %v", name, err)
		}
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := c.FCall(ctx, "echo", nil, 7).Result(); err != nil || v.Text() != "7" {
			t.Fatalf("FCall = %v, %v", v, err)
		}
		if v, err := c.FCallRO(ctx, "getk", []string{"k"}).Result(); err != nil || v.Text() != "v" {
			t.Fatalf("FCallRO = %v, %v", v, err)
		}
		if err := c.FCallRO(ctx, "echo", nil, 1).Err(); !errors.As(err, &se) {
			t.Fatalf("FCallRO of a function without no-writes: %v, want a server error", err)
		}
		list, err := c.FunctionList(ctx, FunctionListQuery{LibraryNamePattern: "my*", WithCode: true}).Result()
		if err != nil || list.Len() != 1 || !strings.Contains(list.String(), "mylib") || !strings.Contains(list.String(), "register_function") {
			t.Fatalf("FunctionList = %v, %v", list, err)
		}
		if list, err := c.FunctionList(ctx, FunctionListQuery{LibraryNamePattern: "nothing*"}).Result(); err != nil || list.Len() != 0 {
			t.Fatalf("FunctionList of no match = %v, %v", list, err)
		}
		if st, err := c.FunctionStats(ctx).Result(); err != nil || !strings.Contains(st.String(), "engines") {
			t.Fatalf("FunctionStats = %v, %v", st, err)
		}
		if err := c.FunctionKill(ctx).Err(); !errors.As(err, &se) || se.Prefix() != "NOTBUSY" {
			t.Fatalf("FunctionKill with nothing running: %v, want NOTBUSY", err)
		}

		// After FUNCTION DELETE, Call reloads the library.
		if err := c.FunctionDelete(ctx, "mylib").Err(); err != nil {
			t.Fatalf("FunctionDelete: %v", err)
		}
		if err := c.FCall(ctx, "echo", nil, 1).Err(); !isFunctionNotFound(err) {
			t.Fatalf("FCall after FunctionDelete: %v, want function not found", err)
		}
		cmd := f.Call(ctx, c, "echo", nil, "again")
		if v, err := cmd.Result(); err != nil || v.Text() != "again" {
			t.Fatalf("Call after FunctionDelete = %v, %v", v, err)
		}
		if v, err := f.CallRO(ctx, c, "getk", []string{"k"}).Result(); err != nil || v.Text() != "v" {
			t.Fatalf("CallRO = %v, %v", v, err)
		}
		// A library that does not compile: Call returns the load's error.
		broken := NewFunction("#!lua name=broken\nthis is not lua")
		if err := broken.Call(ctx, c, "nope", nil).Err(); !errors.As(err, &se) || isFunctionNotFound(err) {
			t.Fatalf("Call of a broken library: %v, want the load's error", err)
		}

		dump, err := c.FunctionDump(ctx).Result()
		if err != nil || dump == "" {
			t.Fatalf("FunctionDump = %q, %v", dump, err)
		}
		if err := c.FunctionFlushAsync(ctx).Err(); err != nil {
			t.Fatalf("FunctionFlushAsync: %v", err)
		}
		if err := c.FunctionRestore(ctx, dump).Err(); err != nil {
			t.Fatalf("FunctionRestore: %v", err)
		}
		if v, err := c.FCall(ctx, "echo", nil, "restored").Result(); err != nil || v.Text() != "restored" {
			t.Fatalf("FCall after FunctionRestore = %v, %v", v, err)
		}
		if err := c.FunctionRestore(ctx, dump).Err(); !errors.As(err, &se) {
			t.Fatalf("FunctionRestore over an existing library: %v, want a server error", err)
		}
	}
}

var (
	_ Scripter       = (*Client)(nil)
	_ Scripter       = (*Pipeline)(nil)
	_ Scripter       = (*Tx)(nil)
	_ FunctionCaller = (*Client)(nil)
	_ FunctionCaller = (*Pipeline)(nil)
	_ FunctionCaller = (*Tx)(nil)
	_                = resp.Value{}
)
