package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// report renders the Markdown of a finished comparison.
type report struct {
	cfg   *config
	env   runEnv
	res   results
	plots []plotFile
}

// notesHeading starts the one section of the report that people write; a
// new run keeps what the previous file had under it.
const notesHeading = "## Notes on missed targets"

const notesPlaceholder = `(To be written after each full run: for every MISSED target above, why it
is missed, with a CPU profile of respool's hot path, for example
` + "`cd bench && go test -run '^$' -bench 'GetParallel/respool$' -cpuprofile cpu.out && go tool pprof -top cpu.out`" + `,
and what would close the gap. A new run of ` + "`make bench`" + ` keeps this section as it is.)
`

// previousNotes returns the body of the notes section of an existing
// report at path, or the placeholder.
func previousNotes(path string) string {
	if path == "" {
		return notesPlaceholder
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return notesPlaceholder
	}
	text := string(b)
	i := strings.Index(text, notesHeading+"\n")
	if i < 0 {
		return notesPlaceholder
	}
	body := text[i+len(notesHeading)+1:]
	if j := strings.Index(body, "\n## "); j >= 0 {
		body = body[:j+1]
	}
	body = strings.TrimSpace(body)
	if body == "" {
		return notesPlaceholder
	}
	return body + "\n"
}

func (r *report) render(notes string) string {
	var b strings.Builder
	cfg := r.cfg
	b.WriteString("# respool benchmarks\n\n")
	b.WriteString("respool side by side with go-redis, redigo and rueidis on one private redis-server, with redis-benchmark on the same server as the reference")
	if cfg.needs(true) {
		b.WriteString("; the cluster rows run on one private 6-node Redis Cluster instead")
	}
	b.WriteString(". ")
	b.WriteString("This file is written by `make bench` (`bench/cmd/compare`); only the last section, Notes on missed targets, is written by hand, and a new run keeps it.\n\n")
	r.renderConditions(&b)
	renderTargets(&b, evaluateTargets(cfg, r.res))
	r.renderSummary(&b)
	r.renderPlots(&b)
	r.renderCells(&b)
	r.renderTimeouts(&b)
	r.renderCorrectness(&b)
	r.renderMethod(&b)
	b.WriteString(notesHeading + "\n\n")
	b.WriteString(notes)
	return b.String()
}

func (r *report) renderConditions(b *strings.Builder) {
	cfg, env, m := r.cfg, r.env, r.env.machine
	b.WriteString("## Conditions of this run\n\n")
	fmt.Fprintf(b, "- **When**: %s, %s in all.\n", env.started.Format("2006-01-02 15:04 MST"), roundDuration(env.elapsed))
	fmt.Fprintf(b, "- **Command**: %s\n", commandText(cfg))
	fmt.Fprintf(b, "- **Machine**: %s, %d CPUs (GOMAXPROCS %d), %s of memory, %s, %s.\n", m.cpuModel, m.cpus, m.gomaxprocs, m.memory, m.kernel, m.platform)
	fmt.Fprintf(b, "- **Software**: %s; Redis %s (redis-server on loopback, started by the benchmark, no persistence", m.goVersion, env.redisVersion)
	if cfg.needs(true) {
		b.WriteString("; for the cluster rows, 6 more such servers forming a cluster of 3 primaries and 3 replicas")
	}
	b.WriteString(")")
	if env.refVersion != "" {
		fmt.Fprintf(b, "; %s", env.refVersion)
	}
	b.WriteString(".\n")
	if len(m.modules) > 0 {
		b.WriteString("- **Libraries**: ")
		for i, mv := range m.modules {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%s %s", mv.path, mv.version)
		}
		b.WriteString(".\n")
	}
	fmt.Fprintf(b, "- **Load**: load average %s (1, 5, 15 minutes) at the start, %s at the end.", env.loadStart, env.loadEnd)
	if cfg.note != "" {
		fmt.Fprintf(b, " %s", strings.TrimSpace(cfg.note))
	}
	b.WriteString("\n")
	if cfg.reps == 1 {
		fmt.Fprintf(b, "- **Runs**: every client in a process of its own, 1 repetition of a %s window after %s of warm-up; one sample per cell, no medians.", cfg.dur, cfg.warmup)
	} else {
		fmt.Fprintf(b, "- **Runs**: every client in a process of its own, %d rotated repetitions of a %s window after %s of warm-up; figures are medians over the repetitions.", cfg.reps, cfg.dur, cfg.warmup)
	}
	if cfg.quick {
		b.WriteString(" This was a `-quick` run, for development only: too short to quote.")
	}
	b.WriteString("\n\n")
	b.WriteString("Client and server share the machine, so only ratios from one run mean anything; on 2 cores every microsecond of client CPU is taken from the server.\n\n")
}

