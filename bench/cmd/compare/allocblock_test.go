package main

import "testing"

func TestAllocBlock(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{32, 32},               // a size class of its own
		{1040, 1152},           // rounded up to the 1,152-byte class
		{102416, 13 * 8192},    // above 32 KiB: whole 8 KiB pages
		{16 * 8192, 16 * 8192}, // already whole pages
	} {
		if got := allocBlock(tc.n); got != tc.want {
			t.Errorf("allocBlock(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
