package respool

import (
	"context"
	"errors"
)

// Tx is an optimistic transaction in progress on one connection, given to
// the function passed to Client.Watch. Its typed methods run at once on
// that connection (to read the watched keys); TxPipelined queues the
// writes and runs them in MULTI/EXEC. A Tx is valid only inside its
// function and is not safe for concurrent use.
type Tx struct {
	cmdable
	c  *Client
	cn *Conn
}

// Watch runs fn in an optimistic transaction: it takes a connection,
// WATCHes keys, and calls fn with a Tx on that connection. fn reads with
// the Tx's methods and writes with tx.TxPipelined. When EXEC aborts because
// a watched key changed, Watch runs fn again on a fresh WATCH, up to
// Options.MaxWatchRetries times (default 10), then returns ErrTxFailed.
// Any other error of fn is returned as is, without a retry. The watch
// never outlives Watch: the connection goes back clean (UNWATCH) or is
// closed. ctx bounds the whole call, retries included.
func (c *Client) Watch(ctx context.Context, fn func(*Tx) error, keys ...string) error {
	retries := max(c.opt.MaxWatchRetries, 0)
	for attempt := 0; ; attempt++ {
		err := c.watchOnce(ctx, fn, keys)
		if !errors.Is(err, ErrTxFailed) || attempt >= retries || ctx.Err() != nil {
			return err
		}
	}
}

func (c *Client) watchOnce(ctx context.Context, fn func(*Tx) error, keys []string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	cn, err := c.pool.Get(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cn.watching && cn.Err() == nil {
			_, _ = cn.Do(ctx, "UNWATCH")
		}
		c.pool.Put(cn)
	}()
	tx := &Tx{c: c, cn: cn}
	tx.cmdable = tx.process
	if len(keys) > 0 {
		if err := tx.Watch(ctx, keys...).Err(); err != nil {
			return err
		}
	}
	return fn(tx)
}

func (tx *Tx) process(ctx context.Context, cmd Cmder) {
	if g := tx.c.gate; g != nil {
		if err := g.pinned(ctx, tx.cn, &job{cmd: cmd}); err != nil {
			cmd.setErr(err)
			return
		}
	}
	_ = tx.cn.run(ctx, cmd)
}

// Watch adds keys to the transaction's watch.
func (tx *Tx) Watch(ctx context.Context, keys ...string) *Cmd[string] {
	argv := make([]any, 0, len(keys)+1)
	argv = append(argv, "WATCH")
	for _, k := range keys {
		argv = append(argv, k)
	}
	cmd := newCmdArgv(DecodeStatus, argv)
	tx.process(ctx, cmd)
	return cmd
}

// Unwatch forgets every watched key.
func (tx *Tx) Unwatch(ctx context.Context) *Cmd[string] {
	cmd := newCmd(DecodeStatus, "UNWATCH")
	tx.process(ctx, cmd)
	return cmd
}

// Pipeline returns a pipeline on the transaction's connection (without
// MULTI/EXEC).
func (tx *Tx) Pipeline() *Pipeline {
	return newPipeline(tx.runPipeline, false)
}

// TxPipeline returns a MULTI/EXEC pipeline on the transaction's
// connection: its Exec returns ErrTxFailed when a watched key changed.
func (tx *Tx) TxPipeline() *Pipeline {
	return newPipeline(tx.runPipeline, true)
}

// TxPipelined queues the commands fn adds and runs them in MULTI/EXEC on
// the transaction's connection.
func (tx *Tx) TxPipelined(ctx context.Context, fn func(*Pipeline) error) ([]Cmder, error) {
	return runPipelined(ctx, tx.TxPipeline(), fn)
}

// Pipelined queues the commands fn adds and runs them, without MULTI/EXEC,
// on the transaction's connection.
func (tx *Tx) Pipelined(ctx context.Context, fn func(*Pipeline) error) ([]Cmder, error) {
	return runPipelined(ctx, tx.Pipeline(), fn)
}

func (tx *Tx) runPipeline(ctx context.Context, cmds []Cmder) error {
	if g := tx.c.gate; g != nil {
		if err := g.pinned(ctx, tx.cn, &job{cmds: cmds}); err != nil {
			for _, cmd := range cmds {
				cmd.setErr(err)
			}
			return err
		}
	}
	if h := tx.c.hooks.Load(); h.pipeline != nil {
		return h.pipeline(context.WithValue(ctx, txConnKey{}, tx.cn), cmds)
	}
	return runPipelineOn(ctx, tx.cn, cmds)
}
