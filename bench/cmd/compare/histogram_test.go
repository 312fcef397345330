package main

import (
	"testing"
	"time"
)

func TestBucketBoundsContainValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 12345, 999_999, 1 << 30, 1<<40 - 1} {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, histBuckets)
		}
		lo, hi := bucketBounds(i)
		if v < lo || v >= hi {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
		if v >= 2*histSub && float64(hi-lo) > float64(lo)/histSub {
			t.Errorf("bucket %d = [%d, %d) wider than 1/%d of its bound", i, lo, hi, histSub)
		}
	}
	if i := bucketOf(1 << 50); i != histBuckets-1 {
		t.Errorf("a value past the range went to bucket %d, want the last, %d", i, histBuckets-1)
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	_, prevHi := bucketBounds(0)
	for i := 1; i < histBuckets; i++ {
		lo, hi := bucketBounds(i)
		if lo != prevHi || hi <= lo {
			t.Fatalf("bucket %d = [%d, %d), previous ended at %d", i, lo, hi, prevHi)
		}
		prevHi = hi
	}
}

func TestQuantile(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Fatal("an empty histogram has a median")
	}
	// 1..1000 µs: the median is 500 µs and p99 990 µs, within a bucket.
	for us := 1; us <= 1000; us++ {
		h.record(time.Duration(us) * time.Microsecond)
	}
	check := func(q float64, want time.Duration) {
		got := h.quantile(q)
		if diff := float64(got-want) / float64(want); diff < -0.04 || diff > 0.04 {
			t.Errorf("quantile(%v) = %v, want about %v", q, got, want)
		}
	}
	check(0.5, 500*time.Microsecond)
	check(0.99, 990*time.Microsecond)
	check(1, 1000*time.Microsecond)

	var other histogram
	for range 3000 {
		other.record(10 * time.Millisecond)
	}
	h.merge(&other)
	if h.total != 4000 {
		t.Fatalf("merged total %d, want 4000", h.total)
	}
	check(0.5, 10*time.Millisecond)
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := new(histogram)
	if n := testing.AllocsPerRun(1000, func() { h.record(1234 * time.Nanosecond) }); n != 0 {
		t.Errorf("record allocates %v times", n)
	}
}

func TestRecorderAddsEveryLatency(t *testing.T) {
	shared := &sharedHistogram{}
	r := recorder{shared: shared}
	var want histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		r.record(d)
		want.record(d)
	}
	r.record(10 * time.Second) // too large for the buffer
	want.record(10 * time.Second)
	r.flush()
	if shared.h != want {
		t.Fatalf("shared histogram holds %d calls, want %d, or their buckets differ", shared.h.total, want.total)
	}
}
