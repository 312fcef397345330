package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/respool/respool"
)

// The demo's steps, in the order they run. Each prints what it does and
// why, and returns an error only when the server or the client failed.

// loadResult is what one load run of step 1 did.
type loadResult struct {
	title             string
	gets, sets, incrs uint64 // commands that succeeded, by kind
	errors            uint64
	elapsed           time.Duration
	stats             respool.PoolStats // at the end of the run
	counterBefore     int64             // for the INCR check
}

func (r loadResult) ops() uint64 { return r.gets + r.sets + r.incrs }

func (r loadResult) rate() uint64 {
	if r.elapsed <= 0 {
		return 0
	}
	return uint64(float64(r.ops()) / r.elapsed.Seconds())
}

// stepLoad is step 1: many goroutines share one Client, first in
// exclusive mode (one pooled connection per command), then in the default
// multiplexed mode, with the pool's statistics printed as they change.
func (d *demo) stepLoad(ctx context.Context, opt *respool.Options) error {
	cfg := d.cfg
	d.printf("\n1) %d goroutines share one Client with PoolSize %d, sending GET (50%%), SET (30%%) and INCR (20%%)\n"+
		"   for %s. In exclusive mode each command borrows a connection from the pool and gives it back,\n"+
		"   so the goroutines take turns on %d connections: \"waits\" counts the borrows that had to queue,\n"+
		"   \"misses\" the ones that dialled a new connection, \"timeouts\" those that gave up (PoolTimeout).\n",
		cfg.workers, cfg.poolSize, cfg.duration, cfg.poolSize)

	exclusive := *opt
	exclusive.PoolSize = cfg.poolSize
	exclusive.Exclusive = true
	if err := d.runLoad(ctx, &exclusive, "exclusive mode"); err != nil {
		return err
	}

	d.printf("\n   The same load on the default Client, which multiplexes: concurrent commands share a few\n" +
		"   connections (MultiplexConns, outside the pool), written together and answered in order.\n" +
		"   The pool stays for what needs a connection of its own (pipelines, transactions, BLPOP).\n")
	multiplexed := *opt
	multiplexed.PoolSize = cfg.poolSize
	if err := d.runLoad(ctx, &multiplexed, "multiplexed mode (the default)"); err != nil {
		return err
	}
	return nil
}

