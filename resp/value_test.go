package resp

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestKindString(t *testing.T) {
	want := []string{"invalid", "simple string", "error", "integer", "bulk string", "array", "null", "boolean",
		"double", "big number", "bulk error", "verbatim string", "map", "set", "push", "attribute"}
	for k := KindInvalid; k <= KindAttribute; k++ {
		if k.String() != want[k] {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want[k])
		}
		if k != KindInvalid && kindOfByte(k.typeByte()) != k {
			t.Errorf("type byte of %v does not map back", k)
		}
	}
	if Kind(99).String() != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", Kind(99).String())
	}
}

func TestAccessors(t *testing.T) {
	wrong := func(err error, want Kind) bool {
		var wk *WrongKindError
		return errors.As(err, &wk) && wk.Want == want
	}
	// Str and Bytes.
	for _, v := range []Value{SimpleString("x"), BulkString("x"), Verbatim("txt", "x"), BigNumber("x")} {
		if s, err := v.Str(); s != "x" || err != nil {
			t.Errorf("%v.Str() = %q, %v", v, s, err)
		}
		if b, err := v.Bytes(); string(b) != "x" || err != nil {
			t.Errorf("%v.Bytes() = %q, %v", v, b, err)
		}
	}
	for _, v := range []Value{ErrorValue("x"), BulkError("x"), Null(), NullBulk(), Integer(1), Double(1), Array(), {}} {
		if _, err := v.Str(); !wrong(err, KindBulkString) {
			t.Errorf("%v.Str(): %v", v, err)
		}
		if _, err := v.Bytes(); !wrong(err, KindBulkString) {
			t.Errorf("%v.Bytes(): %v", v, err)
		}
	}
	// Text.
	for v, want := range map[*Value]string{
		ptr(ErrorValue("ERR x")): "ERR x", ptr(BulkError("E")): "E", ptr(Double(1.5)): "1.5", ptr(Verbatim("mkd", "# t")): "# t",
		ptr(Integer(5)): "", ptr(Null()): "", ptr(Array(BulkString("a"))): "", ptr(Boolean(true)): "",
	} {
		if v.Text() != want {
			t.Errorf("%v.Text() = %q, want %q", *v, v.Text(), want)
		}
	}
	// Int.
	for _, tc := range []struct {
		v    Value
		want int64
		ok   bool
	}{
		{Integer(-3), -3, true}, {BulkString("42"), 42, true}, {SimpleString("-1"), -1, true},
		{BulkString("4.5"), 0, false}, {BulkString(""), 0, false}, {Double(1), 0, false}, {Null(), 0, false},
	} {
		n, err := tc.v.Int()
		if n != tc.want || (err == nil) != tc.ok {
			t.Errorf("%v.Int() = %d, %v", tc.v, n, err)
		}
	}
	// Float.
	for _, tc := range []struct {
		v    Value
		want float64
		ok   bool
	}{
		{Double(2.5), 2.5, true}, {Integer(3), 3, true}, {BulkString("1.5"), 1.5, true}, {BulkString("inf"), math.Inf(1), true},
		{BulkString("-inf"), math.Inf(-1), true}, {SimpleString("+inf"), math.Inf(1), true}, {mustRead(",-1.5E-3\r\n"), -1.5e-3, true},
		{BulkString("x"), 0, false}, {Boolean(true), 0, false}, {NullBulk(), 0, false},
	} {
		f, err := tc.v.Float()
		if f != tc.want || (err == nil) != tc.ok {
			t.Errorf("%v.Float() = %v, %v", tc.v, f, err)
		}
	}
	if f, err := mustRead(",nan\r\n").Float(); !math.IsNaN(f) || err != nil {
		t.Errorf("nan: %v %v", f, err)
	}
	if f, err := BulkString("nan").Float(); !math.IsNaN(f) || err != nil {
		t.Errorf("bulk nan: %v %v", f, err)
	}
	// Bool.
	for _, tc := range []struct {
		v    Value
		want bool
		ok   bool
	}{
		{Boolean(true), true, true}, {Boolean(false), false, true}, {Integer(1), true, true}, {Integer(0), false, true},
		{Integer(2), false, false}, {BulkString("1"), false, false}, {Null(), false, false},
	} {
		b, err := tc.v.Bool()
		if b != tc.want || (err == nil) != tc.ok {
			t.Errorf("%v.Bool() = %v, %v", tc.v, b, err)
		}
	}
	// Elems, Len, MapPairs.
	m := Map(BulkString("a"), Integer(1), BulkString("b"), Integer(2))
	if e, err := m.Elems(); len(e) != 4 || err != nil {
		t.Errorf("map Elems: %v %v", e, err)
	}
	if m.Len() != 2 || Array(Null(), Null(), Null()).Len() != 3 || BulkString("abc").Len() != 3 || Integer(7).Len() != 0 || Verbatim("txt", "ab").Len() != 2 {
		t.Error("Len")
	}
	if p, err := m.MapPairs(); len(p) != 2 || p[1][0].Text() != "b" || err != nil {
		t.Errorf("MapPairs: %v %v", p, err)
	}
	if p, err := Array(BulkString("a"), Integer(1)).MapPairs(); len(p) != 1 || err != nil {
		t.Errorf("array MapPairs: %v %v", p, err)
	}
	if _, err := Array(BulkString("a")).MapPairs(); err == nil {
		t.Error("odd array MapPairs: no error")
	}
	if _, err := Set().MapPairs(); !wrong(err, KindMap) {
		t.Errorf("set MapPairs: %v", err)
	}
	if _, err := NullArray().Elems(); !wrong(err, KindArray) {
		t.Errorf("null Elems: %v", err)
	}
	if e, err := Array().Elems(); e != nil || err != nil {
		t.Errorf("empty Elems: %v %v", e, err)
	}
	// Format, Attributes, IsNull, IsError.
	if Verbatim("mkd", "x").Format() != "mkd" || BulkString("x").Format() != "" {
		t.Error("Format")
	}
	if _, ok := Integer(1).Attributes(); ok {
		t.Error("Attributes on a plain value")
	}
	a, ok := Integer(1).WithAttributes(m).Attributes()
	if !ok || a.Kind() != KindAttribute || a.Len() != 2 {
		t.Errorf("Attributes: %v %v", a, ok)
	}
	if !Null().IsNull() || !NullBulk().IsNull() || !NullArray().IsNull() || BulkString("").IsNull() {
		t.Error("IsNull")
	}
	if !ErrorValue("x").IsError() || !BulkError("x").IsError() || SimpleString("x").IsError() {
		t.Error("IsError")
	}
}

