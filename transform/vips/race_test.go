//go:build race

package vips

// raceEnabled reports a -race build, whose runtime adds memory the leak
// test must allow for.
const raceEnabled = true
