package respool

import (
	"fmt"
	"time"

	"github.com/respool/respool/resp"
)

// Arguments and replies of the consumer-group stream commands, and the
// decoders of every stream reply.

// XPending is the summary form of XPENDING.
type XPending struct {
	// Count is the number of pending entries.
	Count int64
	// Lower and Higher are the lowest and highest pending IDs, "" when
	// nothing is pending.
	Lower, Higher string
	// Consumers maps each consumer with pending entries to their number.
	Consumers map[string]int64
}

// XPendingExtArgs are the arguments of the extended form of XPENDING.
type XPendingExtArgs struct {
	Stream string
	Group  string
	// Idle above 0 lists only entries idle at least that long.
	Idle time.Duration
	// Start and End bound the IDs listed; "" means "-" and "+".
	Start, End string
	// Count is the most entries listed; it is sent as is, so 0 lists none.
	Count int64
	// Consumer, when set, lists only that consumer's entries.
	Consumer string
}

// XPendingExt is one entry listed by the extended form of XPENDING.
type XPendingExt struct {
	ID       string
	Consumer string
	// Idle is the time since the entry was last delivered.
	Idle time.Duration
	// RetryCount is the number of times it was delivered.
	RetryCount int64
}

// XClaimArgs are the arguments of XCLAIM.
type XClaimArgs struct {
	Stream   string
	Group    string
	Consumer string
	// MinIdle is how long an entry must have been idle to be claimed.
	MinIdle time.Duration
	// Messages are the IDs to claim.
	Messages []string
}

// XAutoClaimArgs are the arguments of XAUTOCLAIM.
type XAutoClaimArgs struct {
	Stream   string
	Group    string
	Consumer string
	// MinIdle is how long an entry must have been idle to be claimed.
	MinIdle time.Duration
	// Start is the ID to scan from; "" means "0-0".
	Start string
	// Count above 0 caps the entries claimed (the server's default is 100).
	Count int64
}

// XAutoClaimResult is the reply of XAUTOCLAIM.
type XAutoClaimResult struct {
	// Next is the ID to start the next call from; "0-0" when the scan
	// went through the whole pending list.
	Next string
	// Messages are the claimed entries.
	Messages []XMessage
	// Deleted are the IDs of pending entries no longer in the stream,
	// which the server dropped from the pending list.
	Deleted []string
}

// XAutoClaimJustIDResult is the reply of XAUTOCLAIM ... JUSTID.
type XAutoClaimJustIDResult struct {
	Next    string
	IDs     []string
	Deleted []string
}

// XInfoStream is the reply of XINFO STREAM.
type XInfoStream struct {
	Length               int64
	RadixTreeKeys        int64
	RadixTreeNodes       int64
	Groups               int64
	LastGeneratedID      string
	MaxDeletedEntryID    string
	EntriesAdded         int64
	RecordedFirstEntryID string
	// FirstEntry and LastEntry are zero for an empty stream.
	FirstEntry XMessage
	LastEntry  XMessage
}

// XInfoGroup describes one consumer group (XINFO GROUPS).
type XInfoGroup struct {
	Name            string
	Consumers       int64
	Pending         int64
	LastDeliveredID string
	// EntriesRead is the logical read counter of the group, -1 when the
	// server does not know it.
	EntriesRead int64
	// Lag is the number of entries not yet delivered to the group, -1
	// when the server cannot tell.
	Lag int64
}

// XInfoConsumer describes one consumer of a group (XINFO CONSUMERS).
type XInfoConsumer struct {
	Name    string
	Pending int64
	// Idle is the time since the consumer last interacted with the server.
	Idle time.Duration
}

