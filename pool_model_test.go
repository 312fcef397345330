package respool

import (
	"context"
	"errors"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// poolModel is what a Pool should look like after a sequence of calls
// made one at a time: which connections the test holds, which are idle
// in which order, and the counters.
type poolModel struct {
	p        *Pool
	srv      *pipeServer
	d        *testDialer
	size     int
	maxIdle  int
	failFast bool

	held     []*Conn
	idle     []*Conn // the most recently returned last
	returned []*Conn // given back and not taken again: a Put now is a double Put
	closed   bool
	dialFail bool
	refused  atomic.Int64 // dials the dialer refused

	hits, misses, doublePuts, unusable uint64
}

// TestPoolModel checks the pool against poolModel under random sequences
// of Get (with short deadlines), Put, Put of a dirty or broken connection,
// double Put, failing dials, Close, and bursts of concurrent Get/Put.
// After every step, a burst included, the connections actually open (the
// pipes dialled and not closed, counted at the dialer) are exactly the
// idle ones and those held (no dial is in flight between steps), the
// slots taken are Open + Dialing, and PoolSize is not exceeded; during a
// burst the same holds within what the burst's goroutines may be doing at
// that moment (see burst).
func TestPoolModel(t *testing.T) {
	checkGoroutines(t)
	rapid.Check(t, func(rt *rapid.T) {
		m := &poolModel{
			size:     rapid.IntRange(1, 4).Draw(rt, "PoolSize"),
			failFast: rapid.Bool().Draw(rt, "PoolFailFast"),
		}
		m.maxIdle = rapid.IntRange(1, m.size).Draw(rt, "MaxIdleConns")
		m.srv = &pipeServer{}
		m.d = &testDialer{next: m.srv.dial}
		refused := &dialSwitch{}
		m.d.setHook(func(context.Context) error {
			if refused.failing() {
				m.refused.Add(1)
				return syscall.ECONNREFUSED
			}
			return nil
		})
		m.p = NewPool(&Options{
			Addr: "pipe", Dialer: m.d.Dial, Protocol: 2, DisableIdentity: true,
			PoolSize: m.size, MaxIdleConns: m.maxIdle, PoolFailFast: m.failFast,
			PoolTimeout: time.Hour, // Gets end by their context
		})
		rt.Cleanup(func() {
			for _, cn := range m.held {
				m.p.Put(cn)
			}
			m.p.Close()
			if s := m.p.Stats(); s.Open != 0 || s.Dialing != 0 {
				rt.Errorf("after Close and every Put: %+v", s)
			}
			eventually(rt, "every pipe closed", func() bool { return m.srv.open.Load() == 0 })
			m.srv.wg.Wait()
		})

		rt.Repeat(map[string]func(*rapid.T){
			"": m.check,
			"Get": func(rt *rapid.T) {
				wait := time.Duration(rapid.IntRange(0, 2000).Draw(rt, "deadline µs")) * time.Microsecond
				m.get(rt, wait)
			},
			"Put": func(rt *rapid.T) {
				if len(m.held) == 0 {
					rt.Skip("nothing held")
				}
				m.put(rt, rapid.IntRange(0, len(m.held)-1).Draw(rt, "conn"), "")
			},
			"PutDirty": func(rt *rapid.T) {
				if len(m.held) == 0 {
					rt.Skip("nothing held")
				}
				i := rapid.IntRange(0, len(m.held)-1).Draw(rt, "conn")
				m.put(rt, i, rapid.SampledFrom([]string{"multi", "watch", "pending", "closed", "broken"}).Draw(rt, "how"))
			},
			"PutTwice": func(rt *rapid.T) {
				if len(m.returned) == 0 {
					rt.Skip("nothing given back")
				}
				m.p.Put(m.returned[rapid.IntRange(0, len(m.returned)-1).Draw(rt, "conn")])
				m.doublePuts++
			},
			"DialFailing": func(rt *rapid.T) {
				m.dialFail = rapid.Bool().Draw(rt, "failing")
				refused.set(m.dialFail)
			},
			"Close": func(rt *rapid.T) {
				if rapid.IntRange(0, 4).Draw(rt, "rarely") != 0 {
					rt.Skip("Close is rare")
				}
				if err := m.p.Close(); err != nil {
					rt.Fatal(err)
				}
				m.closed = true
				m.idle = nil
			},
			"Burst": func(rt *rapid.T) {
				m.burst(rt,
					rapid.IntRange(2, 6).Draw(rt, "goroutines"),
					rapid.IntRange(1, 6).Draw(rt, "rounds"),
					rapid.Int64().Draw(rt, "seed"))
			},
		})
	})
}

// get runs one Get with a deadline wait from now and checks it against
// the model.
func (m *poolModel) get(rt *rapid.T, wait time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cn, err := m.p.Get(ctx)
	ctxErr := errors.Is(err, context.DeadlineExceeded)
	switch {
	case m.closed:
		if !errors.Is(err, ErrClosed) && !ctxErr {
			rt.Fatalf("Get after Close: %v", err)
		}
		return
	case len(m.idle) > 0:
		if ctxErr {
			return // the deadline passed before Get looked
		}
		want := m.idle[len(m.idle)-1]
		if err != nil || cn != want {
			rt.Fatalf("Get with %d idle: %p, %v; want the most recent %p", len(m.idle), cn, err, want)
		}
		m.idle = m.idle[:len(m.idle)-1]
		m.hits++
	case len(m.held) < m.size:
		if ctxErr {
			return
		}
		if m.dialFail {
			var ce *ConnError
			if !errors.As(err, &ce) || ce.Op != "dial" || OutcomeOf(err) != OutcomeNotSent {
				rt.Fatalf("Get with failing dials: %v", err)
			}
			return
		}
		if err != nil {
			rt.Fatalf("Get with a free slot: %v", err)
		}
		m.misses++
	default:
		switch {
		case m.failFast && !errors.Is(err, ErrPoolExhausted) && !ctxErr:
			rt.Fatalf("Get on a full fail-fast pool: %v", err)
		case !m.failFast && !ctxErr:
			rt.Fatalf("Get on a full pool: %v, want the context's deadline", err)
		}
		if OutcomeOf(err) != OutcomeNotSent {
			rt.Fatalf("outcome of %v: %v", err, OutcomeOf(err))
		}
		return
	}
	m.held = append(m.held, cn)
	m.returned = slices.DeleteFunc(m.returned, func(c *Conn) bool { return c == cn })
}

// put gives back m.held[i], made dirty or broken first as how says.
func (m *poolModel) put(rt *rapid.T, i int, how string) {
	cn := m.held[i]
	m.held = append(m.held[:i], m.held[i+1:]...)
	switch how {
	case "multi":
		cn.inMulti = true
	case "watch":
		cn.watching = true
	case "pending":
		if err := cn.Send(context.Background(), "PING"); err != nil {
			rt.Fatal(err)
		}
	case "closed":
		_ = cn.Close()
	case "broken":
		cn.breakWith(errors.New("broken on purpose"))
	}
	m.p.Put(cn)
	m.returned = append(m.returned, cn)
	switch {
	case how != "" && !m.closed:
		m.unusable++
	case m.closed:
	case len(m.idle) < m.maxIdle:
		m.idle = append(m.idle, cn)
	}
}

// burst runs goroutines concurrent Get/Put loops; every connection taken
// is given back, some of them dirty. Afterwards the model takes the
// pool's idle list as it is (the order is up to the scheduler), and its
// counters are re-read.
//
// Meanwhile a watcher checks the pool's books under its lock, again and
// again, against the pipes open at that moment. PoolSize holds the slots
// taken (numOpen): the connections idle and in use, the dials in flight
// (Dialing), and the slots a goroutine has taken or been handed for a
// dial it has not begun yet, at most one per goroutine of the burst. A
// connection the pool counts (idle or in use) always has its pipe open: a
// pipe is dialled before the pool counts it, and closed after it stopped
// counting it. The other open pipes are those of dials in flight, and of
// connections just dropped from the books whose goroutine has yet to
// close them, again at most one per goroutine.
func (m *poolModel) burst(rt *rapid.T, goroutines, rounds int, seed int64) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			m.p.mu.Lock()
			numOpen, idle, inUse, dialing := m.p.numOpen, len(m.p.idle), m.p.numInUse, m.p.numDialing
			// Read so as to overcount the open pipes for the lower bound
			// (closes first) and to undercount them for the upper one
			// (dials first): the counts move while we read.
			closed1, dialled1 := m.srv.closed.Load(), m.srv.dialled.Load()
			dialled2, closed2 := m.srv.dialled.Load(), m.srv.closed.Load()
			m.p.mu.Unlock()
			atMost, atLeast := int(dialled2-closed1), int(dialled1-closed2)
			switch {
			case numOpen < idle+inUse+dialing || numOpen > idle+inUse+dialing+goroutines || numOpen > m.size:
				rt.Errorf("during a burst: numOpen %d, %d idle, %d in use, %d dialling (PoolSize %d)", numOpen, idle, inUse, dialing, m.size)
				return
			case inUse < len(m.held):
				rt.Errorf("during a burst: %d in use, the model alone holds %d", inUse, len(m.held))
				return
			case atMost < idle+inUse:
				rt.Errorf("during a burst: %d idle and %d in use, but at most %d pipes open", idle, inUse, atMost)
				return
			case atLeast > idle+inUse+dialing+goroutines:
				rt.Errorf("during a burst: at least %d pipes open, more than %d idle, %d in use, %d dialling and one per goroutine (%d)",
					atLeast, idle, inUse, dialing, goroutines)
				return
			}
			runtime.Gosched()
		}
	})
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				wait := time.Duration((seed>>(g+r))&1023) * time.Microsecond
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				cn, err := m.p.Get(ctx)
				cancel()
				if err != nil {
					if OutcomeOf(err) != OutcomeNotSent {
						rt.Errorf("Get in a burst: %v (outcome %v)", err, OutcomeOf(err))
					}
					continue
				}
				if (seed>>(g*3+r))&7 == 0 {
					cn.inMulti = true // dirty: closed by Put
				} else if _, err := cn.Do(context.Background(), "PING"); err != nil {
					rt.Errorf("PING in a burst: %v", err)
				}
				m.p.Put(cn)
			}
		})
	}
	wg.Wait()
	close(stop)
	watcher.Wait()
	m.resync()
}

