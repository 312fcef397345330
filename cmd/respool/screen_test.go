package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// screen renders what a program wrote to a terminal into the text a person
// sees, so that two line editors that draw the same screen with different
// escape sequences compare equal. It knows what linenoise and
// chzyer/readline send: printable text, CR, LF, BS, cursor moves (CSI A, B,
// C, D, G, H), erasing (CSI K, J) and colours (CSI m, ignored). Lines do
// not wrap: the terminal is wider than any line of the tests.
type screen struct {
	lines    [][]rune
	row, col int
}

// render returns the screen after out, one line per row, without trailing
// spaces or empty rows at the end.
func render(out string) string {
	var s screen
	for i := 0; i < len(out); {
		c := out[i]
		switch {
		case c == '\r':
			s.col = 0
			i++
		case c == '\n':
			s.row++
			i++
		case c == '\b':
			s.col = max(s.col-1, 0)
			i++
		case c == 0x1b && i+1 < len(out) && out[i+1] == '[':
			j := i + 2
			for j < len(out) && (out[j] >= '0' && out[j] <= '9' || out[j] == ';' || out[j] == '?') {
				j++
			}
			if j < len(out) {
				s.csi(out[i+2:j], out[j])
			}
			i = j + 1
		case c == 0x1b:
			i += 2
		case c < 0x20:
			i++
		default:
			r, size := utf8.DecodeRuneInString(out[i:])
			s.put(r)
			i += size
		}
	}
	var b strings.Builder
	for _, l := range s.lines {
		b.WriteString(strings.TrimRight(string(l), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func (s *screen) line() []rune {
	for len(s.lines) <= s.row {
		s.lines = append(s.lines, nil)
	}
	return s.lines[s.row]
}

func (s *screen) put(r rune) {
	l := s.line()
	for len(l) <= s.col {
		l = append(l, ' ')
	}
	l[s.col] = r
	s.lines[s.row] = l
	s.col++
}

// csi runs one control sequence: its parameters and final byte.
func (s *screen) csi(params string, final byte) {
	n := func(def int) int {
		first, _, _ := strings.Cut(params, ";")
		if v, err := strconv.Atoi(first); err == nil {
			return v
		}
		return def
	}
	switch final {
	case 'A':
		s.row = max(s.row-n(1), 0)
	case 'B':
		s.row += n(1)
	case 'C':
		s.col += n(1)
	case 'D':
		s.col = max(s.col-n(1), 0)
	case 'G':
		s.col = max(n(1)-1, 0)
	case 'H':
		s.row, s.col = 0, 0
		if r, c, ok := strings.Cut(params, ";"); ok {
			rv, _ := strconv.Atoi(r)
			cv, _ := strconv.Atoi(c)
			s.row, s.col = max(rv-1, 0), max(cv-1, 0)
		}
	case 'K':
		l := s.line()
		switch n(0) {
		case 0:
			if s.col < len(l) {
				s.lines[s.row] = l[:s.col]
			}
		case 1:
			for i := 0; i < s.col && i < len(l); i++ {
				l[i] = ' '
			}
		case 2:
			s.lines[s.row] = nil
		}
	case 'J':
		if n(0) == 2 {
			s.lines = nil
			return
		}
		l := s.line()
		if s.col < len(l) {
			s.lines[s.row] = l[:s.col]
		}
		s.lines = s.lines[:s.row+1]
	}
}
