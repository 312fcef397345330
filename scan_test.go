package respool

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/respool/respool/respooltest"
)

// TestScanAllKeys scans 10,000 keys on a private server (nothing else
// writes to it, so no key may be missed or repeated).
func TestScanAllKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := respooltest.StartServer(t)
	c := NewClient(&Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })

	const n = 10000
	prefix := "scan:" + strconv.Itoa(n) + ":"
	want := make(map[string]bool, n)
	for start := 0; start < n; start += 1000 {
		pairs := make([]any, 0, 2000)
		for i := start; i < start+1000; i++ {
			k := prefix + strconv.Itoa(i)
			want[k] = true
			pairs = append(pairs, k, i)
		}
		if err := c.MSet(ctx, pairs...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"other:1", "other:2"} {
		if err := c.Set(ctx, k, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.HSet(ctx, prefix+"hash", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}

	seen := make(map[string]int, n)
	for k, err := range c.ScanAll(ctx, ScanArgs{Match: prefix + "*", Count: 500, Type: "string"}) {
		if err != nil {
			t.Fatalf("ScanAll: %v", err)
		}
		seen[k]++
	}
	if len(seen) != n {
		t.Fatalf("ScanAll returned %d distinct keys, want %d", len(seen), n)
	}
	for k, times := range seen {
		if !want[k] || times != 1 {
			t.Fatalf("ScanAll returned %q %d times (expected key: %v)", k, times, want[k])
		}
	}

	// Without Type the hash under the prefix shows up too; without Match
	// everything does.
	count := 0
	for _, err := range c.ScanAll(ctx, ScanArgs{Match: prefix + "*", Count: 1000}) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != n+1 {
		t.Fatalf("ScanAll without Type: %d keys, want %d", count, n+1)
	}

	// One page at a time, as a caller driving the cursor would.
	total, pages := 0, 0
	for cursor := uint64(0); ; {
		page, err := c.Scan(ctx, cursor, "other:*", 2000).Result()
		if err != nil {
			t.Fatal(err)
		}
		total += len(page.Items)
		pages++
		if cursor = page.Cursor; cursor == 0 {
			break
		}
	}
	if total != 2 || pages < 2 {
		t.Fatalf("Scan pages: %d keys in %d pages, want 2 keys over several pages", total, pages)
	}
	page, err := c.ScanType(ctx, 0, "", 20000, "hash").Result()
	if err != nil || page.Cursor != 0 || !slices.Equal(page.Items, []string{prefix + "hash"}) {
		t.Fatalf("ScanType hash = %+v, %v", page, err)
	}

	// Stopping early is fine.
	got := 0
	for range c.ScanAll(ctx, ScanArgs{Match: prefix + "*"}) {
		if got++; got == 5 {
			break
		}
	}
	if got != 5 {
		t.Fatalf("early stop after %d keys", got)
	}
}

func TestScanCollections(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		h, s, z := testKey(t, "h"), testKey(t, "s"), testKey(t, "z")
		const n = 300 // beyond the listpack limits: several pages
		wantH := map[string]string{}
		var fields []any
		var members []any
		var zs []Z
		for i := range n {
			f := "f" + strconv.Itoa(i)
			wantH[f] = strconv.Itoa(i)
			fields = append(fields, f, i)
			members = append(members, f)
			zs = append(zs, Z{Score: float64(i) / 2, Member: f})
		}
		if err := c.HSet(ctx, h, fields...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.SAdd(ctx, s, members...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ZAdd(ctx, z, zs...).Err(); err != nil {
			t.Fatal(err)
		}

		gotH := map[string]string{}
		for p, err := range c.HScanAll(ctx, h, ScanArgs{Count: 20}) {
			if err != nil {
				t.Fatal(err)
			}
			gotH[p.Key] = p.Val
		}
		if !maps.Equal(gotH, wantH) {
			t.Fatalf("HScanAll: %d fields, want %d", len(gotH), len(wantH))
		}
		gotS := map[string]bool{}
		for m, err := range c.SScanAll(ctx, s, ScanArgs{Match: "f1*"}) {
			if err != nil {
				t.Fatal(err)
			}
			gotS[m] = true
		}
		if len(gotS) != 111 || !gotS["f1"] || !gotS["f199"] { // f1, f10-f19, f100-f199
			t.Fatalf("SScanAll MATCH f1*: %d members", len(gotS))
		}
		gotZ := map[string]float64{}
		for m, err := range c.ZScanAll(ctx, z, ScanArgs{Count: 50}) {
			if err != nil {
				t.Fatal(err)
			}
			gotZ[m.Member] = m.Score
		}
		if len(gotZ) != n || gotZ["f7"] != 3.5 {
			t.Fatalf("ZScanAll: %d members, f7 scored %v", len(gotZ), gotZ["f7"])
		}

		page, err := c.HScan(ctx, h, 0, "f2", 1000).Result()
		if err != nil || page.Cursor != 0 || !slices.Equal(page.Items, []Pair[string, string]{{"f2", "2"}}) {
			t.Fatalf("HScan = %+v, %v", page, err)
		}
		zpage, err := c.ZScan(ctx, z, 0, "f3", 1000).Result()
		if err != nil || zpage.Cursor != 0 || !slices.Equal(zpage.Items, []Z{{1.5, "f3"}}) {
			t.Fatalf("ZScan = %+v, %v", zpage, err)
		}
		spage, err := c.SScan(ctx, s, 0, "f4", 1000).Result()
		if err != nil || spage.Cursor != 0 || !slices.Equal(spage.Items, []string{"f4"}) {
			t.Fatalf("SScan = %+v, %v", spage, err)
		}

		// An error is yielded once and ends the iteration.
		var errs, items int
		for _, err := range c.ZScanAll(ctx, h, ScanArgs{}) {
			if err != nil {
				errs++
				var se *Error
				if !errors.As(err, &se) || se.Prefix() != "WRONGTYPE" {
					t.Fatalf("ZScanAll of a hash: %v, want WRONGTYPE", err)
				}
				continue
			}
			items++
		}
		if errs != 1 || items != 0 {
			t.Fatalf("ZScanAll of a hash: %d errors, %d items; want 1 error only", errs, items)
		}
	})
}
