package respool

import (
	"context"
	"errors"
	"fmt"

	"github.com/respool/respool/resp"
)

// job is what a Client's run path (Client.execute) runs: one command, or
// a batch, the commands of a pipeline or transaction with the requests
// written for them (a MULTI/EXEC batch reads its replies through requests
// of its own). It is passed by value and lives on the caller's stack.
type job struct {
	cmd Cmder // a single command; nil for a batch

	cmds []Cmder
	reqs []request
	// connErr is the last attempt's failure of the connection, for a
	// batch: a server error reply belongs to its command, not the batch.
	connErr error
	// turn counts the attempts before this one (reset); a retry on the
	// shared connections goes to another slot (muxer.connFor).
	turn int
}

// shareable reports whether the job may run on a shared connection: no
// command of it blocks or touches session state, and it is not a
// transaction.
func (j *job) shareable() bool {
	if f, ok := j.cmd.(*fastReq); ok {
		return fastShared[f.op]
	}
	if j.cmd != nil {
		return muxable(j.cmd.classArgs())
	}
	if isTxBatch(j.cmds) {
		return false
	}
	for _, cmd := range j.cmds {
		if !muxable(cmd.classArgs()) {
			return false
		}
	}
	return true
}

// replies returns how many replies the job reads.
func (j *job) replies() int {
	if j.cmd != nil {
		return 1
	}
	return len(j.reqs)
}

// runOn runs the job on a connection of its own.
func (j *job) runOn(ctx context.Context, cn *Conn) {
	if j.cmd != nil {
		_ = cn.run(ctx, j.cmd)
		return
	}
	j.connErr = cn.run(ctx, j.reqs...)
}

// runShared runs the job on one of mx's shared connections.
func (j *job) runShared(ctx context.Context, mx *muxer) {
	if f, ok := j.cmd.(*fastReq); ok {
		_ = mx.run(ctx, j.turn, f.carrier())
		return
	}
	if j.cmd != nil {
		_ = mx.doOne(ctx, j.turn, j.cmd)
		return
	}
	j.connErr = mx.do(ctx, j.turn, j.reqs)
}

// fail gives err to the job when it could not run at all.
func (j *job) fail(err error) {
	if j.cmd != nil {
		j.cmd.setErr(err)
		return
	}
	j.connErr = err
	failAll(j.reqs, err)
}

// err is the outcome of the last attempt: a single command's error
// (a server error reply included), or a batch's connection failure.
func (j *job) err() error {
	if j.cmd != nil {
		return j.cmd.Err()
	}
	return j.connErr
}

// retryable reports whether the job, which failed with err, may run
// again: for a batch, err must be safe to repeat for each of its
// commands, and a transaction is repeated only when it provably was not
// sent.
func (j *job) retryable(err error) bool {
	if j.cmd != nil {
		return retryable(err, j.cmd.classArgs())
	}
	isTx := isTxBatch(j.cmds)
	for _, cmd := range j.cmds {
		if isTx && OutcomeOf(err) != OutcomeNotSent {
			return false
		}
		if !retryable(err, cmd.classArgs()) {
			return false
		}
	}
	return true
}

// reset clears the results of a failed attempt before the next.
func (j *job) reset() {
	j.turn++
	if j.cmd != nil {
		j.cmd.reset()
		return
	}
	j.connErr = nil
	for _, cmd := range j.cmds {
		cmd.reset()
	}
}

// runPipeline runs cmds as one batch on one connection, shared or not,
// retrying the whole batch only when that is safe for every command in it.
func (c *Client) runPipeline(ctx context.Context, cmds []Cmder) error {
	if cn, ok := ctx.Value(txConnKey{}).(*Conn); ok {
		return runPipelineOn(ctx, cn, cmds)
	}
	if c.closed.Load() {
		for _, cmd := range cmds {
			cmd.setErr(ErrClosed)
		}
		return ErrClosed
	}
	if err := refuseBadTx(cmds); err != nil {
		return err
	}
	reqs := pipelineRequests(cmds)
	err := c.execute(ctx, job{cmds: cmds, reqs: reqs})
	if err == nil {
		// Every request completed: no connection holds reqs any more. (A
		// multiplexed batch whose caller left is still referenced by its
		// connection; that ends in an error and is not recycled.)
		requestLists.put(reqs)
	}
	return err
}

// runPipelineOn runs cmds as one batch on cn, a connection the caller
// holds (a Watch's).
func runPipelineOn(ctx context.Context, cn *Conn, cmds []Cmder) error {
	if err := refuseBadTx(cmds); err != nil {
		return err
	}
	return cn.run(ctx, pipelineRequests(cmds)...)
}

