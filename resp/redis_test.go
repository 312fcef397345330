package resp

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// redisCapture is what redis-server 7.0 sends for DEBUG PROTOCOL <typ>
// after HELLO <proto>: the exact bytes and the kind of each reply.
type redisCapture struct {
	proto string
	typ   string
	wire  string
	kinds []Kind
}

// redisCaptures were recorded from redis-server 7.0.15; TestRedisDebugProtocol
// checks them against the live server. They also seed the fuzz targets.
var redisCaptures = []redisCapture{
	{"2", "string", "$11\r\nHello World\r\n", []Kind{KindBulkString}},
	{"2", "integer", ":12345\r\n", []Kind{KindInteger}},
	{"2", "double", "$5\r\n3.141\r\n", []Kind{KindBulkString}},
	{"2", "bignum", "$37\r\n1234567999999999999999999999999999999\r\n", []Kind{KindBulkString}},
	{"2", "null", "$-1\r\n", []Kind{KindNull}},
	{"2", "array", "*3\r\n:0\r\n:1\r\n:2\r\n", []Kind{KindArray}},
	{"2", "set", "*3\r\n:0\r\n:1\r\n:2\r\n", []Kind{KindArray}},
	{"2", "map", "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", []Kind{KindArray}},
	{"2", "attrib", "$39\r\nSome real reply following the attribute\r\n", []Kind{KindBulkString}},
	{"2", "push", "-ERR RESP2 is not supported by this command\r\n", []Kind{KindError}},
	{"2", "verbatim", "$25\r\nThis is a verbatim\nstring\r\n", []Kind{KindBulkString}},
	{"2", "true", ":1\r\n", []Kind{KindInteger}},
	{"2", "false", ":0\r\n", []Kind{KindInteger}},
	{"3", "string", "$11\r\nHello World\r\n", []Kind{KindBulkString}},
	{"3", "integer", ":12345\r\n", []Kind{KindInteger}},
	{"3", "double", ",3.141\r\n", []Kind{KindDouble}},
	{"3", "bignum", "(1234567999999999999999999999999999999\r\n", []Kind{KindBigNumber}},
	{"3", "null", "_\r\n", []Kind{KindNull}},
	{"3", "array", "*3\r\n:0\r\n:1\r\n:2\r\n", []Kind{KindArray}},
	{"3", "set", "~3\r\n:0\r\n:1\r\n:2\r\n", []Kind{KindSet}},
	{"3", "map", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n", []Kind{KindMap}},
	{"3", "attrib", "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n", []Kind{KindBulkString}},
	// A push, then the ordinary reply the server sends after it.
	{"3", "push", ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n", []Kind{KindPush, KindBulkString}},
	{"3", "verbatim", "=29\r\ntxt:This is a verbatim\nstring\r\n", []Kind{KindVerbatim}},
	{"3", "true", "#t\r\n", []Kind{KindBoolean}},
	{"3", "false", "#f\r\n", []Kind{KindBoolean}},
}

// TestRedisDebugProtocol sends DEBUG PROTOCOL <type> for every type to a
// real redis-server under HELLO 2 and HELLO 3, and checks the exact bytes it
// sends, that ReadValue parses them into the expected kinds and that
// WriteValue gives the same bytes back.
func TestRedisDebugProtocol(t *testing.T) {
	addr := startRedis(t)
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	conn := &recordingConn{Conn: nc}
	r := NewReader(conn)
	w := NewWriter(conn)

	// roundTrip sends one command, reads n replies and checks the bytes.
	roundTrip := func(n int, args ...any) ([]Value, string) {
		t.Helper()
		if err := w.WriteCommand(args...); err != nil {
			t.Fatalf("WriteCommand%v: %v", args, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		vals := make([]Value, n)
		for i := range vals {
			if vals[i], err = r.ReadValue(); err != nil {
				t.Fatalf("%v: reply %d: %v", args, i, err)
			}
		}
		if r.Buffered() != 0 {
			t.Fatalf("%v: %d bytes left after %d replies", args, r.Buffered(), n)
		}
		raw := string(conn.take())
		var again bytes.Buffer
		aw := NewWriter(&again)
		for _, v := range vals {
			if err := aw.WriteValue(v); err != nil {
				t.Fatalf("%v: WriteValue(%v): %v", args, v, err)
			}
		}
		aw.Flush()
		if again.String() != raw {
			t.Fatalf("%v: WriteValue gives %q, server sent %q", args, again.String(), raw)
		}
		return vals, raw
	}

	var version string
	for _, proto := range []string{"2", "3"} {
		vals, _ := roundTrip(1, "HELLO", proto)
		hello := vals[0]
		wantKind := map[string]Kind{"2": KindArray, "3": KindMap}[proto]
		if hello.Kind() != wantKind {
			t.Fatalf("HELLO %s: %v, want a %s", proto, hello, wantKind)
		}
		pairs, err := hello.MapPairs() // also the RESP2 flat array
		if err != nil {
			t.Fatalf("HELLO %s: MapPairs: %v", proto, err)
		}
		for _, p := range pairs {
			switch p[0].Text() {
			case "version":
				version = p[1].Text()
			case "proto":
				if n, err := p[1].Int(); err != nil || n != int64(proto[0]-'0') {
					t.Fatalf("HELLO %s: proto %v", proto, p[1])
				}
			}
		}

		for _, c := range redisCaptures {
			if c.proto != proto {
				continue
			}
			vals, raw := roundTrip(len(c.kinds), "DEBUG", "PROTOCOL", c.typ)
			for i, v := range vals {
				if v.Kind() != c.kinds[i] {
					t.Errorf("HELLO %s, DEBUG PROTOCOL %s: reply %d is %v, want a %s", proto, c.typ, i, v, c.kinds[i])
				}
			}
			if raw != c.wire {
				if strings.HasPrefix(version, "7.0.") {
					t.Errorf("HELLO %s, DEBUG PROTOCOL %s: server %s sent %q, want %q", proto, c.typ, version, raw, c.wire)
				} else {
					t.Logf("HELLO %s, DEBUG PROTOCOL %s: server %s sent %q (7.0 sent %q)", proto, c.typ, version, raw, c.wire)
				}
			}
		}
	}

	// A few typed reads of what the server sent.
	checks := []struct {
		proto, typ string
		check      func(Value) bool
	}{
		{"3", "double", func(v Value) bool { f, err := v.Float(); return err == nil && f == 3.141 && v.Text() == "3.141" }},
		{"2", "double", func(v Value) bool { f, err := v.Float(); return err == nil && f == 3.141 }},
		{"3", "true", func(v Value) bool { b, err := v.Bool(); return err == nil && b }},
		{"2", "true", func(v Value) bool { b, err := v.Bool(); return err == nil && b }},
		{"3", "verbatim", func(v Value) bool {
			s, err := v.Str()
			return err == nil && s == "This is a verbatim\nstring" && v.Format() == "txt"
		}},
		{"3", "attrib", func(v Value) bool {
			a, ok := v.Attributes()
			return ok && a.Kind() == KindAttribute && a.Len() == 1 && a.elems[0].Text() == "key-popularity"
		}},
		{"2", "map", func(v Value) bool { p, err := v.MapPairs(); return err == nil && len(p) == 3 }},
		{"3", "map", func(v Value) bool { p, err := v.MapPairs(); return err == nil && len(p) == 3 && p[1][1].num == 1 }},
		{"3", "null", Value.IsNull},
		{"2", "null", Value.IsNull},
	}
	for _, c := range checks {
		if err := w.WriteCommand("HELLO", c.proto); err != nil {
			t.Fatal(err)
		}
		w.WriteCommand("DEBUG", "PROTOCOL", c.typ)
		w.Flush()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := r.Skip(); err != nil {
			t.Fatal(err)
		}
		v, err := r.ReadValue()
		if err != nil || !c.check(v) {
			t.Errorf("HELLO %s, DEBUG PROTOCOL %s: %v, %v", c.proto, c.typ, v, err)
		}
	}
}

// TestRedisPipeline writes many commands before one flush and reads the
// replies with the low-level reads.
func TestRedisPipeline(t *testing.T) {
	addr := startRedis(t)
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := NewReader(nc)
	w := NewWriter(nc)
	const n = 1000
	big := strings.Repeat("x", 100_000)
	for i := range n {
		w.WriteCommand("SET", "k", i)
	}
	w.WriteCommand("SET", "big", big)
	w.WriteCommand("GET", "big")
	w.WriteCommand("INCRBYFLOAT", "f", 1.5)
	w.WriteCommand("GET", "missing")
	w.WriteCommand("NOSUCHCOMMAND", true)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		buf, null, err := r.ReadBulkAppend(nil)
		if err != nil || null || string(buf) != "OK" {
			t.Fatalf("reply %d: %q %v %v", i, buf, null, err)
		}
	}
	if err := r.Skip(); err != nil {
		t.Fatal(err)
	}
	buf, null, err := r.ReadBulkAppend(make([]byte, 0, 10))
	if err != nil || null || string(buf) != big {
		t.Fatalf("GET big: %d bytes, %v, %v", len(buf), null, err)
	}
	if v, err := r.ReadValue(); err != nil || v.Text() != "1.5" {
		t.Fatalf("INCRBYFLOAT: %v %v", v, err)
	}
	if _, null, err := r.ReadBulkAppend(nil); err != nil || !null {
		t.Fatalf("GET missing: null %v, %v", null, err)
	}
	if _, _, err := r.ReadBulkAppend(nil); err == nil {
		t.Fatal("unknown command: no error")
	} else if wk, ok := err.(*WrongKindError); !ok || wk.Got != KindError {
		t.Fatalf("unknown command: %v", err)
	}
	if v, err := r.ReadValue(); err != nil || !v.IsError() || !strings.HasPrefix(v.Text(), "ERR unknown command") {
		t.Fatalf("unknown command: %v %v", v, err)
	}
}
