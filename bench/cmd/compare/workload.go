package main

import (
	"fmt"
	"strings"
)

// Keyspace shared by every workload: numKeys keys, each holding a 16-byte
// value, written before the first worker starts.
const (
	numKeys   = 1000
	valueSize = 16
	pipeDepth = 100 // commands per pipeline in pipe100
)

// opKind is what one call of a workload does.
type opKind int

const (
	opGet  opKind = iota // one GET
	opSet                // one SET of a 16-byte value
	opPipe               // one pipeline of pipeDepth GETs
)

// workload is one measured access pattern.
type workload struct {
	name       string
	title      string // row label in the report
	kind       opKind
	goroutines int
	opsPerCall int    // commands one call counts for
	measuredAs string // for cpu-get256: the workload whose run it reads
	cpuOnlyRow bool   // report only the CPU column (cpu-get256)
}

// workloads lists every workload the driver knows, in report order.
var workloads = []workload{
	{name: "get16", title: "GET, 16 goroutines", kind: opGet, goroutines: 16, opsPerCall: 1},
	{name: "get256", title: "GET, 256 goroutines", kind: opGet, goroutines: 256, opsPerCall: 1},
	{name: "set256", title: "SET, 256 goroutines", kind: opSet, goroutines: 256, opsPerCall: 1},
	{name: "pipe100", title: "pipeline of 100 GETs, 1 goroutine", kind: opPipe, goroutines: 1, opsPerCall: pipeDepth},
	{name: "cpu-get256", title: "client CPU s per million GETs, 256 goroutines", measuredAs: "get256", cpuOnlyRow: true},
}

func lookupWorkload(name string) (workload, error) {
	for _, w := range workloads {
		if w.name == name {
			return w, nil
		}
	}
	return workload{}, fmt.Errorf("compare: unknown workload %q (known: %s)", name, workloadNames())
}

func workloadNames() string {
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	return strings.Join(names, ",")
}

// keyName is the i-th key of the keyspace.
func keyName(i int) string { return fmt.Sprintf("bench:key:%04d", i) }

// benchKeys returns every key of the keyspace, built once so that the
// measured loop does not allocate key strings.
func benchKeys() []string {
	keys := make([]string, numKeys)
	for i := range keys {
		keys[i] = keyName(i)
	}
	return keys
}

// benchValue is the 16-byte value every key holds.
func benchValue() string { return strings.Repeat("v", valueSize) }
