package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/internal/heictest"
)

// pad extends a magic prefix to a realistic header length, so that a test
// case is decided by its magic bytes and not by ErrShort.
func pad(b string) []byte {
	out := []byte(b)
	for len(out) < SniffLen {
		out = append(out, 0)
	}
	return out
}

// ftyp builds an ISO-BMFF ftyp box with a major brand and compatible
// brands, followed by padding up to SniffLen.
func ftyp(major string, compatible ...string) []byte {
	size := 16 + 4*len(compatible)
	b := []byte{0, 0, 0, byte(size)}
	b = append(b, "ftyp"...)
	b = append(b, major...)
	b = append(b, 0, 0, 0, 0) // minor version
	for _, c := range compatible {
		b = append(b, c...)
	}
	return append(b, pad("")[:SniffLen-len(b)]...)
}

var sniffTests = []struct {
	name string
	in   []byte
	want Format
	err  error
}{
	{"jpeg jfif", pad("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), JPEG, nil},
	{"jpeg exif", pad("\xff\xd8\xff\xe1\x00\x18Exif\x00\x00"), JPEG, nil},
	{"jpeg 3 bytes", []byte("\xff\xd8\xff"), JPEG, nil},
	{"png", pad("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), PNG, nil},
	{"png signature only", []byte("\x89PNG\r\n\x1a\n"), PNG, nil},
	{"gif87a", pad("GIF87a\x01\x00\x01\x00"), GIF, nil},
	{"gif89a", pad("GIF89a\x01\x00\x01\x00"), GIF, nil},
	{"webp lossy", pad("RIFF\x24\x00\x00\x00WEBPVP8 "), WebP, nil},
	{"webp lossless", pad("RIFF\x24\x00\x00\x00WEBPVP8L"), WebP, nil},
	{"avif major brand", ftyp("avif", "mif1", "miaf"), AVIF, nil},
	{"avif sequence", ftyp("avis", "msf1"), AVIF, nil},
	{"mif1 with compatible avif", ftyp("mif1", "avif", "miaf"), AVIF, nil},
	{"mif1 with avif last", ftyp("mif1", "miaf", "MA1B", "avif"), AVIF, nil},
	{"heic", ftyp("heic", "mif1", "heic"), HEIC, nil},
	{"heix", ftyp("heix", "mif1"), HEIC, nil},
	{"heim", ftyp("heim", "mif1"), HEIC, nil},
	{"heis", ftyp("heis", "mif1"), HEIC, nil},
	{"hevc sequence", ftyp("msf1", "hevc"), HEIC, nil},
	{"mif1 with compatible heic", ftyp("mif1", "miaf", "heic"), HEIC, nil},
	{"heic major, avif compatible", ftyp("heic", "avif"), HEIC, nil},
	{"avif major, heic compatible", ftyp("avif", "heic"), AVIF, nil},
	{"jxl container", ftyp("jxl ", "jxl "), Unknown, ErrUnsupported},
	{"mif1 alone", ftyp("mif1", "mif1"), Unknown, ErrUnsupported},
	{"mp4", ftyp("isom", "iso2", "mp41"), Unknown, ErrUnsupported},
	{"ftyp size too small", append([]byte{0, 0, 0, 8}, pad("ftypavif")...), Unknown, ErrUnsupported},
	{"avif beyond box size", append([]byte{0, 0, 0, 16, 'f', 't', 'y', 'p', 'm', 'i', 'f', '1', 0, 0, 0, 0}, pad("avif")...), Unknown, ErrUnsupported},
	{"svg", pad(`<svg xmlns="http://www.w3.org/2000/svg">`), Unknown, ErrUnsupported},
	{"svg with xml declaration", pad(`<?xml version="1.0"?><svg>`), Unknown, ErrUnsupported},
	{"pdf", pad("%PDF-1.7\n%\xe2\xe3\xcf\xd3"), Unknown, ErrUnsupported},
	{"psd", pad("8BPS\x00\x01\x00\x00\x00\x00\x00\x00"), Unknown, ErrUnsupported},
	{"bmp", pad("BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00"), Unknown, ErrUnsupported},
	{"tiff little endian", pad("II*\x00\x08\x00\x00\x00\x0e\x00"), Unknown, ErrUnsupported},
	{"tiff big endian", pad("MM\x00*\x00\x00\x00\x08\x00\x0e"), Unknown, ErrUnsupported},
	{"jp2", pad("\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 "), Unknown, ErrUnsupported},
	{"j2k codestream", pad("\xff\x4f\xff\x51\x00\x2f\x00\x00"), Unknown, ErrUnsupported},
	{"html", pad("<!DOCTYPE html><html>"), Unknown, ErrUnsupported},
	{"riff wave", pad("RIFF\x24\x00\x00\x00WAVEfmt "), Unknown, ErrUnsupported},
	{"twelve zero bytes", make([]byte, 12), Unknown, ErrUnsupported},
	{"empty", nil, Unknown, ErrShort},
	{"one byte ff", []byte{0xff}, Unknown, ErrShort},
	{"one byte x", []byte("x"), Unknown, ErrShort},
	{"jpeg 2 bytes", []byte("\xff\xd8"), Unknown, ErrShort},
	{"png 7 bytes", []byte("\x89PNG\r\n\x1a"), Unknown, ErrShort},
	{"gif 5 bytes", []byte("GIF89"), Unknown, ErrShort},
	{"riff 11 bytes", []byte("RIFF\x24\x00\x00\x00WEB"), Unknown, ErrShort},
	{"svg 11 bytes", []byte("<svg width="), Unknown, ErrShort},
}

func TestSniff(t *testing.T) {
	for _, tt := range sniffTests {
		got, err := Sniff(tt.in)
		if got != tt.want || err != tt.err {
			t.Errorf("%s: Sniff(%q) = %v, %v, want %v, %v", tt.name, tt.in, got, err, tt.want, tt.err)
		}
	}
}

// specSniff is the allowlist of upload types, written from the format
// specifications rather than from Sniff, as the fuzz oracle: JPEG (SOI and
// a marker), PNG (its 8-byte signature), GIF87a/89a, WebP (a RIFF file of
// form type WEBP), AVIF and HEIC (an ftyp box of sane size whose first
// brand of either kind, major then compatible within the first SniffLen
// bytes, is avif or avis, or one of the HEVC brands heic, heix, heim, heis,
// hevc, hevx). Everything else, SVG, PDF, PSD, BMP, TIFF, JP2 and JPEG XL
// included, is refused.
func specSniff(b []byte) Format {
	if len(b) > SniffLen {
		b = b[:SniffLen]
	}
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG
	case bytes.HasPrefix(b, []byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}):
		return PNG
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		size := int(binary.BigEndian.Uint32(b))
		if size < 16 || size > 4096 {
			return Unknown
		}
		brands := [][]byte{b[8:12]}
		for off := 16; off+4 <= min(size, len(b)); off += 4 {
			brands = append(brands, b[off:off+4])
		}
		for _, br := range brands {
			switch string(br) {
			case "avif", "avis":
				return AVIF
			case "heic", "heix", "heim", "heis", "hevc", "hevx":
				return HEIC
			}
		}
	}
	return Unknown
}

// refusedMagic are the signatures of types that must be refused (SVG,
// PDF, PSD, BMP, TIFF, JP2 and the like). No
// input that starts with one of them may be accepted.
var refusedMagic = []string{
	"<svg", "<?xml", "%PDF-", "8BPS", "BM", "II*\x00", "MM\x00*",
	"\x00\x00\x00\x0cjP  \r\n\x87\n", "\xff\x4f\xff\x51", "<!DOCTYPE", "<html",
}

// FuzzSniff checks Sniff against the allowlist (specSniff) and the
// properties the upload path relies on:
//   - it never panics, and every answer is a format with no error,
//     ErrShort or ErrUnsupported, never a mix;
//   - only the first SniffLen bytes decide;
//   - ErrShort only for fewer than SniffLen bytes; a format or
//     ErrUnsupported is final: appending bytes never changes it;
//   - an accepted format is an input format, with a key extension and an
//     image/* type that lead back to it, and an option name when it is
//     also an output format;
//   - nothing that starts with a refused type's magic is accepted.
func FuzzSniff(f *testing.F) {
	for _, tt := range sniffTests {
		f.Add(tt.in, []byte("tail"))
	}
	f.Fuzz(func(t *testing.T, head, tail []byte) {
		got, err := Sniff(head)
		switch {
		case err == nil:
			if got == Unknown {
				t.Fatalf("Sniff(%q) = Unknown with no error", head)
			}
		case errors.Is(err, ErrShort):
			if got != Unknown || len(head) >= SniffLen {
				t.Fatalf("Sniff(%q) = %v, %v for %d bytes", head, got, err, len(head))
			}
		case errors.Is(err, ErrUnsupported):
			if got != Unknown {
				t.Fatalf("Sniff(%q) = %v, %v", head, got, err)
			}
		default:
			t.Fatalf("Sniff(%q) error %v is neither ErrShort nor ErrUnsupported", head, err)
		}

		if want := specSniff(head); got != want && !errors.Is(err, ErrShort) {
			t.Fatalf("Sniff(%q) = %v, %v, want %v (the allowlist by magic bytes: JPEG, PNG, GIF, WebP, AVIF, HEIC)", head, got, err, want)
		}
		if err == nil {
			for _, m := range refusedMagic {
				if bytes.HasPrefix(head, []byte(m)) {
					t.Fatalf("Sniff(%q) = %v for bytes starting with a refused type's magic %q", head, got, m)
				}
			}
			if !got.Input() {
				t.Fatalf("Sniff(%q) = %v, which is not an input format", head, got)
			}
			if g, ok := FromExt(got.Ext()); !ok || g != got {
				t.Fatalf("FromExt(%q) = %v, %v, want %v", got.Ext(), g, ok, got)
			}
			if g, ok := Parse(got.String()); got.Output() && (!ok || g != got) {
				t.Fatalf("Parse(%q) = %v, %v, want %v", got.String(), g, ok, got)
			}
			if !strings.HasPrefix(got.ContentType(), "image/") {
				t.Fatalf("%v.ContentType() = %q", got, got.ContentType())
			}
		}

		if len(head) > SniffLen {
			if g2, err2 := Sniff(head[:SniffLen]); g2 != got || err2 != err {
				t.Fatalf("Sniff(%q) = %v, %v, but its first %d bytes give %v, %v", head, got, err, SniffLen, g2, err2)
			}
		}
		if errors.Is(err, ErrShort) {
			return
		}
		longer := append(bytes.Clone(head), tail...)
		if got2, err2 := Sniff(longer); got2 != got || err2 != err {
			t.Fatalf("Sniff(%q) = %v, %v, but Sniff(%q) = %v, %v", head, got, err, longer, got2, err2)
		}
	})
}

func TestNames(t *testing.T) {
	for _, f := range All {
		if g, ok := Parse(f.String()); ok != f.Output() || ok && g != f {
			t.Errorf("Parse(%q) = %v, %v, want %v, %v", f.String(), g, ok, f, f.Output())
		}
		if !f.Input() && !f.Output() {
			t.Errorf("%v is neither an input nor an output format", f)
		}
		if g, ok := FromExt(f.Ext()); !ok || g != f {
			t.Errorf("FromExt(%q) = %v, %v, want %v", f.Ext(), g, ok, f)
		}
	}
	if g, ok := Parse("jpg"); !ok || g != JPEG {
		t.Errorf("Parse(%q) = %v, %v, want %v", "jpg", g, ok, JPEG)
	}
	for _, tt := range []struct {
		f             Format
		input, output bool
	}{
		{JPEG, true, true}, {AVIF, true, true}, {HEIC, true, false}, {JXL, false, true}, {Unknown, false, false},
	} {
		if tt.f.Input() != tt.input || tt.f.Output() != tt.output {
			t.Errorf("%v: Input() = %v, Output() = %v, want %v, %v", tt.f, tt.f.Input(), tt.f.Output(), tt.input, tt.output)
		}
	}
	if _, ok := Parse("tiff"); ok {
		t.Errorf("Parse(%q) ok, want not", "tiff")
	}
	if got := Format(200).ContentType(); got != "application/octet-stream" {
		t.Errorf("Format(200).ContentType() = %q", got)
	}
}

// corpus is the test-image corpus (PngSuite, EXIF orientation set) in testdata.
const corpus = "../../testdata/corpus"

// TestSniffCorpus sniffs the first SniffLen bytes of real files, the way
// the upload path sees them.
func TestSniffCorpus(t *testing.T) {
	tests := []struct {
		glob string
		want Format
	}{
		{"exif-orientation/*.jpg", JPEG},
		// The x*.png files of PngSuite are deliberately corrupt, some in
		// their signature; the rest are valid PNGs.
		{"pngsuite/[^x]*.png", PNG},
	}
	for _, tt := range tests {
		files, err := filepath.Glob(filepath.Join(corpus, tt.glob))
		if err != nil || len(files) == 0 {
			t.Fatalf("no corpus files for %s under %s: %v", tt.glob, corpus, err)
		}
		for _, name := range files {
			head := readHead(t, name)
			if got, err := Sniff(head); got != tt.want || err != nil {
				t.Errorf("Sniff(%s) = %v, %v, want %v", filepath.Base(name), got, err, tt.want)
			}
		}
	}
	// A real HEIC, as heif-enc writes it.
	if got, err := Sniff(heictest.Encode(t, filepath.Join(corpus, "pngsuite", "basn2c08.png"), 50)); got != HEIC || err != nil {
		t.Errorf("Sniff(heif-enc output) = %v, %v, want %v", got, err, HEIC)
	}
	// PngSuite's signature-corruption cases must not pass as PNG.
	for _, name := range []string{"xs1n0g01.png", "xs2n0g01.png", "xs4n0g01.png", "xs7n0g01.png", "xcrn0g04.png", "xlfn0g04.png"} {
		head := readHead(t, filepath.Join(corpus, "pngsuite", name))
		if got, err := Sniff(head); got == PNG || !errors.Is(err, ErrUnsupported) {
			t.Errorf("Sniff(%s) = %v, %v, want %v", name, got, err, ErrUnsupported)
		}
	}
}

func readHead(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		t.Fatal(err)
	}
	return head[:n]
}
