package respool

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/respooltest"
)

// failoverFigures is what one failover under load did to the writes.
type failoverFigures struct {
	Acked      int           // tokens whose RPUSH was acknowledged
	Missing    int           // acknowledged and not on the new primary afterwards
	Duplicated int           // on the new primary more than once
	NotSent    int           // writes that failed with OutcomeNotSent
	Unknown    int           // writes that failed with another outcome
	Promotion  time.Duration // from the trigger to the replica answering ROLE master
	FirstWrite time.Duration // from the promotion to the first write acknowledged after it
	Switch     time.Duration // from the trigger to the client's switch
	HeldWrites uint64
}

func (f failoverFigures) String() string {
	return fmt.Sprintf("acked %d, missing %d, duplicated %d, failed %d not sent + %d unknown, promotion %v after the trigger, first write %v after the promotion, switch %v after the trigger, %d writes held",
		f.Acked, f.Missing, f.Duplicated, f.NotSent, f.Unknown, f.Promotion.Round(time.Millisecond),
		f.FirstWrite.Round(time.Millisecond), f.Switch.Round(time.Millisecond), f.HeldWrites)
}

// failoverWriters is the number of goroutines writing during a failover.
const failoverWriters = 8

// runFailover makes the primary of set fail over while eight goroutines
// push unique tokens through a FailoverClient (single commands, and for
// two of them pipelines and transactions of two), then checks the new
// primary's list. trigger starts the failover. A subscriber on the client
// must receive, after a gap, a message published after the switch. The
// figures it returns are measured, never asserted.
func runFailover(t *testing.T, set *respooltest.Sentinel, exclusive bool, trigger func()) failoverFigures {
	t.Helper()
	ctx := context.Background()
	fc, name := newFailoverClient(t, set, FailoverOptions{Options: Options{Exclusive: exclusive}})
	key := testKey(t, "tokens")
	if err := fc.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, set, name)
	oldPrimary, newPrimary := set.Primary, set.Replica

	ps := fc.Subscribe(ctx, key+":chan")
	defer ps.Close()
	messages := ps.Channel()

	// The promotion, as the replica reports it.
	var promotedAt atomic.Int64
	pollDone := make(chan struct{})
	stopPoll := make(chan struct{})
	go func() {
		defer close(pollDone)
		rc := NewClient(&Options{Addr: newPrimary.Addr, Exclusive: true, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		defer rc.Close()
		for {
			select {
			case <-stopPoll:
				return
			default:
			}
			if v, err := rc.Do(ctx, "ROLE"); err == nil && roleOf(v) == "master" {
				promotedAt.Store(time.Now().UnixNano())
				return
			}
			time.Sleep(time.Millisecond) // pacing, not synchronisation
		}
	}()

	type ack struct {
		token string
		at    time.Time
	}
	var (
		mu       sync.Mutex
		acks     []ack
		notSent  int
		unknown  int
		stop     atomic.Bool
		wg       sync.WaitGroup
		ackCount atomic.Int64
	)
	record := func(err error, at time.Time, tokens ...string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			for _, tok := range tokens {
				acks = append(acks, ack{tok, at})
			}
			ackCount.Add(int64(len(tokens)))
		case OutcomeOf(err) == OutcomeNotSent:
			notSent++
		default:
			unknown++
		}
	}
	for w := range failoverWriters {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				a, b := fmt.Sprintf("w%d-%d-a", w, i), fmt.Sprintf("w%d-%d-b", w, i)
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var err error
				switch w {
				case 0:
					_, err = fc.Pipelined(wctx, func(p *Pipeline) error {
						p.RPush(wctx, key, a)
						p.RPush(wctx, key, b)
						return nil
					})
					record(err, time.Now(), a, b)
				case 1:
					_, err = fc.TxPipelined(wctx, func(p *Pipeline) error {
						p.RPush(wctx, key, a)
						p.RPush(wctx, key, b)
						return nil
					})
					record(err, time.Now(), a, b)
				default:
					err = fc.RPush(wctx, key, a).Err()
					record(err, time.Now(), a)
				}
				cancel()
			}
		})
	}

	waitUntil(t, "writes flowing", func() bool { return ackCount.Load() >= 500 })
	start := time.Now()
	trigger()
	waitUntil(t, "the client to switch", func() bool { return fc.Stats().Switches > 0 })
	switchedAt := time.Now()
	after := ackCount.Load()
	waitUntil(t, "writes after the switch", func() bool { return ackCount.Load() >= after+500 })
	stop.Store(true)
	wg.Wait()
	close(stopPoll)
	<-pollDone

	// A subscriber hears of the outage, then gets what is published on
	// the new primary.
	sawGap := false
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case m := <-messages:
			if m.Gap != nil {
				sawGap = true
				continue
			}
			if m.Payload == "after" {
				break wait
			}
		case <-tick.C:
			if err := fc.Publish(ctx, key+":chan", "after").Err(); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("no message from the new primary")
		}
	}
	if !sawGap {
		t.Error("the subscriber was not told of the gap")
	}

	st := fc.Stats()
	if st.Primary != newPrimary.Addr {
		t.Fatalf("the client says the primary is %s, want %s", st.Primary, newPrimary.Addr)
	}
	if old := oldPrimary.PID(); old != 0 {
		// Every connection to the old primary is closed.
		waitUntil(t, "no connection left to the old primary", func() bool {
			return len(clientsNamed(t, oldPrimary, name)) == 0
		})
	}

	// The tokens on the new primary.
	nc := NewClient(&Options{Addr: newPrimary.Addr})
	defer nc.Close()
	list, err := nc.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	count := make(map[string]int, len(list))
	f := failoverFigures{NotSent: notSent, Unknown: unknown, HeldWrites: st.HeldWrites, Switch: switchedAt.Sub(start)}
	for _, tok := range list {
		count[tok]++
		if count[tok] == 2 {
			f.Duplicated++
		}
	}
	promoted := time.Unix(0, promotedAt.Load())
	if promotedAt.Load() != 0 {
		f.Promotion = promoted.Sub(start)
	}
	first := time.Time{}
	for _, a := range acks {
		f.Acked++
		if count[a.token] == 0 {
			f.Missing++
		}
		if promotedAt.Load() != 0 && a.at.After(promoted) && (first.IsZero() || a.at.Before(first)) {
			first = a.at
		}
	}
	if !first.IsZero() {
		f.FirstWrite = first.Sub(promoted)
	}
	return f
}

