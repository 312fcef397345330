package respool

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

func dialTest(t *testing.T, opt *Options) *Conn {
	t.Helper()
	if opt == nil {
		opt = &Options{}
	}
	if opt.Addr == "" {
		opt.Addr = sharedServer(t).Addr
	}
	cn, err := Dial(context.Background(), opt)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = cn.Close() })
	return cn
}

func TestConnDoAndHandshake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		cn := dialTest(t, &Options{Protocol: proto, DB: 2, ClientName: "conn-test"})
		if cn.Protocol() != proto {
			t.Fatalf("Protocol() = %d, want %d", cn.Protocol(), proto)
		}
		v, err := cn.Do(ctx, "CLIENT", "INFO")
		if err != nil {
			t.Fatal(err)
		}
		info := v.Text()
		for _, want := range []string{"db=2", "name=conn-test", "resp=" + string(rune('0'+proto))} {
			if !strings.Contains(info, want) {
				t.Errorf("protocol %d: CLIENT INFO %q lacks %q", proto, info, want)
			}
		}
		// Redis 7.0 does not know CLIENT SETINFO (7.2 does): its error is
		// ignored and the connection is clean.
		if !cn.reusable() {
			t.Errorf("fresh connection is not reusable")
		}
	}
}

func TestConnServerErrorKeepsConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cn := dialTest(t, nil)
	key := testKey(t, "s")
	if _, err := cn.Do(ctx, "SET", key, "x"); err != nil {
		t.Fatal(err)
	}
	_, err := cn.Do(ctx, "LPUSH", key, "y")
	var se *Error
	if !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
		t.Fatalf("LPUSH on a string: err = %v, want a WRONGTYPE *Error", err)
	}
	if OutcomeOf(err) != OutcomeRejected {
		t.Fatalf("outcome %v, want rejected", OutcomeOf(err))
	}
	if !cn.reusable() {
		t.Fatal("a server error reply must not break the connection")
	}
	v, err := cn.Do(ctx, "GET", key)
	if err != nil || v.Text() != "x" {
		t.Fatalf("GET after error: %v %v", v, err)
	}
}

func TestConnWrongPassword(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t, respooltest.WithArgs("--requirepass", "secret"))
	for _, proto := range []int{2, 3} {
		_, err := Dial(context.Background(), &Options{Addr: srv.Addr, Password: "wrong", Protocol: proto})
		var ae *AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("protocol %d: err = %v, want *AuthError", proto, err)
		}
		if OutcomeOf(err) != OutcomeNotSent || retryable(err, []any{"GET", "k"}) {
			t.Fatalf("an auth error must be not-sent and never retried")
		}
		cn, err := Dial(context.Background(), &Options{Addr: srv.Addr, Password: "secret", Protocol: proto})
		if err != nil {
			t.Fatalf("protocol %d, right password: %v", proto, err)
		}
		if _, err := cn.Do(context.Background(), "PING"); err != nil {
			t.Fatal(err)
		}
		_ = cn.Close()
	}
}

func TestConnCredentialsProvider(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t, respooltest.WithArgs("--requirepass", "secret"))
	calls := 0
	opt := &Options{Addr: srv.Addr, CredentialsProvider: func(context.Context) (Credentials, error) {
		calls++
		return Credentials{Password: "secret"}, nil
	}}
	cn := dialTest(t, opt)
	if _, err := cn.Do(context.Background(), "PING"); err != nil || calls != 1 {
		t.Fatalf("PING: %v, provider calls %d", err, calls)
	}
}

// A read timeout after the command was written breaks the connection, and
// the error says the outcome is unknown.
func TestConnReadTimeoutBreaks(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t)
	cn := dialTest(t, &Options{Addr: srv.Addr, ReadTimeout: 50 * time.Millisecond})
	_, err := cn.Do(context.Background(), "DEBUG", "SLEEP", "0.3")
	var ce *ConnError
	if !errors.As(err, &ce) || !ce.Timeout() || ce.Outcome != OutcomeUnknown || ce.Op != "read" {
		t.Fatalf("err = %#v, want a read timeout of unknown outcome", err)
	}
	if cn.reusable() || cn.Err() == nil {
		t.Fatal("a timed-out connection must be unusable")
	}
	_, err = cn.Do(context.Background(), "PING")
	if OutcomeOf(err) != OutcomeNotSent {
		t.Fatalf("command on a broken connection: %v (outcome %v), want not sent", err, OutcomeOf(err))
	}
}

