package resp

import "strconv"

// Kind is the type of a RESP value. Each kind but KindInvalid corresponds to
// one RESP2 or RESP3 type byte; the comment on each constant names it.
type Kind uint8

// The kinds of RESP values.
const (
	// KindInvalid is the kind of the zero Value.
	KindInvalid Kind = iota
	// KindSimpleString is '+', a short string without CR or LF.
	KindSimpleString
	// KindError is '-', a server error reply on one line.
	KindError
	// KindInteger is ':', a signed 64-bit integer.
	KindInteger
	// KindBulkString is '$', a binary-safe string, also when streamed ("$?").
	KindBulkString
	// KindArray is '*', also when streamed ("*?").
	KindArray
	// KindNull is RESP3's '_' and RESP2's null bulk "$-1" and null array
	// "*-1". The Value remembers which form it was so it is written back
	// byte for byte.
	KindNull
	// KindBoolean is '#', "#t" or "#f".
	KindBoolean
	// KindDouble is ',', a floating point number (with inf, -inf and nan).
	KindDouble
	// KindBigNumber is '(', an integer of any size, kept as text.
	KindBigNumber
	// KindBulkError is '!', a binary-safe error reply.
	KindBulkError
	// KindVerbatim is '=', a string with a three-letter format ("txt", "mkd").
	KindVerbatim
	// KindMap is '%', key/value pairs in the order received, also when streamed ("%?").
	KindMap
	// KindSet is '~', also when streamed ("~?").
	KindSet
	// KindPush is '>', out-of-band data such as pub/sub messages.
	KindPush
	// KindAttribute is '|', a map of metadata about the value that follows
	// it. A Reader never returns it as a reply of its own: ReadValue attaches
	// it to the value it annotates, where Value.Attributes finds it.
	KindAttribute
)

var kindNames = [...]string{
	KindInvalid:      "invalid",
	KindSimpleString: "simple string",
	KindError:        "error",
	KindInteger:      "integer",
	KindBulkString:   "bulk string",
	KindArray:        "array",
	KindNull:         "null",
	KindBoolean:      "boolean",
	KindDouble:       "double",
	KindBigNumber:    "big number",
	KindBulkError:    "bulk error",
	KindVerbatim:     "verbatim string",
	KindMap:          "map",
	KindSet:          "set",
	KindPush:         "push",
	KindAttribute:    "attribute",
}

// String returns the kind's name in lower case, such as "bulk string".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// kindOfByte maps a type byte that starts a reply to its kind. '.' and ';'
// (stream continuations) and unknown bytes map to KindInvalid.
func kindOfByte(b byte) Kind {
	switch b {
	case '+':
		return KindSimpleString
	case '-':
		return KindError
	case ':':
		return KindInteger
	case '$':
		return KindBulkString
	case '*':
		return KindArray
	case '_':
		return KindNull
	case '#':
		return KindBoolean
	case ',':
		return KindDouble
	case '(':
		return KindBigNumber
	case '!':
		return KindBulkError
	case '=':
		return KindVerbatim
	case '%':
		return KindMap
	case '~':
		return KindSet
	case '>':
		return KindPush
	case '|':
		return KindAttribute
	}
	return KindInvalid
}

// typeByte is the inverse of kindOfByte for the kinds that have one byte.
func (k Kind) typeByte() byte {
	return "\x00+-:$*_#,(!=%~>|"[k]
}

// isAggregate reports whether values of kind k hold elements.
func (k Kind) isAggregate() bool {
	switch k {
	case KindArray, KindMap, KindSet, KindPush, KindAttribute:
		return true
	}
	return false
}
