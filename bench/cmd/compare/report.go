package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// metric picks one number out of a sample.
type metric func(sample) float64

func opsPerSec(s sample) float64   { return s.opsPerSec }
func cpuPerMOps(s sample) float64  { return s.cpuPerMOps }
func bytesPerOp(s sample) float64  { return s.bytesPerOp }
func allocsPerOp(s sample) float64 { return s.allocsPerOp }

// median is the median of m over samples (the mean of the middle two for
// an even count).
func median(samples []sample, m metric) float64 {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = m(s)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func formatRate(perSec float64) string {
	if perSec >= 1e6 {
		return fmt.Sprintf("%.2f M/s", perSec/1e6)
	}
	return fmt.Sprintf("%.1f k/s", perSec/1e3)
}

// renderReport prints the two Markdown tables: throughput (and CPU) per
// workload with respool/peer ratios, then per-client detail.
func renderReport(cfg *config, redisVersion string, results map[runKey][]sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## respool and its peers (%s)\n\n", time.Now().Format("2006-01-02"))
	fmt.Fprintf(&b, "%s, GOMAXPROCS %d, %d CPUs; Redis %s on loopback, sharing the machine with the client. ",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), redisVersion)
	if cfg.reps == 1 {
		fmt.Fprintf(&b, "Each client in its own process; one run of %s (after %s warm-up); 16-byte values.\n", cfg.dur, cfg.warmup)
	} else {
		fmt.Fprintf(&b, "Each client in its own process; %d rotated repetitions of %s (after %s warm-up), medians; 16-byte values.\n",
			cfg.reps, cfg.dur, cfg.warmup)
	}
	if v := moduleVersions(); v != "" {
		fmt.Fprintf(&b, "Versions: %s.\n", v)
	}
	b.WriteString("\n")

	// Ratios compare the first respool client named in -clients with
	// every peer.
	type ratioCol struct{ ours, peer clientInfo }
	var ratios []ratioCol
	if i := slices.IndexFunc(cfg.clients, func(c clientInfo) bool { return !c.peer }); i >= 0 {
		for _, p := range cfg.clients {
			if p.peer {
				ratios = append(ratios, ratioCol{cfg.clients[i], p})
			}
		}
	}

	b.WriteString("| workload |")
	for _, c := range cfg.clients {
		fmt.Fprintf(&b, " %s |", c.title)
	}
	for _, r := range ratios {
		fmt.Fprintf(&b, " %s / %s |", r.ours.title, r.peer.title)
	}
	b.WriteString("\n| --- |")
	for range len(cfg.clients) + len(ratios) {
		b.WriteString(" --: |")
	}
	b.WriteString("\n")
	for _, w := range cfg.workloads {
		src, m, format := w.name, metric(opsPerSec), formatRate
		if w.cpuOnlyRow {
			src, m = w.measuredAs, cpuPerMOps
			format = func(v float64) string { return fmt.Sprintf("%.1f", v) }
		}
		fmt.Fprintf(&b, "| %s |", w.title)
		for _, c := range cfg.clients {
			fmt.Fprintf(&b, " %s |", format(median(results[runKey{src, c.name}], m)))
		}
		for _, r := range ratios {
			ours := median(results[runKey{src, r.ours.name}], m)
			peer := median(results[runKey{src, r.peer.name}], m)
			fmt.Fprintf(&b, " %.2f |", ours/peer)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if len(ratios) > 0 {
		b.WriteString("A ratio above 1 means respool does more operations per second; in the CPU row, a ratio below 1 means respool spends less CPU. ")
	}
	b.WriteString("A pipeline of 100 GETs counts as 100 operations.\n\n")

	b.WriteString("| workload | client | ops/s | client CPU s per million ops | bytes allocated per op | allocations per op | errors |\n")
	b.WriteString("| --- | --- | --: | --: | --: | --: | --: |\n")
	var errs []string
	for _, w := range runsNeeded(cfg.workloads) {
		for _, c := range cfg.clients {
			ss := results[runKey{w.name, c.name}]
			var nerr int64
			for _, s := range ss {
				nerr += s.errors
				if s.firstError != "" {
					errs = append(errs, fmt.Sprintf("%s, %s: %s", w.name, c.title, s.firstError))
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.0f | %.2f | %d |\n", w.name, c.title,
				formatRate(median(ss, opsPerSec)), median(ss, cpuPerMOps),
				median(ss, bytesPerOp), median(ss, allocsPerOp), nerr)
		}
	}
	b.WriteString("\nCPU is the worker process's user+system time over its whole life (start-up and warm-up included) divided by every command it completed; bytes and allocations are runtime.MemStats deltas over the measured window divided by the commands completed in it.\n")
	if len(errs) > 0 {
		b.WriteString("\nFirst error of each run that had any:\n\n")
		for _, e := range errs {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}

// moduleVersions lists the peer libraries compiled into this binary.
func moduleVersions() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var parts []string
	for _, d := range info.Deps {
		switch d.Path {
		case "github.com/redis/go-redis/v9", "github.com/gomodule/redigo", "github.com/redis/rueidis":
			parts = append(parts, d.Path+" "+d.Version)
		case "github.com/respool/respool":
			v := d.Version
			if d.Replace != nil {
				v = "local tree " + d.Replace.Path
			}
			parts = append(parts, d.Path+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}
