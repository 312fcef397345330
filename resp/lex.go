package resp

import "math"

// This file holds the checks and conversions for the text of one line:
// lengths, integers, doubles, big numbers. None of them allocates.

// parseLength parses an aggregate or bulk length: decimal digits, or "-1".
// It reports false for anything else, including values beyond int64.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, true
	}
	return parseDigits(b)
}

// parseDigits parses a non-empty run of decimal digits into an int64.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' || n > math.MaxInt64/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0') // at most 9223372036854775809: no wrap
		if n > math.MaxInt64 {
			return 0, false
		}
	}
	return int64(n), true
}

// parseInteger parses an optionally signed decimal int64, the payload of a
// ':' reply. It reports false for anything else, including overflow.
func parseInteger(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0') // at most 9223372036854775809: no wrap
		if n > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return int64(-n), true // -(1<<63) wraps to math.MinInt64 as wanted
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// isBigNumber reports whether b is an optionally signed run of digits.
func isBigNumber(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isDouble reports whether b is the text of a RESP3 double: an optional
// sign, then "inf", "infinity" or "nan" in any case, or decimal digits with
// an optional fraction and exponent ("1", "1.5", ".5", "1e10", "-1.5E-3").
// Hexadecimal floats and digit separators, which strconv.ParseFloat would
// take, are refused.
func isDouble(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	if equalFold(b, "inf") || equalFold(b, "infinity") || equalFold(b, "nan") {
		return true
	}
	i, digits := 0, 0
	for i < len(b) && isDigit(b[i]) {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		start := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// equalFold reports whether b equals the lower-case ASCII word, ignoring case.
func equalFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != word[i] {
			return false
		}
	}
	return true
}
