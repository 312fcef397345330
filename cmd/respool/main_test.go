package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the one-shot mode and the demo leave no goroutine
// behind: every Client they make is closed, every worker has returned.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
