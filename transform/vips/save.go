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
	// AVIF 60). GIF and PNG ignore it.
	Quality int
	// Progressive makes JPEG progressive and PNG Adam7-interlaced.
	Progressive bool
}

// Default qualities: 80 is where JPEG and WebP artefacts stop being visible
// on photos at 1× for most viewers; AV1 at 60 matches that perceptually at
// a smaller size.
const (
	defaultJPEGQuality = 80
	defaultWebPQuality = 80
	defaultAVIFQuality = 60
)

// avifEffort is libvips' heifsave "effort" (0 fastest … 9 slowest; aom's
// cpu-used is 9 - effort). Measured with `vips heifsave` on this project's
// Debian VM (AMD EPYC), pinned to one core, encoding a 1200×800 photo at
// Q 60: effort 0: 0.21 s, 1: 0.27 s, 2: 0.53 s, 3: 1.09 s, 4 (libvips'
// default): 2.6 s, with output sizes within 3% of each other. Effort 1
// keeps a 1200-pixel square near 0.4 s, well under a second;
// BenchmarkSave/avif (taskset -c 0) gives 0.26 s for the 1200×800 case.
const avifEffort = 1

// Save encodes the image with all metadata stripped (EXIF, XMP, IPTC, ICC)
// and returns the bytes in Go memory. This is where the pipeline's pixels
// are computed, so decode errors surface here. A JPEG of an image with alpha
// is flattened onto white; callers wanting another colour Flatten first.
func (im *Image) Save(o SaveOptions) ([]byte, error) {
	if im == nil || im.p == nil {
		return nil, ErrClosed
	}
	if o.Quality < 0 || o.Quality > 100 {
		return nil, &Error{Op: "save", Msg: fmt.Sprintf("quality %d outside 1..100", o.Quality)}
	}
	var (
		buf unsafe.Pointer
		n   C.size_t
		r   C.int
		op  string
	)
	switch o.Format {
	case format.JPEG:
		op = "jpegsave"
		r = C.pictor_jpegsave(im.p, &buf, &n, C.int(quality(o.Quality, defaultJPEGQuality)), cbool(o.Progressive))
	case format.PNG:
		op = "pngsave"
		r = C.pictor_pngsave(im.p, &buf, &n, cbool(o.Progressive))
	case format.WebP:
		op = "webpsave"
		r = C.pictor_webpsave(im.p, &buf, &n, C.int(quality(o.Quality, defaultWebPQuality)))
	case format.AVIF:
		op = "avifsave"
		r = C.pictor_avifsave(im.p, &buf, &n, C.int(quality(o.Quality, defaultAVIFQuality)), avifEffort)
	case format.GIF:
		op = "gifsave"
		r = C.pictor_gifsave(im.p, &buf, &n)
	default:
		return nil, ErrUnsupportedFormat
	}
	runtime.KeepAlive(im)
	if r != 0 {
		return nil, lastError(op)
	}
	defer C.g_free(C.gpointer(buf))
	out := C.GoBytes(buf, C.int(n))
	if o.Format == format.WebP {
		return stripWebP(out)
	}
	return out, nil
}

func quality(q, def int) int {
	if q == 0 {
		return def
	}
	return q
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
