package respool

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/respool/respool/resp"
)

// handshake step kinds, which decide what a failed reply means.
type stepKind uint8

const (
	stepHello    stepKind = iota // HELLO 3 [AUTH u p] [SETNAME n]
	stepAuth                     // AUTH [u] p
	stepSetName                  // CLIENT SETNAME n
	stepSelect                   // SELECT db
	stepSetInfo                  // CLIENT SETINFO ..., errors ignored
	stepReadOnly                 // READONLY, for replica reads in a cluster
	stepPing                     // PING, for a TLS connection with nothing else to send
	stepRole                     // ROLE, to check the server's role (Options.role)
)

type handshakeStep struct {
	kind stepKind
	argv []any
}

// handshake sets the connection up in one write: HELLO (or AUTH and CLIENT
// SETNAME for RESP2), SELECT and CLIENT SETINFO (a PING for a TLS
// connection that needs none of them), then reads every reply.
// When the server does not know HELLO it runs again with RESP2. ctx carries
// the dial deadline.
func (cn *Conn) handshake(ctx context.Context) error {
	opt := cn.opt
	// The generation is read before the provider is asked: credentials
	// rotated meanwhile make the connection authenticate once more.
	gen := opt.creds.generation()
	creds := Credentials{Username: opt.Username, Password: opt.Password}
	if opt.CredentialsProvider != nil {
		c, err := opt.CredentialsProvider(ctx)
		if err != nil {
			return &ConnError{Op: "handshake", Addr: opt.Addr, Outcome: OutcomeNotSent, Err: err}
		}
		creds = c
	}
	proto := 2
	if opt.Protocol >= 3 {
		proto = 3
	}
	for {
		steps := handshakeSteps(opt, creds, proto)
		if _, isTLS := cn.nc.(*tls.Conn); isTLS && len(steps) == 0 {
			// A TLS 1.3 server sends session tickets after the TLS
			// handshake. They are read only with the first reply: without
			// one, a connection put in the pool unused holds them unread,
			// and the idle check takes it for a dead one.
			steps = append(steps, handshakeStep{stepPing, []any{"PING"}})
		}
		fallback, err := cn.runHandshake(ctx, steps)
		if err != nil {
			return err
		}
		if !fallback {
			cn.proto = proto
			cn.authGen = gen
			// The connection leaves the handshake with no deadline: each
			// later operation sets the one it needs before it reads or
			// writes, and none of the dial's may outlive it.
			_ = cn.nc.SetDeadline(time.Time{})
			cn.readDeadline, cn.writeDeadline = socketDeadline{}, socketDeadline{}
			return nil
		}
		proto = 2 // the server predates HELLO
	}
}

func handshakeSteps(opt *Options, creds Credentials, proto int) []handshakeStep {
	steps := make([]handshakeStep, 0, 5)
	if proto == 3 {
		argv := []any{"HELLO", "3"}
		if creds.Password != "" {
			user := creds.Username
			if user == "" {
				user = "default"
			}
			argv = append(argv, "AUTH", user, creds.Password)
		}
		if opt.ClientName != "" {
			argv = append(argv, "SETNAME", opt.ClientName)
		}
		steps = append(steps, handshakeStep{stepHello, argv})
	} else {
		if creds.Password != "" {
			steps = append(steps, handshakeStep{stepAuth, authArgs(creds)})
		}
		if opt.ClientName != "" {
			steps = append(steps, handshakeStep{stepSetName, []any{"CLIENT", "SETNAME", opt.ClientName}})
		}
	}
	if opt.DB != 0 {
		steps = append(steps, handshakeStep{stepSelect, []any{"SELECT", strconv.Itoa(opt.DB)}})
	}
	if opt.readOnly {
		steps = append(steps, handshakeStep{stepReadOnly, []any{"READONLY"}})
	}
	if opt.role != "" {
		steps = append(steps, handshakeStep{stepRole, []any{"ROLE"}})
	}
	if !opt.DisableIdentity {
		steps = append(steps,
			handshakeStep{stepSetInfo, []any{"CLIENT", "SETINFO", "LIB-NAME", libName}},
			handshakeStep{stepSetInfo, []any{"CLIENT", "SETINFO", "LIB-VER", Version}})
	}
	return steps
}

// runHandshake writes steps at once and reads their replies. It reports
// fallback when HELLO is unknown to the server.
func (cn *Conn) runHandshake(ctx context.Context, steps []handshakeStep) (fallback bool, err error) {
	if len(steps) == 0 {
		return false, nil
	}
	fail := func(err error) (bool, error) {
		cn.breakWith(err)
		return false, &ConnError{Op: "handshake", Addr: cn.opt.Addr, Outcome: OutcomeNotSent, Err: err}
	}
	dl, _ := ctx.Deadline()
	_ = cn.nc.SetDeadline(dl)
	if stop := cn.watchContext(ctx); stop != nil {
		defer func() {
			if !stop() && err == nil {
				// The cancellation fired as the handshake ended: the
				// deadline it sets may land on a later call.
				fallback, err = fail(context.Cause(ctx))
			}
		}()
	}
	for _, s := range steps {
		if err := cn.w.WriteArgs(s.argv); err != nil {
			return fail(err)
		}
	}
	if err := cn.w.Flush(); err != nil {
		return fail(cn.ioError(ctx, "handshake", OutcomeNotSent, err).Err)
	}
	var refusal error
	for _, s := range steps {
		v, err := cn.r.ReadValue()
		if err != nil {
			if refusal != nil {
				// The server refused a step and hung up (maxclients...):
				// its words say more than the closed socket.
				cn.breakWith(refusal)
				return false, refusal
			}
			return fail(cn.ioError(ctx, "handshake", OutcomeNotSent, err).Err)
		}
		if s.kind == stepRole && refusal == nil && !fallback && !v.IsError() {
			if got := roleOf(v); got != cn.opt.role {
				refusal = &ConnError{Op: "handshake", Addr: cn.opt.Addr, Outcome: OutcomeNotSent,
					Err: &roleError{want: cn.opt.role, got: got}}
			}
			continue
		}
		if refusal != nil || fallback || !v.IsError() {
			continue
		}
		se := NewError(v.Text())
		switch {
		case s.kind == stepSetInfo:
			// Servers before 7.2 do not know CLIENT SETINFO.
		case s.kind == stepHello && isUnknownCommand(se):
			fallback = true
		case (s.kind == stepHello || s.kind == stepAuth) && isAuthError(se):
			refusal = &AuthError{Addr: cn.opt.Addr, Err: se}
		case isAuthError(se):
			refusal = &AuthError{Addr: cn.opt.Addr, Err: se}
		default:
			refusal = &ConnError{Op: "handshake", Addr: cn.opt.Addr, Outcome: OutcomeNotSent, Err: se}
		}
	}
	if refusal != nil {
		cn.breakWith(refusal)
		return false, refusal
	}
	return fallback, nil
}