// runLoad runs the workers against a new Client built from opt for the
// configured duration, printing the pool's statistics on every tick.
func (d *demo) runLoad(ctx context.Context, opt *respool.Options, title string) error {
	c, closeClient := d.newClient(opt)
	defer closeClient()
	c.AddHook(d.trace.hook())

	counterKey := demoKeyPrefix + "load:counter"
	before, err := intReply(c.Get(ctx, counterKey).Result())
	if err != nil && !errors.Is(err, respool.Nil) {
		return err
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = demoKeyPrefix + "load:key:" + strconv.Itoa(i)
	}

	run, stop := context.WithTimeout(ctx, d.cfg.duration)
	defer stop()
	var gets, sets, incrs, failures atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range d.cfg.workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for run.Err() == nil {
				// Commands run with ctx, not run: the one in flight when
				// the time is up finishes normally.
				key := keys[rng.IntN(len(keys))]
				var err error
				var done *atomic.Uint64
				switch n := rng.IntN(10); {
				case n < 5:
					err, done = c.Get(ctx, key).Err(), &gets
					if errors.Is(err, respool.Nil) {
						err = nil
					}
				case n < 8:
					err, done = c.Set(ctx, key, n, 0).Err(), &sets
				default:
					err, done = c.Incr(ctx, counterKey).Err(), &incrs
				}
				switch {
				case err == nil:
					done.Add(1)
				case ctx.Err() == nil:
					failures.Add(1)
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()

	d.printf("   %s:\n", title)
	tick := min(time.Second, d.cfg.duration/3)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	lastOps, lastTime := uint64(0), start
	// line prints the counters; the last one (final) has the run's
	// average rate instead of the rate since the previous line.
	line := func(now time.Time, final bool) {
		ops := gets.Load() + sets.Load() + incrs.Load()
		rate := float64(ops-lastOps) / now.Sub(lastTime).Seconds()
		lastOps, lastTime = ops, now
		at := fmt.Sprintf("%5.1fs", now.Sub(start).Seconds())
		if final {
			rate = float64(ops) / now.Sub(start).Seconds()
			at = "   end"
		}
		st := c.Pool().Stats()
		d.printf("   %s %9s cmds %8s/s | pool: open %d, idle %d, in use %d | hits %s, misses %s, waits %s, timeouts %d\n",
			at, commas(ops), commas(uint64(rate)),
			st.Open, st.Idle, st.InUse, commas(st.Hits), commas(st.Misses), commas(st.Waits), st.Timeouts)
	}
wait:
	for {
		select {
		case now := <-ticker.C:
			line(now, false)
		case <-finished:
			break wait
		}
	}
	r := loadResult{
		title:         title,
		gets:          gets.Load(),
		sets:          sets.Load(),
		incrs:         incrs.Load(),
		errors:        failures.Load(),
		elapsed:       time.Since(start),
		stats:         c.Pool().Stats(),
		counterBefore: before,
	}
	line(time.Now(), true)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	d.load = append(d.load, r)

	after, err := intReply(c.Get(ctx, counterKey).Result())
	if err != nil && !errors.Is(err, respool.Nil) {
		return err
	}
	verdict := "every acknowledged INCR applied exactly once"
	if uint64(after-before) != r.incrs {
		verdict = fmt.Sprintf("%d INCRs failed with an unknown outcome", int64(r.incrs)-(after-before))
	}
	d.printf("   done: %s commands (%s/s), %d errors; the counter grew by %s, the INCRs acknowledged: %s.\n",
		commas(r.ops()), commas(r.rate()), r.errors, commas(uint64(after-before)), verdict)
	return nil
}

// stepPipeline is step 2: 1,000 commands in one pipeline, then the same
// commands one by one.
func (d *demo) stepPipeline(ctx context.Context, c *respool.Client) error {
	const n = 500
	d.printf("\n2) A pipeline: %d SETs and then %d GETs of the same keys, queued, sent in one write and read\n"+
		"   in one go; then the same %s commands one by one, each waiting for its reply.\n", n, n, commas(2*n))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = demoKeyPrefix + "pipe:" + strconv.Itoa(i)
	}
	start := time.Now()
	gets := make([]*respool.Cmd[string], n)
	_, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		for i, k := range keys {
			p.Set(ctx, k, i, 0)
		}
		for i, k := range keys {
			gets[i] = p.Get(ctx, k)
		}
		return nil
	})
	d.pipelined = time.Since(start)
	if err != nil {
		return err
	}
	for i, cmd := range gets {
		if v, err := cmd.Result(); err != nil || v != strconv.Itoa(i) {
			return fmt.Errorf("pipelined GET %s = %q, %v; want %d", keys[i], v, err, i)
		}
	}

	start = time.Now()
	for i, k := range keys {
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			return err
		}
	}
	for i, k := range keys {
		if v, err := c.Get(ctx, k).Result(); err != nil || v != strconv.Itoa(i) {
			return fmt.Errorf("GET %s = %q, %v; want %d", k, v, err, i)
		}
	}
	d.oneByOne = time.Since(start)
	d.printf("   pipelined:  %s commands in %-10s (one write, one read)\n", commas(2*n), d.pipelined.Round(time.Microsecond))
	d.printf("   one by one: %s commands in %-10s (%s round trips), %.0fx the time\n", commas(2*n),
		d.oneByOne.Round(time.Microsecond), commas(2*n), float64(d.oneByOne)/float64(max(d.pipelined, 1)))
	d.printf("   Every GET returned what its SET wrote: replies come back in the order of the commands,\n" +
		"   and each queued command has its own result (a failed one would not hide the others).\n")
	return nil
}

// stepWatch is step 3: an optimistic transaction whose WATCH a concurrent
// writer breaks twice, then the same with a bound that runs out.
func (d *demo) stepWatch(ctx context.Context, c *respool.Client, opt *respool.Options) error {
	key := demoKeyPrefix + "tx:balance"
	d.printf("\n3) A transaction with WATCH: withdraw 30 from a balance of 100 (read it, then MULTI/SET/EXEC),\n" +
		"   while a writer goroutine deposits 10 between the read and the EXEC, twice.\n")
	if err := c.Set(ctx, key, 100, 0).Err(); err != nil {
		return err
	}

	// The writer runs on its own goroutine and connection; kick asks it
	// for one deposit and waits until the server has applied it.
	kicks := make(chan chan error)
	defer close(kicks)
	go func() {
		for reply := range kicks {
			reply <- c.IncrBy(ctx, key, 10).Err()
		}
	}()
	deposit := func() error {
		reply := make(chan error)
		kicks <- reply
		return <-reply
	}

	withdraw := func(tx *respool.Tx, attempt int, breakWatch bool) error {
		balance, err := intReply(tx.Get(ctx, key).Result())
		if err != nil {
			return err
		}
		line := fmt.Sprintf("   attempt %d: WATCH, GET balance = %d", attempt, balance)
		if breakWatch {
			if err := deposit(); err != nil {
				return err
			}
			line += ", the writer deposits 10"
		}
		_, err = tx.TxPipelined(ctx, func(p *respool.Pipeline) error {
			p.Set(ctx, key, balance-30, 0)
			return nil
		})
		switch {
		case errors.Is(err, respool.ErrTxFailed):
			d.printf("%s, EXEC -> aborted (the key changed), retry\n", line)
		case err == nil:
			d.printf("%s, EXEC -> applied: SET balance %d\n", line, balance-30)
		}
		return err
	}

	attempts := 0
	err := c.Watch(ctx, func(tx *respool.Tx) error {
		attempts++
		return withdraw(tx, attempts, attempts <= 2)
	}, key)
	if err != nil {
		return err
	}
	d.attempts = attempts
	final, err := intReply(c.Get(ctx, key).Result())
	if err != nil {
		return err
	}
	d.printf("   final balance = %d (100 + 10 + 10 - 30): both deposits kept, the withdrawal applied once.\n", final)

	// A writer that strikes every time: Watch stops at its bound.
	bounded := *opt
	bounded.MaxWatchRetries = 2
	c2, closeC2 := d.newClient(&bounded)
	defer closeC2()
	attempts2 := 0
	err = c2.Watch(ctx, func(tx *respool.Tx) error {
		attempts2++
		return withdraw(tx, attempts2, true)
	}, key)
	if !errors.Is(err, respool.ErrTxFailed) {
		return fmt.Errorf("watch with a writer that never stops: %v, want ErrTxFailed", err)
	}
	d.printf("   With MaxWatchRetries 2 and a writer striking every time, Watch gives up after %d attempts\n"+
		"   with ErrTxFailed (%q) instead of looping forever.\n", attempts2, err)
	return nil
}

