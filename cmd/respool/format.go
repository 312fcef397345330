package main

import (
	"strconv"
	"strings"

	"github.com/respool/respool/resp"
)

// This file prints replies the way redis-cli 7.0 does (cliFormatReplyTTY and
// cliFormatReplyRaw in src/redis-cli.c, over hiredis's reply types), byte
// for byte, as pure functions over resp.Value.

// outputMode is how a reply is printed.
type outputMode uint8

const (
	// outputTTY is redis-cli's "standard" output: quoted strings, (integer),
	// numbered elements. Its default when stdout is a terminal, or with
	// --no-raw.
	outputTTY outputMode = iota
	// outputRaw prints strings as they are and elements one a line. Its
	// default when stdout is not a terminal, or with --raw.
	outputRaw
	// outputCSV is --csv: one line of comma-separated values a reply.
	outputCSV
	// outputJSON is --json: one JSON document a reply.
	outputJSON
	// outputQuotedJSON is --quoted-json: JSON whose strings keep
	// redis-cli's quoting of binary bytes (\\xNN).
	outputQuotedJSON
)

func (m outputMode) String() string {
	switch m {
	case outputRaw:
		return "raw"
	case outputCSV:
		return "csv"
	case outputJSON:
		return "json"
	case outputQuotedJSON:
		return "quoted-json"
	}
	return "tty"
}

// replyError is a reply redis-cli 7.0 cannot print: it prints message on
// stderr, nothing on stdout, and exits with status 1.
type replyError struct{ message string }

func (e *replyError) Error() string { return e.message }

// checkPrintable reports the replies redis-cli 7.0 fails on, in the order it
// would meet them. Its hiredis rejects an attribute ('|') while parsing, so
// any attribute in the reply fails it; its formatters know no big number
// ('('), which hiredis reports as type 13.
func checkPrintable(v resp.Value) error {
	if hasAttribute(v) {
		return &replyError{`Error: Protocol error, got "|" as reply type byte`}
	}
	if hasKind(v, resp.KindBigNumber) {
		return &replyError{"Unknown reply type: 13"}
	}
	return nil
}

func hasAttribute(v resp.Value) bool {
	if _, ok := v.Attributes(); ok {
		return true
	}
	elems, _ := v.Elems()
	for _, e := range elems {
		if hasAttribute(e) {
			return true
		}
	}
	return false
}

func hasKind(v resp.Value, k resp.Kind) bool {
	if v.Kind() == k {
		return true
	}
	elems, _ := v.Elems()
	for _, e := range elems {
		if hasKind(e, k) {
			return true
		}
	}
	return false
}

// formatReply returns the bytes redis-cli prints for one reply in mode:
// TTY output, or raw output followed by the command delimiter. rawStrings
// is redis-cli's "output_raw_strings" for INFO and friends (see
// rawStringsCommand): raw, with no delimiter, whatever the mode.
func formatReply(v resp.Value, mode outputMode, rawStrings bool, delims delimiters) ([]byte, error) {
	if err := checkPrintable(v); err != nil {
		return nil, err
	}
	switch {
	case rawStrings:
		return appendRaw(nil, v, delims.bulk), nil
	case mode == outputRaw:
		return append(appendRaw(nil, v, delims.bulk), delims.reply...), nil
	case mode == outputCSV:
		return append(appendCSV(nil, v), '\n'), nil
	case mode == outputJSON || mode == outputQuotedJSON:
		return append(appendJSON(nil, v, mode == outputQuotedJSON), '\n'), nil
	default:
		return appendTTY(nil, v, ""), nil
	}
}

// delimiters are redis-cli's -d (between the elements of an aggregate in
// raw output) and -D (after each reply in raw output), "\n" by default.
type delimiters struct {
	bulk  string
	reply string
}

var defaultDelimiters = delimiters{bulk: "\n", reply: "\n"}

// appendTTY appends v as cliFormatReplyTTY formats it. prefix is the
// indentation of the elements after the first of an aggregate.
func appendTTY(b []byte, v resp.Value, prefix string) []byte {
	switch v.Kind() {
	case resp.KindError, resp.KindBulkError:
		b = append(b, "(error) "...)
		b = append(b, cString(v.Text())...) // printed with %s
		return append(b, '\n')
	case resp.KindSimpleString:
		b = append(b, cString(v.Text())...)
		return append(b, '\n')
	case resp.KindInteger:
		n, _ := v.Int()
		b = append(b, "(integer) "...)
		b = strconv.AppendInt(b, n, 10)
		return append(b, '\n')
	case resp.KindDouble:
		b = append(b, "(double) "...)
		b = append(b, cString(v.Text())...)
		return append(b, '\n')
	case resp.KindBulkString:
		b = appendRepr(b, v.Text())
		return append(b, '\n')
	case resp.KindVerbatim:
		b = append(b, v.Text()...)
		return append(b, '\n')
	case resp.KindNull:
		return append(b, "(nil)\n"...)
	case resp.KindBoolean:
		if t, _ := v.Bool(); t {
			return append(b, "(true)\n"...)
		}
		return append(b, "(false)\n"...)
	case resp.KindArray, resp.KindSet, resp.KindPush, resp.KindMap:
		return appendAggregateTTY(b, v, prefix)
	}
	return b // checkPrintable rejected everything else
}

