package respool

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/respool/respool/respooltest"
)

// startTLSServer starts a redis-server that also listens for TLS, with
// certificates made for the test.
func startTLSServer(t *testing.T, requireClientCert bool) (*respooltest.Server, *respooltest.TLSFiles) {
	t.Helper()
	files, err := respooltest.NewTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return respooltest.StartServer(t, respooltest.WithTLS(files, requireClientCert)), files
}

// A Client over TLS runs commands, pipelines and pub/sub against a real
// TLS listener, in both modes, and keeps its connections: records the
// server sends after the handshake (TLS 1.3 session tickets) are not taken
// for unexpected bytes on an idle connection.
func TestTLSRealServer(t *testing.T) {
	t.Parallel()
	srv, files := startTLSServer(t, false)
	ctx := context.Background()
	for _, mode := range []struct {
		name      string
		exclusive bool
		protocol  int
	}{
		{"multiplexed", false, 3},
		{"exclusive", true, 3},
		// RESP2 without a password, a name, a database or CLIENT SETINFO:
		// the handshake has nothing of its own to send.
		{"multiplexed-resp2-bare", false, 2},
		{"exclusive-resp2-bare", true, 2},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c := NewClient(&Options{Addr: srv.TLSAddr, TLSConfig: files.ClientConfig(false), Exclusive: mode.exclusive, Protocol: mode.protocol, DisableIdentity: mode.protocol == 2})
			defer c.Close()
			prefix := "tls:" + mode.name + ":"

			// One command at a time: the connection of the first command
			// serves all of them.
			for i := range 50 {
				key := prefix + strconv.Itoa(i)
				if err := c.Set(ctx, key, i, 0).Err(); err != nil {
					t.Fatalf("SET %s: %v", key, err)
				}
				if v, err := c.Get(ctx, key).Result(); err != nil || v != strconv.Itoa(i) {
					t.Fatalf("GET %s = %q, %v; want %d", key, v, err, i)
				}
			}

			p := c.Pipeline()
			cmds := make([]*Cmd[string], 50)
			for i := range cmds {
				cmds[i] = p.Get(ctx, prefix+strconv.Itoa(i))
			}
			if err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			for i, cmd := range cmds {
				if cmd.Val() != strconv.Itoa(i) {
					t.Fatalf("pipelined GET %d = %q, %v", i, cmd.Val(), cmd.Err())
				}
			}

			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						key := fmt.Sprintf("%sg%d:%d", prefix, g, i)
						if err := c.Set(ctx, key, key, 0).Err(); err != nil {
							errs <- err
							return
						}
						if v, err := c.Get(ctx, key).Result(); err != nil || v != key {
							errs <- fmt.Errorf("GET %s = %q, %v", key, v, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			ps := c.Subscribe(ctx, prefix+"news")
			defer ps.Close()
			if n, err := c.Publish(ctx, prefix+"news", "hello").Result(); err != nil || n != 1 {
				t.Fatalf("PUBLISH = %d, %v; want 1 receiver", n, err)
			}
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil || msg.Payload != "hello" {
				t.Fatalf("ReceiveMessage = %+v, %v", msg, err)
			}

			st := c.Pool().Stats()
			if st.Closed.HealthCheck != 0 || st.Closed.Unusable != 0 {
				t.Fatalf("the pool closed healthy TLS connections: %+v", st.Closed)
			}
		})
	}
}

// A server whose certificate the client does not trust is refused at the
// handshake: the command fails with the verification error and was not
// sent.
func TestTLSUntrustedServer(t *testing.T) {
	t.Parallel()
	srv, _ := startTLSServer(t, false)
	other, err := respooltest.NewTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, exclusive := range []bool{false, true} {
		c := NewClient(&Options{Addr: srv.TLSAddr, TLSConfig: other.ClientConfig(false), Exclusive: exclusive, MaxRetries: -1})
		err := c.Set(context.Background(), "tls:untrusted", "v", 0).Err()
		c.Close()
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("exclusive=%v: SET against an untrusted server: %v; want an x509.UnknownAuthorityError", exclusive, err)
		}
		if got := OutcomeOf(err); got != OutcomeNotSent {
			t.Errorf("exclusive=%v: outcome %v, want OutcomeNotSent", exclusive, got)
		}
	}
	if v := srv.CLI(t, "EXISTS", "tls:untrusted"); v != "0" {
		t.Fatalf("the key was written: EXISTS = %s", v)
	}
}

// A server that requires client certificates serves a client that presents
// one signed by its authority and refuses one that presents none.
func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	srv, files := startTLSServer(t, true)
	ctx := context.Background()

	c := NewClient(&Options{Addr: srv.TLSAddr, TLSConfig: files.ClientConfig(true)})
	defer c.Close()
	if v, err := c.Ping(ctx).Result(); err != nil || v != "PONG" {
		t.Fatalf("PING with a client certificate = %q, %v", v, err)
	}

	anon := NewClient(&Options{Addr: srv.TLSAddr, TLSConfig: files.ClientConfig(false), MaxRetries: -1})
	defer anon.Close()
	err := anon.Set(ctx, "tls:anonymous", "v", 0).Err()
	if err == nil {
		t.Fatal("SET without a client certificate succeeded")
	}
	// TLS 1.3 reports the refusal after the handshake, with the first
	// read; whatever the stage, nothing reached the keyspace.
	var alert tls.AlertError
	var ce *ConnError
	if !errors.As(err, &alert) && !errors.As(err, &ce) {
		t.Fatalf("SET without a client certificate: %v (%T); want a TLS alert or a connection error", err, err)
	}
	if v := srv.CLI(t, "EXISTS", "tls:anonymous"); v != "0" {
		t.Fatalf("the key was written: EXISTS = %s", v)
	}
}

// A new TLS connection whose handshake has nothing to send (RESP2, no
// password, name, database or CLIENT SETINFO) still reads the records the
// server sends after the TLS handshake (TLS 1.3 session tickets) before it
// goes idle: left unread, they make the idle check take a healthy
// connection for a dead one.
func TestTLSBareConnectionPassesIdleCheck(t *testing.T) {
	t.Parallel()
	srv, files := startTLSServer(t, false)
	ctx := context.Background()
	opt := &Options{Addr: srv.TLSAddr, TLSConfig: files.ClientConfig(false), Protocol: 2, DisableIdentity: true}
	cn, err := Dial(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	// A round trip on another connection: the server has run an event
	// loop iteration since cn's handshake bytes reached it, so whatever it
	// sends cn unasked is in cn's socket by now.
	other, err := Dial(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Do(ctx, "PING"); err != nil {
		t.Fatal(err)
	}
	if !cn.alive() {
		t.Fatal("a new TLS connection fails the idle check: records sent after the TLS handshake were left unread")
	}
	if v, err := cn.Do(ctx, "PING"); err != nil || v.Text() != "PONG" {
		t.Fatalf("PING = %v, %v", v, err)
	}
}
