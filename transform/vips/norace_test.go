//go:build !race

package vips

const raceEnabled = false
