package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// value is a RESP3 reply as the generator needs it: kind is the type byte;
// str holds simple, bulk, verbatim, error and double text; num integers and
// booleans; elems the elements of arrays, sets and pushes, and the keys and
// values of maps in turn.
type value struct {
	kind  byte
	str   string
	num   int64
	elems []value
}

// fields returns the map's values by their string keys (nil for any other
// kind), so a missing field reads as the zero value.
func (v value) fields() map[string]value {
	if v.kind != '%' {
		return nil
	}
	m := make(map[string]value, len(v.elems)/2)
	for i := 0; i+1 < len(v.elems); i += 2 {
		m[v.elems[i].str] = v.elems[i+1]
	}
	return m
}

// strs returns the strings of an array or set.
func strs(v value) []string {
	var ss []string
	for _, e := range v.elems {
		ss = append(ss, e.str)
	}
	return ss
}

type client struct {
	w io.Writer
	r *bufio.Reader
}

// do sends one command and reads its reply, skipping push messages; an
// error reply is returned as an error.
func (c *client) do(args ...string) (value, error) {
	buf := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		buf = fmt.Appendf(buf, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.w.Write(buf); err != nil {
		return value{}, err
	}
	for {
		v, err := c.read()
		if err != nil {
			return value{}, err
		}
		switch v.kind {
		case '>':
			continue
		case '-', '!':
			return value{}, fmt.Errorf("%s: %s", args[0], v.str)
		}
		return v, nil
	}
}

func (c *client) line() (string, error) {
	s, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(s) < 2 || s[len(s)-2] != '\r' {
		return "", errors.New("protocol error: line without CRLF")
	}
	return s[:len(s)-2], nil
}

func (c *client) read() (value, error) {
	l, err := c.line()
	if err != nil {
		return value{}, err
	}
	if l == "" {
		return value{}, errors.New("protocol error: empty line")
	}
	v := value{kind: l[0]}
	rest := l[1:]
	switch v.kind {
	case '+', '-', ',', '(':
		v.str = rest
	case ':':
		v.num, err = strconv.ParseInt(rest, 10, 64)
	case '#':
		if rest == "t" {
			v.num = 1
		}
	case '_':
	case '$', '!', '=':
		n, perr := strconv.Atoi(rest)
		if perr != nil {
			return v, perr
		}
		if n < 0 {
			v.kind = '_'
			return v, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return v, err
		}
		v.str = string(buf[:n])
		if v.kind == '=' && len(v.str) >= 4 {
			v.str = v.str[4:] // drop the "txt:" format
		}
	case '*', '~', '>', '%', '|':
		n, perr := strconv.Atoi(rest)
		if perr != nil {
			return v, perr
		}
		if n < 0 {
			v.kind = '_'
			return v, nil
		}
		if v.kind == '%' || v.kind == '|' {
			n *= 2
		}
		v.elems = make([]value, n)
		for i := range v.elems {
			if v.elems[i], err = c.read(); err != nil {
				return v, err
			}
		}
		if v.kind == '|' { // an attribute: skip it, the reply follows
			return c.read()
		}
	default:
		return v, fmt.Errorf("protocol error: unknown type %q", v.kind)
	}
	return v, err
}
