package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/respool/respool"
	"github.com/respool/respool/resp"
)

// This file has redis-cli's loop modes: --latency, --latency-history,
// --stat and --scan (latencyMode, statMode and scanMode in redis-cli 7.0).

// reconnectingDo runs one command, connecting again (once a second, saying
// "Reconnecting... N") while the server cannot be reached, as redis-cli's
// reconnectingRedisCommand does. It returns an error only when ctx ends.
func (s *session) reconnectingDo(ctx context.Context, args ...any) (resp.Value, error) {
	tries := 0
	for {
		if s.conn == nil || s.conn.Err() != nil {
			if tries > 0 {
				if err := sleepCtx(ctx, time.Second); err != nil {
					return resp.Value{}, err
				}
			}
			tries++
			fmt.Fprintf(s.out, "\r\x1b[0KReconnecting... %d\r", tries)
			if err := s.connect(ctx, true); err != nil {
				if ctx.Err() != nil {
					return resp.Value{}, ctx.Err()
				}
				continue
			}
		}
		v, err := s.conn.Do(ctx, args...)
		var serverErr *respool.Error
		if err != nil && !errors.As(err, &serverErr) {
			if ctx.Err() != nil {
				return resp.Value{}, ctx.Err()
			}
			s.close()
			continue
		}
		if tries > 0 {
			io.WriteString(s.out, "\r\x1b[0K")
		}
		return v, nil
	}
}

// Latency sampling, as redis-cli: a PING every 10ms, times in whole
// milliseconds, a history line every 15s by default.
const (
	latencySampleRate      = 10 * time.Millisecond
	latencyHistoryInterval = 15 * time.Second
)

// runLatency is --latency and --latency-history: on a terminal (standard
// output) it rewrites one line of min, max, average and samples until
// interrupted; otherwise --latency prints one line after the interval (-i,
// 1s by default) and exits, and --latency-history prints a line per sample
// and a " -- N seconds range" line per interval.
func runLatency(ctx context.Context, s *session) int {
	interval := s.cfg.interval
	historyInterval := interval
	if historyInterval == 0 {
		historyInterval = latencyHistoryInterval
	}
	if interval == 0 {
		interval = time.Second
	}
	interval = interval.Truncate(time.Millisecond)
	historyInterval = historyInterval.Truncate(time.Millisecond)
	if err := s.connect(ctx, false); err != nil {
		return 1
	}
	var minL, maxL, total, count int64
	historyStart := time.Now()
	for {
		start := time.Now()
		if _, err := s.reconnectingDo(ctx, "PING"); err != nil {
			return 1
		}
		latency := time.Since(start).Milliseconds()
		count++
		if count == 1 {
			minL, maxL, total = latency, latency, latency
		} else {
			minL, maxL, total = min(minL, latency), max(maxL, latency), total+latency
		}
		avg := float64(total) / float64(count)
		switch {
		case s.cfg.mode == outputTTY:
			io.WriteString(s.out, "\x1b[0G\x1b[2K")
			latencyPrint(s.out, s.cfg.mode, minL, maxL, avg, count)
		case s.cfg.history:
			latencyPrint(s.out, s.cfg.mode, minL, maxL, avg, count)
		case time.Since(historyStart) > interval:
			latencyPrint(s.out, s.cfg.mode, minL, maxL, avg, count)
			return 0
		}
		if s.cfg.history && time.Since(historyStart) > historyInterval {
			fmt.Fprintf(s.out, " -- %.2f seconds range\n", float64(time.Since(historyStart).Milliseconds())/1000)
			historyStart = time.Now()
			minL, maxL, total, count = 0, 0, 0, 0
		}
		if err := sleepCtx(ctx, latencySampleRate); err != nil {
			return 1
		}
	}
}

// latencyPrint is latencyModePrint.
func latencyPrint(w io.Writer, mode outputMode, minL, maxL int64, avg float64, count int64) {
	switch mode {
	case outputTTY:
		fmt.Fprintf(w, "min: %d, max: %d, avg: %.2f (%d samples)", minL, maxL, avg, count)
	case outputCSV:
		fmt.Fprintf(w, "%d,%d,%.2f,%d\n", minL, maxL, avg, count)
	case outputRaw:
		fmt.Fprintf(w, "%d %d %.2f %d\n", minL, maxL, avg, count)
	case outputJSON:
		fmt.Fprintf(w, "{\"min\": %d, \"max\": %d, \"avg\": %.2f, \"count\": %d}\n", minL, maxL, avg, count)
	}
}

// runStat is --stat: a line of the server's INFO counters every interval
// (-i, 1s by default), with a header every 20 lines, until interrupted.
func runStat(ctx context.Context, s *session) int {
	interval := s.cfg.interval
	if interval == 0 {
		interval = time.Second
	}
	if err := s.connect(ctx, false); err != nil {
		return 1
	}
	var requests int64
	for i := 0; ; i++ {
		v, err := s.reconnectingDo(ctx, "INFO")
		if err != nil {
			return 1
		}
		if v.IsError() {
			fmt.Fprintf(s.errOut, "ERROR: %s\n", v.Text())
			return 1
		}
		if i%20 == 0 {
			io.WriteString(s.out, "------- data ------ --------------------- load -------------------- - child -\n"+
				"keys       mem      clients blocked requests            connections          \n")
		}
		io.WriteString(s.out, statLine(v.Text(), &requests))
		if err := sleepCtx(ctx, interval); err != nil {
			return 1
		}
	}
}

