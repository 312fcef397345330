package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The server's CPU time. The driver starts the redis-server processes
// (one, or the cluster's six), so it knows their process ids; it passes
// them to each worker (-server-pids), which reads their CPU time from
// /proc/<pid>/stat at the same instants as its own (getrusage), at the
// edges of the measured window. For redis-benchmark the driver reads them
// around its run. A server the driver did not start (-addr), or a platform
// without /proc, has no figure: the report prints "-".

// serverProcs reads the summed CPU time of a set of redis-server
// processes: the single server, or every node of the cluster (primaries
// and replicas). A nil *serverProcs stands for servers whose processes are
// unknown.
type serverProcs struct {
	pids []int
	hz   int64 // clock ticks per second, the unit of /proc/<pid>/stat
}

// newServerProcs returns a reader for pids; nil when pids is empty. It
// fails when the first reading fails, so that a run never starts with a
// figure it cannot measure.
func newServerProcs(pids []int) (*serverProcs, error) {
	if len(pids) == 0 {
		return nil, nil
	}
	p := &serverProcs{pids: pids, hz: clockTicks()}
	if _, err := p.cpu(); err != nil {
		return nil, err
	}
	return p, nil
}

// cpu is the user plus system CPU time the processes have used so far,
// summed. A nil p returns zero.
func (p *serverProcs) cpu() (time.Duration, error) {
	if p == nil {
		return 0, nil
	}
	var ticks uint64
	for _, pid := range p.pids {
		t, err := procStatTicks(pid)
		if err != nil {
			return 0, err
		}
		ticks += t
	}
	return ticksToDuration(ticks, p.hz), nil
}

// flag is the -server-pids value that names the processes to a worker;
// "" for a nil p.
func (p *serverProcs) flag() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(p.pids))
	for i, pid := range p.pids {
		s[i] = strconv.Itoa(pid)
	}
	return strings.Join(s, ",")
}

// parsePIDs reads a -server-pids value: process ids, comma-separated.
func parsePIDs(s string) ([]int, error) {
	var pids []int
	for _, f := range splitList(s) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("compare: -server-pids: bad process id %q", f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// ticksToDuration converts clock ticks at hz per second to a duration.
func ticksToDuration(ticks uint64, hz int64) time.Duration {
	sec, rest := ticks/uint64(hz), ticks%uint64(hz)
	return time.Duration(sec)*time.Second + time.Duration(rest)*time.Second/time.Duration(hz)
}

// parseProcStatTicks returns utime plus stime, fields 14 and 15 of a
// /proc/<pid>/stat line, in clock ticks: the CPU time of every thread of
// the process, its children not included. Field 2 is the command name in
// parentheses, which may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStatTicks(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("compare: /proc stat %.60q: no command name", stat)
	}
	// After the name: field 3 (state) is rest[0], so field n is rest[n-3].
	rest := strings.Fields(stat[i+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(rest) <= stime {
		return 0, fmt.Errorf("compare: /proc stat %.60q: %d fields after the name, want at least %d", stat, len(rest), stime+1)
	}
	u, err1 := strconv.ParseUint(rest[utime], 10, 64)
	s, err2 := strconv.ParseUint(rest[stime], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("compare: /proc stat: utime %q, stime %q: %w", rest[utime], rest[stime], err)
	}
	return u + s, nil
}
