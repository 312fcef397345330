package resp

import "math"

// Default limits, used for every zero or negative field of Limits.
const (
	// DefaultMaxBulkLen is the server's own default proto-max-bulk-len.
	DefaultMaxBulkLen = 512 << 20
	// DefaultMaxAggregateLen allows 16,777,216 elements in one aggregate
	// (8,388,608 pairs in a map), well above what a reasonable single reply
	// holds. Memory is never reserved from a header, so a larger limit only
	// lets more elements that actually arrive through.
	DefaultMaxAggregateLen = 1 << 24
	// DefaultMaxDepth is the deepest nesting of aggregates in one reply.
	DefaultMaxDepth = 512
	// MaxDepthLimit is the most MaxDepth can be set to.
	MaxDepthLimit = 1000
	// DefaultMaxLineLen is the longest line accepted after the type byte:
	// simple strings, errors, numbers and length headers.
	DefaultMaxLineLen = 64 << 10
)

// Limits bound what a Reader accepts from a stream. Exceeding one gives a
// *ProtocolError that matches ErrLimit. A zero or negative field means its
// default.
//
// Limits do not size allocations. A Reader never allocates from a length
// header alone: memory grows with the bytes that arrive, so a short reply that
// claims a huge length costs at most a small fixed amount (512 KiB for a bulk
// string, a few elements for an aggregate) before the stream ends or fails.
type Limits struct {
	// MaxBulkLen is the largest bulk string, bulk error or verbatim string,
	// in bytes (the sum of the chunks for a streamed string).
	// Default DefaultMaxBulkLen (512 MiB).
	MaxBulkLen int64
	// MaxAggregateLen is the most elements in one aggregate. A map or
	// attribute counts two elements per pair. Default DefaultMaxAggregateLen.
	MaxAggregateLen int64
	// MaxDepth is the deepest nesting of aggregates (attributes included) in
	// one reply; a flat array has depth 1. Default DefaultMaxDepth (512);
	// values above MaxDepthLimit (1000) are lowered to it.
	MaxDepth int
	// MaxLineLen is the longest line, not counting the type byte and CRLF.
	// Default DefaultMaxLineLen (64 KiB).
	MaxLineLen int
}

// DefaultLimits returns the limits a new Reader starts with.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkLen:      DefaultMaxBulkLen,
		MaxAggregateLen: DefaultMaxAggregateLen,
		MaxDepth:        DefaultMaxDepth,
		MaxLineLen:      DefaultMaxLineLen,
	}
}

// normalized returns l with defaults filled in and every field in range.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = d.MaxBulkLen
	}
	// Keep lengths representable as int on every platform, with room to add.
	l.MaxBulkLen = min(l.MaxBulkLen, math.MaxInt/2)
	if l.MaxAggregateLen <= 0 {
		l.MaxAggregateLen = d.MaxAggregateLen
	}
	l.MaxAggregateLen = min(l.MaxAggregateLen, math.MaxInt/2)
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	l.MaxDepth = min(l.MaxDepth, MaxDepthLimit)
	if l.MaxLineLen <= 0 {
		l.MaxLineLen = d.MaxLineLen
	}
	l.MaxLineLen = min(l.MaxLineLen, math.MaxInt/4)
	return l
}