// stepScript is step 4: a Script run by digest, falling back to its
// source when the server does not have it.
func (d *demo) stepScript(ctx context.Context, c *respool.Client) error {
	d.printf("\n4) A Lua script: Script.Run sends EVALSHA (the script's SHA1 digest only) and, when the server\n" +
		"   answers NOSCRIPT, EVAL with the source, which also caches it. A hook shows what went over the wire.\n")
	// A comment unique to this run makes the script new to the server.
	src := fmt.Sprintf("-- respool demo %d\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])", time.Now().UnixNano())
	s := respool.NewScript(src)
	key := demoKeyPrefix + "script:counter"
	d.trace.takeScripts()
	run := func(label string) error {
		v, err := s.Run(ctx, c, []string{key}, 5).Result()
		if err != nil {
			return err
		}
		n, err := v.Int()
		if err != nil {
			return err
		}
		d.printf("   %-30s %-30s returned %d\n", label, strings.Join(d.trace.takeScripts(), ", "), n)
		return nil
	}
	d.printf("   script %s...: INCRBY KEYS[1] ARGV[1]\n", s.Hash()[:12])
	if err := run("run 1 (a new script):"); err != nil {
		return err
	}
	if err := run("run 2 (cached by the EVAL):"); err != nil {
		return err
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		return err
	}
	d.printf("   SCRIPT FLUSH empties the server's script cache (as a restart or a failover does).\n")
	if err := run("run 3 (after SCRIPT FLUSH):"); err != nil {
		return err
	}
	d.printf("   The caller only sees the script's reply; the fallback costs one extra round trip, once.\n")
	return nil
}

// stepScan is step 5: a SCAN iteration with MATCH.
func (d *demo) stepScan(ctx context.Context, c *respool.Client) error {
	const users, sessions = 2000, 1000
	pattern := demoKeyPrefix + "scan:user:*"
	d.printf("\n5) SCAN: %s user keys and %s session keys are written (in one pipeline), then ScanAll\n"+
		"   iterates over the keys matching %s a page at a time (COUNT 250), without\n"+
		"   blocking the server the way KEYS would.\n", commas(users), commas(sessions), pattern)
	_, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		for i := range users {
			p.Set(ctx, demoKeyPrefix+"scan:user:"+strconv.Itoa(i), i, 0)
		}
		for i := range sessions {
			p.Set(ctx, demoKeyPrefix+"scan:session:"+strconv.Itoa(i), i, 0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	total, err := c.DBSize(ctx).Result()
	if err != nil {
		return err
	}

	seen := make(map[string]int, users)
	d.trace.countScans(true)
	for key, err := range c.ScanAll(ctx, respool.ScanArgs{Match: pattern, Count: 250}) {
		if err != nil {
			d.trace.countScans(false)
			return err
		}
		seen[key]++
	}
	d.scanCalls = d.trace.countScans(false)
	d.scanKeys = len(seen)
	repeated := 0
	for _, n := range seen {
		if n > 1 {
			repeated++
		}
	}
	once := "each exactly once"
	if repeated > 0 {
		once = fmt.Sprintf("%d of them more than once (SCAN may repeat a key when the table is resized meanwhile)", repeated)
	}
	d.printf("   %s of the %s keys in the database matched, %s, in %d SCAN calls.\n",
		commas(uint64(len(seen))), commas(uint64(total)), once, d.scanCalls)
	d.printf("   The server applies MATCH to each page after reading it, so a page can be short or empty;\n" +
		"   the iterator keeps going until the cursor comes back to 0.\n")
	if len(seen) != users {
		return fmt.Errorf("scan found %d user keys, want %d", len(seen), users)
	}
	return nil
}

// intReply parses the reply of a GET that holds a number; a missing key
// is 0 with respool.Nil.
func intReply(s string, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}
