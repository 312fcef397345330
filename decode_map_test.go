package respool

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/respool/respool/resp"
)

// Map replies are decoded straight from their flat elements: a RESP3 map,
// the flat array of pairs RESP2 sends, and nothing else.
func TestDecodeMapReplies(t *testing.T) {
	b := resp.BulkString
	pairs := []resp.Value{b("a"), b("1"), b("b"), resp.Null(), b("c"), b("3")}
	want := map[string]string{"a": "1", "b": "", "c": "3"}
	for _, v := range []resp.Value{resp.Map(pairs...), resp.Array(pairs...)} {
		got, err := DecodeStringMap(v)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("DecodeStringMap(%v) = %v, %v; want %v", v, got, err, want)
		}
		if got, err := DecodePairs(DecodeString, DecodeString)(v); err == nil || !strings.Contains(err.Error(), "element 3") {
			// DecodeString does not take a null: element 3 is the null.
			t.Errorf("DecodePairs(%v) = %v, %v; want an error at element 3", v, got, err)
		}
		optional := func(e resp.Value) (Optional[string], error) {
			s, err := DecodeString(e)
			return Optional[string]{Val: s, OK: err == nil}, nil
		}
		ordered, err := DecodePairs(DecodeString, optional)(v)
		var keys []string
		for _, p := range ordered {
			keys = append(keys, p.Key)
		}
		if err != nil || !slices.Equal(keys, []string{"a", "b", "c"}) || ordered[1].Val.OK || ordered[2].Val.Val != "3" {
			t.Errorf("DecodePairs(%v) = %v, %v", v, ordered, err)
		}
	}
	if got, err := DecodeStringMap(resp.Map()); err != nil || len(got) != 0 {
		t.Errorf("empty map: %v, %v", got, err)
	}
	if _, err := DecodeStringMap(resp.NullArray()); !errors.Is(err, Nil) {
		t.Errorf("null: %v, want Nil", err)
	}
	for _, v := range []resp.Value{resp.Array(b("a")), resp.Set(b("a"), b("b")), b("a"), resp.Integer(1)} {
		if got, err := DecodeStringMap(v); err == nil {
			t.Errorf("DecodeStringMap(%v) = %v, want an error", v, got)
		}
	}
	if _, err := DecodeStringMap(resp.Map(b("a"), resp.Array())); err == nil || !strings.Contains(err.Error(), "element 1") {
		t.Errorf("an array as a value: %v, want an error at element 1", err)
	}
}
