package vips

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips/internal/libvipstest"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		file string
		want Header
	}{
		{"exif-orientation/Landscape_6.jpg", Header{Width: 1200, Height: 1800, Bands: 3, Format: format.JPEG, Orientation: 6, Pages: 1, Interpretation: "srgb"}},
		{"exif-orientation/Landscape_1.jpg", Header{Width: 1800, Height: 1200, Bands: 3, Format: format.JPEG, Orientation: 1, Pages: 1, Interpretation: "srgb"}},
		{"exif-orientation/Landscape_0.jpg", Header{Width: 1800, Height: 1200, Bands: 3, Format: format.JPEG, Orientation: 1, Pages: 1, Interpretation: "srgb"}},
		{"exif-orientation/Portrait_8.jpg", Header{Width: 1800, Height: 1200, Bands: 3, Format: format.JPEG, Orientation: 8, Pages: 1, Interpretation: "srgb"}},
		{"pngsuite/basn2c08.png", Header{Width: 32, Height: 32, Bands: 3, Format: format.PNG, Orientation: 1, Pages: 1, Interpretation: "srgb"}},
		{"pngsuite/basn0g16.png", Header{Width: 32, Height: 32, Bands: 1, Format: format.PNG, Orientation: 1, Pages: 1, Interpretation: "grey16"}},
		{"pngsuite/basn0g01.png", Header{Width: 32, Height: 32, Bands: 1, Format: format.PNG, Orientation: 1, Pages: 1, Interpretation: "b-w"}},
		{"pngsuite/basn6a16.png", Header{Width: 32, Height: 32, Bands: 4, Format: format.PNG, HasAlpha: true, Orientation: 1, Pages: 1, Interpretation: "rgb16"}},
		{"pngsuite/basn4a08.png", Header{Width: 32, Height: 32, Bands: 2, Format: format.PNG, HasAlpha: true, Orientation: 1, Pages: 1, Interpretation: "b-w"}},
		{"pngsuite/tbbn3p08.png", Header{Width: 32, Height: 32, Bands: 4, Format: format.PNG, HasAlpha: true, Orientation: 1, Pages: 1, Interpretation: "srgb"}},
		// A palette image is expanded to RGB by the loader.
		{"pngsuite/s01n3p01.png", Header{Width: 1, Height: 1, Bands: 3, Format: format.PNG, Orientation: 1, Pages: 1, Interpretation: "srgb"}},
	}
	for _, tt := range tests {
		got, err := Probe(readCorpus(t, tt.file))
		if err != nil {
			t.Errorf("Probe(%q) error %v", tt.file, err)
			continue
		}
		if !equalHeader(got, tt.want) {
			t.Errorf("Probe(%q) = %+v, want %+v", tt.file, got, tt.want)
		}
	}
}

func equalHeader(a, b Header) bool {
	return a.Width == b.Width && a.Height == b.Height && a.Bands == b.Bands &&
		a.Format == b.Format && a.HasAlpha == b.HasAlpha && a.Orientation == b.Orientation &&
		a.HasICC == b.HasICC && a.Pages == b.Pages && a.Interpretation == b.Interpretation &&
		maps.Equal(a.EXIF, b.EXIF)
}

func TestProbeFile(t *testing.T) {
	path := filepath.Join(corpus, "exif-orientation", "Landscape_6.jpg")
	h, err := ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Width != 1200 || h.Height != 1800 || h.Orientation != 6 || h.Format != format.JPEG {
		t.Errorf("ProbeFile(%q) = %+v, want 1200×1800 JPEG orientation 6", path, h)
	}
	if _, err := ProbeFile(filepath.Join(t.TempDir(), "missing.jpg")); err == nil {
		t.Error("ProbeFile(missing) = nil error, want an error")
	}
}

// jpegHeaderEnd returns the offset just past the SOS segment: everything
// before it is header, everything after is entropy-coded pixels.
func jpegHeaderEnd(t *testing.T, b []byte) int {
	t.Helper()
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		marker, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		if marker == 0xDA {
			return i + 2 + n
		}
		i += 2 + n
	}
	t.Fatal("no SOS marker")
	return 0
}

