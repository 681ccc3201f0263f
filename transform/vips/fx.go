package vips

/*
#cgo LDFLAGS: -lm
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Rotate turns the image clockwise by 90, 180 or 270 degrees. It reads
// the image out of order: a streamed image must be in memory first.
func (im *Image) Rotate(degrees int) (*Image, error) {
	if degrees != 90 && degrees != 180 && degrees != 270 {
		return nil, &Error{Op: "rot", Msg: fmt.Sprintf("%d degrees is not 90, 180 or 270", degrees)}
	}
	return im.apply("rot", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_rot(in, out, C.int(degrees))
	})
}

// Flip mirrors the image left to right (horizontal) or top to bottom.
func (im *Image) Flip(horizontal bool) (*Image, error) {
	return im.apply("flip", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_flip(in, out, cbool(horizontal))
	})
}

// FindTrim returns the box inside the border that has the colour of the
// top-left pixel (within libvips' default threshold). It computes the
// image. A uniform image gives a zero-size box.
func (im *Image) FindTrim() (left, top, width, height int, err error) {
	if im == nil || im.p == nil {
		return 0, 0, 0, 0, ErrClosed
	}
	var l, t, w, h C.int
	r := C.pictor_find_trim(im.p, &l, &t, &w, &h)
	runtime.KeepAlive(im)
	if r != 0 {
		return 0, 0, 0, 0, lastError("find_trim")
	}
	return int(l), int(t), int(w), int(h), nil
}

// Pixelate replaces each block×block square by its average, keeping the
// size; block is clamped to the shorter side.
func (im *Image) Pixelate(block int) (*Image, error) {
	return im.apply("pixelate", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_pixelate(in, out, C.int(block))
	})
}

// Tone changes brightness, contrast and saturation, each -100..100 with
// 0 for none, on 8-bit images; alpha is kept.
func (im *Image) Tone(brightness, contrast, saturation int) (*Image, error) {
	for _, v := range []int{brightness, contrast, saturation} {
		if v < -100 || v > 100 {
			return nil, &Error{Op: "tone", Msg: fmt.Sprintf("level %d outside -100..100", v)}
		}
	}
	return im.apply("tone", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_tone(in, out, C.int(brightness), C.int(contrast), C.int(saturation))
	})
}

// Round makes the corners transparent outside quarter ellipses of radii
// rx, ry (clamped to half the width and height, which gives the largest
// ellipse). The result has alpha.
func (im *Image) Round(rx, ry int) (*Image, error) {
	return im.apply("round", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_round(in, out, C.int(rx), C.int(ry))
	})
}

// BlurPad places the image at left, top on a width×height canvas made of
// the image itself scaled to cover it and blurred with sigma.
func (im *Image) BlurPad(left, top, width, height int, sigma float64) (*Image, error) {
	if err := checkSize("blur_pad", width, height); err != nil {
		return nil, err
	}
	if !positive(sigma) {
		return nil, &Error{Op: "blur_pad", Msg: fmt.Sprintf("sigma %g is not positive and finite", sigma)}
	}
	return im.apply("blur_pad", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_blur_pad(in, out, C.int(left), C.int(top), C.int(width), C.int(height), C.double(sigma))
	})
}

// Composite draws overlay over the image at left, top with the "over"
// operator; the result has the image's size, in sRGB (a grey base comes
// back in colour), with alpha only if the image had it.
func (im *Image) Composite(overlay *Image, left, top int) (*Image, error) {
	if overlay == nil || overlay.p == nil {
		return nil, ErrClosed
	}
	defer runtime.KeepAlive(overlay)
	return im.apply("composite", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_composite(in, overlay.p, out, C.int(left), C.int(top))
	})
}

// Opacity scales the alpha by percent/100, adding an opaque alpha first
// when there is none: the result always has alpha.
func (im *Image) Opacity(percent int) (*Image, error) {
	if percent < 0 || percent > 100 {
		return nil, &Error{Op: "opacity", Msg: fmt.Sprintf("%d%% outside 0..100", percent)}
	}
	return im.apply("opacity", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_opacity(in, out, C.int(percent))
	})
}

// Tile repeats the image over width×height, from the top-left corner.
func (im *Image) Tile(width, height int) (*Image, error) {
	if err := checkSize("tile", width, height); err != nil {
		return nil, err
	}
	return im.apply("tile", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_tile(in, out, C.int(width), C.int(height))
	})
}

// Text renders text, plain UTF-8 with no markup (it is escaped), in the
// fontconfig family font at size pixels, wrapped at wrapAt pixels, as an
// sRGB image of colour c whose alpha is the glyphs' coverage.
func Text(text, font string, size, wrapAt int, c Color) (*Image, error) {
	if err := started(); err != nil {
		return nil, err
	}
	if size < 1 || wrapAt < 1 {
		return nil, &Error{Op: "text", Msg: fmt.Sprintf("size %d, wrap %d: want >= 1", size, wrapAt)}
	}
	ct, cf := C.CString(text), C.CString(font)
	defer C.free(unsafe.Pointer(ct))
	defer C.free(unsafe.Pointer(cf))
	var out *C.VipsImage
	if C.pictor_text(&out, ct, cf, C.int(size), C.int(wrapAt), C.int(c.R), C.int(c.G), C.int(c.B)) != 0 {
		return nil, lastError("text")
	}
	return wrap(out), nil
}
