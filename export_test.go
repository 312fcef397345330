package respool

// RaceEnabled lets external tests know that the race detector is on.
const RaceEnabled = raceEnabled