// TestProbeDoesNotDecode cuts a JPEG right after its header: there are no
// pixels to decode, yet Probe succeeds, while decoding (Load then Save)
// fails because the scan is truncated.
func TestProbeDoesNotDecode(t *testing.T) {
	full := readCorpus(t, "exif-orientation/Landscape_6.jpg")
	cut := full[:jpegHeaderEnd(t, full)+16]
	h, err := Probe(cut)
	if err != nil {
		t.Fatalf("Probe(%d header bytes of %d) error %v", len(cut), len(full), err)
	}
	if h.Width != 1200 || h.Height != 1800 || h.Orientation != 6 {
		t.Errorf("Probe(truncated) = %+v, want 1200×1800 orientation 6", h)
	}
	im, err := Load(cut, LoadOptions{})
	if err != nil {
		t.Fatalf("Load(truncated) error %v, want a lazy success", err)
	}
	defer im.Close()
	if _, err := im.Save(SaveOptions{Format: format.PNG}); err == nil {
		t.Error("Save(truncated JPEG) = nil error, want a decode error (fail_on=error)")
	}
}

// tiffEntry is one IFD entry; value holds inline SHORT/LONG values, data
// out-of-line bytes (ASCII).
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    uint32
	data     []byte
}

// buildTIFF writes a little-endian TIFF with IFD0 and, when exif is not
// empty, an Exif sub-IFD linked from IFD0 by tag 0x8769. Entries must be
// given in ascending tag order.
func buildTIFF(ifd0, exif []tiffEntry) []byte {
	le := binary.LittleEndian
	ifdSize := func(n int) int { return 2 + 12*n + 4 }
	if len(exif) > 0 {
		ifd0 = append(ifd0, tiffEntry{tag: 0x8769, typ: 4, count: 1})
	}
	ifd0Off := 8
	exifOff := ifd0Off + ifdSize(len(ifd0))
	dataOff := exifOff
	if len(exif) > 0 {
		dataOff += ifdSize(len(exif))
		ifd0[len(ifd0)-1].value = uint32(exifOff)
	}
	var data []byte
	write := func(out []byte, entries []tiffEntry) []byte {
		out = le.AppendUint16(out, uint16(len(entries)))
		for _, e := range entries {
			out = le.AppendUint16(out, e.tag)
			out = le.AppendUint16(out, e.typ)
			out = le.AppendUint32(out, e.count)
			if e.data != nil {
				out = le.AppendUint32(out, uint32(dataOff+len(data)))
				data = append(data, e.data...)
			} else {
				out = le.AppendUint32(out, e.value)
			}
		}
		return le.AppendUint32(out, 0)
	}
	out := []byte("II*\x00")
	out = le.AppendUint32(out, uint32(ifd0Off))
	out = write(out, ifd0)
	if len(exif) > 0 {
		out = write(out, exif)
	}
	return append(out, data...)
}

func ascii(tag uint16, s string) tiffEntry {
	b := append([]byte(s), 0)
	return tiffEntry{tag: tag, typ: 2, count: uint32(len(b)), data: b}
}

// withEXIF inserts an APP1 Exif segment right after a JPEG's SOI.
func withEXIF(jpeg, tiff []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpeg[:2]...)
	out = append(out, seg...)
	return append(out, jpeg[2:]...)
}