// refuseBadTx fails a transaction (MULTI ... EXEC) whose commands are not
// all writable before any of it is sent: the wire path refuses a command
// with bad arguments on its own and writes the others, which in a
// transaction would commit the rest without it. Every command of the
// batch gets the same *txRefusedError.
func refuseBadTx(cmds []Cmder) error {
	if !isTxBatch(cmds) {
		return nil
	}
	for i, cmd := range cmds {
		if err := resp.CheckArgs(cmd.classArgs()); err != nil {
			refused := &txRefusedError{index: i, name: cmd.Name(), err: err}
			for _, c := range cmds {
				c.setErr(refused)
			}
			return refused
		}
	}
	return nil
}

// txRefusedError says that a transaction was not sent because one of its
// commands has arguments that cannot be written. Its outcome is
// OutcomeNotSent; it unwraps to the *resp.ArgError.
type txRefusedError struct {
	index int    // the command's position in the batch (MULTI is 0)
	name  string // its name
	err   error
}

func (e *txRefusedError) Error() string {
	return fmt.Sprintf("respool: transaction not sent: command %d (%s): %v", e.index, e.name, e.err)
}

func (e *txRefusedError) Unwrap() error { return e.err }

// Outcome reports OutcomeNotSent: nothing of the transaction was written.
func (e *txRefusedError) Outcome() Outcome { return OutcomeNotSent }

// isTxBatch reports whether cmds is MULTI ... EXEC.
func isTxBatch(cmds []Cmder) bool {
	return len(cmds) >= 2 && cmds[0].Name() == "multi" && cmds[len(cmds)-1].Name() == "exec"
}

// pipelineRequests turns cmds into what a Conn runs; a MULTI ... EXEC
// batch gets the requests that read QUEUED and EXEC's array.
func pipelineRequests(cmds []Cmder) []request {
	reqs := requestLists.get(len(cmds))[:len(cmds)]
	if !isTxBatch(cmds) {
		for i, cmd := range cmds {
			reqs[i] = cmd
		}
		return reqs
	}
	inner := cmds[1 : len(cmds)-1]
	queued := make([]queuedRequest, len(inner))
	reqs[0] = cmds[0]
	for i, cmd := range inner {
		queued[i].cmd = cmd
		reqs[i+1] = &queued[i]
	}
	reqs[len(reqs)-1] = &execRequest{exec: cmds[len(cmds)-1], queued: queued}
	return reqs
}

// requestLists recycles the request lists of pipelines that completed.
var requestLists slicePool[request]

// queuedRequest reads the reply to a command sent inside MULTI: QUEUED,
// or an error that rejects it (and aborts the transaction).
type queuedRequest struct {
	cmd      Cmder
	rejected bool
}

func (q *queuedRequest) classArgs() []any               { return q.cmd.classArgs() }
func (q *queuedRequest) writeArgs(w *resp.Writer) error { return q.cmd.writeArgs(w) }
func (q *queuedRequest) setReply(v resp.Value) {
	if v.IsError() {
		q.rejected = true
		q.cmd.setReply(v)
	}
}
func (q *queuedRequest) setErr(err error)   { q.cmd.setErr(err) }
func (q *queuedRequest) borrowsElems() bool { return false }

// execRequest reads EXEC's reply and hands each element to its command.
type execRequest struct {
	exec   Cmder
	queued []queuedRequest
}

func (e *execRequest) classArgs() []any               { return e.exec.classArgs() }
func (e *execRequest) writeArgs(w *resp.Writer) error { return e.exec.writeArgs(w) }

func (e *execRequest) setReply(v resp.Value) {
	e.exec.setReply(v)
	switch {
	case v.IsError(): // EXECABORT: nothing ran
		err := NewError(v.Text())
		for i := range e.queued {
			if !e.queued[i].rejected {
				e.queued[i].cmd.setErr(err)
			}
		}
	case v.IsNull(): // a watched key changed: nothing ran
		for i := range e.queued {
			e.queued[i].cmd.setErr(ErrTxFailed)
		}
		e.exec.setErr(ErrTxFailed)
	default:
		elems, err := v.Elems()
		j := 0
		for i := range e.queued {
			q := &e.queued[i]
			if q.rejected {
				continue
			}
			if err != nil || j >= len(elems) {
				q.cmd.setErr(errors.New("respool: EXEC reply does not match the queued commands"))
				continue
			}
			q.cmd.setReply(elems[j])
			j++
		}
	}
}

// borrowsElems is false: the EXEC command itself keeps the reply.
func (e *execRequest) borrowsElems() bool { return false }

func (e *execRequest) setErr(err error) {
	e.exec.setErr(err)
	for i := range e.queued {
		if e.queued[i].cmd.Err() == nil {
			e.queued[i].cmd.setErr(err)
		}
	}
}

// txConnKey marks a pipeline that must run on a transaction's connection
// when it passes through the hooks.
type txConnKey struct{}
