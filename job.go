package respool

import "context"

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
}

// shareable reports whether the job may run on a shared connection: no
// command of it blocks or touches session state, and it is not a
// transaction.
func (j *job) shareable() bool {
	if j.cmd != nil {
		return muxable(j.cmd.args())
	}
	if isTxBatch(j.cmds) {
		return false
	}
	for _, cmd := range j.cmds {
		if !muxable(cmd.args()) {
			return false
		}
	}
	return true
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
	if j.cmd != nil {
		_ = mx.doOne(ctx, j.cmd)
		return
	}
	j.connErr = mx.do(ctx, j.reqs)
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
		return retryable(err, j.cmd.args())
	}
	isTx := isTxBatch(j.cmds)
	for _, cmd := range j.cmds {
		if isTx && OutcomeOf(err) != OutcomeNotSent {
			return false
		}
		if !retryable(err, cmd.args()) {
			return false
		}
	}
	return true
}

// reset clears the results of a failed attempt before the next.
func (j *job) reset() {
	if j.cmd != nil {
		j.cmd.reset()
		return
	}
	j.connErr = nil
	for _, cmd := range j.cmds {
		cmd.reset()
	}
}
