package vips

/*
#include "raw.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// WritePixels computes im and writes its samples into dst: rows top to
// bottom, bands interleaved, Width × Height × Bands samples of the band
// format's size. dst may be Go or C memory (a pinned buffer a GPU copies
// from); it must be exactly that long.
func (im *Image) WritePixels(dst []byte) error {
	if im == nil || im.p == nil {
		return ErrClosed
	}
	if len(dst) == 0 {
		return &Error{Op: "write_pixels", Msg: "empty buffer"}
	}
	r := C.pictor_write_pixels(im.p, unsafe.Pointer(unsafe.SliceData(dst)), C.size_t(len(dst)))
	runtime.KeepAlive(im)
	runtime.KeepAlive(dst)
	if r != 0 {
		return lastError("write_pixels")
	}
	return nil
}

// FromPixels makes a uchar image from samples laid out as WritePixels
// writes them; pix is copied. like, when not nil, gives the new image its
// interpretation, resolution and metadata, as an operation on like would:
// a resize done outside libvips returns an image the rest of the pipeline
// treats exactly like vips_resize's. Without like, 1 and 2 bands are grey
// and 3 and 4 are sRGB.
func FromPixels(pix []byte, width, height, bands int, like *Image) (*Image, error) {
	if err := checkSize("from_pixels", width, height); err != nil {
		return nil, err
	}
	if bands < 1 || bands > 4 {
		return nil, &Error{Op: "from_pixels", Msg: fmt.Sprintf("%d bands, want 1..4", bands)}
	}
	if want := width * height * bands; len(pix) != want {
		return nil, &Error{Op: "from_pixels", Msg: fmt.Sprintf("%d bytes for %d×%d×%d", len(pix), width, height, bands)}
	}
	var lp *C.VipsImage
	if like != nil {
		if like.p == nil {
			return nil, ErrClosed
		}
		lp = like.p
	}
	var out *C.VipsImage
	r := C.pictor_from_pixels(unsafe.Pointer(unsafe.SliceData(pix)), C.size_t(len(pix)),
		C.int(width), C.int(height), C.int(bands), lp, &out)
	runtime.KeepAlive(like)
	runtime.KeepAlive(pix)
	if r != 0 {
		return nil, lastError("from_pixels")
	}
	return wrap(out), nil
}

// TileSize is the size of the regions a sink (Save, WritePixels,
// CopyMemory) computes im in. libvips' reducev and reduceh compute each
// sampling position by addition from the start of the region being
// computed, so their last bits, and at rare positions a pixel, depend on
// it; a reimplementation that must match them byte for byte needs it.
func (im *Image) TileSize() (width, height int) {
	if im == nil || im.p == nil {
		return 0, 0
	}
	var w, h C.int
	C.pictor_tile_size(im.p, &w, &h)
	runtime.KeepAlive(im)
	return int(w), int(h)
}
