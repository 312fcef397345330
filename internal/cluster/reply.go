package cluster

import (
	"fmt"

	"github.com/respool/respool/resp"
)

// This file holds the small readers of resp.Values that ParseShards and
// ParseSlots share. Each wraps ErrMalformed and says what it was reading.

// elems returns the elements of an array (or set) v.
func elems(v resp.Value, what string) ([]resp.Value, error) {
	if k := v.Kind(); k != resp.KindArray && k != resp.KindSet {
		return nil, fmt.Errorf("%w: %s is a %s, want an array", ErrMalformed, what, k)
	}
	es, _ := v.Elems()
	return es, nil
}

// pairs returns the key/value pairs of a RESP3 map or of a RESP2 flat array
// of even length.
func pairs(v resp.Value, what string) ([][2]resp.Value, error) {
	if k := v.Kind(); k != resp.KindMap && k != resp.KindArray {
		return nil, fmt.Errorf("%w: %s is a %s, want a map", ErrMalformed, what, k)
	}
	ps, err := v.MapPairs()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return ps, nil
}

// integer returns an integer, or a string holding one (RESP2 servers and
// proxies sometimes send numbers as strings).
func integer(v resp.Value, what string) (int64, error) {
	n, err := v.Int()
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return n, nil
}

// text returns a string value; a null gives "", as an unknown endpoint does.
func text(v resp.Value, what string) (string, error) {
	if v.IsNull() {
		return "", nil
	}
	s, err := v.Str()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return s, nil
}

// port checks that n is a TCP port.
func port(n int64, what string) (int64, error) {
	if n <= 0 || n > 65535 {
		return 0, fmt.Errorf("%w: %s %d is not a port", ErrMalformed, what, n)
	}
	return n, nil
}
