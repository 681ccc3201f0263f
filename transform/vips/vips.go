package vips

/*
#cgo pkg-config: vips
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

var (
	// ErrUnsupportedFormat is returned by Save for format.Unknown, and by
	// Probe and Load for bytes that none of the allowed loaders (JPEG,
	// PNG, WebP, GIF, HEIF: AVIF and HEIC) recognises.
	ErrUnsupportedFormat = errors.New("vips: unsupported format")
	// ErrNotStarted is returned by Probe and Load before a successful
	// Startup: without it the loader block list is not in force.
	ErrNotStarted = errors.New("vips: Startup has not succeeded")
	// ErrClosed is returned by operations on a nil or closed *Image.
	ErrClosed = errors.New("vips: image is closed")
)

// Error is a failure reported by libvips.
type Error struct {
	Op  string // the binding's operation: "load", "resize", "jpegsave", …
	Msg string // libvips' message, on one line
}

func (e *Error) Error() string { return "vips: " + e.Op + ": " + e.Msg }

// maxErrorLen bounds Msg: libvips' buffer can collect many lines when
// several calls fail at once, and the text ends up in logs.
const maxErrorLen = 512

// lastError takes (and clears) libvips' error text for a failed op.
func lastError(op string) error {
	p := C.vips_error_buffer_copy()
	msg := C.GoString(p)
	C.g_free(C.gpointer(unsafe.Pointer(p)))
	return &Error{Op: op, Msg: oneLine(msg)}
}

// oneLine joins the non-empty lines of libvips' error text with "; ".
func oneLine(msg string) string {
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	s := strings.Join(parts, "; ")
	if s == "" {
		return "failed without a message"
	}
	if len(s) > maxErrorLen {
		cut := maxErrorLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

var startup struct {
	once sync.Once
	err  error
	ok   atomic.Bool
}

// Startup initialises libvips once per process; later calls do nothing and
// return the first call's result. It turns the operation cache off, blocks
// every loader except JPEG, PNG, WebP, GIF (libnsgif) and HEIF/AVIF, and
// sets the per-image thread count.
func Startup(cfg Config) error {
	startup.once.Do(func() {
		if err := cfg.Validate(); err != nil {
			startup.err = err
			return
		}
		if C.pictor_startup(C.int(cfg.Concurrency)) != 0 {
			startup.err = lastError("startup")
			return
		}
		startup.ok.Store(true)
	})
	return startup.err
}

func started() error {
	if !startup.ok.Load() {
		return ErrNotStarted
	}
	return nil
}

// Version is the libvips version in use, e.g. "8.14.1".
func Version() string {
	return fmt.Sprintf("%d.%d.%d", C.pictor_version(0), C.pictor_version(1), C.pictor_version(2))
}

// ReleaseMemory hands freed C heap pages back to the operating system
// (glibc malloc_trim). libvips frees pixel buffers promptly, but glibc keeps
// the pages in its per-thread arenas; call this after a burst of large
// images or before sampling RSS.
func ReleaseMemory() {
	C.pictor_release_memory()
}
