// Package libvipstest calls libvips and glibc directly, past package vips,
// for that package's tests: libvips' generic loader, which the binding
// never uses, and the C heap's size, which production has no use for.
// Keeping them here keeps them out of the production binding; cgo cannot
// live in _test.go files. Callers start libvips with vips.Startup first.
package libvipstest

/*
#cgo pkg-config: vips
#include "libvipstest.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"strings"
	"unsafe"
)

// HeapInUse is the number of bytes glibc malloc has handed out and not had
// back, across all arenas: libvips' live memory without the allocator's
// free lists and without the Go heap. Leak tests use it to tell leaks from
// allocator noise.
func HeapInUse() int64 {
	return int64(C.libvipstest_heap_in_use())
}

// LoadAny opens and decodes buf through libvips' own loader search
// (vips_image_new_from_buffer), not vips.Load's allowlist: it shows whether
// the block list vips.Startup sets holds inside libvips as well.
func LoadAny(buf []byte) error {
	if len(buf) == 0 {
		return errors.New("libvipstest: empty input")
	}
	r := C.libvipstest_load_any(unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)))
	runtime.KeepAlive(buf)
	if r != 0 {
		msg := C.GoString(C.vips_error_buffer())
		C.vips_error_clear()
		return errors.New("libvipstest: " + strings.TrimSpace(msg))
	}
	return nil
}
