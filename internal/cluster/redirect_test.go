package cluster

import "testing"

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		msg  string
		kind RedirectKind
		slot int
		addr string
		ok   bool
	}{
		{"MOVED 3999 127.0.0.1:6381", Moved, 3999, "127.0.0.1:6381", true},
		{"ASK 3999 127.0.0.1:6381", Ask, 3999, "127.0.0.1:6381", true},
		{"MOVED 0 redis-1.example.com:7000", Moved, 0, "redis-1.example.com:7000", true},
		{"MOVED 16383 10.0.0.1:1", Moved, 16383, "10.0.0.1:1", true},
		// Redis writes IPv6 endpoints without brackets; accept both.
		{"MOVED 3999 ::1:6381", Moved, 3999, "[::1]:6381", true},
		{"ASK 1 [::1]:7000", Ask, 1, "[::1]:7000", true},
		{"MOVED 7 fe80::1:2:7000", Moved, 7, "[fe80::1:2]:7000", true},
		// Unknown endpoint: the caller fills in the host.
		{"MOVED 3999 :6380", Moved, 3999, ":6380", true},
		// Hostnames preferred but none announced: returned as is.
		{"MOVED 3999 ?:6380", Moved, 3999, "?:6380", true},
		// Fields after the address are ignored.
		{"MOVED 3999 127.0.0.1:6381 extra", Moved, 3999, "127.0.0.1:6381", true},

		{"", NoRedirect, 0, "", false},
		{"MOVED", NoRedirect, 0, "", false},
		{"MOVED 3999", NoRedirect, 0, "", false},
		{"MOVED 3999 ", NoRedirect, 0, "", false},
		{"moved 3999 127.0.0.1:6381", NoRedirect, 0, "", false},
		{"-MOVED 3999 127.0.0.1:6381", NoRedirect, 0, "", false},
		{"MOVED 16384 127.0.0.1:6381", NoRedirect, 0, "", false},
		{"MOVED -1 127.0.0.1:6381", NoRedirect, 0, "", false},
		{"MOVED +1 127.0.0.1:6381", NoRedirect, 0, "", false},
		{"MOVED x 127.0.0.1:6381", NoRedirect, 0, "", false},
		{"MOVED 1 127.0.0.1", NoRedirect, 0, "", false},
		{"MOVED 1 127.0.0.1:", NoRedirect, 0, "", false},
		{"MOVED 1 127.0.0.1:0", NoRedirect, 0, "", false},
		{"MOVED 1 127.0.0.1:65536", NoRedirect, 0, "", false},
		{"MOVED 1 127.0.0.1:+80", NoRedirect, 0, "", false},
		{"MOVED 1 [::1:80", NoRedirect, 0, "", false},
		{"MOVED  1 127.0.0.1:80", NoRedirect, 0, "", false},
		{"ERR unknown command", NoRedirect, 0, "", false},
		{"TRYAGAIN Multiple keys request during rehashing of slot", NoRedirect, 0, "", false},
		{"CLUSTERDOWN Hash slot not served", NoRedirect, 0, "", false},
	}
	for _, tt := range tests {
		kind, slot, addr, ok := ParseRedirect(tt.msg)
		if kind != tt.kind || slot != tt.slot || addr != tt.addr || ok != tt.ok {
			t.Errorf("ParseRedirect(%q) = %v, %d, %q, %v; want %v, %d, %q, %v",
				tt.msg, kind, slot, addr, ok, tt.kind, tt.slot, tt.addr, tt.ok)
		}
	}
}

func TestRedirectKindString(t *testing.T) {
	for k, want := range map[RedirectKind]string{NoRedirect: "none", Moved: "MOVED", Ask: "ASK", 9: "RedirectKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("RedirectKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestFillHost(t *testing.T) {
	tests := []struct{ addr, from, want string }{
		{":6380", "10.0.0.5:6379", "10.0.0.5:6380"},
		{":6380", "[::1]:6379", "[::1]:6380"},
		{":6380", "lb.example.com:6379", "lb.example.com:6380"},
		{"10.0.0.1:6380", "10.0.0.5:6379", "10.0.0.1:6380"},
		{":6380", "garbage", ":6380"},
		{"garbage", "10.0.0.5:6379", "garbage"},
	}
	for _, tt := range tests {
		if got := FillHost(tt.addr, tt.from); got != tt.want {
			t.Errorf("FillHost(%q, %q) = %q, want %q", tt.addr, tt.from, got, tt.want)
		}
	}
}
