package respool

import (
	"errors"
	"strings"
)

// Sentinel errors that callers branch on.
var (
	// ErrClosed is returned by every call on a Pool, Client or PubSub after
	// its Close.
	ErrClosed = errors.New("respool: closed")

	// ErrPoolTimeout is what Pool.Get fails with when no connection became
	// free within Options.PoolTimeout: the error is a *PoolTimeoutError,
	// for which errors.Is(err, ErrPoolTimeout) holds. A context that ends
	// first gives the context's error instead.
	ErrPoolTimeout = errors.New("respool: timed out waiting for a connection from the pool")

	// ErrPoolExhausted is returned at once by Pool.Get when every connection is
	// in use and Options.PoolFailFast is set (the behaviour of redis-py's
	// ConnectionPool).
	ErrPoolExhausted = errors.New("respool: pool exhausted")

	// ErrTxFailed is returned when EXEC aborts because a WATCHed key changed.
	ErrTxFailed = errors.New("respool: transaction aborted: a watched key changed")
)

// Nil is the error of a command whose reply is null: GET of a missing key,
// BLPOP that timed out, and so on. Test for it with errors.Is(err, respool.Nil).
const Nil = nilError("respool: nil")

type nilError string

func (e nilError) Error() string { return string(e) }

// Error is an error reply from the server ("-ERR ...", "-WRONGTYPE ...",
// "!..." bulk errors). The command reached the server and was rejected: its
// Outcome is OutcomeRejected.
type Error struct {
	msg string
}

// NewError returns the error for a server reply whose text is msg
// (without the leading '-'). It is used by fake servers and tests.
func NewError(msg string) *Error { return &Error{msg: msg} }

// Error returns the server's text unchanged, for example
// "WRONGTYPE Operation against a key holding the wrong kind of value".
func (e *Error) Error() string { return e.msg }

// Prefix returns the error code: the first word of the reply when it is in
// upper case ("ERR", "WRONGTYPE", "MOVED", "NOSCRIPT"...), or "" when the
// reply has no such word.
func (e *Error) Prefix() string {
	word, _, _ := strings.Cut(e.msg, " ")
	if word == "" {
		return ""
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if (c < 'A' || c > 'Z') && c != '_' && (c < '0' || c > '9') {
			return ""
		}
	}
	return word
}

// Outcome says what became of a command whose call returned an error.
type Outcome uint8

const (
	// OutcomeNone is the outcome of a nil error.
	OutcomeNone Outcome = iota
	// OutcomeNotSent: the command provably never reached the server (the
	// pool timed out, the dial failed, nothing of it was written). Repeating
	// it is always safe.
	OutcomeNotSent
	// OutcomeRejected: the server received the command and answered with an
	// error reply (an *Error).
	OutcomeRejected
	// OutcomeUnknown: the command may or may not have been executed (the
	// connection failed, timed out or was cancelled after some of it was
	// written). A write with this outcome must not be repeated blindly.
	OutcomeUnknown
)

// String returns "none", "not sent", "rejected" or "unknown".
func (o Outcome) String() string {
	switch o {
	case OutcomeNone:
		return "none"
	case OutcomeNotSent:
		return "not sent"
	case OutcomeRejected:
		return "rejected"
	case OutcomeUnknown:
		return "unknown"
	}
	return "invalid outcome"
}

// OutcomeOf classifies err: OutcomeNone for nil and Nil (a null reply is
// a successful command), OutcomeRejected for a server error reply,
// the outcome recorded in a *ConnError (or any error with an Outcome
// method, such as *AuthError), OutcomeNotSent for the pool's own
// errors (ErrClosed, ErrPoolTimeout, ErrPoolExhausted), and
// OutcomeUnknown for anything else.
func OutcomeOf(err error) Outcome {
	if err == nil || errors.Is(err, Nil) {
		return OutcomeNone
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return ce.Outcome
	}
	var oe interface{ Outcome() Outcome }
	if errors.As(err, &oe) {
		return oe.Outcome()
	}
	var se *Error
	if errors.As(err, &se) {
		return OutcomeRejected
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrPoolTimeout) || errors.Is(err, ErrPoolExhausted) || errors.Is(err, ErrTxFailed) {
		return OutcomeNotSent
	}
	return OutcomeUnknown
}

// ConnError is a failure of the connection under a command: dialling, the
// handshake, writing or reading. Outcome tells whether the command may have
// been executed. The connection that produced it is never reused.
type ConnError struct {
	Op      string  // "dial", "handshake", "write" or "read"
	Addr    string  // the server's address
	Outcome Outcome // OutcomeNotSent or OutcomeUnknown
	Err     error   // the underlying error (a net.Error, a context error, a *resp.ProtocolError...)
}

// Error returns "respool: <op> <addr>: <err> (outcome <outcome>)".
func (e *ConnError) Error() string {
	return "respool: " + e.Op + " " + e.Addr + ": " + e.Err.Error() + " (outcome " + e.Outcome.String() + ")"
}

// Unwrap returns the underlying error, so errors.Is(err,
// context.DeadlineExceeded) and similar tests work.
func (e *ConnError) Unwrap() error { return e.Err }

// Timeout reports whether the failure was a deadline (from a context or
// from Options.ReadTimeout/WriteTimeout/DialTimeout).
func (e *ConnError) Timeout() bool {
	var te interface{ Timeout() bool }
	return errors.As(e.Err, &te) && te.Timeout()
}

// AuthError is returned when the server rejects the credentials during the
// handshake (WRONGPASS, NOAUTH, NOPERM...). It is never retried.
type AuthError struct {
	Addr string
	Err  *Error // the server's reply
}

// Error returns "respool: authentication failed at <addr>: <server text>".
func (e *AuthError) Error() string {
	return "respool: authentication failed at " + e.Addr + ": " + e.Err.Error()
}

// Unwrap returns the server's error reply.
func (e *AuthError) Unwrap() error { return e.Err }

// Outcome is OutcomeNotSent: no command of the caller was written.
func (e *AuthError) Outcome() Outcome { return OutcomeNotSent }
