//go:build race

package respool

// raceEnabled tells tests that the race detector is on (it allocates).
const raceEnabled = true
