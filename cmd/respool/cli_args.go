package main

import "strings"

// splitArgs splits a line into arguments as the server's sdssplitargs
// does, which is how redis-cli reads a line of its interactive mode (and
// the server an inline command): words apart by white space; "double
// quotes" with the escapes \n \r \t \b \a \\ \" and \xNN; 'single quotes'
// with \' alone. A closing quote must be followed by white space or the end
// of the line. ok is false for a line with unbalanced quotes.
func splitArgs(line string) (args []string, ok bool) {
	args = []string{}
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return args, true
		}
		var (
			cur         strings.Builder
			inDouble    bool
			inSingle    bool
			done        bool
			closedQuote = func(i int) bool { return i+1 < len(line) && !isSpace(line[i+1]) }
		)
		for !done {
			switch {
			case inDouble:
				switch {
				case i >= len(line):
					return nil, false
				case line[i] == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
					cur.WriteByte(unhex(line[i+2])<<4 | unhex(line[i+3]))
					i += 3
				case line[i] == '\\' && i+1 < len(line):
					i++
					c := line[i]
					switch c {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					}
					cur.WriteByte(c)
				case line[i] == '"':
					if closedQuote(i) {
						return nil, false
					}
					done = true
				default:
					cur.WriteByte(line[i])
				}
			case inSingle:
				switch {
				case i >= len(line):
					return nil, false
				case line[i] == '\\' && i+1 < len(line) && line[i+1] == '\'':
					i++
					cur.WriteByte('\'')
				case line[i] == '\'':
					if closedQuote(i) {
						return nil, false
					}
					done = true
				default:
					cur.WriteByte(line[i])
				}
			default:
				if i >= len(line) {
					done = true
					break
				}
				switch line[i] {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					cur.WriteByte(line[i])
				}
			}
			if i < len(line) {
				i++
			}
		}
		args = append(args, cur.String())
	}
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// unquote reads s as one quoted string (unquoteCString): "a\x00b" is
// three bytes. ok is false unless s is exactly one argument.
func unquote(s string) (string, bool) {
	args, ok := splitArgs(s)
	if !ok || len(args) != 1 {
		return "", false
	}
	return args[0], true
}