// statLine formats one line of --stat from an INFO reply; requests is the
// total of the previous line, for the difference.
func statLine(info string, requests *int64) string {
	num := func(name string) int64 { n, _ := infoField(info, name); return n }
	var keys int64
	for db := range 20 {
		if n, ok := infoField(info, fmt.Sprintf("db%d:keys", db)); ok {
			keys += n
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s", strconv.FormatInt(keys, 10))
	fmt.Fprintf(&b, "%-8s", bytesToHuman(num("used_memory")))
	fmt.Fprintf(&b, " %-8s", strconv.FormatInt(num("connected_clients"), 10))
	fmt.Fprintf(&b, "%-8s", strconv.FormatInt(num("blocked_clients"), 10))
	total := num("total_commands_processed")
	diff := int64(0)
	if *requests != 0 {
		diff = total - *requests
	}
	fmt.Fprintf(&b, "%-19s", fmt.Sprintf("%d (+%d)", total, diff))
	*requests = total
	fmt.Fprintf(&b, " %-12s", strconv.FormatInt(num("total_connections_received"), 10))
	switch num("bgsave_in_progress") | num("aof_rewrite_in_progress")<<1 | num("loading")<<2 {
	case 1:
		b.WriteString("SAVE")
	case 2:
		b.WriteString("AOF")
	case 3:
		b.WriteString("SAVE+AOF")
	case 4:
		b.WriteString("LOAD")
	}
	b.WriteString("\n")
	return b.String()
}

// infoField reads a number from INFO text as redis-cli's getInfoField:
// the first occurrence of name anywhere, one separator byte skipped, up to
// "\r" or ",". So "db0:keys" reads the keys of "db0:keys=5,expires=0".
func infoField(info, name string) (int64, bool) {
	i := strings.Index(info, name)
	if i < 0 || i+len(name)+1 > len(info) {
		return 0, false
	}
	v := info[i+len(name)+1:]
	if end := strings.IndexAny(v, "\r,"); end >= 0 {
		v = v[:end]
	}
	n, _ := strconv.ParseInt(leadingInt(v), 10, 64)
	return n, true
}

// bytesToHuman is redis-cli's: 100B, 2.00K, 3.50M, 1.00G.
func bytesToHuman(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	switch {
	case n < 1024:
		return fmt.Sprintf("%s%dB", sign, n)
	case n < 1024*1024:
		return fmt.Sprintf("%s%.2fK", sign, float64(n)/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%s%.2fM", sign, float64(n)/(1024*1024))
	default:
		return fmt.Sprintf("%s%.2fG", sign, float64(n)/(1024*1024*1024))
	}
}

// runScan is --scan: every key of the keyspace (matching --pattern), one a
// line, quoted on a terminal. --count sets SCAN's COUNT (an addition to
// redis-cli 7.0). With -c it scans every primary of the cluster, one after
// another.
func runScan(ctx context.Context, s *session) int {
	w := bufio.NewWriter(s.out)
	defer w.Flush()
	if s.cfg.cluster {
		opt := s.cfg.options()
		opt.Addr = s.addr()
		opt.PoolSize = 2
		cc := respool.NewClusterClient(&respool.ClusterOptions{Addrs: []string{opt.Addr}, Options: *opt})
		defer cc.Close()
		var mu sync.Mutex // one primary's scan at a time, so pages do not mix
		err := cc.ForEachPrimary(ctx, func(ctx context.Context, node *respool.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scanNode(ctx, s, w, node.Do)
		})
		if err != nil {
			if !errors.Is(err, errReplyExit) {
				fmt.Fprintln(s.errOut, failureMessage(opt.Addr, err))
			}
			return 1
		}
		return 0
	}
	if err := s.connect(ctx, false); err != nil {
		return 1
	}
	if err := scanNode(ctx, s, w, s.conn.Do); err != nil {
		if !errors.Is(err, errReplyExit) {
			s.printIOError(err)
		}
		return 1
	}
	return 0
}

// scanNode runs one SCAN iteration to its end through do, printing keys.
func scanNode(ctx context.Context, s *session, w *bufio.Writer, do func(context.Context, ...any) (resp.Value, error)) error {
	cursor := "0"
	for {
		args := []any{"SCAN", cursor}
		if s.cfg.pattern != "" {
			args = append(args, "MATCH", s.cfg.pattern)
		}
		if s.cfg.count > 0 {
			args = append(args, "COUNT", s.cfg.count)
		}
		v, err := do(ctx, args...)
		var serverErr *respool.Error
		switch {
		case errors.As(err, &serverErr):
			w.Flush()
			fmt.Fprintf(s.errOut, "SCAN error: %s\n", v.Text())
			return errReplyExit
		case err != nil:
			w.Flush()
			return err
		}
		elems, _ := v.Elems()
		if len(elems) != 2 {
			w.Flush()
			fmt.Fprintln(s.errOut, "Invalid element count from SCAN!")
			return errReplyExit
		}
		keys, _ := elems[1].Elems()
		for _, k := range keys {
			if s.cfg.mode == outputTTY {
				w.Write(appendRepr(nil, k.Text()))
			} else {
				w.WriteString(cString(k.Text()))
			}
			w.WriteByte('\n')
		}
		cursor = elems[0].Text()
		if s.cfg.interval > 0 {
			w.Flush()
			if err := sleepCtx(ctx, s.cfg.interval); err != nil {
				return err
			}
		}
		if cursor == "0" {
			return w.Flush()
		}
	}
}
