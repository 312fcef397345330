package respool

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Values larger than the write buffer are lent to the writer and go out
// with the commands around them in one vector write. Each must arrive
// whole and in its place, strings and byte slices, alone, in a pipeline
// and from many goroutines on a shared connection.
func TestLargeValuesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inBothModes(t, nil, func(t *testing.T, c *Client) {
		value := func(i int) string {
			return strings.Repeat(strconv.Itoa(i%10), 20<<10+i) // 20 KiB and more
		}
		a, b := testKey(t, "a"), testKey(t, "b")
		if err := c.Set(ctx, a, value(1), 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, b, []byte(value(2)), 0).Err(); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{a: value(1), b: value(2)} {
			if got, err := c.Get(ctx, k).Result(); err != nil || got != want {
				t.Fatalf("GET %s: %d bytes, %v; want %d", k, len(got), err, len(want))
			}
		}
		p := c.Pipeline()
		keys := make([]string, 8)
		for i := range keys {
			keys[i] = testKey(t, "p"+strconv.Itoa(i))
			if i%2 == 0 {
				p.Set(ctx, keys[i], value(i), 0)
			} else {
				p.Set(ctx, keys[i], []byte(value(i)), 0)
			}
			p.Incr(ctx, testKey(t, "n"))
		}
		if err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, len(keys))
		for i, k := range keys {
			go func() {
				got, err := c.Get(ctx, k).Result()
				if err == nil && got != value(i) {
					err = fmt.Errorf("GET %s: %d bytes, want %d", k, len(got), len(value(i)))
				}
				done <- err
			}()
		}
		for range keys {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
		if n, err := c.Get(ctx, testKey(t, "n")).Result(); err != nil || n != strconv.Itoa(len(keys)) {
			t.Fatalf("INCR between the large SETs: %q, %v", n, err)
		}
		big := bytes.Repeat([]byte("z"), 1<<20)
		if err := c.Set(ctx, a, big, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.StrLen(ctx, a).Result(); err != nil || n != 1<<20 {
			t.Fatalf("STRLEN after a 1 MiB SET: %d, %v", n, err)
		}
	})
}