// exifJPEG is a small JPEG carrying the tags Header.EXIF selects, plus
// orientation 3.
func exifJPEG(t *testing.T) []byte {
	t.Helper()
	im, err := Load(readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	plain, err := im.Save(SaveOptions{Format: format.JPEG})
	if err != nil {
		t.Fatal(err)
	}
	tiff := buildTIFF(
		[]tiffEntry{
			ascii(0x010F, "Pictor (Test)"),
			ascii(0x0110, "Model X"),
			{tag: 0x0112, typ: 3, count: 1, value: 3},
			ascii(0x0131, "pictor-test 1.0"),
		},
		[]tiffEntry{
			ascii(0x9003, "2024:05:06 07:08:09"),
			ascii(0xA434, "50mm f/1.8"),
		},
	)
	return withEXIF(plain, tiff)
}

func TestProbeEXIF(t *testing.T) {
	h, err := Probe(exifJPEG(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"make":              "Pictor (Test)",
		"model":             "Model X",
		"software":          "pictor-test 1.0",
		"datetime_original": "2024:05:06 07:08:09",
		"lens_model":        "50mm f/1.8",
	}
	if !maps.Equal(h.EXIF, want) {
		t.Errorf("Probe(exif JPEG).EXIF = %q, want %q", h.EXIF, want)
	}
	if h.Orientation != 3 {
		t.Errorf("Probe(exif JPEG).Orientation = %d, want 3", h.Orientation)
	}
	// The corpus files carry EXIF, but none of the selected tags.
	h, err = Probe(readCorpus(t, "exif-orientation/Landscape_6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if h.EXIF != nil {
		t.Errorf("Probe(Landscape_6).EXIF = %q, want nil", h.EXIF)
	}
}

func TestEXIFValue(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Canon (Canon, ASCII, 6 components, 6 bytes)", "Canon"},
		{"Pictor (Test) (Pictor (Test), ASCII, 14 components, 14 bytes)", "Pictor (Test)"},
		{"6 (Right-top, Short, 1 components, 2 bytes)", "6"},
		{"plain", "plain"},
		{"  spaced (spaced, ASCII, 7 components, 7 bytes) ", "spaced"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := exifValue(tt.in); got != tt.want {
			t.Errorf("exifValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// tinyBMP is a 1×1 24-bit Windows bitmap.
func tinyBMP() []byte {
	le := binary.LittleEndian
	b := []byte("BM")
	b = le.AppendUint32(b, 14+40+4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 14+40)
	b = le.AppendUint32(b, 40)
	b = le.AppendUint32(b, 1) // width
	b = le.AppendUint32(b, 1) // height
	b = le.AppendUint16(b, 1) // planes
	b = le.AppendUint16(b, 24)
	b = le.AppendUint32(b, 0) // BI_RGB
	b = le.AppendUint32(b, 4)
	b = le.AppendUint32(b, 2835)
	b = le.AppendUint32(b, 2835)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return append(b, 0x00, 0x00, 0xFF, 0x00)
}

// tinyTIFF is a 1×1 8-bit grey baseline TIFF. libvips counts its TIFF
// loader as trusted, so only Pictor's block of every loader keeps it out.
func tinyTIFF() []byte {
	const pixelAt = 8 + 2 + 12*8 + 4
	t := buildTIFF([]tiffEntry{
		{tag: 256, typ: 3, count: 1, value: 1},       // ImageWidth
		{tag: 257, typ: 3, count: 1, value: 1},       // ImageLength
		{tag: 258, typ: 3, count: 1, value: 8},       // BitsPerSample
		{tag: 259, typ: 3, count: 1, value: 1},       // Compression: none
		{tag: 262, typ: 3, count: 1, value: 1},       // BlackIsZero
		{tag: 273, typ: 4, count: 1, value: pixelAt}, // StripOffsets
		{tag: 278, typ: 3, count: 1, value: 1},       // RowsPerStrip
		{tag: 279, typ: 4, count: 1, value: 1},       // StripByteCounts
	}, nil)
	return append(t, 0x80)
}

const tinySVG = `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>`

const tinyPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 8 8]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

func TestBlockedLoaders(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
	}{
		{"bmp", tinyBMP()},
		{"svg", []byte(tinySVG)},
		{"pdf", []byte(tinyPDF)},
		{"tiff", tinyTIFF()},
		{"ppm", []byte("P5\n1 1\n255\n\x80")},
		{"text", []byte("hello, world")},
		// Pictor writes JPEG XL but never reads it: the saver is unblocked,
		// the loader is not.
		{"jxl", mustSave(t, mustLoad(t, readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{}), SaveOptions{Format: format.JXL})},
	}
	for _, tt := range tests {
		if _, err := Probe(tt.buf); !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("Probe(%s) = %v, want ErrUnsupportedFormat", tt.name, err)
		}
		if im, err := Load(tt.buf, LoadOptions{}); !errors.Is(err, ErrUnsupportedFormat) {
			im.Close()
			t.Errorf("Load(%s) = %v, want ErrUnsupportedFormat", tt.name, err)
		}
		// Below Load's own allowlist, libvips itself must refuse.
		if err := libvipstest.LoadAny(tt.buf); err == nil {
			t.Errorf("libvips generic load of %s succeeded, want it blocked", tt.name)
		} else {
			t.Logf("%s: %v", tt.name, err)
		}
	}
	// The generic path does work for an allowed format, so the refusals
	// above are the block list and not a broken helper.
	if err := libvipstest.LoadAny(readCorpus(t, "pngsuite/basn2c08.png")); err != nil {
		t.Errorf("libvips generic load of a PNG = %v, want nil", err)
	}
}

func TestProbeEmpty(t *testing.T) {
	if _, err := Probe(nil); err == nil {
		t.Error("Probe(nil) = nil error, want an error")
	}
	if _, err := Load(nil, LoadOptions{}); err == nil {
		t.Error("Load(nil) = nil error, want an error")
	}
}

// Probe is header-only: its cost does not grow with the pixels a header
// declares. These bounds hold with a wide margin for any header (a probe
// takes milliseconds and a few MB of decoder state) and fail by orders of
// magnitude for a decode of the pixel floods in the corpus, which declare
// up to 3.6 gigapixels.
const (
	probeTimeLimit = 5 * time.Second
	probeRSSLimit  = 64 << 20
)

// resetPeakRSS resets the kernel's peak-RSS mark (VmHWM) to the current
// RSS, so that peakRSS measures a single call; it reports false where
// /proc/self/clear_refs is not writable.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is VmHWM in bytes.
func peakRSS(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// FuzzProbe feeds arbitrary bytes through Probe, ProbeFile and, for small
// images, a full decode and encode. Properties:
//   - libvips returns errors, never crashes;
//   - a header it accepts has positive dimensions, 1 to 4 bands, a known
//     format, an orientation of 1 to 8 and at least one page;
//   - Probe is header-only: it finishes within probeTimeLimit and raises
//     peak RSS by less than probeRSSLimit, whatever size the header claims;
//   - Probe of the bytes and ProbeFile of the same bytes on disk (what
//     the upload path calls) agree;
//   - the header tells the truth: an image that loads has the probed size,
//     and so does what it encodes to. The pixel limit is judged from the
//     header alone, so a header smaller than its pixels would bypass it.
func FuzzProbe(f *testing.F) {
	for _, name := range []string{"pngsuite/basn2c08.png", "pngsuite/xcrn0g04.png", "pngsuite/tbbn3p08.png", "pngsuite/s01i3p01.png"} {
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	jpeg, err := os.ReadFile(filepath.Join(corpus, "exif-orientation", "Landscape_3.jpg"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(jpeg[:2048])
	heic := heictest.Encode(f, filepath.Join(corpus, "pngsuite", "basn6a08.png"), 50)
	f.Add(heic)
	f.Add(heic[:len(heic)/2])
	f.Add(tinyBMP())
	f.Add([]byte(tinySVG))
	f.Add(bytes.Repeat([]byte{0xFF, 0xD8, 0xFF}, 4))
	path := filepath.Join(f.TempDir(), "probe")
	measureRSS := resetPeakRSS()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var base int64
		if measureRSS {
			resetPeakRSS()
			base = peakRSS(t)
		}
		start := time.Now()
		h, err := Probe(b)
		elapsed := time.Since(start)
		if elapsed > probeTimeLimit {
			t.Fatalf("Probe of %d bytes took %v (header %+v, %v), want under %v", len(b), elapsed, h, err, probeTimeLimit)
		}
		if measureRSS {
			if grew := peakRSS(t) - base; grew > probeRSSLimit {
				t.Fatalf("Probe of %d bytes raised peak RSS by %d MiB (header %+v, %v), want under %d MiB", len(b), grew>>20, h, err, probeRSSLimit>>20)
			}
		}
		hf, ferr := ProbeFile(path)
		if (err == nil) != (ferr == nil) || !equalHeader(h, hf) {
			t.Fatalf("Probe = %+v, %v but ProbeFile = %+v, %v", h, err, hf, ferr)
		}
		if err != nil {
			return
		}
		if h.Width <= 0 || h.Height <= 0 || h.Bands < 1 || h.Bands > 4 || h.Format == format.Unknown ||
			h.Orientation < 1 || h.Orientation > 8 || h.Pages < 1 {
			t.Fatalf("Probe = %+v, want positive dimensions, 1-4 bands, a format, orientation 1-8 and pages", h)
		}
		if h.Width*h.Height > 1<<20 {
			return
		}
		im, err := Load(b, LoadOptions{})
		if err != nil {
			return
		}
		defer im.Close()
		if im.Width() != h.Width || im.Height() != h.Height {
			t.Fatalf("Probe says %d×%d, Load gives %d×%d", h.Width, h.Height, im.Width(), im.Height())
		}
		out, err := im.Save(SaveOptions{Format: format.PNG})
		if err != nil {
			return // the pixels are corrupt: found at decode, as documented
		}
		if ho, err := Probe(out); err != nil || ho.Width != h.Width || ho.Height != h.Height || ho.Format != format.PNG {
			t.Fatalf("a %d×%d image encodes to a PNG probed as %+v, %v", h.Width, h.Height, ho, err)
		}
	})
}
