//go:build !linux

package main

import "errors"

// errNoProcStat is what procStatTicks reports where /proc/<pid>/stat
// cannot be read at all.
var errNoProcStat = errors.New("compare: the CPU time of another process is read from /proc/<pid>/stat, which only Linux has")

// clockTicks has no meaning without /proc; any positive value will do.
func clockTicks() int64 { return 100 }

// procStatTicks fails: only Linux has /proc/<pid>/stat.
func procStatTicks(pid int) (uint64, error) { return 0, errNoProcStat }
