package vips

/*
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/pictorhq/pictor/transform/format"
)

// SaveOptions chooses the encoder and its settings.
type SaveOptions struct {
	Format format.Format
	// Quality is 1..100; 0 means the format's default (JPEG 80, WebP 80,
	// AVIF 60, JPEG XL 75). GIF and PNG ignore it.
	Quality int
	// Progressive makes JPEG progressive and PNG Adam7-interlaced.
	Progressive bool
	// Background is what a JPEG shows where the image is transparent:
	// JPEG has no alpha, and dropping the band would show whatever colour
	// transparent pixels happen to hold. nil means white, what a browser
	// shows behind a transparent PNG on a default page. Formats with alpha
	// keep it and ignore Background.
	Background *Color
	// Animation, for GIF and WebP, saves the image as the frames it
	// describes (Animation.PageHeight must divide the height), with its
	// delays and loop count. nil, or another format, saves one still
	// image of whatever the pixels are.
	Animation *Animation
}

// white is the JPEG background when SaveOptions.Background is nil.
var white = Color{R: 255, G: 255, B: 255}

// encoder is how Save writes one format: libvips' saver and the settings
// Pictor fixes for it.
type encoder struct {
	op      string // the Error.Op of a failure
	saver   C.int  // PICTOR_SAVE_*
	quality int    // default for SaveOptions.Quality 0; 0: no quality setting
	effort  int    // libvips' effort: CPU spent to save bytes
}

// Default qualities: 80 is where JPEG and WebP artefacts stop being visible
// on photos at 1× for most viewers; AV1 at 60 matches that perceptually at
// a smaller size.
// JPEG XL's 75 is libvips' own default (Butteraugli distance about 2.3,
// libjxl's "visually lossless" is 1), which at the same look is about a
// tenth smaller than WebP at 80 on this project's sample photo.
const (
	defaultJPEGQuality = 80
	defaultWebPQuality = 80
	defaultAVIFQuality = 60
	defaultJXLQuality  = 75
)

// webpEffort is libvips' webpsave "effort" (0 fastest … 6 slowest),
// libvips' own default.
const webpEffort = 4

// avifEffort is libvips' heifsave "effort" (0 fastest … 9 slowest; aom's
// cpu-used is 9 - effort). Measured with `vips heifsave` on this project's
// Debian VM (AMD EPYC), pinned to one core, encoding a 1200×800 photo at
// Q 60: effort 0: 0.21 s, 1: 0.27 s, 2: 0.53 s, 3: 1.09 s, 4 (libvips'
// default): 2.6 s, with output sizes within 3% of each other. Effort 1
// keeps a 1200-pixel square near 0.4 s, well under a second;
// BenchmarkSave/avif (taskset -c 0) gives 0.26 s for the 1200×800 case.
const avifEffort = 1

// jxlEffort is libvips' jxlsave "effort" (3 fastest … 9 slowest in 8.14;
// default 7). Measured as for avifEffort on the 1200×800 sample.jpg at
// Q 75, one core: effort 4: 0.11 s and 11.2 KB, 5: 0.20 s, 6: 0.30 s,
// 7: 0.57 s, all within 3% in size; WebP at Q 80 is 0.06 s and 12.6 KB.
const jxlEffort = 4

// encoders is the table Save dispatches on; a format missing here is
// ErrUnsupportedFormat.
var encoders = map[format.Format]encoder{
	format.JPEG: {op: "jpegsave", saver: C.PICTOR_SAVE_JPEG, quality: defaultJPEGQuality},
	format.PNG:  {op: "pngsave", saver: C.PICTOR_SAVE_PNG},
	format.WebP: {op: "webpsave", saver: C.PICTOR_SAVE_WEBP, quality: defaultWebPQuality, effort: webpEffort},
	format.AVIF: {op: "avifsave", saver: C.PICTOR_SAVE_AVIF, quality: defaultAVIFQuality, effort: avifEffort},
	format.GIF:  {op: "gifsave", saver: C.PICTOR_SAVE_GIF},
	format.JXL:  {op: "jxlsave", saver: C.PICTOR_SAVE_JXL, quality: defaultJXLQuality, effort: jxlEffort},
}

// Save encodes the image with all metadata stripped (EXIF, XMP, IPTC, ICC)
// and returns the bytes in Go memory. This is where the pipeline's pixels
// are computed, so decode errors surface here. A JPEG of an image with
// alpha is flattened onto o.Background.
func (im *Image) Save(o SaveOptions) ([]byte, error) {
	if im == nil || im.p == nil {
		return nil, ErrClosed
	}
	if o.Quality < 0 || o.Quality > 100 {
		return nil, &Error{Op: "save", Msg: fmt.Sprintf("quality %d outside 1..100", o.Quality)}
	}
	enc, ok := encoders[o.Format]
	if !ok {
		return nil, ErrUnsupportedFormat
	}
	// src is what gets encoded: im, or im flattened, which holds libvips
	// references to im's pixels and so is the one to keep alive.
	src := im
	if o.Format == format.JPEG && im.HasAlpha() {
		bg := white
		if o.Background != nil {
			bg = *o.Background
		}
		flat, err := im.Flatten(bg)
		if err != nil {
			return nil, err
		}
		defer flat.Close()
		src = flat
	}
	q := o.Quality
	if q == 0 {
		q = enc.quality
	}
	opts := C.PictorSave{
		saver:     enc.saver,
		q:         C.int(q),
		effort:    C.int(enc.effort),
		interlace: cbool(o.Progressive),
	}
	// opts is Go memory passed to C, so the delays it points to must be
	// pinned for the call (cgo's rule on Go pointers inside Go memory).
	var pin runtime.Pinner
	defer pin.Unpin()
	if a := o.Animation; a != nil && (o.Format == format.GIF || o.Format == format.WebP) {
		h := src.Height()
		if a.PageHeight < 1 || h%a.PageHeight != 0 {
			return nil, &Error{Op: enc.op, Msg: fmt.Sprintf("page height %d does not divide %d", a.PageHeight, h)}
		}
		if a.Loop < 0 {
			return nil, &Error{Op: enc.op, Msg: fmt.Sprintf("loop %d is negative", a.Loop)}
		}
		opts.page_height = C.int(a.PageHeight)
		opts.loop = C.int(a.Loop)
		if len(a.Delays) > 0 {
			// One delay per frame: the savers read what is there.
			frames := h / a.PageHeight
			delays := make([]C.int, frames)
			for i := range delays {
				delays[i] = C.int(a.Delays[min(i, len(a.Delays)-1)])
			}
			pin.Pin(&delays[0])
			opts.delays = &delays[0]
			opts.n_delays = C.int(frames)
		}
	}
	var (
		buf unsafe.Pointer
		n   C.size_t
	)
	r := C.pictor_save(src.p, &opts, &buf, &n)
	runtime.KeepAlive(src)
	if r != 0 {
		return nil, lastError(enc.op)
	}
	defer C.g_free(C.gpointer(buf))
	out := C.GoBytes(buf, C.int(n))
	if o.Format == format.WebP {
		return stripWebP(out)
	}
	return out, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// jpegBoth encodes im as JPEG twice, with libjpeg directly (what Save
// uses for uchar sRGB and grey) and with libvips' saver, for the tests
// that hold the two to the same bytes. direct is nil where Save would not
// take that path.
func (im *Image) jpegBoth(q int, progressive bool) (direct, libvips []byte, err error) {
	if C.pictor_jpegsave_takes(im.p) != 0 {
		if direct, err = im.jpegWith(true, q, progressive); err != nil {
			return nil, nil, err
		}
	}
	libvips, err = im.jpegWith(false, q, progressive)
	return direct, libvips, err
}

func (im *Image) jpegWith(direct bool, q int, progressive bool) ([]byte, error) {
	var (
		buf unsafe.Pointer
		n   C.size_t
		r   C.int
	)
	if direct {
		r = C.pictor_jpegsave(im.p, C.int(q), cbool(progressive), &buf, &n)
	} else {
		r = C.pictor_jpegsave_libvips(im.p, C.int(q), cbool(progressive), &buf, &n)
	}
	runtime.KeepAlive(im)
	if r != 0 {
		return nil, lastError("jpegsave")
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}
