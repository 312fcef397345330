package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/respool/respool/respooltest"
)

// BenchmarkPipe100k loads 100,000 SETs with --pipe, in process (so it
// counts allocations; bench/pipe.sh times the binary against redis-cli).
// The server keeps the keys from run to run: SET overwrites them.
func BenchmarkPipe100k(b *testing.B) {
	respooltest.RequireRedis(b)
	srv := respooltest.StartServer(b)
	var raw bytes.Buffer
	for i := range 100000 {
		k, v := fmt.Sprintf("key:%06d", i), fmt.Sprintf("value %d", i)
		fmt.Fprintf(&raw, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		if out, errOut, status := respoolCLIStdin(srv.Addr, raw.Bytes(), "--pipe"); status != 0 {
			b.Fatalf("status %d: %q %q", status, out, errOut)
		}
	}
}