// resync takes the pool's idle list and counters as the model's.
func (m *poolModel) resync() {
	m.p.mu.Lock()
	m.idle = append(m.idle[:0], m.p.idle...)
	m.p.mu.Unlock()
	s := m.p.Stats()
	m.hits, m.misses, m.doublePuts, m.unusable = s.Hits, s.Misses, s.DoublePuts, s.Closed.Unusable
}

// check compares the pool with the model.
func (m *poolModel) check(rt *rapid.T) {
	s := checkAccounting(rt, m.p)
	if s.InUse != len(m.held) || s.Idle != len(m.idle) || s.Dialing != 0 {
		rt.Fatalf("pool %+v; model holds %d, %d idle", s, len(m.held), len(m.idle))
	}
	if s.Hits != m.hits || s.Misses != m.misses || s.DoublePuts != m.doublePuts || s.Closed.Unusable != m.unusable {
		rt.Fatalf("counters %+v; model hits %d misses %d double puts %d unusable %d",
			s, m.hits, m.misses, m.doublePuts, m.unusable)
	}
	// The connections actually open are exactly those the pool counts:
	// its idle ones and the model's (no dial is in flight between steps).
	m.p.mu.Lock()
	numOpen := m.p.numOpen
	counted := make(map[*pipeEnd]bool, len(m.p.idle)+len(m.held))
	for _, cn := range m.p.idle {
		counted[cn.nc.(*pipeEnd)] = true
	}
	m.p.mu.Unlock()
	for _, cn := range m.held {
		counted[cn.nc.(*pipeEnd)] = true
	}
	live := m.srv.liveEnds()
	if numOpen != s.Open+s.Dialing || s.Open > m.size {
		rt.Fatalf("numOpen %d, stats %+v, PoolSize %d", numOpen, s, m.size)
	}
	if len(live) != s.Idle+s.InUse || !maps.Equal(live, counted) {
		rt.Fatalf("%d pipes open (%d closed of %d dialled), the pool counts %d idle and %d in use: a connection lost or counted without its pipe",
			len(live), m.srv.closed.Load(), m.srv.dialled.Load(), s.Idle, s.InUse)
	}
	// Every dial attempt went through the dialer and was counted, and
	// exactly the refused ones failed.
	refused := m.refused.Load()
	if int64(s.Dials) != m.d.dials.Load() || s.DialErrors != uint64(refused) || m.srv.dialled.Load() != m.d.dials.Load()-refused {
		rt.Fatalf("stats %+v: the dialer saw %d dials, refused %d; %d pipes dialled", s, m.d.dials.Load(), refused, m.srv.dialled.Load())
	}
	// Closed pipes end their server side too (asynchronously).
	eventually(rt, "closed pipes end", func() bool { return m.srv.open.Load() == int64(len(live)) })
}

// dialSwitch turns dial failures on and off, safely across goroutines.
type dialSwitch struct {
	mu sync.Mutex
	on bool
}

func (s *dialSwitch) set(on bool) {
	s.mu.Lock()
	s.on = on
	s.mu.Unlock()
}

func (s *dialSwitch) failing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on
}
