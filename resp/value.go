package resp

import (
	"fmt"
	"math"
	"strconv"
)

// Value is one RESP reply, or one element of an aggregate reply. The zero
// Value has KindInvalid.
//
// A Value is small and is passed by value. Values read by a Reader, and the
// strings and element slices they hold, belong to the caller: the Reader
// never reuses them. Accessors never panic: on a value of the wrong kind they
// return a *WrongKindError (or a zero result, for Text, Len and Format).
type Value struct {
	kind Kind
	// null is the wire form of a KindNull value.
	null nullForm
	// str is the text of string-like kinds as it was on the wire: for a
	// verbatim string it includes the "xxx:" format prefix.
	str string
	// num holds an integer, a boolean (0 or 1) or a double's float64 bits.
	num int64
	// elems holds aggregates' elements; maps and attributes are flattened
	// to key, value, key, value... It is nil for empty aggregates.
	elems []Value
	// attr is the attribute ('|') that preceded this value, if any.
	attr *Value
}

// nullForm says which of RESP's three ways of saying null a KindNull Value
// came in.
type nullForm uint8

const (
	nullUnderscore nullForm = iota // RESP3 "_\r\n"
	nullBulk                       // RESP2 "$-1\r\n"
	nullArray                      // RESP2 "*-1\r\n"
)

// Kind returns the kind of v.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is a null: RESP3's "_" or RESP2's "$-1" or "*-1".
func (v Value) IsNull() bool { return v.kind == KindNull }

// IsError reports whether v is an error reply, simple ('-') or bulk ('!').
func (v Value) IsError() bool { return v.kind == KindError || v.kind == KindBulkError }

// Text returns the text of a simple string, bulk string, verbatim string
// (without its format), error, bulk error, big number or double, exactly as
// it was sent. For any other kind it returns "".
func (v Value) Text() string {
	switch v.kind {
	case KindSimpleString, KindBulkString, KindError, KindBulkError, KindBigNumber, KindDouble:
		return v.str
	case KindVerbatim:
		return v.str[4:]
	}
	return ""
}

// Str returns the string held by a simple string, bulk string, verbatim
// string (without its format) or big number. Any other kind, errors and
// nulls included, gives a *WrongKindError.
func (v Value) Str() (string, error) {
	switch v.kind {
	case KindSimpleString, KindBulkString, KindBigNumber:
		return v.str, nil
	case KindVerbatim:
		return v.str[4:], nil
	}
	return "", &WrongKindError{Got: v.kind, Want: KindBulkString}
}

// Bytes is Str returning a []byte. Value keeps its text as a string, so the
// slice is a fresh copy the caller owns. To read a bulk string into a buffer
// of your own without that copy, use Reader.ReadBulkAppend.
func (v Value) Bytes() ([]byte, error) {
	s, err := v.Str()
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// Int returns an integer reply, or the value of a bulk or simple string that
// holds a base-10 int64 (RESP2 servers send many numbers as bulk strings).
func (v Value) Int() (int64, error) {
	switch v.kind {
	case KindInteger:
		return v.num, nil
	case KindBulkString, KindSimpleString:
		n, err := strconv.ParseInt(v.str, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("resp: %s is not an integer: %w", v.kind, err)
		}
		return n, nil
	}
	return 0, &WrongKindError{Got: v.kind, Want: KindInteger}
}

// Float returns a double, an integer converted to float64, or the value of a
// bulk or simple string that parses as a float ("1.5", "inf", "-inf", "nan").
func (v Value) Float() (float64, error) {
	switch v.kind {
	case KindDouble:
		return math.Float64frombits(uint64(v.num)), nil
	case KindInteger:
		return float64(v.num), nil
	case KindBulkString, KindSimpleString:
		f, err := strconv.ParseFloat(v.str, 64)
		if err != nil {
			return 0, fmt.Errorf("resp: %s is not a float: %w", v.kind, err)
		}
		return f, nil
	}
	return 0, &WrongKindError{Got: v.kind, Want: KindDouble}
}

// Bool returns a boolean, or an integer 0 or 1 (how RESP2 says false and
// true). Other integers are an error.
func (v Value) Bool() (bool, error) {
	switch v.kind {
	case KindBoolean:
		return v.num != 0, nil
	case KindInteger:
		switch v.num {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return false, fmt.Errorf("resp: integer %d is not a boolean", v.num)
	}
	return false, &WrongKindError{Got: v.kind, Want: KindBoolean}
}

// Elems returns the elements of an array, set or push. For a map or
// attribute it returns keys and values flattened: key, value, key, value...
// The slice is v's own (not a copy); an empty aggregate gives a nil slice.
// Nulls and other kinds give a *WrongKindError.
func (v Value) Elems() ([]Value, error) {
	if v.kind.isAggregate() {
		return v.elems, nil
	}
	return nil, &WrongKindError{Got: v.kind, Want: KindArray}
}

// Len returns the number of elements of an array, set or push, the number of
// pairs of a map or attribute, and the length in bytes of Text for the
// string-like kinds. It returns 0 for every other kind.
func (v Value) Len() int {
	switch v.kind {
	case KindMap, KindAttribute:
		return len(v.elems) / 2
	case KindArray, KindSet, KindPush:
		return len(v.elems)
	}
	return len(v.Text())
}

// MapPairs returns the pairs of a map or attribute, or of an array of even
// length (how RESP2 sends a map). It allocates the returned slice.
func (v Value) MapPairs() ([][2]Value, error) {
	switch v.kind {
	case KindMap, KindAttribute:
	case KindArray:
		if len(v.elems)%2 != 0 {
			return nil, fmt.Errorf("resp: array of odd length %d is not a map", len(v.elems))
		}
	default:
		return nil, &WrongKindError{Got: v.kind, Want: KindMap}
	}
	if len(v.elems) == 0 {
		return nil, nil
	}
	pairs := make([][2]Value, len(v.elems)/2)
	for i := range pairs {
		pairs[i] = [2]Value{v.elems[2*i], v.elems[2*i+1]}
	}
	return pairs, nil
}

// Format returns a verbatim string's three-letter format, such as "txt" or
// "mkd", and "" for every other kind.
func (v Value) Format() string {
	if v.kind == KindVerbatim {
		return v.str[:3]
	}
	return ""
}

// Attributes returns the attribute (a Value of KindAttribute, read like a
// map) that preceded v on the wire, if there was one.
func (v Value) Attributes() (Value, bool) {
	if v.attr == nil {
		return Value{}, false
	}
	return *v.attr, true
}

// Equal reports whether v and o are the same reply as sent on the wire: same
// kind, same null form, same text (so Double(1.5) and ",1.50" differ), same
// elements and same attributes.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind || v.null != o.null || v.str != o.str || v.num != o.num ||
		len(v.elems) != len(o.elems) || (v.attr == nil) != (o.attr == nil) {
		return false
	}
	if v.attr != nil && !v.attr.Equal(*o.attr) {
		return false
	}
	for i := range v.elems {
		if !v.elems[i].Equal(o.elems[i]) {
			return false
		}
	}
	return true
}
