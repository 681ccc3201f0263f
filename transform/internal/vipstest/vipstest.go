// Package vipstest is test set-up shared by the packages under transform
// whose tests call libvips through package vips. It is imported only from
// _test.go files, so no production binary links it.
package vipstest

import (
	"fmt"
	"os"
	"testing"

	"github.com/pictorhq/pictor/transform/vips"
)

// Main starts libvips with the production configuration (the loader block
// list and thread count included) and runs m; call it from TestMain. A
// failed start ends the process before any test, since every test would
// fail the same way.
func Main(m *testing.M) {
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		fmt.Fprintln(os.Stderr, "vips.Startup:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
