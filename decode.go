package respool

import (
	"fmt"
	"time"

	"github.com/respool/respool/resp"
)

// Decoders turn one reply into the value of a typed command. They accept
// both the RESP2 and the RESP3 shape of the same reply (a RESP2 map is a
// flat array of pairs; a RESP2 double is a bulk string). A null reply
// decodes to Nil unless said otherwise.

// DecodeValue returns the reply itself; a null reply is not an error.
func DecodeValue(v resp.Value) (resp.Value, error) { return v, nil }

// DecodeString decodes a bulk, simple or verbatim string.
func DecodeString(v resp.Value) (string, error) {
	if v.IsNull() {
		return "", Nil
	}
	if v.Kind() == resp.KindInteger || v.Kind() == resp.KindDouble {
		return v.String(), nil
	}
	return v.Str()
}

// DecodeBytes decodes a string reply into a new byte slice.
func DecodeBytes(v resp.Value) ([]byte, error) {
	if v.IsNull() {
		return nil, Nil
	}
	return v.Bytes()
}

// DecodeStatus decodes a status reply such as "OK".
func DecodeStatus(v resp.Value) (string, error) { return DecodeString(v) }

// DecodeInt decodes an integer (or a string holding one).
func DecodeInt(v resp.Value) (int64, error) {
	if v.IsNull() {
		return 0, Nil
	}
	return v.Int()
}

// DecodeFloat decodes a double (or a string or integer holding one).
func DecodeFloat(v resp.Value) (float64, error) {
	if v.IsNull() {
		return 0, Nil
	}
	return v.Float()
}

// DecodeBool decodes a RESP3 boolean, an integer 0 or 1, or the status
// "OK" (true).
func DecodeBool(v resp.Value) (bool, error) {
	if v.IsNull() {
		return false, Nil
	}
	if v.Kind() == resp.KindSimpleString {
		return v.Text() == "OK", nil
	}
	return v.Bool()
}

// DecodeSeconds decodes an integer number of seconds (TTL, OBJECT IDLETIME).
// Negative values are kept as they are sent (-1, -2) in whole nanoseconds
// so callers can tell them apart: -1 becomes -1ns.
func DecodeSeconds(v resp.Value) (time.Duration, error) {
	n, err := DecodeInt(v)
	if err != nil || n < 0 {
		return time.Duration(n), err
	}
	return time.Duration(n) * time.Second, nil
}

// DecodeMilliseconds is DecodeSeconds for milliseconds (PTTL).
func DecodeMilliseconds(v resp.Value) (time.Duration, error) {
	n, err := DecodeInt(v)
	if err != nil || n < 0 {
		return time.Duration(n), err
	}
	return time.Duration(n) * time.Millisecond, nil
}

// DecodeSlice returns a decoder of an array (or set) whose elements are
// decoded by elem. A null array decodes to Nil; a null element is decoded
// by elem too (so elem decides what it means).
func DecodeSlice[T any](elem func(resp.Value) (T, error)) func(resp.Value) ([]T, error) {
	return func(v resp.Value) ([]T, error) {
		if v.IsNull() {
			return nil, Nil
		}
		elems, err := v.Elems()
		if err != nil {
			return nil, err
		}
		out := make([]T, len(elems))
		for i, e := range elems {
			if out[i], err = elem(e); err != nil {
				return nil, elemError(i, err)
			}
		}
		return out, nil
	}
}

// elemError wraps the error of one element, keeping Nil and *Error
// recognisable with errors.Is and errors.As.
func elemError(i int, err error) error {
	return fmt.Errorf("respool: element %d: %w", i, err)
}

// DecodeStrings decodes an array of strings; a null element becomes "".
func DecodeStrings(v resp.Value) ([]string, error) { return decodeStrings(v) }

var decodeStrings = DecodeSlice(func(e resp.Value) (string, error) {
	if e.IsNull() {
		return "", nil
	}
	return DecodeString(e)
})

