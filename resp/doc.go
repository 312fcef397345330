// Package resp reads and writes RESP, the protocol of Redis, in both its
// versions: RESP2 and RESP3.
//
// It is the codec under every respool connection and imports nothing but the
// standard library. It was written so that no stream a server (or anything
// pretending to be one) sends can crash, hang or exhaust the process that
// reads it.
//
// # Values
//
// A Value is one reply of any type: simple string, error, integer, bulk
// string, array, null (RESP3's "_" and RESP2's "$-1" and "*-1", each
// remembered as such), boolean, double (with inf, -inf and nan, its text
// kept as sent), big number, bulk error, verbatim string, map, set and push.
// Attributes ('|') are attached to the value they annotate and found with
// Value.Attributes. Streamed strings ("$?" then ";n" chunks) and streamed
// aggregates ("*?", "%?", "~?" ended by ".") are read into ordinary values.
// Accessors such as Value.Str and Value.Int return an error, never panic, on
// a value of the wrong kind; server error replies are Values (Value.IsError),
// not Go errors.
//
// # Reading
//
// Reader.ReadValue reads one whole reply. A client that knows what to expect
// can avoid building Values: Reader.PeekKind, Reader.ReadBulkAppend (a bulk
// string into a buffer of the caller's), Reader.ReadInteger,
// Reader.ReadAggregateHeader and Reader.Skip.
//
// # Limits
//
// A Reader enforces Limits: the largest bulk string (default 512 MiB, the
// server's proto-max-bulk-len), the most elements in one aggregate (default
// 16,777,216), the deepest nesting (default 512, at most 1000) and the
// longest line (default 64 KiB). Nesting is parsed with an explicit stack,
// not recursion. A length header is never trusted for allocation: memory
// grows with the bytes that actually arrive, so a few bytes claiming a
// gigabyte cost at most 512 KiB.
//
// # Errors
//
// A Reader returns io.EOF when the stream ends between replies, an error
// wrapping io.ErrUnexpectedEOF when it ends inside one, and a
// *ProtocolError, with the byte offset at fault, for anything that is not
// valid RESP; errors.Is(err, ErrLimit) tells a reply beyond the Limits. After
// a protocol error, or any error once part of a reply was consumed, the
// Reader returns the same error from every call until Reset: the stream can
// no longer be trusted. An error from the source before a reply started
// (such as a read deadline) is returned as is and the Reader stays usable.
//
// # Writing
//
// Writer.WriteCommand encodes a command as an array of bulk strings from
// strings, byte slices, integers, floats, bools and ArgAppender values, into
// a buffer sent by Writer.Flush: many commands can go out in one write (a
// pipeline). Writing a command allocates nothing in steady state.
// Writer.WriteValue writes any Value byte for byte as it was read, for fake
// servers and tests. AppendCommand encodes into a byte slice instead.
package resp
