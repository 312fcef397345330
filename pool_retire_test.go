package respool

import (
	"context"
	"errors"
	"net"
	"testing"
)

// blockingDialer dials addr once release is closed, after telling entered.
func blockingDialer(addr string, entered chan<- struct{}, release <-chan struct{}) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// TestPoolRetire: retire closes the idle connections now, those in use
// when they come back, and discards a dial that began before it.
func TestPoolRetire(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	p := NewPool(&Options{Addr: srv.Addr})
	defer p.Close()

	idle, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inUse, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.Put(idle)
	p.retire()
	if st := checkAccounting(t, p); st.Closed.Retired != 1 || st.Idle != 0 || st.InUse != 1 {
		t.Fatalf("after retire: %+v", st)
	}
	if !p.retired(inUse) {
		t.Fatal("a connection in use at retire is not reported retired")
	}
	if _, err := inUse.Do(ctx, "PING"); err != nil {
		t.Fatalf("a connection in use keeps working until it comes back: %v", err)
	}
	p.Put(inUse)
	if st := checkAccounting(t, p); st.Closed.Retired != 2 || st.Open != 0 {
		t.Fatalf("after Put: %+v", st)
	}
	fresh, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.retired(fresh) {
		t.Fatal("a connection dialled after retire is reported retired")
	}
	p.Put(fresh)

	// A dial in flight at retire.
	entered, release := make(chan struct{}, 1), make(chan struct{})
	q := NewPool(&Options{Addr: srv.Addr, Dialer: blockingDialer(srv.Addr, entered, release)})
	defer q.Close()
	got := make(chan error, 1)
	go func() {
		cn, err := q.Get(ctx)
		if err == nil {
			q.Put(cn)
		}
		got <- err
	}()
	<-entered
	q.retire()
	close(release)
	err = <-got
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Outcome != OutcomeNotSent || !errors.Is(err, errRetired) {
		t.Fatalf("dial in flight at retire: %v, want a not-sent errRetired", err)
	}
	if st := checkAccounting(t, q); st.Open != 0 || st.Closed.Retired != 1 {
		t.Fatalf("after the discarded dial: %+v", st)
	}
}

// TestMuxRetire: retire closes the shared connections; the next command
// dials a new one, and a dial that began before retire is discarded.
func TestMuxRetire(t *testing.T) {
	srv := sharedServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	c := sharedOnly(NewClient(&Options{Addr: srv.Addr, MultiplexConns: 1}))
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	old := c.mux.conns[0].Load()
	c.mux.retire()
	if old.failed() == nil || c.mux.conns[0].Load() != nil {
		t.Fatal("the shared connection survived retire")
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if st := c.Pool().Stats(); st.SharedDials != 2 {
		t.Fatalf("%d shared dials, want 2", st.SharedDials)
	}

	entered, release := make(chan struct{}, 1), make(chan struct{})
	b := sharedOnly(NewClient(&Options{Addr: srv.Addr, MultiplexConns: 1, MaxRetries: -1,
		Dialer: blockingDialer(srv.Addr, entered, release)}))
	defer b.Close()
	got := make(chan error, 1)
	go func() { got <- b.Ping(ctx).Err() }()
	<-entered
	b.mux.retire()
	close(release)
	err := <-got
	if OutcomeOf(err) != OutcomeNotSent || !errors.Is(err, errRetired) {
		t.Fatalf("dial in flight at retire: %v, want a not-sent errRetired", err)
	}
	if b.mux.conns[0].Load() != nil {
		t.Fatal("the discarded connection was kept")
	}
}