// TestFailoverManual: SENTINEL FAILOVER under eight writers. No more than
// the writes in flight at the promotion may be missing from the new
// primary, none may be there twice, and writes succeed again.
func TestFailoverManual(t *testing.T) {
	set := respooltest.StartSentinel(t)
	leakCheck(t)
	f := runFailover(t, set, false, func() { set.Sentinels[0].CLI(t, "SENTINEL", "FAILOVER", set.MasterName) })
	t.Logf("manual failover: %v", f)
	checkFailover(t, f)
}

func checkFailover(t *testing.T, f failoverFigures) {
	t.Helper()
	if f.Missing > 10 {
		t.Errorf("%d acknowledged writes missing from the new primary, want at most 10", f.Missing)
	}
	if f.Duplicated > 0 {
		t.Errorf("%d writes applied twice", f.Duplicated)
	}
}

// TestFailoverRuns measures the failover scenario several times, each on
// a fresh sentinel set, and logs the figures: RESPOOL_FAILOVER_RUNS=5 for
// five manual failovers (multiplexed), then one in exclusive mode and one
// kill -9 of the primary.
// go test -run FailoverRuns -v -timeout 30m .
func TestFailoverRuns(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("RESPOOL_FAILOVER_RUNS"))
	if runs <= 0 {
		t.Skip("set RESPOOL_FAILOVER_RUNS to the number of runs")
	}
	var all []failoverFigures
	for i := range runs {
		t.Run(fmt.Sprintf("manual-%d", i+1), func(t *testing.T) {
			set := respooltest.StartSentinel(t)
			f := runFailover(t, set, false, func() { set.Sentinels[i%3].CLI(t, "SENTINEL", "FAILOVER", set.MasterName) })
			t.Logf("run %d: %v", i+1, f)
			all = append(all, f)
			checkFailover(t, f)
		})
	}
	t.Run("manual-exclusive", func(t *testing.T) {
		set := respooltest.StartSentinel(t)
		f := runFailover(t, set, true, func() { set.Sentinels[0].CLI(t, "SENTINEL", "FAILOVER", set.MasterName) })
		t.Logf("exclusive mode: %v", f)
		checkFailover(t, f)
	})
	t.Run("kill-9", func(t *testing.T) {
		set := respooltest.StartSentinel(t)
		f := runFailover(t, set, false, func() { set.Primary.Kill(t) })
		t.Logf("kill -9: %v", f)
		checkFailover(t, f)
	})
	slices.SortFunc(all, func(a, b failoverFigures) int { return int(a.FirstWrite - b.FirstWrite) })
	if len(all) > 0 {
		t.Logf("first write after the promotion: min %v, max %v", all[0].FirstWrite, all[len(all)-1].FirstWrite)
	}
}
