// Command compare measures respool side by side with go-redis, redigo and
// rueidis on the same private redis-server, with redis-benchmark as the
// reference, and writes the report behind BENCHMARKS.md.
//
// Every client runs in a process of its own (this binary, re-executed with
// the hidden "worker" subcommand), so one client's garbage, goroutines and
// CPU time never show up in another's numbers. Each scenario runs -reps
// times per client, the clients' order rotated every repetition; the report
// gives medians, the ratio to the best peer, the targets judged as
// met or missed, and PNG plots.
//
// Usage:
//
//	go run ./cmd/compare [-quick] [-clients respool,goredis,...] [-scenarios get16,...]
//	                     [-reps 3] [-dur 3s] [-warmup 700ms] [-addr host:port]
//	                     [-out BENCHMARKS.md] [-plots dir] [-note text]
//
// Without -addr it starts its own redis-server (respooltest.NewServer) and
// stops it at the end. When a cluster scenario (cluster-get256,
// cluster-set256) is selected it also starts a private 6-node cluster
// (respooltest.NewCluster) and runs those scenarios there with each
// library's cluster client. See bench/README.md for the scenarios.
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
