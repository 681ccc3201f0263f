package vips

/*
#cgo pkg-config: libpng
#cgo LDFLAGS: -ljpeg
#include "resample.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Axis is one axis of a Plan: transform/internal/resample's Axis, the
// box pre-shrink and the Lanczos3 reduce with their tables.
type Axis struct {
	Shrink, Shrunk, Out, Points int
	Start, Phase                []int32
	Fixed                       []int16 // the vertical reduce's 2.6 weights
	Int                         []int32 // the horizontal reduce's 12-bit weights
}

// Plan is a downscale the resize engine computes: transform/internal/
// resample's Plan, which the pipeline builds, for a Width × Height uchar
// image of Bands interleaved bands, the last one alpha when Alpha.
type Plan struct {
	Width, Height, Bands int
	Alpha                bool
	V, H                 Axis
}

// cplan is p with its tables pinned for one call.
func (p *Plan) cplan(pin *runtime.Pinner) *C.PictorPlan {
	axis := func(a *Axis) C.PictorAxis {
		c := C.PictorAxis{shrink: C.int(a.Shrink), shrunk: C.int(a.Shrunk), out: C.int(a.Out), points: C.int(a.Points)}
		if a.Points == 0 {
			return c
		}
		ptr := func(p unsafe.Pointer) unsafe.Pointer {
			if p != nil {
				pin.Pin(p)
			}
			return p
		}
		c.start = (*C.int32_t)(ptr(unsafe.Pointer(unsafe.SliceData(a.Start))))
		c.phase = (*C.int32_t)(ptr(unsafe.Pointer(unsafe.SliceData(a.Phase))))
		c.fixed = (*C.int16_t)(ptr(unsafe.Pointer(unsafe.SliceData(a.Fixed))))
		c.wint = (*C.int32_t)(ptr(unsafe.Pointer(unsafe.SliceData(a.Int))))
		return c
	}
	return &C.PictorPlan{width: C.int(p.Width), height: C.int(p.Height), bands: C.int(p.Bands),
		alpha: cbool(p.Alpha), v: axis(&p.V), h: axis(&p.H)}
}

// valid checks the table lengths the C side trusts.
func (p *Plan) valid() bool {
	ok := func(a *Axis, vertical bool) bool {
		if a.Points == 0 {
			return true
		}
		n := 65 * a.Points
		w := len(a.Int) >= n
		if vertical {
			w = len(a.Fixed) >= n
		}
		return len(a.Start) >= a.Out && len(a.Phase) >= a.Out && w
	}
	return ok(&p.V, true) && ok(&p.H, false)
}

// Resample computes p over im's pixels into a new image in memory, in the
// calling goroutine (no libvips worker threads), reading im top to bottom
// once: im may be decoded sequentially. The result takes im's
// interpretation and metadata.
func (im *Image) Resample(p *Plan) (*Image, error) {
	if im == nil || im.p == nil {
		return nil, ErrClosed
	}
	if !p.valid() {
		return nil, &Error{Op: "resample", Msg: "plan tables too short"}
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	var out *C.VipsImage
	r := C.pictor_resample_image(im.p, p.cplan(&pin), &out)
	runtime.KeepAlive(im)
	if r != 0 {
		return nil, lastError("resample")
	}
	return wrap(out), nil
}

// ResamplePNG decodes buf, a PNG, and computes p over its rows as they are
// inflated: no libvips loader, region or worker thread between them. It
// takes the PNGs whose decode the pipeline uses as it is (8-bit RGB, RGBA
// or palette, not interlaced; the caller checks the header) and decodes
// them with libpng's settings of libvips' own loader, so the rows are
// libvips'. like gives the result its interpretation and metadata. buf is
// read during the call only.
func ResamplePNG(buf []byte, p *Plan, like *Image) (*Image, error) {
	return resampleBytes("resample_png", buf, p, like, func(data unsafe.Pointer, n C.size_t, cp *C.PictorPlan, l *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_resample_png(data, n, cp, l, out)
	})
}

// ResampleJPEG is ResamplePNG for a JPEG (YCbCr or grey; the caller checks
// the header) decoded by libjpeg at 1/shrink as Load's Shrink does: a
// w×h original yields floor(w/shrink) × floor(h/shrink), shrink halved
// where a side would fall below a pixel.
func ResampleJPEG(buf []byte, w, h, shrink int, p *Plan, like *Image) (*Image, error) {
	shrink, _ = clamp(w, h, max(shrink, 1), 1)
	return resampleBytes("resample_jpeg", buf, p, like, func(data unsafe.Pointer, n C.size_t, cp *C.PictorPlan, l *C.VipsImage, out **C.VipsImage) C.int {
		return C.pictor_resample_jpeg(data, n, C.int(shrink), cp, l, out)
	})
}

func resampleBytes(op string, buf []byte, p *Plan, like *Image, f func(unsafe.Pointer, C.size_t, *C.PictorPlan, *C.VipsImage, **C.VipsImage) C.int) (*Image, error) {
	if err := started(); err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		return nil, &Error{Op: op, Msg: "empty input"}
	}
	if !p.valid() {
		return nil, &Error{Op: op, Msg: "plan tables too short"}
	}
	var l *C.VipsImage
	if like != nil {
		l = like.p
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	var out *C.VipsImage
	r := f(unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)), p.cplan(&pin), l, &out)
	runtime.KeepAlive(buf)
	runtime.KeepAlive(like)
	if r != 0 {
		return nil, lastError(op)
	}
	return wrap(out), nil
}

// DecodeJPEGEighth decodes buf at 1/8 scale with the decoder ResampleJPEG
// uses for that scale (jpegdc.c): width × height rounded up from the
// original's eighth, bands 3 (RGB) or 1 (grey), as libjpeg decodes it. An
// error means that decoder does not take the file (progressive,
// arithmetic, 4:2:2, CMYK, …) or gave up on it; ResampleJPEG then decodes
// with libjpeg. For tests and benchmarks.
func DecodeJPEGEighth(buf []byte, h Header) ([]byte, error) {
	bands := h.Bands
	if len(buf) == 0 || bands < 1 {
		return nil, &Error{Op: "jpeg_eighth", Msg: "empty input"}
	}
	w, ht := (h.Width+7)/8, (h.Height+7)/8
	pix := make([]byte, w*ht*bands)
	if C.pictor_jpeg_eighth(unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)),
		unsafe.Pointer(unsafe.SliceData(pix)), C.size_t(len(pix)), C.int(w*bands)) != 0 {
		return nil, &Error{Op: "jpeg_eighth", Msg: "not taken"}
	}
	return pix, nil
}