// isUnknownCommand reports an "unknown command" reply (a server before
// RESP3, or one where HELLO was renamed away).
func isUnknownCommand(e *Error) bool {
	return e.Prefix() == "NOPROTO" || strings.Contains(strings.ToLower(e.Error()), "unknown command")
}

// isAuthError reports a reply refusing credentials.
func isAuthError(e *Error) bool {
	switch e.Prefix() {
	case "WRONGPASS", "NOAUTH", "NOPERM":
		return true
	}
	msg := strings.ToLower(e.Error())
	return strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password")
}

// roleError refuses a connection whose server does not have the role the
// client needs: a primary that Sentinel demoted, a replica it promoted, a
// stale address.
type roleError struct {
	want, got string
}

func (e *roleError) Error() string {
	return "server reports role " + strconv.Quote(e.got) + ", want " + strconv.Quote(e.want)
}

// roleOf returns the first element of a ROLE reply ("master", "slave",
// "sentinel"), or "" for a reply of another shape.
func roleOf(v resp.Value) string {
	elems, err := v.Elems()
	if err != nil || len(elems) == 0 {
		return ""
	}
	return elems[0].Text()
}

// authArgs returns AUTH for creds: AUTH password for the default user,
// AUTH username password otherwise.
func authArgs(creds Credentials) []any {
	if creds.Username == "" {
		return []any{"AUTH", creds.Password}
	}
	return []any{"AUTH", creds.Username, creds.Password}
}

// Re-authentication. After RotateCredentials a connection authenticates
// again between two commands: a pooled one when Get hands it out
// (reauthenticate, a round trip of its own), a shared one in a batch of
// its own before the next (the muxer sends staleAuth's request), a PubSub
// between two reads.

// credsStale reports whether the credentials were rotated since cn last
// authenticated: one atomic load.
func (cn *Conn) credsStale() bool {
	return cn.opt.creds != nil && cn.opt.creds.gen.Load() != cn.authGen
}

// staleAuth returns the AUTH that brings cn up to the current credentials,
// and counts cn as authenticated with them; nil when it already is, or
// when they have no password (nothing to send).
func (cn *Conn) staleAuth() *authRequest {
	if !cn.credsStale() {
		return nil
	}
	creds, gen := cn.opt.creds.current()
	cn.authGen = gen
	if creds.Password == "" {
		return nil
	}
	return &authRequest{argv: authArgs(creds)}
}

// reauthenticate sends AUTH with the current credentials, in a round trip
// of its own, when they were rotated since cn last authenticated. A
// failure leaves cn broken: the caller closes it.
func (cn *Conn) reauthenticate(ctx context.Context) error {
	rq := cn.staleAuth()
	if rq == nil {
		return nil
	}
	_ = cn.run(ctx, rq)
	err := rq.err
	if rq.refused != nil {
		err = &reauthError{addr: cn.opt.Addr, reply: rq.refused}
		cn.breakWith(err)
	}
	cn.reauthDone(err)
	return err
}

// reauthDone counts a re-authentication that ended with err, and logs a
// failure.
func (cn *Conn) reauthDone(err error) {
	s := cn.opt.creds
	if err == nil {
		s.reauths.Add(1)
		return
	}
	s.reauthErrors.Add(1)
	if lg := cn.opt.Logger; lg != nil {
		logEvent(lg, slog.LevelError, "respool: re-authentication failed", slog.String("addr", cn.opt.Addr),
			slog.Any("error", err))
	}
}

// authRequest is the AUTH of a re-authentication. Its class is no
// session change (classArgs is nil): it restores the identity the
// connection is meant to have, which the next user inherits as it should.
type authRequest struct {
	argv    []any
	refused *Error // the server's error reply
	err     error  // the connection's failure
}

func (r *authRequest) classArgs() []any               { return nil }
func (r *authRequest) writeArgs(w *resp.Writer) error { return w.WriteArgs(r.argv) }
func (r *authRequest) borrowsElems() bool             { return false }
func (r *authRequest) setErr(err error)               { r.err = err }
func (r *authRequest) setReply(v resp.Value) {
	if v.IsError() {
		r.refused = NewError(v.Text())
	}
}

// reauthError is a re-authentication the server refused. It is not an
// *AuthError on purpose: the commands that waited behind it were not
// sent, and are retried on a new connection, whose handshake asks
// CredentialsProvider again (an *AuthError is never retried).
type reauthError struct {
	addr  string
	reply *Error
}

func (e *reauthError) Error() string {
	return "respool: re-authentication at " + e.addr + " refused: " + e.reply.Error()
}
