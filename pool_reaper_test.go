package respool

import (
	"context"
	"testing"
	"time"
)

func TestPoolIdleTimeout(t *testing.T) {
	checkGoroutines(t)
	clock := newFakeClock()
	p, _, _ := newPipePool(t, &Options{PoolSize: 2, ConnMaxIdleTime: time.Minute, now: clock.Now})
	cn := mustGet(t, p)
	p.Put(cn)
	clock.Advance(time.Minute)
	if got := mustGet(t, p); got != cn {
		t.Fatalf("a connection idle for exactly ConnMaxIdleTime was closed")
	} else {
		p.Put(got)
	}
	clock.Advance(time.Minute + time.Nanosecond)
	got := mustGet(t, p)
	if got == cn {
		t.Fatalf("a connection idle longer than ConnMaxIdleTime was reused")
	}
	p.Put(got)
	if s := checkAccounting(t, p); s.Closed.IdleTimeout != 1 || s.Open != 1 || s.Misses != 2 {
		t.Fatalf("stats: %+v", s)
	}
	// The reaper closes idle connections past the limit.
	clock.Advance(2 * time.Minute)
	p.reap()
	if s := checkAccounting(t, p); s.Closed.IdleTimeout != 2 || s.Open != 0 {
		t.Fatalf("after reaping: %+v", s)
	}
}

// Connections expire ConnMaxLifetime after their dial, less up to 10%
// jitter: at Get and in the reaper.
func TestPoolLifetime(t *testing.T) {
	checkGoroutines(t)
	clock := newFakeClock()
	const life = 10 * time.Minute
	p, _, _ := newPipePool(t, &Options{PoolSize: 3, ConnMaxLifetime: life, ConnMaxIdleTime: -1, now: clock.Now})
	var conns []*Conn
	for range 3 {
		conns = append(conns, mustGet(t, p))
	}
	for _, cn := range conns {
		exp := pooled(cn).expiresAt.Sub(cn.createdAt)
		if exp > life || exp < life-life/10 {
			t.Fatalf("lifetime with jitter %v outside [%v, %v]", exp, life-life/10, life)
		}
		p.Put(cn)
	}
	clock.Advance(life - life/10 - time.Nanosecond) // before the earliest expiry
	for range 3 {
		cn := mustGet(t, p)
		defer p.Put(cn)
	}
	if s := checkAccounting(t, p); s.Closed.Lifetime != 0 || s.Hits != 3 || s.Misses != 3 {
		t.Fatalf("before the earliest expiry: %+v", s)
	}
	p.Put(conns[0])
	p.Put(conns[1])
	clock.Advance(life/10 + time.Nanosecond) // at the latest expiry
	got := mustGet(t, p)
	defer p.Put(got)
	if got == conns[0] || got == conns[1] {
		t.Fatalf("an expired connection was handed out")
	}
	if s := checkAccounting(t, p); s.Closed.Lifetime != 2 || s.Open != 2 || s.Misses != 4 {
		t.Fatalf("after the expiry: %+v", s)
	}
}

func TestPoolReaperClosesExpired(t *testing.T) {
	checkGoroutines(t)
	clock := newFakeClock()
	p, _, _ := newPipePool(t, &Options{PoolSize: 3, ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour, now: clock.Now})
	a, b, c := mustGet(t, p), mustGet(t, p), mustGet(t, p)
	p.Put(a)
	clock.Advance(50 * time.Second)
	p.Put(b)
	clock.Advance(20 * time.Second) // a idle 70s, b idle 20s
	p.reap()
	if s := checkAccounting(t, p); s.Closed.IdleTimeout != 1 || s.Idle != 1 || s.InUse != 1 {
		t.Fatalf("after the first reap: %+v", s)
	}
	if got := mustGet(t, p); got != b {
		t.Fatalf("the reaper closed the wrong connection")
	} else {
		p.Put(got)
	}
	p.Put(c)
	clock.Advance(time.Hour) // past the lifetime
	p.reap()
	s := checkAccounting(t, p)
	if s.Open != 0 || s.Closed.IdleTimeout+s.Closed.Lifetime != 3 {
		t.Fatalf("after the second reap: %+v", s)
	}
}

func TestPoolMaxIdleConns(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{PoolSize: 4, MaxIdleConns: 2})
	var conns []*Conn
	for range 4 {
		conns = append(conns, mustGet(t, p))
	}
	for _, cn := range conns {
		p.Put(cn)
	}
	if s := checkAccounting(t, p); s.Idle != 2 || s.Open != 2 || s.Closed.MaxIdle != 2 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestPoolMinIdleConns(t *testing.T) {
	checkGoroutines(t)
	p, _, d := newPipePool(t, &Options{PoolSize: 4, MinIdleConns: 2})
	eventually(t, "2 idle connections", func() bool { return p.Stats().Idle == 2 })
	cn := mustGet(t, p)
	eventually(t, "refilled to 2 idle", func() bool { return p.Stats().Idle == 2 })
	s := checkAccounting(t, p)
	if s.Open != 3 || s.Hits != 1 || s.Misses != 0 || d.dials.Load() != 3 {
		t.Fatalf("stats: %+v", s)
	}
	p.Put(cn)
	if s := checkAccounting(t, p); s.Idle != 3 {
		t.Fatalf("after Put: %+v", s)
	}

	// MinIdleConns beyond MaxIdleConns fills up to MaxIdleConns only.
	q, _, qd := newPipePool(t, &Options{PoolSize: 4, MinIdleConns: 3, MaxIdleConns: 1})
	eventually(t, "1 idle connection", func() bool { return q.Stats().Idle == 1 })
	q.fill(context.Background())
	if s := checkAccounting(t, q); s.Open != 1 || s.Closed.MaxIdle != 0 || qd.dials.Load() != 1 {
		t.Fatalf("MinIdleConns 3, MaxIdleConns 1: %+v", s)
	}
}

func TestPoolNoBackgroundGoroutineWhenNotNeeded(t *testing.T) {
	checkGoroutines(t)
	p, _, _ := newPipePool(t, &Options{ConnMaxIdleTime: -1})
	if p.bgDone != nil || p.reapPeriod() != 0 {
		t.Fatalf("a background goroutine for a pool with nothing to reap or fill")
	}
	cases := []struct {
		opt  Options
		want time.Duration
	}{
		{Options{}, time.Minute}, // 30m idle time
		{Options{ConnMaxIdleTime: 10 * time.Second}, 5 * time.Second},
		{Options{ConnMaxIdleTime: time.Second}, time.Second},
		{Options{ConnMaxIdleTime: -1, ConnMaxLifetime: 30 * time.Second}, 15 * time.Second},
		{Options{ConnMaxIdleTime: -1, MinIdleConns: 1}, time.Minute},
	}
	for _, tc := range cases {
		q := &Pool{opt: tc.opt.withDefaults()}
		if got := q.reapPeriod(); got != tc.want {
			t.Errorf("reap period for %+v: %v, want %v", tc.opt, got, tc.want)
		}
	}
}
