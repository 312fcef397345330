// Command respool is respool's command-line tool.
//
//	respool demo [-u URL]          show the client at work (starts a private server when no URL is given)
//	respool stats -u URL           a live view of a pool's statistics under a load you choose
//	respool [redis-cli flags]      the interactive mode, or --pipe, --scan, --latency, --stat
//	respool [redis-cli flags] CMD [ARG...]
//	                               run one command and print its reply exactly as redis-cli does
//
// The one-shot mode's stdout is byte for byte redis-cli 7.0's; its exit
// status is 1 after an error reply, where redis-cli (without -e) exits 0.
// Run `respool -help` for the flags of the one-shot mode and
// `respool demo -help` for the demo's.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return runDemo(args[1:], stdout, stderr)
		case "stats":
			return runStats(args[1:], stdout, stderr)
		}
	}
	return runCLI(args, stdout, stderr)
}
