package main

import (
	"errors"
	"testing"

	"github.com/respool/respool/resp"
)

// The expected bytes below are what redis-cli 7.0.15 prints for the same
// replies (checked against it; cli_test.go compares live output too).
var formatTests = []struct {
	name string
	v    resp.Value
	tty  string
	raw  string // without the reply delimiter
}{
	{"status", resp.SimpleString("OK"), "OK\n", "OK"},
	{"error", resp.ErrorValue("ERR unknown command"), "(error) ERR unknown command\n", "ERR unknown command\n"},
	{"bulk error", resp.BulkError("SYNTAX bad"), "(error) SYNTAX bad\n", "SYNTAX bad\n"},
	{"integer", resp.Integer(-42), "(integer) -42\n", "-42"},
	{"bulk", resp.BulkString("hello world"), "\"hello world\"\n", "hello world"},
	{"empty bulk", resp.BulkString(""), "\"\"\n", ""},
	{"escapes", resp.BulkString("a\x01b\x7f\x80\xff\"q\\ \t\r\n\a\b\v\f"),
		`"a\x01b\x7f\x80\xff\"q\\ \t\r\n\a\b\x0b\x0c"` + "\n", "a\x01b\x7f\x80\xff\"q\\ \t\r\n\a\b\v\f"},
	{"utf-8", resp.BulkString("你好é"), `"\xe4\xbd\xa0\xe5\xa5\xbd\xc3\xa9"` + "\n", "你好é"},
	{"nul", resp.BulkString("a\x00b"), `"a\x00b"` + "\n", "a\x00b"},
	{"nil", resp.NullBulk(), "(nil)\n", ""},
	{"resp3 null", resp.Null(), "(nil)\n", ""},
	{"null array", resp.NullArray(), "(nil)\n", ""},
	{"true", resp.Boolean(true), "(true)\n", "(true)"},
	{"false", resp.Boolean(false), "(false)\n", "(false)"},
	{"double", resp.Double(3.141), "(double) 3.141\n", "3.141"},
	{"verbatim", resp.Verbatim("txt", "This is a verbatim\nstring"), "This is a verbatim\nstring\n", "This is a verbatim\nstring"},
	{"empty array", resp.Array(), "(empty array)\n", ""},
	{"empty map", resp.Map(), "(empty hash)\n", ""},
	{"empty set", resp.Set(), "(empty set)\n", ""},
	{"empty push", resp.Push(), "(empty push)\n", ""},
	{"array", resp.Array(resp.Integer(0), resp.BulkString("a"), resp.NullBulk()),
		"1) (integer) 0\n2) \"a\"\n3) (nil)\n", "0\na\n"},
	{"set", resp.Set(resp.Integer(0), resp.Integer(1)), "1~ (integer) 0\n2~ (integer) 1\n", "0\n1"},
	{"map", resp.Map(resp.BulkString("f1"), resp.BulkString("v1"), resp.BulkString("f2"), resp.BulkString("v2")),
		"1# \"f1\" => \"v1\"\n2# \"f2\" => \"v2\"\n", "f1 v1\nf2 v2"},
	{"nested", resp.Array(
		resp.Integer(1),
		resp.Array(resp.Integer(2), resp.Array(resp.Integer(3), resp.BulkString("a"))),
		resp.Array(),
		resp.BulkString("x")),
		"1) (integer) 1\n2) 1) (integer) 2\n   2) 1) (integer) 3\n      2) \"a\"\n3) (empty array)\n4) \"x\"\n",
		"1\n2\n3\na\n\nx"},
	{"wide index", resp.Array(
		resp.Array(bulks("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")...),
		resp.Array(resp.Integer(1))),
		"1)  1) \"1\"\n    2) \"2\"\n    3) \"3\"\n    4) \"4\"\n    5) \"5\"\n    6) \"6\"\n" +
			"    7) \"7\"\n    8) \"8\"\n    9) \"9\"\n   10) \"10\"\n2) 1) (integer) 1\n",
		"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n1"},
	{"map with multiline value", resp.Map(resp.BulkString("a"), resp.Array(resp.Integer(1), resp.Integer(2))),
		"1# \"a\" => \n   1) (integer) 1\n   2) (integer) 2\n", "a 1\n2"},
	{"map with one-line aggregate", resp.Map(resp.BulkString("modules"), resp.Array(), resp.BulkString("x"), resp.Array(resp.Integer(1))),
		"1# \"modules\" => (empty array)\n2# \"x\" => 1) (integer) 1\n", "modules \nx 1"},
	{"nested map", resp.Map(resp.BulkString("get"), resp.Map(
		resp.BulkString("summary"), resp.BulkString("Get"),
		resp.BulkString("arguments"), resp.Array(resp.Map(
			resp.BulkString("name"), resp.BulkString("key"),
			resp.BulkString("key_spec_index"), resp.Integer(0))))),
		"1# \"get\" => \n   1# \"summary\" => \"Get\"\n   2# \"arguments\" => \n" +
			"      1) 1# \"name\" => \"key\"\n         2# \"key_spec_index\" => (integer) 0\n",
		"get summary Get\narguments name key\nkey_spec_index 0"},
	{"map with status keys", resp.Map(resp.Integer(0), resp.Boolean(false)),
		"1# (integer) 0 => (false)\n", "0 (false)"},
	{"push", resp.Push(resp.BulkString("message"), resp.BulkString("ch")), "1) \"message\"\n2) \"ch\"\n", "message\nch"},
}

