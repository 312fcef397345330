package respool

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/respool/respool/resp"
)

// The elements of aggregate replies to commands such as MGET are read into
// reused buffers (request.borrowsElems). The bug to fear is a buffer
// reused while a reply in it is still being decoded, or a buffer holding a
// reply that someone keeps: either gives a caller another caller's values.

func TestBorrowedRepliesUnderConcurrency(t *testing.T) {
	t.Parallel()
	inBothModes(t, &Options{PoolSize: 4}, func(t *testing.T, c *Client) {
		ctx := context.Background()
		const workers, keysEach, rounds = 8, 20, 150
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for g := range workers {
			keys := make([]string, keysEach)
			pairs := make([]any, 0, 2*keysEach)
			for i := range keys {
				keys[i] = testKey(t, fmt.Sprintf("%d:%d", g, i))
				pairs = append(pairs, keys[i], fmt.Sprintf("value %d of worker %d", i, g))
			}
			hash, list := testKey(t, fmt.Sprintf("%d:h", g)), testKey(t, fmt.Sprintf("%d:l", g))
			if err := c.MSet(ctx, pairs...).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.HSet(ctx, hash, pairs[:2*g+2]...).Err(); err != nil {
				t.Fatal(err)
			}
			if err := c.RPush(ctx, list, pairs[1:2*g+2]...).Err(); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- borrowWorker(ctx, c, g, keys, hash, list, rounds)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

// borrowWorker reads worker g's keys, hash and list again and again, in
// single commands and in pipelines, beside a reply it keeps (Do's).
func borrowWorker(ctx context.Context, c *Client, g int, keys []string, hash, list string, rounds int) error {
	want := func(i int) string { return fmt.Sprintf("value %d of worker %d", i, g) }
	kept, err := c.Do(ctx, append([]any{"MGET"}, toAny(keys)...)...)
	if err != nil {
		return err
	}
	checkKept := func() error {
		elems, err := kept.Elems()
		if err != nil || len(elems) != len(keys) {
			return fmt.Errorf("worker %d: kept reply %v", g, kept)
		}
		for i, e := range elems {
			if e.Text() != want(i) {
				return fmt.Errorf("worker %d: kept reply's element %d became %q", g, i, e.Text())
			}
		}
		return nil
	}
	checkMGet := func(vals []Optional[string], err error) error {
		if err != nil {
			return err
		}
		if len(vals) != len(keys) {
			return fmt.Errorf("worker %d: MGET gave %d values", g, len(vals))
		}
		for i, v := range vals {
			if !v.OK || v.Val != want(i) {
				return fmt.Errorf("worker %d: MGET element %d = %+v, want %q", g, i, v, want(i))
			}
		}
		return nil
	}
	checkHash := func(h map[string]string, err error) error {
		if err != nil {
			return err
		}
		if len(h) != g+1 || h[keys[g]] != want(g) {
			return fmt.Errorf("worker %d: HGETALL = %v", g, h)
		}
		return nil
	}
	checkList := func(l []string, err error) error {
		if err != nil {
			return err
		}
		if len(l) != 2*g+1 || l[0] != want(0) || l[len(l)-1] != want(g) {
			return fmt.Errorf("worker %d: LRANGE = %q", g, l)
		}
		return nil
	}
	for range rounds {
		if err := checkMGet(c.MGet(ctx, keys...).Result()); err != nil {
			return err
		}
		if err := checkHash(c.HGetAll(ctx, hash).Result()); err != nil {
			return err
		}
		if err := checkList(c.LRange(ctx, list, 0, -1).Result()); err != nil {
			return err
		}
		p := c.Pipeline()
		mget := p.MGet(ctx, keys...)
		do := p.Do(ctx, "HGETALL", hash)
		lrange := p.LRange(ctx, list, 0, -1)
		hgetall := p.HGetAll(ctx, hash)
		if err := p.Exec(ctx); err != nil {
			return err
		}
		if err := checkMGet(mget.Result()); err != nil {
			return err
		}
		if err := checkList(lrange.Result()); err != nil {
			return err
		}
		if err := checkHash(hgetall.Result()); err != nil {
			return err
		}
		if n := do.Val().Len(); n != g+1 {
			return fmt.Errorf("worker %d: pipelined HGETALL kept as a Value has %d pairs, want %d", g, n, g+1)
		}
		if err := checkKept(); err != nil {
			return err
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestKeptReplyOutlivesBorrowedOnes runs a pipeline whose first reply is
// kept (Do) and whose others borrow the Conn's buffer, then more
// pipelines on the same connection: the kept reply must not change.
func TestKeptReplyOutlivesBorrowedOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newTestClient(t, &Options{PoolSize: 1})
	a, b := testKey(t, "a"), testKey(t, "b")
	if err := c.MSet(ctx, a, "A", b, "B").Err(); err != nil {
		t.Fatal(err)
	}
	p := c.Pipeline()
	kept := p.Do(ctx, "MGET", a, b)
	p.MGet(ctx, b, a)
	if err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p := c.Pipeline()
		for j := range 3 {
			p.MGet(ctx, strconv.Itoa(i), strconv.Itoa(j), b, b)
		}
		if err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := resp.Array(resp.BulkString("A"), resp.BulkString("B"))
	if !kept.Val().Equal(want) {
		t.Fatalf("kept reply became %v, want %v", kept.Val(), want)
	}
}