// DecodeInts decodes an array of integers.
func DecodeInts(v resp.Value) ([]int64, error) { return decodeInts(v) }

var decodeInts = DecodeSlice(DecodeInt)

// DecodeFloats decodes an array of doubles.
func DecodeFloats(v resp.Value) ([]float64, error) { return decodeFloats(v) }

var decodeFloats = DecodeSlice(DecodeFloat)

// DecodeBools decodes an array of booleans or 0/1 integers.
func DecodeBools(v resp.Value) ([]bool, error) { return decodeBools(v) }

var decodeBools = DecodeSlice(DecodeBool)

// Optional is a value that may be missing, for replies with null
// elements such as MGET.
type Optional[T any] struct {
	Val T
	OK  bool // false when the server sent null
}

// DecodeOptionalStrings decodes an array of strings keeping nulls apart.
func DecodeOptionalStrings(v resp.Value) ([]Optional[string], error) {
	return decodeOptionalStrings(v)
}

var decodeOptionalStrings = DecodeSlice(func(e resp.Value) (Optional[string], error) {
	if e.IsNull() {
		return Optional[string]{}, nil
	}
	s, err := DecodeString(e)
	return Optional[string]{Val: s, OK: err == nil}, err
})

// DecodeMap returns a decoder of a map reply (or the flat array of pairs
// RESP2 sends) with keys decoded by key and values by val.
func DecodeMap[K comparable, V any](key func(resp.Value) (K, error), val func(resp.Value) (V, error)) func(resp.Value) (map[K]V, error) {
	return func(v resp.Value) (map[K]V, error) {
		if v.IsNull() {
			return nil, Nil
		}
		flat, err := flatPairs(v)
		if err != nil {
			return nil, err
		}
		out := make(map[K]V, len(flat)/2)
		for i := 0; i < len(flat); i += 2 {
			k, err := key(flat[i])
			if err != nil {
				return nil, elemError(i, err)
			}
			x, err := val(flat[i+1])
			if err != nil {
				return nil, elemError(i+1, err)
			}
			out[k] = x
		}
		return out, nil
	}
}

// DecodeStringMap decodes a map of strings to strings (HGETALL, CONFIG GET).
func DecodeStringMap(v resp.Value) (map[string]string, error) { return decodeStringMap(v) }

var decodeStringMap = DecodeMap(DecodeString, func(e resp.Value) (string, error) {
	if e.IsNull() {
		return "", nil
	}
	return DecodeString(e)
})

// DecodePairs returns a decoder of a map reply, or flat array of pairs,
// into an ordered slice (for replies whose order matters).
func DecodePairs[K, V any](key func(resp.Value) (K, error), val func(resp.Value) (V, error)) func(resp.Value) ([]Pair[K, V], error) {
	return func(v resp.Value) ([]Pair[K, V], error) {
		if v.IsNull() {
			return nil, Nil
		}
		flat, err := flatPairs(v)
		if err != nil {
			return nil, err
		}
		out := make([]Pair[K, V], len(flat)/2)
		for i := range out {
			if out[i].Key, err = key(flat[2*i]); err != nil {
				return nil, elemError(2*i, err)
			}
			if out[i].Val, err = val(flat[2*i+1]); err != nil {
				return nil, elemError(2*i+1, err)
			}
		}
		return out, nil
	}
}

// flatPairs returns the elements of a map reply, or of the flat array of
// pairs RESP2 sends, as key, value, key, value..., without copying them as
// MapPairs does. Any other reply gives MapPairs's error.
func flatPairs(v resp.Value) ([]resp.Value, error) {
	switch k := v.Kind(); {
	case k == resp.KindMap, k == resp.KindAttribute, k == resp.KindArray && v.Len()%2 == 0:
		return v.Elems()
	}
	_, err := v.MapPairs() // fails for every other kind and length
	return nil, err
}

// Pair is one key and value of an ordered map reply.
type Pair[K, V any] struct {
	Key K
	Val V
}