// commandText is the command that produced the report.
func commandText(cfg *config) string {
	args := make([]string, len(cfg.args))
	for i, a := range cfg.args {
		args[i] = shellQuote(a)
	}
	direct := "`cd bench && go run ./cmd/compare " + strings.Join(args, " ") + "`"
	if os.Getenv("MAKELEVEL") == "" {
		return direct
	}
	target := "make bench"
	if cfg.quick {
		target = "make bench-quick"
	}
	return fmt.Sprintf("`%s`, which runs %s", target, direct)
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?;&|<>()") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// columns are the clients of the summary table, then the reference.
func (r *report) columns() []string {
	var cols []string
	for _, c := range r.cfg.clients {
		cols = append(cols, c.name)
	}
	if r.cfg.reference {
		cols = append(cols, referenceName)
	}
	return cols
}

func (r *report) renderSummary(b *strings.Builder) {
	cfg := r.cfg
	b.WriteString("## Throughput\n\n")
	b.WriteString("Operations per second (median). An operation is one command; in a pipeline every GET counts, and an MGET counts once per key. ")
	b.WriteString("The last column divides respool (its default, multiplexed client; in the pool-of-10 row, respool Exclusive) by the best peer of the row.\n\n")
	cols := r.columns()
	b.WriteString("| scenario |")
	for _, c := range cols {
		fmt.Fprintf(b, " %s |", clientTitle(c))
	}
	b.WriteString(" best peer | respool / best peer |\n| --- |")
	for range len(cols) + 2 {
		b.WriteString(" --: |")
	}
	b.WriteString("\n")
	for _, s := range cfg.scenarios {
		fmt.Fprintf(b, "| %s |", s.title)
		for _, c := range cols {
			x := r.res.cell(s.name, c)
			if !x.ok {
				b.WriteString(" - |")
				continue
			}
			fmt.Fprintf(b, " %s |", formatRate(x.opsPerSec))
		}
		peer, _ := r.res.bestPeer(s, cfg.clients)
		ratio := r.res.ratioToBest(s, s.oursClient(), cfg.clients)
		fmt.Fprintf(b, " %s | **%s** |\n", clientTitle(peer), ratioText(ratio))
	}
	b.WriteString("\n")
	b.WriteString("redis-benchmark runs with the scenario's concurrency as `-c` and its value size as `-d`; an explicit pipeline becomes `-P`, and the MGET row passes the same MGET as its command. It has no pool-of-10 row. ")
	b.WriteString("go-redis AutoPipeline has no explicit pipeline rows: its explicit pipelines are the plain client's.\n\n")
	r.renderClusterNote(b)
}

// renderClusterNote explains the cluster rows, when the run has any.
func (r *report) renderClusterNote(b *strings.Builder) {
	var names []string
	for _, s := range r.cfg.scenarios {
		if s.cluster {
			names = append(names, "`"+s.name+"`")
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(b, "The cluster rows (%s) run on one private Redis Cluster of 6 nodes, each a redis-server process of its own on the same %d-CPU machine as the client: ",
		strings.Join(names, ", "), r.env.machine.cpus)
	b.WriteString("3 primaries and 3 replicas, so the primaries, the replication to the replicas and the client share the same cores. ")
	b.WriteString("Their keys are the 1,000 of the GET and SET rows, spread over the slots of all three primaries, and every read goes to the primary of its key's slot (each library's default). ")
	b.WriteString("Each library runs its cluster client with default options, seeded with all 6 addresses: respool's ClusterClient (whose node clients multiplex), go-redis's ClusterClient, plain and through its AutoPipeline, and rueidis, which finds out by itself that the addresses form a cluster. ")
	b.WriteString("redigo has no cluster client, and respool Exclusive does not run there; the ratio is respool's ClusterClient over the best peer.")
	if r.cfg.reference {
		b.WriteString(" redis-benchmark runs with `--cluster` against the first node, spreading its connections over the primaries; it uses one key per primary (a hash tag of one of that primary's slots), which it writes itself before a GET reference.")
	}
	b.WriteString("\n\n")
}

func (r *report) renderPlots(b *strings.Builder) {
	if len(r.plots) == 0 {
		return
	}
	b.WriteString("## Plots\n\n")
	base := "."
	if r.cfg.out != "" {
		base = filepath.Dir(r.cfg.out)
	}
	for _, p := range r.plots {
		link := p.path
		if rel, err := filepath.Rel(base, p.path); err == nil {
			link = filepath.ToSlash(rel)
		}
		fmt.Fprintf(b, "![%s](%s)\n\n", p.title, link)
	}
}

func (r *report) renderCells(b *strings.Builder) {
	cfg := r.cfg
	b.WriteString("## Every cell\n\n")
	b.WriteString("Per scenario and client: throughput, per-call latency (p50 and p99; a call is one command, one pipeline or one MGET), ")
	b.WriteString("client CPU seconds per million operations, the server's CPU seconds per million operations over the same window (on the cluster, all 6 nodes'; \"-\" for a server the benchmark did not start), ")
	b.WriteString("bytes and allocations per operation, failed calls and wrong replies (summed over the repetitions), and the ratio to the best peer of the scenario.\n\n")
	b.WriteString("| scenario | client | ops/s | p50 | p99 | CPU s / M ops | server CPU s / M ops | B / op | allocs / op | errors | wrong replies | / best peer |\n")
	b.WriteString("| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |\n")
	for _, s := range cfg.scenarios {
		for _, c := range r.columns() {
			x := r.res.cell(s.name, c)
			if !x.ok {
				continue
			}
			ratio := r.res.ratioToBest(s, c, cfg.clients)
			if x.reference {
				fmt.Fprintf(b, "| %s | %s | %s | %s | %s | - | %s | - | - | - | - | %s |\n", s.name, clientTitle(c),
					formatRate(x.opsPerSec), formatLatency(x.p50), formatLatency(x.p99), fixed(x.serverCPUPerMOps, 1), ratioText(ratio))
				continue
			}
			name := clientTitle(c)
			if c == s.oursClient() {
				name = "**" + name + "**"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", s.name, name,
				formatRate(x.opsPerSec), formatLatency(x.p50), formatLatency(x.p99),
				fixed(x.cpuPerMOps, 1), fixed(x.serverCPUPerMOps, 1), fixed(x.bytesPerOp, 0), fixed(x.allocs, 2), x.errors, wrongText(x.wrong), ratioText(ratio))
		}
	}
	b.WriteString("\n")
}

func fixed(v float64, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func wrongText(n int64) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d**", n)
}

func (r *report) renderCorrectness(b *strings.Builder) {
	var wrong, errs int64
	var verified int
	var firsts []string
	for _, s := range r.cfg.scenarios {
		for _, c := range r.cfg.clients {
			x := r.res.cell(s.name, c.name)
			if !x.ok {
				continue
			}
			wrong += x.wrong
			errs += x.errors
			verified += x.verified
			if x.firstWrng != "" {
				firsts = append(firsts, fmt.Sprintf("%s, %s: wrong reply: %s", s.name, c.title, x.firstWrng))
			}
			if x.firstErr != "" {
				firsts = append(firsts, fmt.Sprintf("%s, %s: error: %s", s.name, c.title, x.firstErr))
			}
		}
	}
	b.WriteString("## Correctness\n\n")
	b.WriteString("Every key holds a value derived from its name (GET keys) or from its name and the one goroutine that writes it (SET keys), so every reply can be checked. ")
	b.WriteString("Each GET, pipeline reply and MGET element was compared with the value its key must hold, and each SET's reply with OK; after every SET run the driver read every key back on a connection of its own (on the cluster, one to each primary, every key read from its slot's primary) and compared it with its writer's value.\n\n")
	fmt.Fprintf(b, "**Wrong replies: %d** (must be 0). Failed calls: %d. SET keys read back holding their writer's value: %d.\n\n", wrong, errs, verified)
	if len(firsts) > 0 {
		b.WriteString("First failure of each cell that had any:\n\n")
		for _, f := range firsts {
			fmt.Fprintf(b, "- %s\n", f)
		}
		b.WriteString("\n")
	}
}

func (r *report) renderMethod(b *strings.Builder) {
	b.WriteString("## How it was measured\n\n")
	if r.cfg.needs(false) {
		b.WriteString("- The driver starts its own redis-server and writes the keyspace (1,000 keys of 16 bytes, 1,000 of 1 KiB, 100 of 100 KiB, as the scenarios need them).\n")
	}
	if r.cfg.needs(true) {
		b.WriteString("- For the cluster rows the driver starts a 6-node cluster (`respooltest.NewCluster`: 3 primaries, 3 replicas, created with `redis-cli --cluster create`) and writes the 1,000 keys of 16 bytes on it, each with a SET sent straight to the primary that serves its slot (the server's own `CLUSTER SLOTS` and `CLUSTER KEYSLOT` say which), on connections that no client under test shares.\n")
	}
	b.WriteString("- Then, scenario by scenario and repetition by repetition, it runs every client in a fresh process of its own, in an order rotated by one place per repetition; redis-benchmark opens every repetition, outside the rotation, so that the run right after it (a little slower on average) falls to a different client each time.\n")
	b.WriteString("- A worker builds its client with the library's defaults (see bench/README.md for the few options set), checks one call, starts the scenario's goroutines, waits out the warm-up, then measures a window: operations completed, its own process CPU time (getrusage), the CPU time of the redis-server processes the driver started (see below), `runtime.MemStats` allocation deltas, and the latency of every call started in the window, logged by each goroutine in a small buffer and added in batches of 128 to one histogram with 32 linear buckets per power of two (about 3% resolution; recording allocates nothing and costs the client under test no cache misses).\n")
	b.WriteString("- CPU, bytes and allocations per operation divide the window's figures by the window's operations; they count the whole worker process, including the benchmark loop (which allocates nothing of its own) and the Go runtime.\n")
	b.WriteString("- Server CPU per operation is the user plus system CPU time of the redis-server processes (utime + stime of `/proc/<pid>/stat`, every thread of the process, in clock ticks, 10 ms on Linux), read by the worker just before and just after it reads its own at the window's edges, divided by the window's operations. ")
	if r.cfg.needs(true) {
		b.WriteString("On the cluster it is the sum over all 6 nodes, replicas included. ")
	}
	b.WriteString("It counts everything the server did in the window (the client's commands, and its own periodic tasks, a small share); the tick resolution makes it exact to about 20 ms of CPU per process and window. ")
	if r.cfg.reference {
		b.WriteString("For redis-benchmark the driver reads it around the whole run and divides by the requests, so it also counts the run's connects. ")
	}
	b.WriteString("A server the benchmark did not start (`-addr`), or a machine without `/proc`, has no figure (\"-\").\n")
	fmt.Fprintf(b, "- Time to run: about %s for this plan.\n\n", roundDuration(r.env.elapsed))
}
