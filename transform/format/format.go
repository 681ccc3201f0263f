// Package format names the image formats Pictor accepts and produces, and
// recognises them by their magic bytes.
//
// Uploads are judged by their first bytes only, never by a file name or a
// Content-Type header: Sniff is the allowlist. Everything it does not
// recognise as JPEG, PNG, WebP, GIF, AVIF or HEIC is ErrUnsupported.
//
// Not every format goes both ways: HEIC is read (phones upload it) but
// never written (HEVC encoders are patent-encumbered and browsers other
// than Safari do not show it), and JPEG XL is written for the browsers that
// ask for it but not accepted as an original. Input and Output say which.
package format

import (
	"bytes"
	"errors"
	"strings"
)

// Format is an image format. The zero value, Unknown, means "not chosen" in
// options (keep the source's format) and "not recognised" from Sniff.
type Format uint8

const (
	Unknown Format = iota
	JPEG
	PNG
	WebP
	GIF
	AVIF
	HEIC
	JXL
)

// All lists the known formats in a fixed order.
var All = []Format{JPEG, PNG, WebP, GIF, AVIF, HEIC, JXL}

var (
	// ErrUnsupported is returned by Sniff for bytes that are not an allowed
	// image type (SVG, PDF, PSD, BMP, TIFF, JP2, HTML, …).
	ErrUnsupported = errors.New("format: unsupported image type")
	// ErrShort is returned by Sniff when fewer than SniffLen bytes are
	// available and the prefix matches no format.
	ErrShort = errors.New("format: too few bytes to recognise")
)

// SniffLen is how many leading bytes Sniff needs to decide: enough for the
// ISO-BMFF ftyp box with a handful of compatible brands.
const SniffLen = 64

var info = [...]struct {
	name, ext, mime string
}{
	Unknown: {"", "", "application/octet-stream"},
	JPEG:    {"jpeg", "jpg", "image/jpeg"},
	PNG:     {"png", "png", "image/png"},
	WebP:    {"webp", "webp", "image/webp"},
	GIF:     {"gif", "gif", "image/gif"},
	AVIF:    {"avif", "avif", "image/avif"},
	HEIC:    {"heic", "heic", "image/heic"},
	JXL:     {"jxl", "jxl", "image/jxl"},
}

func (f Format) valid() bool { return int(f) < len(info) }

// Input reports whether originals may be in f: whether Sniff admits it and
// keys may carry its extension.
func (f Format) Input() bool { return f != Unknown && f != JXL && f.valid() }

// Output reports whether variants may be encoded as f: whether f_ names it.
func (f Format) Output() bool { return f != Unknown && f != HEIC && f.valid() }

// String is the name: "jpeg", "png", "webp", "gif", "avif", "heic", "jxl".
func (f Format) String() string {
	if !f.valid() {
		return ""
	}
	return info[f].name
}

// Ext is the file extension used in keys, without the dot.
func (f Format) Ext() string {
	if !f.valid() {
		return ""
	}
	return info[f].ext
}

// ContentType is the MIME type for responses.
func (f Format) ContentType() string {
	if !f.valid() {
		return info[Unknown].mime
	}
	return info[f].mime
}

// Parse returns the output format for an option value ("jpeg", "jpg",
// "png", …, "jxl"); HEIC, which is never written, is not one.
func Parse(name string) (Format, bool) {
	if name == "jpg" {
		return JPEG, true
	}
	for _, f := range All {
		if f.Output() && info[f].name == name {
			return f, true
		}
	}
	return Unknown, false
}

// FromExt returns the format for a file extension ("jpg", "png", …): an
// original's key (see Input) or a cached variant's file.
func FromExt(ext string) (Format, bool) {
	for _, f := range All {
		if info[f].ext == ext {
			return f, true
		}
	}
	return Unknown, false
}

// FromKey returns the format of an original from its key's extension
// ("<digest>.jpg"); false when the key has no known extension.
func FromKey(key string) (Format, bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return Unknown, false
	}
	return FromExt(key[i+1:])
}

// Sniff recognises an allowed image format from the first bytes of a file.
// Only the first SniffLen bytes decide, however many are given, so that a
// caller holding the whole file and the upload path holding its head agree.
// A shorter prefix that matches nothing yields ErrShort when more bytes
// could still change the answer; ErrUnsupported and a format are final.
func Sniff(head []byte) (Format, error) {
	head = head[:min(len(head), SniffLen)]
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return JPEG, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case len(head) >= 6 && (bytes.HasPrefix(head, []byte("GIF87a")) || bytes.HasPrefix(head, []byte("GIF89a"))):
		return GIF, nil
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return WebP, nil
	case len(head) >= 12 && bytes.Equal(head[4:8], []byte("ftyp")):
		return sniffFtyp(head)
	}
	if len(head) < 12 {
		return Unknown, ErrShort
	}
	return Unknown, ErrUnsupported
}

// sniffFtyp reads an ISO-BMFF ftyp box: the major brand and the compatible
// brands that fit in head, in that order; the first that names a format
// decides. AVIF files say "avif" (still) or "avis" (sequence); HEIC files
// (HEVC in HEIF, what phones write) say "heic", "heix" (10-bit), "heim" or
// "heis" (multi-layer) or, for sequences, "hevc" or "hevx". "mif1" alone
// says only that the file is HEIF, not which codec is inside, and is
// refused. A box that goes on past a head shorter than SniffLen may still
// name a brand in the bytes not yet seen, so that is ErrShort rather than a
// refusal.
func sniffFtyp(head []byte) (Format, error) {
	size := int(head[0])<<24 | int(head[1])<<16 | int(head[2])<<8 | int(head[3])
	if size < 16 || size > 4096 {
		return Unknown, ErrUnsupported
	}
	end := min(size, len(head))
	if f := brand(head[8:12]); f != Unknown {
		return f, nil
	}
	// head[12:16] is the minor version; compatible brands follow.
	for i := 16; i+4 <= end; i += 4 {
		if f := brand(head[i : i+4]); f != Unknown {
			return f, nil
		}
	}
	if end < size && len(head) < SniffLen {
		return Unknown, ErrShort
	}
	return Unknown, ErrUnsupported
}

// brand is the format an ISO-BMFF brand names, Unknown for any other.
func brand(b []byte) Format {
	switch string(b) {
	case "avif", "avis":
		return AVIF
	case "heic", "heix", "heim", "heis", "hevc", "hevx":
		return HEIC
	}
	return Unknown
}
