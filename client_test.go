package respool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/respool/respool/resp"
)

// newTestClient returns a Client on the shared server, closed when the
// test ends. opt (optional) is copied and its Addr filled in.
func newTestClient(t testing.TB, opts ...*Options) *Client {
	t.Helper()
	var opt Options
	if len(opts) > 0 && opts[0] != nil {
		opt = *opts[0]
	}
	if opt.Addr == "" {
		opt.Addr = sharedServer(t).Addr
	}
	c := NewClient(&opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// inBothModes runs f in parallel subtests, "multiplexed" and "exclusive",
// each with a Client of that mode (opt, when given, supplies the rest of
// the options).
func inBothModes(t *testing.T, opt *Options, f func(t *testing.T, c *Client)) {
	for _, mode := range []struct {
		name      string
		exclusive bool
	}{{"multiplexed", false}, {"exclusive", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			var o Options
			if opt != nil {
				o = *opt
			}
			o.Exclusive = mode.exclusive
			f(t, newTestClient(t, &o))
		})
	}
}

func TestClientDo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	key := testKey(t, "k")
	if _, err := c.Do(ctx, "SET", key, "v"); err != nil {
		t.Fatal(err)
	}
	v, err := c.Do(ctx, "GET", key)
	if err != nil || v.Text() != "v" {
		t.Fatalf("GET: %v %v", v, err)
	}
	v, err = c.Do(ctx, "GET", testKey(t, "missing"))
	if err != nil || !v.IsNull() {
		t.Fatalf("GET missing: %v %v, want a null value and no error", v, err)
	}
	_, err = c.Do(ctx, "NOSUCHCOMMAND")
	var se *Error
	if !errors.As(err, &se) || se.Prefix() != "ERR" {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestClientCloseOwnsPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := NewPool(&Options{Addr: sharedServer(t).Addr})
	defer p.Close()
	c1, c2 := NewClientFromPool(p), NewClientFromPool(p)
	if _, err := c1.Do(ctx, "PING"); err != nil {
		t.Fatal(err)
	}
	_ = c1.Close()
	if _, err := c1.Do(ctx, "PING"); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed client: %v, want ErrClosed", err)
	}
	if _, err := c2.Do(ctx, "PING"); err != nil {
		t.Fatalf("closing one client must leave the shared pool open: %v", err)
	}
	_ = c2.Close()
}

func TestPipelineResultsInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	str := testKey(t, "str")
	p := c.Pipeline()
	set := p.Do(ctx, "SET", str, "x")
	bad := p.Do(ctx, "LPUSH", str, "y") // WRONGTYPE, must not hide the others
	var gets []*Cmd[resp.Value]
	for i := 0; i < 100; i++ {
		k := testKey(t, "k"+strconv.Itoa(i))
		p.Do(ctx, "SET", k, i)
		gets = append(gets, p.Do(ctx, "GET", k))
	}
	err := p.Exec(ctx)
	var se *Error
	if !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("Exec: %v, want the WRONGTYPE error", err)
	}
	if set.Err() != nil || !errors.As(bad.Err(), &se) {
		t.Fatalf("set %v, bad %v", set.Err(), bad.Err())
	}
	for i, g := range gets {
		if g.Val().Text() != strconv.Itoa(i) {
			t.Fatalf("GET %d = %v", i, g.Val())
		}
	}
	if p.Len() != 0 {
		t.Fatal("Exec must empty the pipeline")
	}
}

func TestTxPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	key := testKey(t, "n")
	cmds, err := c.TxPipelined(ctx, func(p *Pipeline) error {
		p.Do(ctx, "SET", key, 1)
		p.Do(ctx, "INCR", key)
		p.Do(ctx, "INCRBY", key, 10)
		return nil
	})
	if err != nil || len(cmds) != 3 {
		t.Fatalf("TxPipelined: %v (%d cmds)", err, len(cmds))
	}
	if n, _ := cmds[2].(*Cmd[resp.Value]).Val().Int(); n != 12 {
		t.Fatalf("INCRBY in tx = %d, want 12", n)
	}
	// A command the server rejects while queuing aborts the transaction.
	_, err = c.TxPipelined(ctx, func(p *Pipeline) error {
		p.Do(ctx, "INCR", key)
		p.Do(ctx, "SET", key) // wrong number of arguments
		return nil
	})
	if err == nil {
		t.Fatal("a transaction with a rejected command must fail")
	}
	v, _ := c.Do(ctx, "GET", key)
	if v.Text() != "12" {
		t.Fatalf("aborted transaction changed the key: %v", v)
	}
}

