package respool

import "github.com/respool/respool/resp"

// Replies read straight into their results. A request whose result is a
// plain string or integer (GET, SET, INCR... of the fast form) reads its
// reply from the wire into that result, without building a resp.Value
// first, when the reply is of the kind it expects; anything else (an
// error reply, a push, a reply of another kind) is left unread by the
// attempt and read as a Value, as every other request's is.

// directReader is a request that may read its own reply.
type directReader interface {
	// readDirect reads the next reply into the request's result when it
	// is of the kind the result takes, and reports whether it did. A
	// reply it does not take is left unread (false, nil). An error is a
	// failure of the reader: the connection is broken.
	readDirect(r *resp.Reader) (bool, error)
}

// readInto reads the next reply into rq: straight into its result when
// rq is a directReader that takes it, else as a Value (readReply, which
// passes over pushes) handed to rq.setReply, through the Conn's element
// buffer when rq borrows elements. It returns the reader's failure.
func (cn *Conn) readInto(rq request) error {
	if d, ok := rq.(directReader); ok {
		if done, err := d.readDirect(cn.r); err != nil || done {
			return err
		}
	}
	borrow := rq.borrowsElems()
	v, elems, err := cn.readReply(borrow, cn.elems)
	if borrow {
		cn.elems = elems
	}
	if err != nil {
		cn.doneWithElems()
		return err
	}
	rq.setReply(v)
	if borrow {
		cn.doneWithElems()
	}
	return nil
}