// decodeXMessages decodes an array of entries; null entries (deleted
// ones, as old servers send in XCLAIM replies) are left out.
func decodeXMessages(v resp.Value) ([]XMessage, error) {
	if v.IsNull() {
		return nil, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return nil, err
	}
	out := make([]XMessage, 0, len(elems))
	for i, e := range elems {
		if e.IsNull() {
			continue
		}
		m, err := decodeXMessage(e)
		if err != nil {
			return nil, elemError(i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// decodeXMessage decodes one [id, [field, value...]] entry.
func decodeXMessage(v resp.Value) (XMessage, error) {
	pair, err := v.Elems()
	if err != nil {
		return XMessage{}, err
	}
	if len(pair) != 2 {
		return XMessage{}, fmt.Errorf("respool: stream entry has %d elements, want 2", len(pair))
	}
	id, err := DecodeString(pair[0])
	if err != nil {
		return XMessage{}, err
	}
	if pair[1].IsNull() {
		return XMessage{ID: id}, nil
	}
	values, err := DecodeStringMap(pair[1])
	if err != nil {
		return XMessage{}, err
	}
	return XMessage{ID: id, Values: values}, nil
}

// decodeXStreams decodes the reply of XREAD and XREADGROUP: a map of
// stream to entries under RESP3, an array of [stream, entries] under
// RESP2; null (a blocking read that timed out) is Nil.
func decodeXStreams(v resp.Value) ([]XStream, error) {
	if v.IsNull() {
		return nil, Nil
	}
	var pairs [][2]resp.Value
	if v.Kind() == resp.KindMap {
		var err error
		if pairs, err = v.MapPairs(); err != nil {
			return nil, err
		}
	} else {
		elems, err := v.Elems()
		if err != nil {
			return nil, err
		}
		pairs = make([][2]resp.Value, len(elems))
		for i, e := range elems {
			p, err := e.Elems()
			if err != nil {
				return nil, elemError(i, err)
			}
			if len(p) != 2 {
				return nil, elemError(i, fmt.Errorf("respool: stream has %d elements, want 2", len(p)))
			}
			pairs[i] = [2]resp.Value{p[0], p[1]}
		}
	}
	out := make([]XStream, len(pairs))
	for i, p := range pairs {
		name, err := DecodeString(p[0])
		if err != nil {
			return nil, elemError(i, err)
		}
		msgs, err := decodeXMessages(p[1])
		if err != nil {
			return nil, elemError(i, err)
		}
		out[i] = XStream{Stream: name, Messages: msgs}
	}
	return out, nil
}

// decodeXPending decodes [count, lower, higher, [[consumer, count]...]].
func decodeXPending(v resp.Value) (XPending, error) {
	elems, err := v.Elems()
	if err != nil {
		return XPending{}, err
	}
	if len(elems) != 4 {
		return XPending{}, fmt.Errorf("respool: XPENDING summary has %d elements, want 4", len(elems))
	}
	var p XPending
	if p.Count, err = DecodeInt(elems[0]); err != nil {
		return XPending{}, elemError(0, err)
	}
	if p.Lower, err = decodeStringOrEmpty(elems[1]); err != nil {
		return XPending{}, elemError(1, err)
	}
	if p.Higher, err = decodeStringOrEmpty(elems[2]); err != nil {
		return XPending{}, elemError(2, err)
	}
	p.Consumers = map[string]int64{}
	if elems[3].IsNull() {
		return p, nil
	}
	consumers, err := elems[3].Elems()
	if err != nil {
		return XPending{}, elemError(3, err)
	}
	for i, c := range consumers {
		pair, err := c.Elems()
		if err == nil && len(pair) != 2 {
			err = fmt.Errorf("respool: consumer has %d elements, want 2", len(pair))
		}
		if err != nil {
			return XPending{}, elemError(i, err)
		}
		name, err := DecodeString(pair[0])
		if err != nil {
			return XPending{}, elemError(i, err)
		}
		n, err := DecodeInt(pair[1])
		if err != nil {
			return XPending{}, elemError(i, err)
		}
		p.Consumers[name] = n
	}
	return p, nil
}

// decodeXPendingExts decodes an array of [id, consumer, idle ms, count].
var decodeXPendingExts = DecodeSlice(func(e resp.Value) (XPendingExt, error) {
	f, err := e.Elems()
	if err != nil {
		return XPendingExt{}, err
	}
	if len(f) != 4 {
		return XPendingExt{}, fmt.Errorf("respool: pending entry has %d elements, want 4", len(f))
	}
	var p XPendingExt
	if p.ID, err = DecodeString(f[0]); err != nil {
		return XPendingExt{}, err
	}
	if p.Consumer, err = DecodeString(f[1]); err != nil {
		return XPendingExt{}, err
	}
	if p.Idle, err = DecodeMilliseconds(f[2]); err != nil {
		return XPendingExt{}, err
	}
	if p.RetryCount, err = DecodeInt(f[3]); err != nil {
		return XPendingExt{}, err
	}
	return p, nil
})

// decodeXAutoClaimParts splits [next, claimed, deleted] (deleted since
// Redis 7.0).
func decodeXAutoClaimParts(v resp.Value) (next string, claimed resp.Value, deleted []string, err error) {
	elems, err := v.Elems()
	if err != nil {
		return "", resp.Value{}, nil, err
	}
	if len(elems) != 2 && len(elems) != 3 {
		return "", resp.Value{}, nil, fmt.Errorf("respool: XAUTOCLAIM reply has %d elements, want 2 or 3", len(elems))
	}
	if next, err = DecodeString(elems[0]); err != nil {
		return "", resp.Value{}, nil, elemError(0, err)
	}
	deleted = []string{}
	if len(elems) == 3 && !elems[2].IsNull() {
		if deleted, err = DecodeStrings(elems[2]); err != nil {
			return "", resp.Value{}, nil, elemError(2, err)
		}
	}
	return next, elems[1], deleted, nil
}

func decodeXAutoClaim(v resp.Value) (XAutoClaimResult, error) {
	next, claimed, deleted, err := decodeXAutoClaimParts(v)
	if err != nil {
		return XAutoClaimResult{}, err
	}
	msgs, err := decodeXMessages(claimed)
	if err != nil {
		return XAutoClaimResult{}, elemError(1, err)
	}
	return XAutoClaimResult{Next: next, Messages: msgs, Deleted: deleted}, nil
}

func decodeXAutoClaimJustID(v resp.Value) (XAutoClaimJustIDResult, error) {
	next, claimed, deleted, err := decodeXAutoClaimParts(v)
	if err != nil {
		return XAutoClaimJustIDResult{}, err
	}
	ids, err := DecodeStrings(claimed)
	if err != nil {
		return XAutoClaimJustIDResult{}, elemError(1, err)
	}
	return XAutoClaimJustIDResult{Next: next, IDs: ids, Deleted: deleted}, nil
}

// eachField calls fn for each name and value of a map reply (or RESP2's
// flat array of pairs). Unknown names are for fn to ignore, so newer
// servers' extra fields do no harm.
func eachField(v resp.Value, fn func(name string, val resp.Value) error) error {
	if v.IsNull() {
		return Nil
	}
	pairs, err := v.MapPairs()
	if err != nil {
		return err
	}
	for i, p := range pairs {
		name, err := DecodeString(p[0])
		if err != nil {
			return elemError(2*i, err)
		}
		if err := fn(name, p[1]); err != nil {
			return fmt.Errorf("respool: field %q: %w", name, err)
		}
	}
	return nil
}

// decodeStringOrEmpty decodes a string; null gives "".
func decodeStringOrEmpty(v resp.Value) (string, error) {
	if v.IsNull() {
		return "", nil
	}
	return DecodeString(v)
}

// decodeIntOrMinus1 decodes an integer; null gives -1.
func decodeIntOrMinus1(v resp.Value) (int64, error) {
	if v.IsNull() {
		return -1, nil
	}
	return DecodeInt(v)
}

func decodeXInfoStream(v resp.Value) (XInfoStream, error) {
	var s XInfoStream
	err := eachField(v, func(name string, val resp.Value) (err error) {
		switch name {
		case "length":
			s.Length, err = DecodeInt(val)
		case "radix-tree-keys":
			s.RadixTreeKeys, err = DecodeInt(val)
		case "radix-tree-nodes":
			s.RadixTreeNodes, err = DecodeInt(val)
		case "groups":
			s.Groups, err = DecodeInt(val)
		case "last-generated-id":
			s.LastGeneratedID, err = decodeStringOrEmpty(val)
		case "max-deleted-entry-id":
			s.MaxDeletedEntryID, err = decodeStringOrEmpty(val)
		case "entries-added":
			s.EntriesAdded, err = DecodeInt(val)
		case "recorded-first-entry-id":
			s.RecordedFirstEntryID, err = decodeStringOrEmpty(val)
		case "first-entry":
			if !val.IsNull() {
				s.FirstEntry, err = decodeXMessage(val)
			}
		case "last-entry":
			if !val.IsNull() {
				s.LastEntry, err = decodeXMessage(val)
			}
		}
		return err
	})
	return s, err
}

var decodeXInfoGroups = DecodeSlice(func(e resp.Value) (XInfoGroup, error) {
	g := XInfoGroup{EntriesRead: -1, Lag: -1}
	err := eachField(e, func(name string, val resp.Value) (err error) {
		switch name {
		case "name":
			g.Name, err = DecodeString(val)
		case "consumers":
			g.Consumers, err = DecodeInt(val)
		case "pending":
			g.Pending, err = DecodeInt(val)
		case "last-delivered-id":
			g.LastDeliveredID, err = decodeStringOrEmpty(val)
		case "entries-read":
			g.EntriesRead, err = decodeIntOrMinus1(val)
		case "lag":
			g.Lag, err = decodeIntOrMinus1(val)
		}
		return err
	})
	return g, err
})

var decodeXInfoConsumers = DecodeSlice(func(e resp.Value) (XInfoConsumer, error) {
	var c XInfoConsumer
	err := eachField(e, func(name string, val resp.Value) (err error) {
		switch name {
		case "name":
			c.Name, err = DecodeString(val)
		case "pending":
			c.Pending, err = DecodeInt(val)
		case "idle":
			c.Idle, err = DecodeMilliseconds(val)
		}
		return err
	})
	return c, err
})