// A concurrent writer that changes a watched key makes EXEC abort; Watch
// runs the function again, and every increment lands exactly once.
func TestWatchRetriesOnConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	other := newTestClient(t)
	key := testKey(t, "counter")
	if _, err := c.Do(ctx, "SET", key, 0); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err := c.Watch(ctx, func(tx *Tx) error {
		attempts++
		v, err := tx.cmdableDo(ctx, "GET", key)
		if err != nil {
			return err
		}
		n, _ := v.Int()
		if attempts == 1 {
			// Break the watch from another connection.
			if _, err := other.Do(ctx, "INCR", key); err != nil {
				return err
			}
		}
		_, err = tx.TxPipelined(ctx, func(p *Pipeline) error {
			p.Do(ctx, "SET", key, n+100)
			return nil
		})
		return err
	}, key)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if attempts != 2 {
		t.Fatalf("fn ran %d times, want 2 (one conflict)", attempts)
	}
	v, _ := c.Do(ctx, "GET", key)
	if v.Text() != "101" {
		t.Fatalf("counter = %v, want 101", v)
	}
	st := c.Pool().Stats()
	if st.InUse != 0 {
		t.Fatalf("Watch left %d connections in use", st.InUse)
	}
}

func TestWatchGivesUpAfterMaxRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t, &Options{MaxWatchRetries: 2})
	other := newTestClient(t)
	key := testKey(t, "k")
	attempts := 0
	err := c.Watch(ctx, func(tx *Tx) error {
		attempts++
		if _, err := other.Do(ctx, "INCR", key); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p *Pipeline) error {
			p.Do(ctx, "SET", key, "mine")
			return nil
		})
		return err
	}, key)
	if !errors.Is(err, ErrTxFailed) || attempts != 3 {
		t.Fatalf("err %v after %d attempts, want ErrTxFailed after 3", err, attempts)
	}
}

// cmdableDo runs any command on the transaction's connection.
func (tx *Tx) cmdableDo(ctx context.Context, args ...any) (resp.Value, error) {
	cmd := newCmd(DecodeValue, args...)
	tx.process(ctx, cmd)
	return cmd.Result()
}

func TestHooksWrapCommandsAndPipelines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t)
	var mu sync.Mutex
	var seen []string
	c.AddHook(Hook{
		Process: func(next ProcessFunc) ProcessFunc {
			return func(ctx context.Context, cmd Cmder) error {
				err := next(ctx, cmd)
				mu.Lock()
				seen = append(seen, cmd.Name())
				mu.Unlock()
				return err
			}
		},
		ProcessPipeline: func(next ProcessPipelineFunc) ProcessPipelineFunc {
			return func(ctx context.Context, cmds []Cmder) error {
				err := next(ctx, cmds)
				mu.Lock()
				seen = append(seen, fmt.Sprintf("pipeline:%d", len(cmds)))
				mu.Unlock()
				return err
			}
		},
	})
	if _, err := c.Do(ctx, "PING"); err != nil {
		t.Fatal(err)
	}
	p := c.Pipeline()
	p.Do(ctx, "PING")
	p.Do(ctx, "PING")
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "ping" || seen[1] != "pipeline:2" {
		t.Fatalf("hooks saw %v", seen)
	}
}

func TestRetryable(t *testing.T) {
	notSent := &ConnError{Op: "write", Outcome: OutcomeNotSent, Err: errors.New("x")}
	unknown := &ConnError{Op: "read", Outcome: OutcomeUnknown, Err: errors.New("x")}
	cases := []struct {
		err  error
		argv []any
		want bool
	}{
		{notSent, []any{"INCR", "k"}, true},
		{unknown, []any{"INCR", "k"}, false},
		{unknown, []any{"GET", "k"}, true},
		{unknown, []any{"BLPOP", "k", "0"}, false},
		{unknown, []any{"EVAL", "return 1", "0"}, false},
		{NewError("LOADING Redis is loading"), []any{"SET", "k", "v"}, true},
		{NewError("ERR wrong"), []any{"GET", "k"}, false},
		{&AuthError{Err: NewError("WRONGPASS x")}, []any{"GET", "k"}, false},
		{&ConnError{Op: "read", Outcome: OutcomeUnknown, Err: context.DeadlineExceeded}, []any{"GET", "k"}, false},
		{ErrPoolTimeout, []any{"GET", "k"}, false},
	}
	for _, c := range cases {
		if got := retryable(c.err, c.argv); got != c.want {
			t.Errorf("retryable(%v, %v) = %v, want %v", c.err, c.argv, got, c.want)
		}
	}
}
