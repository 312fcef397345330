package main

import (
	"strconv"

	"github.com/respool/respool/resp"
)

// This file prints replies as redis-cli 7.0's --csv, --json and
// --quoted-json do (cliFormatReplyCSV and cliFormatReplyJson).

// appendCSV appends v as one CSV line without its newline: strings quoted
// as sdscatrepr does, nulls as NULL, aggregates (maps too) flattened.
func appendCSV(b []byte, v resp.Value) []byte {
	switch v.Kind() {
	case resp.KindError, resp.KindBulkError:
		b = append(b, "ERROR,"...)
		return appendRepr(b, cString(v.Text()))
	case resp.KindSimpleString, resp.KindBulkString, resp.KindVerbatim:
		return appendRepr(b, v.Text())
	case resp.KindInteger:
		n, _ := v.Int()
		return strconv.AppendInt(b, n, 10)
	case resp.KindDouble:
		return append(b, cString(v.Text())...)
	case resp.KindNull:
		return append(b, "NULL"...)
	case resp.KindBoolean:
		t, _ := v.Bool()
		return strconv.AppendBool(b, t)
	case resp.KindArray, resp.KindSet, resp.KindPush, resp.KindMap:
		elems, _ := v.Elems()
		for i, e := range elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCSV(b, e)
		}
	}
	return b
}

// appendJSON appends v as a JSON value. quoted is --quoted-json: strings
// are quoted as sdscatrepr does, with each backslash doubled.
func appendJSON(b []byte, v resp.Value, quoted bool) []byte {
	str := func(b []byte, s string) []byte {
		if quoted {
			for _, c := range appendRepr(nil, s) {
				if c == '\\' {
					b = append(b, '\\')
				}
				b = append(b, c)
			}
			return b
		}
		return appendJSONString(b, s)
	}
	switch v.Kind() {
	case resp.KindError, resp.KindBulkError:
		b = append(b, "error:"...)
		return str(b, cString(v.Text()))
	case resp.KindSimpleString, resp.KindBulkString, resp.KindVerbatim:
		return str(b, v.Text())
	case resp.KindInteger:
		n, _ := v.Int()
		return strconv.AppendInt(b, n, 10)
	case resp.KindDouble:
		return append(b, cString(v.Text())...)
	case resp.KindNull:
		return append(b, "null"...)
	case resp.KindBoolean:
		t, _ := v.Bool()
		return strconv.AppendBool(b, t)
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
