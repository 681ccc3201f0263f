package vips

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// TestSaveRoundTrip saves an image that carries EXIF (orientation and the
// selected tags) in every format, then probes the bytes: right format and
// size, and no metadata left.
func TestSaveRoundTrip(t *testing.T) {
	sources := []struct {
		name   string
		buf    []byte
		shrink int
	}{
		{"Landscape_6.jpg", readCorpus(t, "exif-orientation/Landscape_6.jpg"), 8},
		{"exif JPEG", exifJPEG(t), 1},
		{"RGBA PNG", readCorpus(t, "pngsuite/basn6a16.png"), 1},
	}
	for _, src := range sources {
		h, err := Probe(src.buf)
		if err != nil {
			t.Fatal(err)
		}
		if src.name != "RGBA PNG" && h.Orientation == 1 {
			t.Fatalf("%s: source orientation 1; the strip check would prove nothing", src.name)
		}
		im := mustLoad(t, src.buf, LoadOptions{Shrink: src.shrink})
		im = must(t)(im.ToSRGB())
		for _, f := range format.All {
			if !f.Output() || !f.Input() {
				continue // never written (HEIC), or not read back (TestSaveJXL)
			}
			out, err := im.Save(SaveOptions{Format: f})
			if err != nil {
				t.Errorf("Save(%s as %v): %v", src.name, f, err)
				continue
			}
			if got, err := format.Sniff(out); got != f {
				t.Errorf("Save(%s as %v) sniffs as %v (%v)", src.name, f, got, err)
			}
			h, err := Probe(out)
			if err != nil {
				t.Errorf("Probe(Save(%s as %v)): %v", src.name, f, err)
				continue
			}
			if h.Format != f || h.Width != im.Width() || h.Height != im.Height() {
				t.Errorf("Probe(Save(%s as %v)) = %v %d×%d, want %v %d×%d", src.name, f, h.Format, h.Width, h.Height, f, im.Width(), im.Height())
			}
			if h.EXIF != nil || h.Orientation != 1 {
				t.Errorf("Probe(Save(%s as %v)) EXIF %q orientation %d, want none and 1", src.name, f, h.EXIF, h.Orientation)
			}
			// AVIF carries colour in an nclx box, which is not ICC.
			if h.HasICC {
				t.Errorf("Probe(Save(%s as %v)) has an ICC profile, want it stripped", src.name, f)
			}
		}
	}
}

func TestSaveUnknown(t *testing.T) {
	im := mustLoad(t, readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{})
	for _, f := range []format.Format{format.Unknown, format.Format(200)} {
		if _, err := im.Save(SaveOptions{Format: f}); !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("Save(format %d) = %v, want ErrUnsupportedFormat", f, err)
		}
	}
	for _, q := range []int{-1, 101} {
		if _, err := im.Save(SaveOptions{Format: format.JPEG, Quality: q}); err == nil {
			t.Errorf("Save(Quality %d) = nil error, want an error", q)
		}
	}
}

// TestSaveQuality checks that Quality reaches the encoder and that 0 is
// the documented default.
func TestSaveQuality(t *testing.T) {
	im := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 4})
	for _, tt := range []struct {
		f   format.Format
		def int
	}{
		{format.JPEG, defaultJPEGQuality},
		{format.WebP, defaultWebPQuality},
		{format.AVIF, defaultAVIFQuality},
	} {
		low := mustSave(t, im, SaveOptions{Format: tt.f, Quality: 20})
		high := mustSave(t, im, SaveOptions{Format: tt.f, Quality: 95})
		if len(low) >= len(high) {
			t.Errorf("%v: Q20 is %d bytes, Q95 %d; want Q20 smaller", tt.f, len(low), len(high))
		}
		def := mustSave(t, im, SaveOptions{Format: tt.f})
		explicit := mustSave(t, im, SaveOptions{Format: tt.f, Quality: tt.def})
		if !bytes.Equal(def, explicit) {
			t.Errorf("%v: Quality 0 (%d bytes) differs from Quality %d (%d bytes)", tt.f, len(def), tt.def, len(explicit))
		}
	}
}

// jpegMarkers lists the markers of a JPEG up to the first scan.
func jpegMarkers(b []byte) []byte {
	var out []byte
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		out = append(out, b[i+1])
		if b[i+1] == 0xDA {
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return out
}

func TestSaveProgressive(t *testing.T) {
	im := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 8})
	for _, progressive := range []bool{false, true} {
		j := mustSave(t, im, SaveOptions{Format: format.JPEG, Progressive: progressive})
		markers := jpegMarkers(j)
		// SOF2 (0xC2) is progressive DCT; SOF0/SOF1 baseline/extended.
		if got := bytes.IndexByte(markers, 0xC2) >= 0; got != progressive {
			t.Errorf("JPEG Progressive %v: markers % X, SOF2 present %v", progressive, markers, got)
		}
		for _, m := range markers {
			if m >= 0xE1 && m <= 0xEF {
				t.Errorf("JPEG has APP%d marker, want metadata stripped", m-0xE0)
			}
		}
		if _, err := jpeg.Decode(bytes.NewReader(j)); err != nil {
			t.Errorf("Go cannot decode the JPEG (Progressive %v): %v", progressive, err)
		}
		p := mustSave(t, im, SaveOptions{Format: format.PNG, Progressive: progressive})
		// IHDR data starts at 16; the interlace method is its 13th byte.
		if got := p[16+12] == 1; got != progressive {
			t.Errorf("PNG Progressive %v: interlace byte %d", progressive, p[16+12])
		}
	}
}