// Cancelling the context interrupts a blocked read without waiting for
// the read timeout.
func TestConnCancelInterruptsRead(t *testing.T) {
	t.Parallel()
	cn := dialTest(t, &Options{ReadTimeout: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cn.Do(ctx, "BLPOP", testKey(t, "never"), "0")
		done <- err
	}()
	// Wait until the server reports the BLPOP blocked, then cancel.
	waitBlocked(t, sharedServer(t), testKey(t, "never"))
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || OutcomeOf(err) != OutcomeUnknown {
		t.Fatalf("err = %v, want context.Canceled with unknown outcome", err)
	}
	if cn.reusable() {
		t.Fatal("a cancelled connection must not be reusable")
	}
}

// waitBlocked polls the server until a client is blocked (on key, when
// the server shows it).
func waitBlocked(t *testing.T, srv *respooltest.Server, key string) {
	t.Helper()
	cn := dialTest(t, &Options{Addr: srv.Addr})
	for i := 0; ; i++ {
		v, err := cn.Do(context.Background(), "CLIENT", "LIST")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(v.Text(), "\n") {
			if strings.Contains(line, "flags=b") {
				return
			}
		}
		if i > 5000 {
			t.Fatal("no client became blocked")
		}
		_ = key
	}
}

// A BLPOP that waits longer than the read timeout succeeds: the read
// deadline is the command's own timeout plus ReadTimeout.
func TestConnBlockingLongerThanReadTimeout(t *testing.T) {
	t.Parallel()
	cn := dialTest(t, &Options{ReadTimeout: 500 * time.Millisecond})
	v, err := cn.Do(context.Background(), "BLPOP", testKey(t, "empty"), "1")
	if err != nil || !v.IsNull() {
		t.Fatalf("BLPOP 1 with ReadTimeout 500ms: %v %v, want a null reply", v, err)
	}
	if !cn.reusable() {
		t.Fatal("connection should be reusable after a blocking command timed out on the server")
	}
}

func TestConnSendReceive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cn := dialTest(t, nil)
	key := testKey(t, "n")
	if _, err := cn.Do(ctx, "DEL", key); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := cn.Send(ctx, "INCR", key); err != nil {
			t.Fatal(err)
		}
	}
	if err := cn.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if cn.reusable() {
		t.Fatal("a connection with unread replies must not be reusable")
	}
	if _, err := cn.Do(ctx, "PING"); err == nil {
		t.Fatal("Do with replies pending must fail")
	}
	for i := int64(1); i <= 3; i++ {
		v, err := cn.Receive(ctx)
		n, _ := v.Int()
		if err != nil || n != i {
			t.Fatalf("reply %d: %v %v", i, v, err)
		}
	}
	if !cn.reusable() {
		t.Fatal("all replies read: the connection should be reusable")
	}
}

func TestConnStateTracking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := [][]any{
		{"MULTI"},
		{"WATCH", testKey(t, "w")},
		{"SELECT", "1"},
		{"CLIENT", "SETNAME", "x"},
		{"SUBSCRIBE", testKey(t, "ch")},
	}
	for _, argv := range cases {
		cn := dialTest(t, nil)
		if _, err := cn.Do(ctx, argv...); err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		if cn.reusable() {
			t.Errorf("after %v the connection must not be reusable", argv)
		}
	}
	cn := dialTest(t, nil)
	for _, argv := range [][]any{{"MULTI"}, {"DISCARD"}, {"WATCH", "k"}, {"UNWATCH"}} {
		if _, err := cn.Do(ctx, argv...); err != nil {
			t.Fatal(err)
		}
	}
	if !cn.reusable() {
		t.Fatal("MULTI/DISCARD and WATCH/UNWATCH leave a clean connection")
	}
}

func TestBlockFor(t *testing.T) {
	cases := []struct {
		argv []any
		want time.Duration
	}{
		{[]any{"GET", "k"}, 0},
		{[]any{"BLPOP", "a", "b", "1.5"}, 1500 * time.Millisecond},
		{[]any{"blpop", "a", "0"}, -1},
		{[]any{"BLMPOP", "2", "2", "a", "b", "LEFT"}, 2 * time.Second},
		{[]any{"XREAD", "COUNT", "1", "BLOCK", "250", "STREAMS", "s", "$"}, 250 * time.Millisecond},
		{[]any{"XREAD", "STREAMS", "BLOCK", "0"}, 0},
		{[]any{"WAIT", "1", 100}, 100 * time.Millisecond},
		{[]any{"BZPOPMIN", "z", 3}, 3 * time.Second},
	}
	for _, c := range cases {
		if got := blockFor(c.argv); got != c.want {
			t.Errorf("blockFor(%v) = %v, want %v", c.argv, got, c.want)
		}
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t)
	addr := srv.Addr
	_ = srv.Close()
	_, err := Dial(context.Background(), &Options{Addr: addr})
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Op != "dial" || ce.Outcome != OutcomeNotSent {
		t.Fatalf("err = %v, want a dial *ConnError, not sent", err)
	}
}

var _ = resp.Value{}
