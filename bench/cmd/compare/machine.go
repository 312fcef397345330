package main

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// machineInfo describes the computer and the toolchain of a run.
type machineInfo struct {
	cpuModel   string
	cpus       int
	gomaxprocs int
	memory     string // "23.4 GiB", from /proc/meminfo
	kernel     string
	goVersion  string
	platform   string
	modules    []moduleVersion
}

type moduleVersion struct{ path, version string }

func readMachine() machineInfo {
	m := machineInfo{
		cpuModel:   "unknown",
		cpus:       runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		memory:     "unknown",
		kernel:     "unknown",
		goVersion:  runtime.Version(),
		platform:   runtime.GOOS + "/" + runtime.GOARCH,
		modules:    moduleVersions(),
	}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.cpuModel = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		// "24576000 kB"
		if f := strings.Fields(v); len(f) > 0 {
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				m.memory = strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc
// file, or "".
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the 1, 5 and 15 minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// moduleVersions lists respool and the peer libraries compiled into this
// binary.
func moduleVersions() []moduleVersion {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var out []moduleVersion
	for _, d := range info.Deps {
		switch d.Path {
		case "github.com/redis/go-redis/v9", "github.com/gomodule/redigo", "github.com/redis/rueidis":
			out = append(out, moduleVersion{d.Path, d.Version})
		case "github.com/respool/respool":
			v := d.Version
			if d.Replace != nil {
				v = "the working tree (" + d.Replace.Path + ")"
			}
			out = append(out, moduleVersion{d.Path, v})
		}
	}
	return out
}