// TestSaveJPEGFlattens saves RGBA as JPEG without flattening first: Save
// puts it on SaveOptions.Background, white when that is nil, and formats
// with alpha keep it whatever Background says.
func TestSaveJPEGFlattens(t *testing.T) {
	raw := readCorpus(t, "pngsuite/tbbn3p08.png")
	im := must(t)(mustLoad(t, raw, LoadOptions{}).ToSRGB())
	if !im.HasAlpha() {
		t.Fatal("tbbn3p08.png has no alpha; the test checks nothing")
	}
	green := Color{G: 255}
	for _, tt := range []struct {
		name string
		bg   *Color
		want [4]uint8
	}{
		{"nil", nil, [4]uint8{255, 255, 255, 255}},
		{"green", &green, [4]uint8{0, 255, 0, 255}},
	} {
		j := mustSave(t, im, SaveOptions{Format: format.JPEG, Quality: 100, Background: tt.bg})
		img, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		h, err := Probe(j)
		if err != nil || h.Bands != 3 || h.HasAlpha {
			t.Errorf("Probe(JPEG of RGBA, Background %s) = %+v, %v; want 3 bands", tt.name, h, err)
		}
		// The top-left pixel of tbbn3p08 is fully transparent.
		if got := rgba8(img.At(0, 0)); !near(got, tt.want, 3) {
			t.Errorf("JPEG of transparent pixel, Background %s = %v, want %v", tt.name, got, tt.want)
		}
	}
	p := mustSave(t, im, SaveOptions{Format: format.PNG, Background: &green})
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	if got := rgba8(img.At(0, 0)); got[3] != 0 {
		t.Errorf("PNG with a Background: transparent pixel = %v, want alpha 0 kept", got)
	}
}

func TestSaveGIF(t *testing.T) {
	im := mustLoad(t, readCorpus(t, "pngsuite/basn6a08.png"), LoadOptions{})
	g := mustSave(t, im, SaveOptions{Format: format.GIF})
	h, err := Probe(g)
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != format.GIF || h.Width != 32 || h.Height != 32 || h.Pages != 1 {
		t.Errorf("Probe(GIF) = %+v, want a 32×32 single-frame GIF", h)
	}
}

func BenchmarkSave(b *testing.B) {
	src, err := Load(readCorpus(b, "exif-orientation/Landscape_1.jpg"), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	// 1200×800, the size the AVIF effort was chosen for; computed once so
	// that only the encoder is timed.
	small, err := src.Resize(2.0/3, 2.0/3)
	if err != nil {
		b.Fatal(err)
	}
	defer small.Close()
	png, err := small.Save(SaveOptions{Format: format.PNG})
	if err != nil {
		b.Fatal(err)
	}
	im, err := Load(png, LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer im.Close()
	if _, err := im.Save(SaveOptions{Format: format.PNG}); err != nil { // decode once
		b.Fatal(err)
	}
	for _, f := range format.All {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := im.Save(SaveOptions{Format: f}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(im.Width()*im.Height())*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpix/s")
		})
	}
}

// TestSaveJPEGDirect: Save writes JPEG with libjpeg directly for uchar
// sRGB and grey images, and those bytes are exactly libvips' jpegsave's
// with the same options, at qualities either side of 90 (where chroma
// subsampling stops), baseline and progressive, for images in memory and
// computed as they are read; other images still go to libvips.
func TestSaveJPEGDirect(t *testing.T) {
	photo := readCorpus(t, "exif-orientation/Landscape_1.jpg")
	lazy := must(t)(mustLoad(t, photo, LoadOptions{Shrink: 2}).ToSRGB())
	mem := must(t)(lazy.CopyMemory())
	grey := must(t)(mem.Grayscale())
	odd := must(t)(mem.ExtractArea(3, 5, 301, 199))
	alpha := mustLoad(t, readCorpus(t, "pngsuite/basn6a08.png"), LoadOptions{})
	for _, c := range []struct {
		name   string
		im     *Image
		direct bool
	}{{"lazy sRGB", lazy, true}, {"memory sRGB", mem, true}, {"grey", grey, true}, {"odd crop", odd, true}, {"RGBA", alpha, false}} {
		for _, q := range []int{40, 80, 89, 90, 97} {
			for _, progressive := range []bool{false, true} {
				direct, libvips, err := c.im.jpegBoth(q, progressive)
				if err != nil {
					t.Fatalf("%s q%d: %v", c.name, q, err)
				}
				if (direct != nil) != c.direct {
					t.Fatalf("%s: direct path taken %v, want %v", c.name, direct != nil, c.direct)
				}
				if c.direct && !bytes.Equal(direct, libvips) {
					t.Errorf("%s q%d progressive %v: %d bytes directly, libvips %d, not the same", c.name, q, progressive, len(direct), len(libvips))
				}
			}
		}
	}
}
