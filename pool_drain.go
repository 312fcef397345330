package respool

// Draining, the pool's half (the wire layer's is conn_drain.go). A
// connection given back (Put) whose caller stopped waiting for its
// replies, a read timeout or a context that ended after the write, would
// cost a new connection if it were closed, as in every other client. When
// the connection says it can be drained (Conn.drainable: the fault was a
// timeout between two replies, nothing blocks, the session is clean), Put
// hands it to a goroutine of its own that reads and discards the replies
// still owed within DrainTimeout and then places it as Put would have: to
// the longest waiting Get, or idle. A connection that does not drain in
// time, sees an error or holds unexpected bytes afterwards is closed.
//
// Accounting: a draining connection stays in use (InUse, and a slot of
// PoolSize), so a stalled server cannot make the pool open more
// connections than PoolSize; a Get waiting for a connection gets the
// drained one, or the slot of one that failed to drain, like any other
// Put. Close closes the draining connections' sockets, which ends their
// drains at once, and waits for the drain goroutines to end.

// startDrainLocked starts draining cn, a connection given back in use
// and drainable, unless the pool is closed or was retired since cn was
// dialled; it reports whether it did. The pool keeps counting cn in use.
func (p *Pool) startDrainLocked(cn *Conn) bool {
	pc := pooled(cn)
	if p.closed || pc.gen != p.gen {
		return false
	}
	pc.draining = true
	if p.draining == nil {
		p.draining = make(map[*Conn]struct{})
	}
	p.draining[cn] = struct{}{}
	p.drainWG.Add(1)
	p.stats.drains.Add(1)
	go p.drainConn(cn)
	return true
}

// drainConn is the goroutine of one drain: it reads and discards what cn
// owes, then places cn as Put does, or closes it.
func (p *Pool) drainConn(cn *Conn) {
	defer p.drainWG.Done()
	err := cn.discardOwed(drainLimit(p.opt), p.closing)
	if err != nil {
		cn.breakWith(err)
	}
	reusable := err == nil && cn.reusable()
	now := p.opt.now()
	p.mu.Lock()
	delete(p.draining, cn)
	pooled(cn).draining = false
	reason := p.putLocked(cn, reusable, now)
	p.mu.Unlock()
	if reusable {
		p.stats.drained.Add(1)
	} else {
		p.stats.drainFailures.Add(1)
	}
	if reason != closeNone {
		p.closeConn(cn, reason)
	}
}

// stopDrains ends the drains in flight by closing their sockets and
// waits for their goroutines. Close calls it once the pool is closed, so
// no drain starts afterwards.
func (p *Pool) stopDrains() {
	p.mu.Lock()
	conns := make([]*Conn, 0, len(p.draining))
	for cn := range p.draining {
		conns = append(conns, cn)
	}
	p.mu.Unlock()
	for _, cn := range conns {
		_ = cn.Close()
	}
	p.drainWG.Wait()
}
