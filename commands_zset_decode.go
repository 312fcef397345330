package respool

import (
	"fmt"

	"github.com/respool/respool/resp"
)

// decodeZSlice decodes members with scores: RESP3's array of [member,
// score] pairs, or RESP2's flat array member, score, member, score...
// ZPOPMIN without a count sends one pair flat under both protocols.
func decodeZSlice(v resp.Value) ([]Z, error) {
	if v.IsNull() {
		return nil, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return []Z{}, nil
	}
	if k := elems[0].Kind(); k == resp.KindArray || k == resp.KindSet {
		out := make([]Z, len(elems))
		for i, e := range elems {
			pair, err := e.Elems()
			if err != nil {
				return nil, elemError(i, err)
			}
			if len(pair) != 2 {
				return nil, elemError(i, fmt.Errorf("respool: member with score has %d elements, want 2", len(pair)))
			}
			if out[i], err = decodeZ(pair[0], pair[1]); err != nil {
				return nil, elemError(i, err)
			}
		}
		return out, nil
	}
	if len(elems)%2 != 0 {
		return nil, fmt.Errorf("respool: members with scores: odd number of elements (%d)", len(elems))
	}
	out := make([]Z, len(elems)/2)
	for i := range out {
		if out[i], err = decodeZ(elems[2*i], elems[2*i+1]); err != nil {
			return nil, elemError(2*i, err)
		}
	}
	return out, nil
}

// decodeZ decodes one member and its score.
func decodeZ(member, score resp.Value) (Z, error) {
	m, err := DecodeString(member)
	if err != nil {
		return Z{}, err
	}
	s, err := DecodeFloat(score)
	if err != nil {
		return Z{}, err
	}
	return Z{Score: s, Member: m}, nil
}

// decodeZWithKey decodes the [key, member, score] reply of BZPOPMIN and
// BZPOPMAX; a null reply (timeout) is Nil.
func decodeZWithKey(v resp.Value) (ZWithKey, error) {
	if v.IsNull() {
		return ZWithKey{}, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return ZWithKey{}, err
	}
	if len(elems) != 3 {
		return ZWithKey{}, fmt.Errorf("respool: popped member has %d elements, want 3", len(elems))
	}
	key, err := DecodeString(elems[0])
	if err != nil {
		return ZWithKey{}, elemError(0, err)
	}
	z, err := decodeZ(elems[1], elems[2])
	if err != nil {
		return ZWithKey{}, elemError(1, err)
	}
	return ZWithKey{Z: z, Key: key}, nil
}

// decodeZSliceWithKey decodes the [key, [[member, score]...]] reply of
// ZMPOP and BZMPOP; a null reply is Nil.
func decodeZSliceWithKey(v resp.Value) (ZSliceWithKey, error) {
	if v.IsNull() {
		return ZSliceWithKey{}, Nil
	}
	elems, err := v.Elems()
	if err != nil {
		return ZSliceWithKey{}, err
	}
	if len(elems) != 2 {
		return ZSliceWithKey{}, fmt.Errorf("respool: popped members have %d elements, want 2", len(elems))
	}
	key, err := DecodeString(elems[0])
	if err != nil {
		return ZSliceWithKey{}, elemError(0, err)
	}
	members, err := decodeZSlice(elems[1])
	if err != nil {
		return ZSliceWithKey{}, elemError(1, err)
	}
	return ZSliceWithKey{Key: key, Members: members}, nil
}

// decodeOptionalFloats decodes an array of doubles whose null elements
// mean "missing" (ZMSCORE).
var decodeOptionalFloats = DecodeSlice(func(e resp.Value) (Optional[float64], error) {
	if e.IsNull() {
		return Optional[float64]{}, nil
	}
	f, err := DecodeFloat(e)
	return Optional[float64]{Val: f, OK: err == nil}, err
})
