// Command compare measures respool side by side with go-redis, redigo and
// rueidis on the same private redis-server.
//
// Every client runs in a process of its own (this binary, re-executed with
// the hidden "worker" subcommand), so one client's garbage, goroutines and
// CPU time never show up in another's numbers. Each workload runs -reps
// times per client, the clients' order rotated every repetition; the report
// gives medians.
//
// Usage:
//
//	go run ./cmd/compare [-clients respool,goredis,...] [-workloads get16,...]
//	                     [-reps 3] [-dur 5s] [-warmup 1s] [-addr host:port] [-out file.md]
//
// Without -addr it starts its own redis-server (respooltest.NewServer) and
// stops it at the end. See bench/README.md for the workloads.
package main

import (
	"fmt"
	"os"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		err = runWorker(os.Args[2:], os.Stdout)
	} else {
		err = runDriver(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
