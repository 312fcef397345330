package resp

import (
	"errors"
	"strconv"
)

// ErrLimit is matched (with errors.Is) by the *ProtocolError a Reader returns
// when a reply exceeds one of its Limits.
var ErrLimit = errors.New("resp: limit exceeded")

// ErrStreamed is returned by Reader.ReadAggregateHeader when the next reply
// is a streamed aggregate ("*?", "%?", "~?"), which the low-level API does not
// read. Nothing is consumed; read the reply with ReadValue or Skip instead.
// Redis itself never sends streamed aggregates.
var ErrStreamed = errors.New("resp: streamed aggregate: use ReadValue or Skip")

// ProtocolError reports a stream that is not valid RESP, or a reply beyond
// the Reader's Limits. The stream cannot be trusted after one: the Reader
// returns the same error from every later call until Reset.
type ProtocolError struct {
	// Offset is the byte offset in the stream, counted from the Reader's
	// creation or last Reset, of the line or byte at fault.
	Offset int64
	// Msg says what was wrong.
	Msg string
	// Err is ErrLimit when a limit was exceeded, nil otherwise.
	Err error
}

// Error returns "resp: protocol error at offset N: msg".
func (e *ProtocolError) Error() string {
	return "resp: protocol error at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// Unwrap returns Err, so that errors.Is(err, ErrLimit) tells limit
// violations apart.
func (e *ProtocolError) Unwrap() error { return e.Err }

// WrongKindError is returned when a value, or the next reply of a Reader,
// is not of the kind the call reads. Value accessors return it for a value of
// the wrong kind; the Reader's low-level reads return it without consuming
// the reply. Want is the main kind the call accepts.
type WrongKindError struct {
	Got, Want Kind
}

// Error returns "resp: got <kind>, want <kind>".
func (e *WrongKindError) Error() string {
	return "resp: got " + e.Got.String() + ", want " + e.Want.String()
}
