package vips

/*
#include "bridge.h"
*/
import "C"

import (
	"strings"
	"unsafe"

	"github.com/pictorhq/pictor/transform/format"
)

// Header is what an image says about itself before any pixel is decoded.
type Header struct {
	Width, Height int           // as stored, before EXIF orientation is applied
	Bands         int           // including alpha
	Format        format.Format // from the loader that recognised the bytes
	HasAlpha      bool
	Orientation   int  // EXIF orientation 1..8; 1 when absent or out of range
	HasICC        bool // an embedded ICC profile is present
	Pages         int  // frames ("n-pages"); 1 for stills
	// Interlaced: a progressive JPEG, an Adam7 PNG or an interlaced GIF,
	// which the decoder must hold whole (at full size, whatever the
	// shrink) before the first row comes out.
	Interlaced     bool
	BandBytes      int    // bytes a sample: 1 for 8-bit, 2 for 16-bit
	Interpretation string // libvips' nick: "srgb", "b-w", "cmyk", "rgb16", …
	// EXIF holds the selected tags that are present, keyed "make",
	// "model", "datetime_original", "software" and "lens_model"; nil when
	// none is.
	EXIF map[string]string
}

// exifKeys names Header.EXIF entries in the order of pictor_exif_fields.
var exifKeys = [C.PICTOR_EXIF_N]string{"make", "model", "datetime_original", "software", "lens_model"}

// Probe reads the header of an image in memory. It never decodes pixels,
// so it is cheap even for a 50-megapixel original and is the place to
// enforce a pixel limit. buf is only borrowed for the call.
func Probe(buf []byte) (Header, error) {
	if err := started(); err != nil {
		return Header{}, err
	}
	if len(buf) == 0 {
		return Header{}, &Error{Op: "probe", Msg: "empty input"}
	}
	var h C.PictorHeader
	r := C.pictor_probe_memory(unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)), &h)
	return headerResult("probe", r, &h)
}

// ProbeFile is Probe for an image on disk; it reads only as much of the
// file as the header needs.
func ProbeFile(path string) (Header, error) {
	if err := started(); err != nil {
		return Header{}, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var h C.PictorHeader
	r := C.pictor_probe_file(cpath, &h)
	return headerResult("probe", r, &h)
}

func headerResult(op string, r C.int, h *C.PictorHeader) (Header, error) {
	switch r {
	case 0:
	case C.PICTOR_UNSUPPORTED:
		return Header{}, ErrUnsupportedFormat
	default:
		return Header{}, lastError(op)
	}
	out := Header{
		Width:          int(h.width),
		Height:         int(h.height),
		Bands:          int(h.bands),
		Format:         formatOf(C.GoString(&h.loader[0])),
		HasAlpha:       h.has_alpha != 0,
		Orientation:    int(h.orientation),
		HasICC:         h.has_icc != 0,
		Pages:          max(int(h.pages), 1),
		Interlaced:     h.interlaced != 0,
		BandBytes:      max(int(h.band_bytes), 1),
		Interpretation: C.GoString(&h.interpretation[0]),
	}
	for i, key := range exifKeys {
		v := exifValue(C.GoString(&h.exif[i][0]))
		if v == "" {
			continue
		}
		if out.EXIF == nil {
			out.EXIF = make(map[string]string, len(exifKeys))
		}
		out.EXIF[key] = v
	}
	return out, nil
}

// formatOf maps a loader nickname ("jpegload_source", …) to its format.
// heifload also opens HEIC, but Pictor's sniffer only admits AVIF, and AVIF
// is what a HEIF container holds here.
func formatOf(loader string) format.Format {
	for _, l := range [...]struct {
		prefix string
		f      format.Format
	}{
		{"jpegload", format.JPEG},
		{"pngload", format.PNG},
		{"webpload", format.WebP},
		{"gifload", format.GIF},
		{"heifload", format.AVIF},
	} {
		if strings.HasPrefix(loader, l.prefix) {
			return l.f
		}
	}
	return format.Unknown
}

// exifValue strips the description libvips appends to every EXIF field:
// it stores `<value> (<text>, <type>, <n> components, <m> bytes)`, where
// <text> is libexif's rendering of the same value. The value itself may
// contain " (", so the split is the first " (" whose remainder starts
// with the value again; failing that, the last one.
func exifValue(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasSuffix(s, " bytes)") {
		return s
	}
	for i := 0; ; {
		j := strings.Index(s[i:], " (")
		if j < 0 {
			break
		}
		i += j
		if v := s[:i]; strings.HasPrefix(s[i+2:], v+", ") || strings.HasPrefix(s[i+2:], strings.TrimSpace(v)+", ") {
			return strings.TrimSpace(v)
		}
		i += 2
	}
	if i := strings.LastIndex(s, " ("); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}
