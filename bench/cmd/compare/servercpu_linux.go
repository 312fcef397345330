//go:build linux

package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// atClockTick is AT_CLKTCK, the entry of the ELF auxiliary vector in which
// the kernel gives a process its clock tick rate (what the C library's
// sysconf(_SC_CLK_TCK) returns).
const atClockTick = 17

// userHZ is the tick rate of Linux's user interface on every common
// architecture, used only when the auxiliary vector cannot be read.
const userHZ = 100

// clockTicks is the number of clock ticks per second, the unit of the CPU
// times in /proc/<pid>/stat, as the kernel gave it to this process.
func clockTicks() int64 {
	aux, err := unix.Auxv()
	if err != nil {
		return userHZ
	}
	for _, kv := range aux {
		if kv[0] == atClockTick && kv[1] > 0 {
			return int64(kv[1])
		}
	}
	return userHZ
}

// procStatTicks reads utime plus stime of process pid, in clock ticks.
func procStatTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStatTicks(string(b))
}