func bulks(ss ...string) []resp.Value {
	vs := make([]resp.Value, len(ss))
	for i, s := range ss {
		vs[i] = resp.BulkString(s)
	}
	return vs
}

func TestFormatReply(t *testing.T) {
	for _, tt := range formatTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := formatReply(tt.v, outputTTY, false, defaultDelimiters)
			if err != nil || string(got) != tt.tty {
				t.Errorf("tty: got %q, %v\nwant %q", got, err, tt.tty)
			}
			got, err = formatReply(tt.v, outputRaw, false, defaultDelimiters)
			if want := tt.raw + "\n"; err != nil || string(got) != want {
				t.Errorf("raw: got %q, %v\nwant %q", got, err, want)
			}
			for _, mode := range []outputMode{outputTTY, outputRaw} {
				got, err = formatReply(tt.v, mode, true, defaultDelimiters)
				if err != nil || string(got) != tt.raw {
					t.Errorf("raw strings, %v: got %q, %v\nwant %q", mode, got, err, tt.raw)
				}
			}
		})
	}
}

func TestFormatDelimiters(t *testing.T) {
	v := resp.Array(resp.BulkString("a"), resp.Map(resp.BulkString("k"), resp.BulkString("v")))
	got, err := formatReply(v, outputRaw, false, delimiters{bulk: ",", reply: ";\n"})
	if want := "a,k v;\n"; err != nil || string(got) != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

// redis-cli 7.0 cannot print big numbers or attributes: nothing on stdout,
// a message on stderr, exit status 1.
func TestFormatUnsupported(t *testing.T) {
	tests := []struct {
		v    resp.Value
		want string
	}{
		{resp.BigNumber("1234567999999999999999999999999999999"), "Unknown reply type: 13"},
		{resp.Array(resp.Integer(1), resp.BigNumber("1")), "Unknown reply type: 13"},
		{resp.BulkString("x").WithAttributes(resp.Map(resp.BulkString("a"), resp.Integer(1))),
			`Error: Protocol error, got "|" as reply type byte`},
		{resp.Array(resp.BigNumber("1").WithAttributes(resp.Map())),
			`Error: Protocol error, got "|" as reply type byte`},
	}
	for _, tt := range tests {
		for _, mode := range []outputMode{outputTTY, outputRaw} {
			got, err := formatReply(tt.v, mode, false, defaultDelimiters)
			var re *replyError
			if !errors.As(err, &re) || re.message != tt.want || got != nil {
				t.Errorf("%v, %v: got %q, %v; want error %q", tt.v, mode, got, err, tt.want)
			}
		}
	}
}

func TestRawStringsCommand(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"INFO"}, true},
		{[]string{"info", "server"}, true},
		{[]string{"LOLWUT"}, true},
		{[]string{"CLIENT", "LIST"}, true},
		{[]string{"client", "info"}, true},
		{[]string{"CLIENT", "ID"}, false},
		{[]string{"CLUSTER", "NODES"}, true},
		{[]string{"CLUSTER", "NODES", "x"}, false},
		{[]string{"MEMORY", "DOCTOR"}, true},
		{[]string{"MEMORY", "USAGE", "k"}, false},
		{[]string{"LATENCY", "DOCTOR"}, true},
		{[]string{"LATENCY", "GRAPH", "command"}, true},
		{[]string{"LATENCY", "GRAPH"}, false},
		{[]string{"DEBUG", "HTSTATS", "0"}, true},
		{[]string{"DEBUG", "PROTOCOL", "map"}, false},
		{[]string{"GET", "info"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := rawStringsCommand(tt.args); got != tt.want {
			t.Errorf("rawStringsCommand(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
