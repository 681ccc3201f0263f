// Package format names the image formats Pictor accepts and produces, and
// recognises them by their magic bytes.
//
// Uploads are judged by their first bytes only, never by a file name or a
// Content-Type header: Sniff is the allowlist. Everything it does not
// recognise as JPEG, PNG, WebP, GIF or AVIF is ErrUnsupported.
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
)

// All lists the known formats in a fixed order.
var All = []Format{JPEG, PNG, WebP, GIF, AVIF}

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
}

func (f Format) valid() bool { return int(f) < len(info) }

// String is the option name: "jpeg", "png", "webp", "gif", "avif".
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

// Parse returns the format for an option value ("jpeg", "jpg", "png", …).
func Parse(name string) (Format, bool) {
	if name == "jpg" {
		return JPEG, true
	}
	for _, f := range All {
		if info[f].name == name {
			return f, true
		}
	}
	return Unknown, false
}

// FromExt returns the format for a key extension ("jpg", "png", …).
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
// brands that fit in head. AVIF files say "avif" (still) or "avis"
// (sequence) in one of them; plain HEIC ("heic", "mif1" alone) is not
// accepted because keys and responses only know AVIF. A box that goes on
// past a head shorter than SniffLen may still name avif in the bytes not
// yet seen, so that is ErrShort rather than a refusal.
func sniffFtyp(head []byte) (Format, error) {
	size := int(head[0])<<24 | int(head[1])<<16 | int(head[2])<<8 | int(head[3])
	if size < 16 || size > 4096 {
		return Unknown, ErrUnsupported
	}
	end := min(size, len(head))
	if isAVIFBrand(head[8:12]) {
		return AVIF, nil
	}
	// head[12:16] is the minor version; compatible brands follow.
	for i := 16; i+4 <= end; i += 4 {
		if isAVIFBrand(head[i : i+4]) {
			return AVIF, nil
		}
	}
	if end < size && len(head) < SniffLen {
		return Unknown, ErrShort
	}
	return Unknown, ErrUnsupported
}

func isAVIFBrand(b []byte) bool {
	return bytes.Equal(b, []byte("avif")) || bytes.Equal(b, []byte("avis"))
}
