package respool

import (
	"io"
	"net"
	"strings"
	"testing"
)

// TestClusterReadOnlyConn: READONLY goes out with the first write, and
// its reply line is dropped however the bytes arrive.
func TestClusterReadOnlyConn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		chunks  []string
		want    string
		wantErr string
	}{
		{"one chunk", []string{"+OK\r\n+PONG\r\n"}, "+PONG\r\n", ""},
		{"split", []string{"+O", "K\r", "\n+PO", "NG\r\n"}, "+PONG\r\n", ""},
		{"line alone", []string{"+OK\r\n", "+PONG\r\n"}, "+PONG\r\n", ""},
		{"refused", []string{"-ERR This instance has cluster support disabled\r\n"}, "", "READONLY refused: ERR This instance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			rc := &readOnlyConn{Conn: client}
			defer rc.Close()
			go func() {
				buf := make([]byte, 64)
				n, _ := io.ReadAtLeast(server, buf, len(readOnlyCommand)+len("PING\r\n"))
				if string(buf[:n]) != readOnlyCommand+"PING\r\n" {
					server.Close()
					return
				}
				for _, c := range tc.chunks {
					if _, err := server.Write([]byte(c)); err != nil {
						return
					}
				}
			}()
			if n, err := rc.Write([]byte("PING\r\n")); err != nil || n != len("PING\r\n") {
				t.Fatalf("Write = %d, %v", n, err)
			}
			var got []byte
			buf := make([]byte, 16)
			for len(got) < len(tc.want) {
				n, err := rc.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					if tc.wantErr == "" || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("Read: %v, want error %q", err, tc.wantErr)
					}
					return
				}
			}
			if tc.wantErr != "" {
				_, err := rc.Read(buf)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read: %v, want error %q", err, tc.wantErr)
				}
			}
			if string(got) != tc.want {
				t.Fatalf("read %q, want %q", got, tc.want)
			}
		})
	}
}
