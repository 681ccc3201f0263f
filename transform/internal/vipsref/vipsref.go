// Package vipsref runs libvips resizes that Pictor's pipeline does not,
// for tests only: the bare vips_resize on every band alike (Straight), the
// oracle of the resample package's band-by-band arithmetic, and the float
// premultiplied path pictor_resize took before it resampled in uchar
// (Float), the baseline the 8-bit path's quality and speed are measured
// against. Keeping them here keeps them out of the production vips
// binding; cgo cannot live in _test.go files. Callers start libvips with
// vips.Startup first.
package vipsref

/*
#cgo pkg-config: vips
#include "vipsref.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// Path is how a resize treats alpha.
type Path int

const (
	// Straight is vips_resize with Lanczos3, every band resampled alike.
	Straight Path = C.VIPSREF_STRAIGHT
	// Float is, for images with alpha, vips_premultiply (float out),
	// vips_resize in float, vips_unpremultiply and a cast (truncating) to
	// uchar; Straight for the others.
	Float Path = C.VIPSREF_FLOAT
)

// Result is a resized image's samples (rows top to bottom, bands
// interleaved) and the region size libvips computed it in.
type Result struct {
	Pix                   []byte
	Width, Height         int
	TileWidth, TileHeight int
}

// Resize resamples the uchar image pix (width × height × bands, grey for
// 1 and 2 bands, sRGB for 3 and 4) by hscale × vscale along path.
func Resize(pix []byte, width, height, bands int, hscale, vscale float64, path Path) (Result, error) {
	if len(pix) != width*height*bands || len(pix) == 0 {
		return Result{}, fmt.Errorf("vipsref: %d bytes for %d×%d×%d", len(pix), width, height, bands)
	}
	if !(hscale > 0 && vscale > 0) || math.IsInf(hscale, 0) || math.IsInf(vscale, 0) {
		return Result{}, fmt.Errorf("vipsref: scale %g×%g", hscale, vscale)
	}
	var out *C.VipsImage
	r := C.vipsref_resize(unsafe.Pointer(unsafe.SliceData(pix)), C.size_t(len(pix)),
		C.int(width), C.int(height), C.int(bands), C.int(path), C.double(hscale), C.double(vscale), &out)
	runtime.KeepAlive(pix)
	if r != 0 {
		return Result{}, lastError()
	}
	defer C.g_object_unref(C.gpointer(out))
	res := Result{Width: int(out.Xsize), Height: int(out.Ysize)}
	res.Pix = make([]byte, res.Width*res.Height*int(out.Bands))
	var tw, th C.int
	r = C.vipsref_write(out, unsafe.Pointer(unsafe.SliceData(res.Pix)), C.size_t(len(res.Pix)), &tw, &th)
	runtime.KeepAlive(res.Pix)
	if r != 0 {
		return Result{}, lastError()
	}
	res.TileWidth, res.TileHeight = int(tw), int(th)
	return res, nil
}

func lastError() error {
	msg := C.GoString(C.vips_error_buffer())
	C.vips_error_clear()
	return errors.New("vipsref: " + msg)
}
