//go:build race

package server_test

// raceEnabled: the race detector's instrumentation moves some values to
// the heap, so allocation bounds are looser under it.
const raceEnabled = true
