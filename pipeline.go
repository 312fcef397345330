package respool

import (
	"context"
	"errors"

	"github.com/respool/respool/resp"
)

// Pipeline queues commands and sends them together: one write, then one
// read of all the replies, in order, on one connection. Its typed methods
// return *Cmd values that are filled in by Exec. A Pipeline from
// TxPipeline wraps the commands in MULTI/EXEC, so they run atomically.
//
// A failed command does not hide the others' results: each *Cmd has its
// own. A Pipeline is not safe for concurrent use; it may be reused after
// Exec (Exec empties it).
type Pipeline struct {
	cmdable
	exec func(ctx context.Context, cmds []Cmder) error
	tx   bool
	cmds []Cmder

	// client is set for a Client's pipelines, whose queue is recycled
	// after Exec (see recycleQueue) unless exposed says that someone
	// outside may still hold it.
	client  *Client
	exposed bool
}

// Pipeline returns an empty pipeline that runs on the Client's pool.
func (c *Client) Pipeline() *Pipeline {
	p := newPipeline(c.processPipeline, false)
	p.client = c
	return p
}

// TxPipeline returns an empty pipeline whose commands Exec wraps in
// MULTI and EXEC.
func (c *Client) TxPipeline() *Pipeline {
	p := newPipeline(c.processPipeline, true)
	p.client = c
	return p
}

// Pipelined queues the commands fn adds to a new Pipeline and runs them
// with Exec; it returns the commands and Exec's error. fn's error stops
// it before anything is sent.
func (c *Client) Pipelined(ctx context.Context, fn func(*Pipeline) error) ([]Cmder, error) {
	return runPipelined(ctx, c.Pipeline(), fn)
}

// TxPipelined is Pipelined in a MULTI/EXEC transaction.
func (c *Client) TxPipelined(ctx context.Context, fn func(*Pipeline) error) ([]Cmder, error) {
	return runPipelined(ctx, c.TxPipeline(), fn)
}

func runPipelined(ctx context.Context, p *Pipeline, fn func(*Pipeline) error) ([]Cmder, error) {
	if err := fn(p); err != nil {
		p.Discard()
		return nil, err
	}
	p.exposed = true
	cmds := p.cmds
	err := p.Exec(ctx)
	return cmds, err
}

func newPipeline(exec func(context.Context, []Cmder) error, tx bool) *Pipeline {
	p := &Pipeline{exec: exec, tx: tx}
	p.cmdable = p.queue
	return p
}

func (p *Pipeline) queue(_ context.Context, cmd Cmder) {
	if p.cmds == nil && p.client != nil {
		p.cmds = queues.get(0)
	}
	p.cmds = append(p.cmds, cmd)
}

// queues holds the queues of finished pipelines, so that a program
// making a new Pipeline per batch does not grow a new slice each time.
var queues slicePool[Cmder]

// recycleQueue gives the queue of a finished Exec back to queues when
// no one else can hold it: the caller never had it (Cmds, Pipelined) and
// no pipeline hook saw it. Only the slice is reused, never the commands.
func (p *Pipeline) recycleQueue(q []Cmder) {
	if p.client == nil || p.exposed {
		return
	}
	// Hooks are only ever added: none now means none saw q. A
	// transaction's hooks were given a copy with MULTI and EXEC.
	if !p.tx && p.client.hooks.Load().pipeline != nil {
		return
	}
	queues.put(q)
}

// Do queues any command; its reply is the *Cmd's value after Exec.
func (p *Pipeline) Do(ctx context.Context, args ...any) *Cmd[resp.Value] {
	cmd := newCmd(DecodeValue, args...)
	p.queue(ctx, cmd)
	return cmd
}

// Len returns the number of queued commands.
func (p *Pipeline) Len() int { return len(p.cmds) }

// Cmds returns the queued commands. The slice stays the caller's: Exec
// does not reuse it.
func (p *Pipeline) Cmds() []Cmder {
	p.exposed = true
	return p.cmds
}

// Discard drops the queued commands without sending them.
func (p *Pipeline) Discard() { p.cmds = nil }

// Exec sends the queued commands and reads their replies, then empties the
// pipeline. It returns the first error among the commands other than Nil
// (each command keeps its own result and error), or nil. In a transaction
// pipeline whose EXEC aborted because a watched key changed, every command
// has the error ErrTxFailed. ctx bounds the whole exchange.
func (p *Pipeline) Exec(ctx context.Context) error {
	cmds := p.cmds
	p.cmds = nil
	if len(cmds) == 0 {
		return nil
	}
	queue := cmds
	if p.tx {
		wrapped := make([]Cmder, 0, len(cmds)+2)
		wrapped = append(wrapped, newCmd(DecodeStatus, "MULTI"))
		wrapped = append(wrapped, cmds...)
		wrapped = append(wrapped, newCmd(DecodeValue, "EXEC"))
		cmds = wrapped
	}
	_ = p.exec(ctx, cmds)
	if p.tx {
		cmds = cmds[1 : len(cmds)-1]
	}
	err := firstErr(cmds)
	p.recycleQueue(queue)
	p.exposed = false
	return err
}

// firstErr returns the first error of cmds that is not Nil.
func firstErr(cmds []Cmder) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, Nil) {
			return err
		}
	}
	return nil
}
