package respool

import (
	"context"
	"fmt"
	"iter"
	"strconv"

	"github.com/respool/respool/resp"
)

// The SCAN family, one page at a time (Scan, HScan, SScan, ZScan, methods
// of Client, Pipeline and Tx) or as Go iterators over every page
// (ScanAll, HScanAll, SScanAll, ZScanAll, methods of Client).
//
// The server guarantees that an element present for the whole scan is
// returned at least once; one added or removed meanwhile may or may not
// be, and an element may be returned more than once when the keyspace is
// resized during the scan.

// ScanPage is one page of a SCAN-family command.
type ScanPage[T any] struct {
	// Items are the page's elements; a page may be empty even when the
	// scan is not over.
	Items []T
	// Cursor is the cursor to pass to the next call; 0 when the scan is
	// complete.
	Cursor uint64
}

// ScanArgs are the options of a scan iterator.
type ScanArgs struct {
	// Match, when set, is a glob pattern elements must match ("user:*").
	// The server filters after collecting a page, so pages may be empty.
	Match string
	// Count above 0 hints how much work the server does per page (its
	// default is 10).
	Count int64
	// Type, for ScanAll only, restricts keys to one type ("string",
	// "hash", "zset"...).
	Type string
}

// scanArgv appends the cursor and the options to argv: at most 7
// arguments.
func scanArgv(argv []any, cursor uint64, match string, count int64, keyType string) []any {
	argv = append(argv, strconv.FormatUint(cursor, 10))
	if match != "" {
		argv = append(argv, "MATCH", match)
	}
	if count > 0 {
		argv = append(argv, "COUNT", count)
	}
	if keyType != "" {
		argv = append(argv, "TYPE", keyType)
	}
	return argv
}

// Scan returns one page of keys of the current database from cursor (0
// to start), matching match when it is not "", with count as the
// server's work hint when above 0.
func (c cmdable) Scan(ctx context.Context, cursor uint64, match string, count int64) *Cmd[ScanPage[string]] {
	argv := scanArgv(append(make([]any, 0, 9), "SCAN"), cursor, match, count, "")
	cmd := newCmd(decodeScanKeys, argv...)
	c(ctx, cmd)
	return cmd
}

// ScanType is Scan restricted to keys of keyType ("string", "list",
// "set", "zset", "hash", "stream").
func (c cmdable) ScanType(ctx context.Context, cursor uint64, match string, count int64, keyType string) *Cmd[ScanPage[string]] {
	argv := scanArgv(append(make([]any, 0, 9), "SCAN"), cursor, match, count, keyType)
	cmd := newCmd(decodeScanKeys, argv...)
	c(ctx, cmd)
	return cmd
}

// HScan returns one page of the fields and values of the hash at key.
func (c cmdable) HScan(ctx context.Context, key string, cursor uint64, match string, count int64) *Cmd[ScanPage[Pair[string, string]]] {
	argv := scanArgv(append(make([]any, 0, 9), "HSCAN", key), cursor, match, count, "")
	cmd := newCmd(decodeScanFields, argv...)
	c(ctx, cmd)
	return cmd
}

// SScan returns one page of the members of the set at key.
func (c cmdable) SScan(ctx context.Context, key string, cursor uint64, match string, count int64) *Cmd[ScanPage[string]] {
	argv := scanArgv(append(make([]any, 0, 9), "SSCAN", key), cursor, match, count, "")
	cmd := newCmd(decodeScanKeys, argv...)
	c(ctx, cmd)
	return cmd
}

// ZScan returns one page of the members and scores of the sorted set at
// key.
func (c cmdable) ZScan(ctx context.Context, key string, cursor uint64, match string, count int64) *Cmd[ScanPage[Z]] {
	argv := scanArgv(append(make([]any, 0, 9), "ZSCAN", key), cursor, match, count, "")
	cmd := newCmd(decodeScanZ, argv...)
	c(ctx, cmd)
	return cmd
}

