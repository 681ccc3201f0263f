//go:build race

package resample

// raceEnabled reports a -race build: the Go reference runs about ten times
// slower there, so the engine's own grid is the short one (the full one
// runs without -race).
const raceEnabled = true