func ptr(v Value) *Value { return &v }

func TestConstructorsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		//lint:ignore SA5012 an odd number of elements is the misuse under test
		"odd map":         func() { Map(Integer(1)) },
		"verbatim format": func() { Verbatim("text", "x") },
		"attributes":      func() { Integer(1).WithAttributes(Array()) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "resp: ") {
					t.Errorf("%s: recovered %v", name, r)
				}
			}()
			f()
		}()
	}
}

func TestEqual(t *testing.T) {
	same := [][2]Value{
		{Double(math.NaN()), mustRead(",nan\r\n")},
		{Array(), mustRead("*0\r\n")},
		{Array(), mustRead("*?\r\n.\r\n")},
		{Bulk([]byte("x")), BulkString("x")},
	}
	for _, p := range same {
		if !p[0].Equal(p[1]) {
			t.Errorf("%v and %v differ", p[0], p[1])
		}
	}
	differ := [][2]Value{
		{Null(), NullBulk()}, {NullBulk(), NullArray()}, {Double(1.5), mustRead(",1.50\r\n")},
		{SimpleString("x"), BulkString("x")}, {Array(Integer(1)), Array(Integer(2))},
		{Integer(1), Integer(1).WithAttributes(Map())}, {Map(Integer(1), Integer(2)), Array(Integer(1), Integer(2))},
		{Integer(1).WithAttributes(Map(Integer(1), Integer(2))), Integer(1).WithAttributes(Map(Integer(1), Integer(3)))},
	}
	for _, p := range differ {
		if p[0].Equal(p[1]) {
			t.Errorf("%v and %v are equal", p[0], p[1])
		}
	}
}

func TestValueString(t *testing.T) {
	v := Array(SimpleString("OK"), ErrorValue("ERR x"), Integer(1), Null(), Boolean(true), Double(1.5), BigNumber("9"),
		Verbatim("txt", "hi"), Map(BulkString("k"), Set(Integer(1))), Push(BulkString("m")), Value{}).
		WithAttributes(Map(BulkString("a"), Boolean(false)))
	const want = `|{"a": (false)}| ["OK", (error) ERR x, (integer) 1, (nil), (true), (double) 1.5, (big number) 9, txt:"hi", {"k": ~[(integer) 1]}, >["m"], (invalid)]`
	if v.String() != want {
		t.Errorf("String() =\n%s\nwant\n%s", v.String(), want)
	}
}