// ScanAll iterates over the keys of the current database with SCAN,
// fetching pages as the loop asks for them; ctx applies to each page. An
// error (the page's failure) is yielded once, with a zero key, and ends
// the iteration. Breaking out of the loop early is fine: nothing is left
// open.
//
//	for key, err := range c.ScanAll(ctx, respool.ScanArgs{Match: "user:*"}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func (c *Client) ScanAll(ctx context.Context, args ScanArgs) iter.Seq2[string, error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[string]] {
		return c.ScanType(ctx, cursor, args.Match, args.Count, args.Type)
	})
}

// HScanAll iterates over the fields and values of the hash at key with
// HSCAN, as ScanAll does (args.Type is ignored).
func (c *Client) HScanAll(ctx context.Context, key string, args ScanArgs) iter.Seq2[Pair[string, string], error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[Pair[string, string]]] {
		return c.HScan(ctx, key, cursor, args.Match, args.Count)
	})
}

// SScanAll iterates over the members of the set at key with SSCAN, as
// ScanAll does (args.Type is ignored).
func (c *Client) SScanAll(ctx context.Context, key string, args ScanArgs) iter.Seq2[string, error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[string]] {
		return c.SScan(ctx, key, cursor, args.Match, args.Count)
	})
}

// ZScanAll iterates over the members and scores of the sorted set at key
// with ZSCAN, as ScanAll does (args.Type is ignored).
func (c *Client) ZScanAll(ctx context.Context, key string, args ScanArgs) iter.Seq2[Z, error] {
	return scanIter(func(cursor uint64) *Cmd[ScanPage[Z]] {
		return c.ZScan(ctx, key, cursor, args.Match, args.Count)
	})
}

// scanIter yields the items of every page fetched by page, from cursor 0
// until the server returns cursor 0 again.
func scanIter[T any](page func(cursor uint64) *Cmd[ScanPage[T]]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var cursor uint64
		for {
			p, err := page(cursor).Result()
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Items {
				if !yield(item, nil) {
					return
				}
			}
			if p.Cursor == 0 {
				return
			}
			cursor = p.Cursor
		}
	}
}

// scanDecoder returns the decoder of a [cursor, items] reply whose items
// array is decoded by items.
func scanDecoder[T any](items func(resp.Value) ([]T, error)) func(resp.Value) (ScanPage[T], error) {
	return func(v resp.Value) (ScanPage[T], error) {
		elems, err := v.Elems()
		if err != nil {
			return ScanPage[T]{}, err
		}
		if len(elems) != 2 {
			return ScanPage[T]{}, fmt.Errorf("respool: scan reply has %d elements, want 2", len(elems))
		}
		s, err := DecodeString(elems[0])
		if err != nil {
			return ScanPage[T]{}, elemError(0, err)
		}
		cursor, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return ScanPage[T]{}, elemError(0, fmt.Errorf("respool: scan cursor %q is not a number", s))
		}
		page, err := items(elems[1])
		if err != nil {
			return ScanPage[T]{}, elemError(1, err)
		}
		return ScanPage[T]{Items: page, Cursor: cursor}, nil
	}
}

var (
	decodeScanKeys   = scanDecoder(DecodeStrings)
	decodeScanFields = scanDecoder(decodeFieldValuePairs)
	decodeScanZ      = scanDecoder(decodeZSlice)
)

// decodeFieldValuePairs decodes HSCAN's flat field, value... array (it is
// an array, not a map, under RESP3 too).
func decodeFieldValuePairs(v resp.Value) ([]Pair[string, string], error) {
	elems, err := v.Elems()
	if err != nil {
		return nil, err
	}
	if len(elems)%2 != 0 {
		return nil, fmt.Errorf("respool: field-value array has an odd number of elements (%d)", len(elems))
	}
	out := make([]Pair[string, string], len(elems)/2)
	for i := range out {
		if out[i].Key, err = DecodeString(elems[2*i]); err != nil {
			return nil, elemError(2*i, err)
		}
		if out[i].Val, err = DecodeString(elems[2*i+1]); err != nil {
			return nil, elemError(2*i+1, err)
		}
	}
	return out, nil
}
