package vips

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// jxlMagic are the two ways a JPEG XL file starts: a bare codestream, or
// the ISO-BMFF container's signature box.
var jxlMagic = [][]byte{{0xFF, 0x0A}, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")}

// TestSaveJXL encodes JPEG XL and decodes it again with libjxl's own djxl
// (Debian's libjxl-tools; Pictor never reads JPEG XL, so libvips' loader
// stays blocked): the picture and its alpha survive, quality reaches the
// encoder, and no metadata is written.
func TestSaveJXL(t *testing.T) {
	djxl, err := exec.LookPath("djxl")
	if err != nil {
		t.Fatalf("djxl not found (scripts/deps.sh installs Debian's libjxl-tools): %v", err)
	}
	for _, src := range []struct {
		name string
		im   *Image
	}{
		{"exif JPEG", must(t)(mustLoad(t, exifJPEG(t), LoadOptions{}).ToSRGB())},
		{"RGBA PNG", mustLoad(t, readCorpus(t, "pngsuite/basn6a08.png"), LoadOptions{})},
	} {
		out := mustSave(t, src.im, SaveOptions{Format: format.JXL})
		if !bytes.HasPrefix(out, jxlMagic[0]) && !bytes.HasPrefix(out, jxlMagic[1]) {
			t.Errorf("%s: JXL output starts % x, not a JPEG XL signature", src.name, out[:min(len(out), 12)])
		}
		if f, err := format.Sniff(out); err == nil {
			t.Errorf("%s: JXL output sniffs as %v: uploads must not accept it", src.name, f)
		}
		// The exif JPEG's own tags, and the EXIF block's name.
		for _, m := range []string{"Exif", "Pictor (Test)", "Model X", "50mm f/1.8"} {
			if bytes.Contains(out, []byte(m)) {
				t.Errorf("%s: JXL output carries %q", src.name, m)
			}
		}
		dir := t.TempDir()
		in, back := filepath.Join(dir, "in.jxl"), filepath.Join(dir, "out.png")
		if err := os.WriteFile(in, out, 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command(djxl, in, back).CombinedOutput(); err != nil {
			t.Fatalf("%s: djxl: %v\n%s", src.name, err, msg)
		}
		b, err := os.ReadFile(back)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		want := pixels(t, src.im)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: djxl gives %v, want %v", src.name, got.Bounds(), want.Bounds())
		}
		// Premultiplied, as it shows: the colour under transparent pixels
		// is not part of the picture. Q 75 on these small images comes
		// within 5; a wrong or garbled picture differs by tens.
		if d := premultipliedDiff(got, want); d > 8 {
			t.Errorf("%s: decoded JXL differs by %.1f per channel, want ≤ 8", src.name, d)
		}
		if src.name == "RGBA PNG" {
			// basn6a08's alpha runs from 0 to 255 across the image.
			if _, _, _, a := got.At(0, 0).RGBA(); a == 0xFFFF {
				t.Errorf("%s: alpha lost: the first pixel is opaque", src.name)
			}
		}
	}
	im := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 4})
	low := mustSave(t, im, SaveOptions{Format: format.JXL, Quality: 20})
	high := mustSave(t, im, SaveOptions{Format: format.JXL, Quality: 95})
	def := mustSave(t, im, SaveOptions{Format: format.JXL})
	explicit := mustSave(t, im, SaveOptions{Format: format.JXL, Quality: defaultJXLQuality})
	if len(low) >= len(high) || !bytes.Equal(def, explicit) {
		t.Errorf("JXL Q20 %d bytes, Q95 %d, default %d, Q%d %d: want Q20 smaller and the default to be Q%d",
			len(low), len(high), len(def), defaultJXLQuality, len(explicit), defaultJXLQuality)
	}
}

// premultipliedDiff is the mean absolute difference per channel, alpha
// included, of two images of the same size in premultiplied 8-bit values.
func premultipliedDiff(a, b image.Image) float64 {
	r := a.Bounds()
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			for _, d := range [...]float64{
				float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8),
				float64(b1>>8) - float64(b2>>8), float64(a1>>8) - float64(a2>>8),
			} {
				sum += math.Abs(d)
				n++
			}
		}
	}
	return sum / n
}
