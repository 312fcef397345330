package main

import (
	"strconv"

	"github.com/respool/respool/resp"
)

// This file prints replies as redis-cli 7.0's --csv, --json and
// --quoted-json do (cliFormatReplyCSV and cliFormatReplyJson).

// flatStyle is what --csv and --json print differently for a reply that is
// not an aggregate: the prefix of an error, the word for null and how a
// string is quoted. Numbers and booleans are the same in both.
type flatStyle struct {
	errPrefix string
	null      string
	str       func(b []byte, s string) []byte
}

// appendScalar appends v if it is not an aggregate, and reports whether it
// was not.
func (st flatStyle) appendScalar(b []byte, v resp.Value) ([]byte, bool) {
	switch v.Kind() {
	case resp.KindError, resp.KindBulkError:
		b = append(b, st.errPrefix...)
		return st.str(b, cString(v.Text())), true
	case resp.KindSimpleString, resp.KindBulkString, resp.KindVerbatim:
		return st.str(b, v.Text()), true
	case resp.KindInteger:
		n, _ := v.Int()
		return strconv.AppendInt(b, n, 10), true
	case resp.KindDouble:
		return append(b, cString(v.Text())...), true
	case resp.KindNull:
		return append(b, st.null...), true
	case resp.KindBoolean:
		t, _ := v.Bool()
		return strconv.AppendBool(b, t), true
	}
	return b, false
}

var (
	csvStyle        = flatStyle{errPrefix: "ERROR,", null: "NULL", str: appendRepr}
	jsonStyle       = flatStyle{errPrefix: "error:", null: "null", str: appendJSONString}
	quotedJSONStyle = flatStyle{errPrefix: "error:", null: "null", str: appendQuotedJSON}
)

// appendCSV appends v as one CSV line without its newline: strings quoted
// as sdscatrepr does, nulls as NULL, aggregates (maps too) flattened.
func appendCSV(b []byte, v resp.Value) []byte {
	if b, ok := csvStyle.appendScalar(b, v); ok {
		return b
	}
	elems, _ := v.Elems() // an array, set, push or map
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSV(b, e)
	}
	return b
}

// appendJSON appends v as a JSON value. quoted is --quoted-json: strings
// are quoted as sdscatrepr does, with each backslash doubled.
func appendJSON(b []byte, v resp.Value, quoted bool) []byte {
	st := jsonStyle
	if quoted {
		st = quotedJSONStyle
	}
	if b, ok := st.appendScalar(b, v); ok {
		return b
	}
	switch v.Kind() {
	case resp.KindArray, resp.KindSet, resp.KindPush:
		elems, _ := v.Elems()
		b = append(b, '[')
		for i, e := range elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e, quoted)
		}
		return append(b, ']')
	case resp.KindMap:
		elems, _ := v.Elems()
		b = append(b, '{')
		for i := 0; i+1 < len(elems); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			switch key := elems[i]; key.Kind() {
			case resp.KindError, resp.KindBulkError, resp.KindSimpleString, resp.KindBulkString, resp.KindVerbatim:
				b = appendJSON(b, key, quoted)
			default:
				// JSON keys are strings: redis-cli quotes the others as
				// they print, without escaping.
				k := appendJSON(nil, key, quoted)
				if len(k) > 0 && k[0] == '"' {
					b = append(b, k...)
				} else {
					b = append(append(append(b, '"'), k...), '"')
				}
			}
			b = append(b, ':')
			b = appendJSON(b, elems[i+1], quoted)
		}
		return append(b, '}')
	}
	return b
}

// appendQuotedJSON appends s as --quoted-json does: sdscatrepr's quoting
// with every backslash doubled.
func appendQuotedJSON(b []byte, s string) []byte {
	for _, c := range appendRepr(nil, s) {
		if c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}

// appendJSONString appends s as escapeJsonString does: \" \\ \n \f \r \t
// \b escaped, other control bytes as \u00NN, everything else (UTF-8
// included) as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c <= 0x1f {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}
