package vips

import (
	"testing"

	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/transform/format"
)

// TestHEIC loads real HEIC files made by heif-enc. A HEIF file's rotation
// is its irot/imir properties, which libheif applies while decoding; the
// EXIF orientation tag inside a HEIC only repeats it (ISO/IEC 23008-12
// calls it informative), and libvips' heifload drops it, so the pipeline's
// AutoRotate must find orientation 1 and never turn an iPhone photo twice.
func TestHEIC(t *testing.T) {
	landscape6 := readCorpus(t, "exif-orientation/Landscape_6.jpg")
	// The stored pixels of Landscape_6 (1200×1800, to be turned 90°
	// clockwise), an eighth the size, with its EXIF block (orientation 6)
	// put back: a camera JPEG small enough to encode quickly.
	raw := mustSave(t, mustLoad(t, landscape6, LoadOptions{Shrink: 8}), SaveOptions{Format: format.JPEG, Quality: 95})
	raw, err := heictest.SpliceEXIF(raw, landscape6)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := Probe(raw); err != nil || h.Orientation != 6 || h.Width != 150 || h.Height != 225 {
		t.Fatalf("the spliced JPEG probes as %+v, %v, want 150×225 with orientation 6", h, err)
	}
	exifOnly := heictest.EncodeBytes(t, raw, 90)
	// What an iPhone writes: the stored pixels, irot 3 (three quarter
	// turns anticlockwise, one clockwise), and EXIF orientation 6 as well.
	iphone, err := heictest.Rotate(exifOnly, 3)
	if err != nil {
		t.Fatal(err)
	}
	upright := pixels(t, mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 8}))

	tests := []struct {
		name string
		heic []byte
		w, h int
		// asStored: shows the stored pixels, not the upright picture.
		asStored bool
	}{
		{"irot and EXIF 6", iphone, 225, 150, false},
		// EXIF 6 alone is not applied: as libheif, libvips and Apple's
		// readers show it, as stored.
		{"EXIF 6 without irot", exifOnly, 150, 225, true},
	}
	for _, tt := range tests {
		h, err := Probe(tt.heic)
		if err != nil {
			t.Fatalf("%s: Probe: %v", tt.name, err)
		}
		want := Header{Width: tt.w, Height: tt.h, Bands: 3, Format: format.HEIC, Orientation: 1, Pages: 1, Interpretation: "srgb"}
		if !equalHeader(h, want) {
			t.Errorf("%s: Probe = %+v, want %+v", tt.name, h, want)
		}
		im := mustLoad(t, tt.heic, LoadOptions{})
		if im.Orientation() != 1 {
			t.Errorf("%s: Orientation() = %d, want 1: the pipeline would turn it again", tt.name, im.Orientation())
		}
		rot := must(t)(im.AutoRotate())
		if rot.Width() != tt.w || rot.Height() != tt.h {
			t.Errorf("%s: after AutoRotate %d×%d, want %d×%d", tt.name, rot.Width(), rot.Height(), tt.w, tt.h)
			continue
		}
		if tt.asStored {
			continue
		}
		// HEVC at q 90 against the JPEG twin; a wrong turn differs by tens.
		if d := meanDiff(pixels(t, rot), upright); d > 6 {
			t.Errorf("%s: differs from Landscape_1 by %.1f per channel, want ≤ 6", tt.name, d)
		}
	}

	// Alpha survives: heif-enc keeps a PNG's alpha as an auxiliary image.
	alpha := heictest.Encode(t, corpus+"/pngsuite/basn6a08.png", 90)
	if h, err := Probe(alpha); err != nil || !h.HasAlpha || h.Format != format.HEIC || h.Bands != 4 {
		t.Errorf("Probe(HEIC with alpha) = %+v, %v, want HEIC with alpha", h, err)
	}
	// Pictor writes no HEIC.
	if _, err := mustLoad(t, alpha, LoadOptions{}).Save(SaveOptions{Format: format.HEIC}); err != ErrUnsupportedFormat {
		t.Errorf("Save(HEIC) = %v, want ErrUnsupportedFormat", err)
	}
}
