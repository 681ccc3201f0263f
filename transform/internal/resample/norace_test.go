//go:build !race

package resample

const raceEnabled = false
