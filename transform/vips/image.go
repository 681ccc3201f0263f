package vips

/*
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"github.com/pictorhq/pictor/transform/format"
	"math"
	"runtime"
	"unsafe"
)

// LoadOptions asks the decoder for a smaller image than the one stored,
// which is far cheaper than decoding in full and resizing afterwards.
type LoadOptions struct {
	// Shrink is the JPEG shrink-on-load factor: 1, 2, 4 or 8 (0 means 1).
	// The result is floor(width/Shrink) × floor(height/Shrink): libjpeg
	// scales in the DCT and rounds up, and libvips 8.14 crops that to the
	// floor. Load halves Shrink as needed to keep both sides at least one
	// pixel. Ignored for other formats.
	Shrink int
	// Scale is the WebP scale-on-load factor, 0 < Scale <= 1 (0 means 1).
	// Sides are rounded to the nearest pixel; Load raises Scale as needed
	// to keep both at least one pixel. Ignored for other formats.
	Scale float64
	// Sequential decodes top to bottom as the pipeline asks for lines,
	// never holding the whole image: far less memory and, for PNG, about a
	// third of the CPU (no full-size buffer to fill and fault in). Every
	// operation downstream must then read top to bottom, once: a rotation
	// or a second pass (smart crop, a wide blur) needs the image in memory
	// first (CopyMemory) or a random-access load.
	Sequential bool
	// Borrow reads buf in place instead of copying it. buf must be memory
	// outside the Go heap (cgo forbids C keeping Go pointers), such as a
	// memory-mapped file, and must stay mapped and unchanged until every
	// image derived from this one is closed.
	Borrow bool
	// Probed is what Probe read from these same bytes. Given, Load trusts
	// it: the loader comes from its format and Shrink and Scale are
	// clamped with its size, where otherwise the bytes would be sniffed,
	// checked and their header read again before the load reads it once
	// more (three header parses of one JPEG per variant).
	Probed *Header
	// Page is the first frame of an animated GIF or WebP to load, from 0,
	// and Pages how many: 0 means 1, -1 all from Page on. Several frames
	// come stacked top to bottom in one tall image (see Animation). Other
	// formats ignore both.
	Page, Pages int
}

// kind is load.c's loader number for f (see pictor_load); 0 sniffs.
func kind(f format.Format) C.int {
	switch f {
	case format.JPEG:
		return 1
	case format.PNG:
		return 2
	case format.WebP:
		return 3
	case format.GIF:
		return 4
	case format.AVIF, format.HEIC:
		return 5 // heifload reads both
	}
	return 0
}

// clamp keeps shrink- and scale-on-load from taking a side of a w×h image
// below one pixel, as load.c's pictor_clamp_reduction does when it reads
// the size itself.
func clamp(w, h, shrink int, scale float64) (int, float64) {
	shortest := min(w, h)
	for shrink > 1 && shortest/shrink < 1 {
		shrink /= 2
	}
	if shortest > 0 && scale*float64(shortest) < 1 {
		scale = 1 / float64(shortest)
	}
	return shrink, scale
}

func (o LoadOptions) normalise() (shrink int, scale float64, err error) {
	shrink, scale = o.Shrink, o.Scale
	switch shrink {
	case 0:
		shrink = 1
	case 1, 2, 4, 8:
	default:
		return 0, 0, &Error{Op: "load", Msg: fmt.Sprintf("shrink %d is not 1, 2, 4 or 8", o.Shrink)}
	}
	if scale == 0 {
		scale = 1
	}
	if o.Page < 0 || o.Pages < -1 {
		return 0, 0, &Error{Op: "load", Msg: fmt.Sprintf("page %d, pages %d: negative", o.Page, o.Pages)}
	}
	if !(scale > 0 && scale <= 1) {
		return 0, 0, &Error{Op: "load", Msg: fmt.Sprintf("scale %g outside (0, 1]", o.Scale)}
	}
	return shrink, scale, nil
}

// Image is a libvips image: a lazily evaluated node in a pipeline. The
// zero value and nil are closed images.
type Image struct {
	p       *C.VipsImage
	cleanup runtime.Cleanup
}

// wrap takes ownership of one reference to p. The cleanup is a safety net
// for an Image lost on an error path; Close is still required, because
// the Go heap does not see the C memory an image holds and so would not
// collect it soon enough.
func wrap(p *C.VipsImage) *Image {
	im := &Image{p: p}
	im.cleanup = runtime.AddCleanup(im, func(p *C.VipsImage) { C.pictor_unref(p) }, p)
	return im
}

// Load opens an image from memory. Unless o.Borrow, buf is copied into C
// memory owned by the image (freed when the last image derived from it is
// closed), so the caller may reuse buf at once. Only the header is read
// here; pixels are decoded the first time an operation downstream needs
// them (all at once into memory, or as they stream with o.Sequential), and
// a corrupt file fails then rather than yielding garbage. One frame is
// loaded, the first unless o says otherwise.
func Load(buf []byte, o LoadOptions) (*Image, error) {
	if err := started(); err != nil {
		return nil, err
	}
	shrink, scale, err := o.normalise()
	if err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		return nil, &Error{Op: "load", Msg: "empty input"}
	}
	var k C.int
	if h := o.Probed; h != nil {
		if k = kind(h.Format); k == 0 {
			return nil, ErrUnsupportedFormat
		}
		shrink, scale = clamp(h.Width, h.Height, shrink, scale)
	}
	pages := o.Pages
	if pages == 0 {
		pages = 1
	}
	var out *C.VipsImage
	switch C.pictor_load(unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)), k, C.int(shrink), C.double(scale),
		C.int(o.Page), C.int(pages), cbool(o.Sequential), cbool(o.Borrow), &out) {
	case 0:
		return wrap(out), nil
	case C.PICTOR_UNSUPPORTED:
		return nil, ErrUnsupportedFormat
	default:
		return nil, lastError("load")
	}
}

// Close drops this Image's reference. Images derived from it keep what
// they need alive. Safe to call twice and on nil; not safe concurrently
// with other methods on the same Image.
func (im *Image) Close() {
	if im == nil || im.p == nil {
		return
	}
	im.cleanup.Stop()
	C.pictor_unref(im.p)
	im.p = nil
}

// Width is the width in pixels, 0 when closed.
func (im *Image) Width() int {
	if im == nil || im.p == nil {
		return 0
	}
	defer runtime.KeepAlive(im)
	return int(C.pictor_width(im.p))
}

// Height is the height in pixels, 0 when closed.
func (im *Image) Height() int {
	if im == nil || im.p == nil {
		return 0
	}
	defer runtime.KeepAlive(im)
	return int(C.pictor_height(im.p))
}

// Bands is the number of bands, alpha included; 0 when closed.
func (im *Image) Bands() int {
	if im == nil || im.p == nil {
		return 0
	}
	defer runtime.KeepAlive(im)
	return int(C.pictor_bands(im.p))
}

// HasAlpha reports whether the last band is alpha.
func (im *Image) HasAlpha() bool {
	if im == nil || im.p == nil {
		return false
	}
	defer runtime.KeepAlive(im)
	return C.pictor_has_alpha(im.p) != 0
}

// Orientation is the EXIF orientation, 1..8; 1 when absent, out of range
// or closed.
func (im *Image) Orientation() int {
	if im == nil || im.p == nil {
		return 1
	}
	defer runtime.KeepAlive(im)
	return int(C.pictor_orientation(im.p))
}

// BandFormat is libvips' name for the sample type: "uchar", "ushort",
// "float", …; "" when closed.
func (im *Image) BandFormat() string {
	if im == nil || im.p == nil {
		return ""
	}
	defer runtime.KeepAlive(im)
	return C.GoString(C.pictor_format_nick(im.p))
}

// Interpretation is libvips' name for the colour space: "srgb", "b-w",
// "cmyk", …; "" when closed.
func (im *Image) Interpretation() string {
	if im == nil || im.p == nil {
		return ""
	}
	defer runtime.KeepAlive(im)
	return C.GoString(C.pictor_interpretation_nick(im.p))
}

// apply runs a one-input libvips wrapper and wraps its output.
func (im *Image) apply(op string, f func(in *C.VipsImage, out **C.VipsImage) C.int) (*Image, error) {
	if im == nil || im.p == nil {
		return nil, ErrClosed
	}
	var out *C.VipsImage
	r := f(im.p, &out)
	runtime.KeepAlive(im)
	if r != 0 {
		return nil, lastError(op)
	}
	return wrap(out), nil
}

// AutoRotate applies the EXIF orientation to the pixels; the result has no
// orientation tag.
func (im *Image) AutoRotate() (*Image, error) {
	return im.apply("autorot", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_autorot(in, out)
	})
}

// ToSRGB converts to 8-bit sRGB: 3 bands, or 4 when the image has alpha
// (alpha scaled to 0..255). An embedded ICC profile is honoured (perceptual
// intent) when it fits the pixels; otherwise libvips' built-in conversions
// apply (CMYK, LAB, grey, 16-bit, float).
func (im *Image) ToSRGB() (*Image, error) {
	return im.apply("to_srgb", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_to_srgb(in, out)
	})
}

// Resize scales by hscale horizontally and vscale vertically with a
// Lanczos3 kernel. Images with alpha are resampled premultiplied.
func (im *Image) Resize(hscale, vscale float64) (*Image, error) {
	if !positive(hscale) || !positive(vscale) {
		return nil, &Error{Op: "resize", Msg: fmt.Sprintf("scale %g×%g is not positive and finite", hscale, vscale)}
	}
	return im.apply("resize", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_resize(in, out, C.double(hscale), C.double(vscale))
	})
}

// ExtractArea cuts out a rectangle, which must lie inside the image.
func (im *Image) ExtractArea(left, top, width, height int) (*Image, error) {
	if err := checkSize("extract_area", width, height); err != nil {
		return nil, err
	}
	return im.apply("extract_area", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_extract_area(in, out, C.int(left), C.int(top), C.int(width), C.int(height))
	})
}

// Shrink averages factor×factor blocks into one pixel (a box filter):
// floor(width/factor) × floor(height/factor). It is how much cheaper than a
// Lanczos3 resize over the same ratio, and what a JPEG decoder's DCT
// scaling approximates.
func (im *Image) Shrink(factor int) (*Image, error) {
	if factor < 1 || im.Width()/factor < 1 || im.Height()/factor < 1 {
		return nil, &Error{Op: "shrink", Msg: fmt.Sprintf("factor %d for %d×%d", factor, im.Width(), im.Height())}
	}
	return im.apply("shrink", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_shrink(in, out, C.int(factor))
	})
}

// SmartCrop cuts width×height (no larger than the image) around the
// region libvips' attention model finds most interesting.
func (im *Image) SmartCrop(width, height int) (*Image, error) {
	if err := checkSize("smartcrop", width, height); err != nil {
		return nil, err
	}
	return im.apply("smartcrop", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_smartcrop(in, out, C.int(width), C.int(height))
	})
}

// Embed places the image at left, top on a width×height canvas filled
// with bg; an alpha band is filled opaque. Grey images get bg's luma.
func (im *Image) Embed(left, top, width, height int, bg Color) (*Image, error) {
	if err := checkSize("embed", width, height); err != nil {
		return nil, err
	}
	return im.apply("embed", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_embed(in, out, C.int(left), C.int(top), C.int(width), C.int(height),
			C.int(bg.R), C.int(bg.G), C.int(bg.B))
	})
}

// Flatten composes the image over bg and drops alpha; without alpha it
// returns a plain copy.
func (im *Image) Flatten(bg Color) (*Image, error) {
	return im.apply("flatten", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_flatten(in, out, C.int(bg.R), C.int(bg.G), C.int(bg.B))
	})
}

// GaussBlur blurs with a Gaussian of standard deviation sigma pixels.
func (im *Image) GaussBlur(sigma float64) (*Image, error) {
	if !positive(sigma) {
		return nil, &Error{Op: "gaussblur", Msg: fmt.Sprintf("sigma %g is not positive and finite", sigma)}
	}
	return im.apply("gaussblur", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_gaussblur(in, out, C.double(sigma))
	})
}

// Sharpen applies libvips' default unsharp mask (on the L channel).
func (im *Image) Sharpen() (*Image, error) {
	return im.apply("sharpen", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_sharpen(in, out)
	})
}

// Grayscale converts to one grey band (plus alpha, which is kept).
func (im *Image) Grayscale() (*Image, error) {
	return im.apply("grayscale", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_grayscale(in, out)
	})
}

// Color is an 8-bit sRGB colour for backgrounds.
type Color struct{ R, G, B uint8 }

func positive(f float64) bool { return f > 0 && !math.IsInf(f, 1) }

// maxSide is libvips' VIPS_MAX_COORD; checking here keeps GLib from
// printing a property warning before libvips returns its error.
const maxSide = 10_000_000

func checkSize(op string, width, height int) error {
	if width < 1 || height < 1 || width > maxSide || height > maxSide {
		return &Error{Op: op, Msg: fmt.Sprintf("size %d×%d outside 1..%d", width, height, maxSide)}
	}
	return nil
}
