package resp

import (
	"math"
	"strconv"
	"strings"
)

// The constructors below build Values for tests, fake servers and clients.
// They do not validate text: Writer.WriteValue rejects what cannot be
// written (such as a simple string containing CR or LF). Aggregate
// constructors keep the slice they are given; do not modify it afterwards.

// SimpleString returns a '+' value. s must not contain CR or LF.
func SimpleString(s string) Value { return Value{kind: KindSimpleString, str: s} }

// ErrorValue returns a '-' error reply, such as "ERR unknown command".
// s must not contain CR or LF.
func ErrorValue(s string) Value { return Value{kind: KindError, str: s} }

// Integer returns a ':' value.
func Integer(n int64) Value { return Value{kind: KindInteger, num: n} }

// BulkString returns a '$' value holding s.
func BulkString(s string) Value { return Value{kind: KindBulkString, str: s} }

// Bulk returns a '$' value holding a copy of b.
func Bulk(b []byte) Value { return Value{kind: KindBulkString, str: string(b)} }

// Array returns a '*' value holding elems.
func Array(elems ...Value) Value { return Value{kind: KindArray, elems: nilIfEmpty(elems)} }

// Null returns RESP3's null, written "_\r\n".
func Null() Value { return Value{kind: KindNull, null: nullUnderscore} }

// NullBulk returns RESP2's null bulk string, written "$-1\r\n".
func NullBulk() Value { return Value{kind: KindNull, null: nullBulk} }

// NullArray returns RESP2's null array, written "*-1\r\n".
func NullArray() Value { return Value{kind: KindNull, null: nullArray} }

// Boolean returns a '#' value.
func Boolean(b bool) Value {
	if b {
		return Value{kind: KindBoolean, num: 1}
	}
	return Value{kind: KindBoolean}
}

// Double returns a ',' value. Its text is the shortest that parses back to
// f, in the form Redis uses for infinities and NaN: "inf", "-inf", "nan".
func Double(f float64) Value {
	return Value{kind: KindDouble, str: formatDouble(f), num: int64(math.Float64bits(f))}
}

func formatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// BigNumber returns a '(' value; s is its decimal text, such as
// "-3492890328409238509324850943850943825024385".
func BigNumber(s string) Value { return Value{kind: KindBigNumber, str: s} }

// BulkError returns a '!' error reply.
func BulkError(s string) Value { return Value{kind: KindBulkError, str: s} }

// Verbatim returns a '=' value. It panics unless format is exactly three
// bytes ("txt", "mkd"), since no valid reply can carry another.
func Verbatim(format, text string) Value {
	if len(format) != 3 {
		panic("resp: Verbatim format must be 3 bytes, got " + strconv.Quote(format))
	}
	return Value{kind: KindVerbatim, str: format + ":" + text}
}

// Map returns a '%' value from keys and values flattened: key, value, key,
// value... It panics if given an odd number of values.
func Map(kv ...Value) Value {
	if len(kv)%2 != 0 {
		panic("resp: Map needs an even number of values, got " + strconv.Itoa(len(kv)))
	}
	return Value{kind: KindMap, elems: nilIfEmpty(kv)}
}

// Set returns a '~' value.
func Set(elems ...Value) Value { return Value{kind: KindSet, elems: nilIfEmpty(elems)} }

// Push returns a '>' value, such as a pub/sub message.
func Push(elems ...Value) Value { return Value{kind: KindPush, elems: nilIfEmpty(elems)} }

// WithAttributes returns v preceded by the attribute attr, which must be a
// map (or an attribute, from Value.Attributes); it panics otherwise.
func (v Value) WithAttributes(attr Value) Value {
	if attr.kind != KindMap && attr.kind != KindAttribute {
		panic("resp: WithAttributes needs a map, got " + attr.kind.String())
	}
	attr.kind = KindAttribute
	v.attr = &attr
	return v
}

func nilIfEmpty(elems []Value) []Value {
	if len(elems) == 0 {
		return nil
	}
	return elems
}

// String returns a one-line form of v for debugging and test failures:
// strings quoted, "(integer) 1", "(nil)", "(error) ERR ...", "[a, b]" for
// arrays, "{k: v}" for maps, "~[...]" for sets, ">[...]" for pushes and
// "|{...}| " before a value with attributes. The format may change.
func (v Value) String() string {
	var b strings.Builder
	v.writeDebug(&b)
	return b.String()
}

func (v Value) writeDebug(b *strings.Builder) {
	if v.attr != nil {
		b.WriteString("|")
		v.attr.writeDebug(b)
		b.WriteString("| ")
	}
	switch v.kind {
	case KindInvalid:
		b.WriteString("(invalid)")
	case KindSimpleString, KindBulkString:
		b.WriteString(strconv.Quote(v.str))
	case KindVerbatim:
		b.WriteString(v.str[:3])
		b.WriteString(":")
		b.WriteString(strconv.Quote(v.str[4:]))
	case KindError, KindBulkError:
		b.WriteString("(error) ")
		b.WriteString(v.str)
	case KindInteger:
		b.WriteString("(integer) ")
		b.WriteString(strconv.FormatInt(v.num, 10))
	case KindNull:
		b.WriteString("(nil)")
	case KindBoolean:
		if v.num != 0 {
			b.WriteString("(true)")
		} else {
			b.WriteString("(false)")
		}
	case KindDouble:
		b.WriteString("(double) ")
		b.WriteString(v.str)
	case KindBigNumber:
		b.WriteString("(big number) ")
		b.WriteString(v.str)
	case KindMap, KindAttribute:
		b.WriteString("{")
		for i := 0; i+1 < len(v.elems); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			v.elems[i].writeDebug(b)
			b.WriteString(": ")
			v.elems[i+1].writeDebug(b)
		}
		b.WriteString("}")
	case KindArray, KindSet, KindPush:
		switch v.kind {
		case KindSet:
			b.WriteString("~")
		case KindPush:
			b.WriteString(">")
		}
		b.WriteString("[")
		for i, e := range v.elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.writeDebug(b)
		}
		b.WriteString("]")
	default:
		b.WriteString(v.kind.String())
	}
}
