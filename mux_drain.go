package respool

import "github.com/respool/respool/resp"

// A shared connection whose batch is not answered within ReadTimeout
// (the server stalled) does not fail and reconnect when the reader
// stopped between two replies: the callers of the batch get the read
// timeout, as before, but the connection stays. One stand-in request
// takes their place at the head of the in-flight queue, owing every
// reply they were still owed; the reader reads and drops those replies
// within DrainTimeout, then the commands that queued meanwhile go out as
// the next batch. A stand-in that is not answered in time, or a read
// error while it waits, fails the connection as any read failure does
// (mc.fail), and the queued commands go to a new one, not sent.
//
// A caller that leaves early (its context ended) needs none of this: it
// abandons its request, whose reply the reader reads and drops when it
// comes (see muxConn.run).

// discardRequest stands for a reply owed to a caller that is gone.
type discardRequest struct{}

func (discardRequest) writeArgs(*resp.Writer) error { return nil }
func (discardRequest) classArgs() []any             { return nil }
func (discardRequest) setReply(resp.Value)          {}
func (discardRequest) setErr(error)                 {}
func (discardRequest) borrowsElems() bool           { return false }

// stall handles the reader's read failure err. When the read timed out
// between two replies, the batch is neither a stand-in already nor the
// connection's own AUTH, and draining is on, it fails the batch's callers
// with the timeout, puts a stand-in owing their replies in their place,
// gives the reader DrainTimeout to read them, and reports true: the
// reader carries on. Otherwise it reports false and the caller fails the
// connection.
func (mc *muxConn) stall(err error) bool {
	cn := mc.cn
	limit := drainLimit(cn.opt)
	if limit < 0 || !isTimeoutErr(err) || cn.r.Err() != nil {
		return false
	}
	mc.fmu.Lock()
	if mc.broken != nil || mc.writing || mc.head == len(mc.inflight) || mc.inflight[mc.head].drain {
		mc.fmu.Unlock()
		return false
	}
	timedOut := mc.inflight[mc.head:]
	owed := 0
	for _, m := range timedOut {
		if m.auth {
			// The connection's own AUTH must be answered, not dropped: a
			// refusal closes the connection (reauthReply).
			mc.fmu.Unlock()
			return false
		}
		owed += len(m.reqs) - m.read
	}
	stand := &muxRequest{drain: true, reqs: make([]request, owed), vals: make([]resp.Value, owed)}
	for i := range stand.reqs {
		stand.reqs[i] = discardRequest{}
	}
	stand.state.Store(muxAbandoned) // nobody waits for it
	mc.inflight = []*muxRequest{stand}
	mc.head = 0
	mc.outstanding.Add(1 - int64(len(timedOut)))
	cn.setReadDeadline(noCaller, exactly(cn.opt.now().Add(limit)))
	mc.fmu.Unlock()
	if mc.pool != nil {
		mc.pool.stats.drains.Add(1)
	}
	ce := cn.ioError(noCaller, "read", OutcomeUnknown, err)
	for _, m := range timedOut {
		m.complete(ce)
	}
	return true
}

// drainEnded counts the end of a stand-in: every owed reply read
// (drained), or the connection failed first.
func (mc *muxConn) drainEnded(drained bool) {
	if mc.pool == nil {
		return
	}
	if drained {
		mc.pool.stats.drained.Add(1)
	} else {
		mc.pool.stats.drainFailures.Add(1)
	}
}