func appendAggregateTTY(b []byte, v resp.Value, prefix string) []byte {
	elems, _ := v.Elems()
	kind := v.Kind()
	if len(elems) == 0 {
		switch kind {
		case resp.KindMap:
			return append(b, "(empty hash)\n"...)
		case resp.KindSet:
			return append(b, "(empty set)\n"...)
		case resp.KindPush:
			return append(b, "(empty push)\n"...)
		}
		return append(b, "(empty array)\n"...)
	}
	count := len(elems)
	if kind == resp.KindMap {
		count /= 2
	}
	width := len(strconv.Itoa(count))
	// Nested elements are indented by the index width plus ") ".
	inner := prefix + strings.Repeat(" ", width+2)
	sep := byte(')')
	switch kind {
	case resp.KindSet:
		sep = '~'
	case resp.KindMap:
		sep = '#'
	}
	for i := 0; i < len(elems); i++ {
		index := i + 1
		if kind == resp.KindMap {
			index = i/2 + 1
		}
		// The first element follows the parent's own index on its line.
		if i > 0 {
			b = append(b, prefix...)
		}
		b = appendPadded(b, index, width)
		b = append(b, sep, ' ')
		b = appendTTY(b, elems[i], inner)
		if kind == resp.KindMap {
			i++
			b = b[:len(b)-1] // the key's newline
			b = append(b, " => "...)
			if isMultilineTTY(elems[i]) {
				b = append(b, '\n')
				b = append(b, inner...)
			}
			b = appendTTY(b, elems[i], inner)
		}
	}
	return b
}

// appendPadded appends n right-aligned in width columns, as printf's "%*u".
func appendPadded(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for range width - len(s) {
		b = append(b, ' ')
	}
	return append(b, s...)
}

// isMultilineTTY reports whether appendTTY prints v on more than one line
// (cliIsMultilineValueTTY); a map value that is starts on a line of its own.
func isMultilineTTY(v resp.Value) bool {
	elems, _ := v.Elems()
	switch v.Kind() {
	case resp.KindArray, resp.KindSet, resp.KindPush:
		if len(elems) == 0 {
			return false
		}
		if len(elems) > 1 {
			return true
		}
		return isMultilineTTY(elems[0])
	case resp.KindMap:
		if len(elems) == 0 {
			return false
		}
		if len(elems) > 2 {
			return true
		}
		return isMultilineTTY(elems[1])
	}
	return false
}

// appendRaw appends v as cliFormatReplyRaw formats it; bulkDelim goes
// between the elements of an aggregate.
func appendRaw(b []byte, v resp.Value, bulkDelim string) []byte {
	switch v.Kind() {
	case resp.KindNull:
		return b
	case resp.KindError, resp.KindBulkError:
		b = append(b, v.Text()...)
		return append(b, '\n')
	case resp.KindSimpleString, resp.KindBulkString, resp.KindVerbatim:
		return append(b, v.Text()...)
	case resp.KindBoolean:
		if t, _ := v.Bool(); t {
			return append(b, "(true)"...)
		}
		return append(b, "(false)"...)
	case resp.KindInteger:
		n, _ := v.Int()
		return strconv.AppendInt(b, n, 10)
	case resp.KindDouble:
		return append(b, cString(v.Text())...)
	case resp.KindArray, resp.KindSet, resp.KindPush:
		elems, _ := v.Elems()
		for i, e := range elems {
			if i > 0 {
				b = append(b, bulkDelim...)
			}
			b = appendRaw(b, e, bulkDelim)
		}
		return b
	case resp.KindMap:
		elems, _ := v.Elems()
		for i := 0; i+1 < len(elems); i += 2 {
			if i > 0 {
				b = append(b, bulkDelim...)
			}
			b = appendRaw(b, elems[i], bulkDelim)
			b = append(b, ' ')
			b = appendRaw(b, elems[i+1], bulkDelim)
		}
		return b
	}
	return b
}

// appendRepr appends s quoted as sds's sdscatrepr does: backslash escapes
// for \\ \" \n \r \t \a \b, the printable ASCII bytes as they are, and
// \xNN (lower-case hex) for every other byte, UTF-8 included.
func appendRepr(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if c >= 0x20 && c <= 0x7e {
				b = append(b, c)
			} else {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			}
		}
	}
	return append(b, '"')
}

// cString cuts s at its first NUL byte, as C's %s and strlen do.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// rawStringsCommand reports whether redis-cli prints the reply of args
// raw, without the reply delimiter, in every mode: the commands whose
// replies are text meant for people (cliSendCommand's "output_raw" list in
// redis-cli 7.0).
func rawStringsCommand(args []string) bool {
	if len(args) == 0 {
		return false
	}
	argc := len(args)
	is := func(i int, name string) bool { return strings.EqualFold(args[i], name) }
	switch {
	case is(0, "info"), is(0, "lolwut"):
		return true
	case argc >= 2 && is(0, "debug"):
		return is(1, "htstats") || is(1, "htstats-key")
	case argc >= 2 && is(0, "memory"):
		return is(1, "malloc-stats") || is(1, "doctor")
	case argc == 2 && is(0, "cluster"):
		return is(1, "nodes") || is(1, "info")
	case argc >= 2 && is(0, "client"):
		return is(1, "list") || is(1, "info")
	case argc == 3 && is(0, "latency"):
		return is(1, "graph")
	case argc == 2 && is(0, "latency"):
		return is(1, "doctor")
	case argc >= 2 && is(0, "proxy"):
		return is(1, "info")
	}
	return false
}
