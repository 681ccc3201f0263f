package vips

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

func mustLoad(t testing.TB, buf []byte, o LoadOptions) *Image {
	t.Helper()
	im, err := Load(buf, o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(im.Close)
	return im
}

// must takes an operation's results, fails the test on error and closes
// the image at the end of the test: must(t)(im.Resize(0.5, 0.5)).
func must(t testing.TB) func(*Image, error) *Image {
	return func(im *Image, err error) *Image {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(im.Close)
		return im
	}
}

func mustSave(t testing.TB, im *Image, o SaveOptions) []byte {
	t.Helper()
	b, err := im.Save(o)
	if err != nil {
		t.Fatalf("Save(%v): %v", o.Format, err)
	}
	return b
}

// pixels computes im and decodes it with Go's PNG decoder, so tests can
// look at values without any accessor in the binding.
func pixels(t testing.TB, im *Image) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(mustSave(t, im, SaveOptions{Format: format.PNG})))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgba8(c color.Color) [4]uint8 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [4]uint8{n.R, n.G, n.B, n.A}
}

func TestLoadShrink(t *testing.T) {
	landscape := readCorpus(t, "exif-orientation/Landscape_6.jpg")
	// Odd sizes show the rounding: libjpeg's DCT scaling rounds up, but
	// libvips 8.14 crops that to floor(size/shrink), at least 1 pixel.
	src := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{})
	odd := mustSave(t, must(t)(src.ExtractArea(0, 0, 1001, 999)), SaveOptions{Format: format.JPEG})
	tiny := mustSave(t, must(t)(src.ExtractArea(0, 0, 5, 3)), SaveOptions{Format: format.JPEG})

	tests := []struct {
		name string
		buf  []byte
		w, h int
	}{
		{"Landscape_6", landscape, 1200, 1800},
		{"odd", odd, 1001, 999},
		{"tiny", tiny, 5, 3}, // Shrink 4 and 8 are reduced to 2
	}
	for _, tt := range tests {
		for _, shrink := range []int{0, 1, 2, 4, 8} {
			im := mustLoad(t, tt.buf, LoadOptions{Shrink: shrink})
			s := max(shrink, 1)
			for s > 1 && min(tt.w, tt.h)/s < 1 {
				s /= 2
			}
			wantW, wantH := tt.w/s, tt.h/s
			if w, h := im.Width(), im.Height(); w != wantW || h != wantH {
				t.Errorf("Load(%s, Shrink %d) = %d×%d, want %d×%d", tt.name, shrink, w, h, wantW, wantH)
			}
		}
	}
	// Shrink is a JPEG option only.
	im := mustLoad(t, readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{Shrink: 8})
	if im.Width() != 32 || im.Height() != 32 {
		t.Errorf("Load(PNG, Shrink 8) = %d×%d, want 32×32", im.Width(), im.Height())
	}
	for _, o := range []LoadOptions{{Shrink: 3}, {Shrink: -1}, {Shrink: 16}, {Scale: 1.5}, {Scale: -0.5}} {
		if im, err := Load(landscape, o); err == nil {
			im.Close()
			t.Errorf("Load(%+v) = nil error, want an error", o)
		}
	}
}

func TestLoadScaleWebP(t *testing.T) {
	src := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 4})
	webp := mustSave(t, src, SaveOptions{Format: format.WebP}) // 450×300
	tests := []struct {
		scale float64
		w, h  int
	}{
		{0, 450, 300},
		{1, 450, 300},
		{0.5, 225, 150},
		{0.2, 90, 60},
		{0.0001, 2, 1}, // raised to 1/300
	}
	for _, tt := range tests {
		im := mustLoad(t, webp, LoadOptions{Scale: tt.scale})
		if im.Width() != tt.w || im.Height() != tt.h {
			t.Errorf("Load(WebP 450×300, Scale %g) = %d×%d, want %d×%d", tt.scale, im.Width(), im.Height(), tt.w, tt.h)
		}
	}
}

// meanDiff is the mean absolute difference per channel of two images of
// the same size, 0..255.
func meanDiff(a, b image.Image) float64 {
	r := a.Bounds()
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pa, pb := rgba8(a.At(x, y)), rgba8(b.At(x, y))
			for i := range 3 {
				d := float64(pa[i]) - float64(pb[i])
				if d < 0 {
					d = -d
				}
				sum += d
				n++
			}
		}
	}
	return sum / n
}

// TestAutoRotate checks every orientation of the corpus: stored
// dimensions are swapped for 5..8, and after AutoRotate each file shows
// the same picture as its upright twin (orientation 1).
func TestAutoRotate(t *testing.T) {
	for _, kind := range []string{"Landscape", "Portrait"} {
		upright := pixels(t, mustLoad(t, readCorpus(t, "exif-orientation/"+kind+"_1.jpg"), LoadOptions{Shrink: 8}))
		for o := 1; o <= 8; o++ {
			name := filepath.Join("exif-orientation", kind+"_"+string(rune('0'+o))+".jpg")
			im := mustLoad(t, readCorpus(t, name), LoadOptions{Shrink: 8})
			if im.Orientation() != o {
				t.Errorf("%s: Orientation() = %d, want %d", name, im.Orientation(), o)
			}
			rot := must(t)(im.AutoRotate())
			wantW, wantH := im.Width(), im.Height()
			if o >= 5 {
				wantW, wantH = wantH, wantW
			}
			if rot.Width() != wantW || rot.Height() != wantH {
				t.Errorf("%s: AutoRotate = %d×%d, want %d×%d", name, rot.Width(), rot.Height(), wantW, wantH)
				continue
			}
			if rot.Orientation() != 1 {
				t.Errorf("%s: AutoRotate().Orientation() = %d, want 1", name, rot.Orientation())
			}
			got := pixels(t, rot)
			if got.Bounds() != upright.Bounds() {
				t.Errorf("%s: AutoRotate bounds %v, want %v as %s_1", name, got.Bounds(), upright.Bounds(), kind)
				continue
			}
			// JPEG re-encoding of the rotated originals differs a little;
			// a wrong rotation differs by tens.
			if d := meanDiff(got, upright); d > 6 {
				t.Errorf("%s: AutoRotate differs from %s_1 by %.1f per channel, want ≤ 6", name, kind, d)
			}
			// Control: orientation 2 and 4 keep the stored size, so the
			// unrotated pixels can be compared too, and must not match.
			if o == 2 || o == 4 {
				if d := meanDiff(pixels(t, im), upright); d <= 6 {
					t.Errorf("%s: unrotated pixels differ from %s_1 by only %.1f; the comparison cannot tell orientations apart", name, kind, d)
				}
			}
		}
	}
}

func TestToSRGB(t *testing.T) {
	tests := []struct {
		file  string
		bands int
	}{
		{"exif-orientation/Landscape_1.jpg", 3},
		{"pngsuite/basn0g01.png", 3},
		{"pngsuite/basn0g08.png", 3},
		{"pngsuite/basn0g16.png", 3},
		{"pngsuite/basn2c16.png", 3},
		{"pngsuite/basn3p08.png", 3},
		{"pngsuite/basn4a08.png", 4},
		{"pngsuite/basn4a16.png", 4},
		{"pngsuite/basn6a08.png", 4},
		{"pngsuite/basn6a16.png", 4},
		{"pngsuite/tbbn3p08.png", 4},
	}
	for _, tt := range tests {
		im := mustLoad(t, readCorpus(t, tt.file), LoadOptions{Shrink: 8})
		s := must(t)(im.ToSRGB())
		if s.Bands() != tt.bands || s.BandFormat() != "uchar" || s.Interpretation() != "srgb" {
			t.Errorf("ToSRGB(%s) = %d bands %s %s, want %d bands uchar srgb", tt.file, s.Bands(), s.BandFormat(), s.Interpretation(), tt.bands)
		}
		if s.Width() != im.Width() || s.Height() != im.Height() {
			t.Errorf("ToSRGB(%s) = %d×%d, want %d×%d", tt.file, s.Width(), s.Height(), im.Width(), im.Height())
		}
	}
}

// TestToSRGBSixteenBit compares 16-bit RGBA converted by libvips with the
// same file decoded by Go: colour and alpha must be the high byte.
func TestToSRGBSixteenBit(t *testing.T) {
	raw := readCorpus(t, "pngsuite/basn6a16.png")
	want, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got := pixels(t, must(t)(mustLoad(t, raw, LoadOptions{}).ToSRGB()))
	r := want.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			w := color.NRGBA64Model.Convert(want.At(x, y)).(color.NRGBA64)
			g := rgba8(got.At(x, y))
			exp := [4]uint16{w.R >> 8, w.G >> 8, w.B >> 8, w.A >> 8}
			for i := range 4 {
				d := int(g[i]) - int(exp[i])
				if i < 3 && g[3] == 0 {
					d = 0 // colour under full transparency is not kept
				}
				if d < -1 || d > 1 {
					t.Fatalf("pixel %d,%d = %v, want %v ±1", x, y, g, exp)
				}
			}
		}
	}
}

// iccJPEG embeds profile in an APP2 ICC_PROFILE segment of jpeg.
func iccJPEG(jpeg, profile []byte) []byte {
	payload := append([]byte("ICC_PROFILE\x00\x01\x01"), profile...)
	seg := []byte{0xFF, 0xE2}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpeg[:2]...)
	out = append(out, seg...)
	return append(out, jpeg[2:]...)
}

func TestToSRGBICC(t *testing.T) {
	src := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 8})
	plain := mustSave(t, src, SaveOptions{Format: format.JPEG, Quality: 95})
	base := pixels(t, must(t)(mustLoad(t, plain, LoadOptions{}).ToSRGB()))

	// A profile lcms cannot parse is ignored, not an error.
	junk := iccJPEG(plain, bytes.Repeat([]byte("not a profile "), 40))
	h, err := Probe(junk)
	if err != nil || !h.HasICC {
		t.Fatalf("Probe(junk ICC) = %+v, %v; want HasICC", h, err)
	}
	got := pixels(t, must(t)(mustLoad(t, junk, LoadOptions{}).ToSRGB()))
	if d := meanDiff(got, base); d > 0.5 {
		t.Errorf("ToSRGB with a junk profile differs from none by %.2f, want the plain conversion", d)
	}

	// A real wide-gamut profile must change the pixels: the same numbers
	// mean more saturated colours in Adobe RGB than in sRGB.
	const a98 = "/usr/share/color/icc/ghostscript/a98.icc"
	profile, err := os.ReadFile(a98)
	if err != nil {
		t.Skipf("missing the Adobe RGB profile from Debian's libgs-common (%v); scripts/deps.sh installs it, so this runs in make test and CI; the junk-profile fallback was still checked", err)
	}
	wide := iccJPEG(plain, profile)
	got = pixels(t, must(t)(mustLoad(t, wide, LoadOptions{}).ToSRGB()))
	if d := meanDiff(got, base); d < 1 {
		t.Errorf("ToSRGB with an Adobe RGB profile differs from none by %.2f, want the profile applied", d)
	}
}

func TestOps(t *testing.T) {
	rgb := mustLoad(t, readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{})  // 32×32, 3 bands
	rgba := mustLoad(t, readCorpus(t, "pngsuite/basn6a08.png"), LoadOptions{}) // 32×32, 4 bands
	photo := mustLoad(t, readCorpus(t, "exif-orientation/Landscape_1.jpg"), LoadOptions{Shrink: 8})
	tests := []struct {
		name  string
		op    func() (*Image, error)
		w, h  int
		bands int
	}{
		{"Resize rgb 0.5", func() (*Image, error) { return rgb.Resize(0.5, 0.5) }, 16, 16, 3},
		{"Resize rgb 2×0.25", func() (*Image, error) { return rgb.Resize(2, 0.25) }, 64, 8, 3},
		{"Resize to nothing", func() (*Image, error) { return rgb.Resize(0.001, 0.001) }, 1, 1, 3},
		{"Resize rgba 0.5×1.5", func() (*Image, error) { return rgba.Resize(0.5, 1.5) }, 16, 48, 4},
		{"ExtractArea", func() (*Image, error) { return rgb.ExtractArea(4, 8, 10, 12) }, 10, 12, 3},
		{"SmartCrop", func() (*Image, error) { return photo.SmartCrop(100, 100) }, 100, 100, 3},
		{"SmartCrop rgba", func() (*Image, error) { return rgba.SmartCrop(20, 10) }, 20, 10, 4},
		{"Embed", func() (*Image, error) { return rgb.Embed(4, 4, 40, 50, Color{}) }, 40, 50, 3},
		{"Embed rgba", func() (*Image, error) { return rgba.Embed(0, 0, 33, 34, Color{}) }, 33, 34, 4},
		{"Flatten rgba", func() (*Image, error) { return rgba.Flatten(Color{R: 255}) }, 32, 32, 3},
		{"Flatten rgb", func() (*Image, error) { return rgb.Flatten(Color{R: 255}) }, 32, 32, 3},
		{"GaussBlur", func() (*Image, error) { return rgb.GaussBlur(1.5) }, 32, 32, 3},
		{"GaussBlur rgba", func() (*Image, error) { return rgba.GaussBlur(2) }, 32, 32, 4},
		{"Sharpen", func() (*Image, error) { return photo.Sharpen() }, 225, 150, 3},
		{"Sharpen rgba", func() (*Image, error) { return rgba.Sharpen() }, 32, 32, 4},
		{"Grayscale", func() (*Image, error) { return rgb.Grayscale() }, 32, 32, 1},
		{"Grayscale rgba", func() (*Image, error) { return rgba.Grayscale() }, 32, 32, 2},
		{"AutoRotate upright", func() (*Image, error) { return rgb.AutoRotate() }, 32, 32, 3},
	}
	for _, tt := range tests {
		im, err := tt.op()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if im.Width() != tt.w || im.Height() != tt.h || im.Bands() != tt.bands {
			t.Errorf("%s = %d×%d×%d, want %d×%d×%d", tt.name, im.Width(), im.Height(), im.Bands(), tt.w, tt.h, tt.bands)
		}
		// Compute the pixels too: a lazy op can fail only then.
		if _, err := im.Save(SaveOptions{Format: format.PNG}); err != nil {
			t.Errorf("%s: Save: %v", tt.name, err)
		}
		im.Close()
	}
	bad := []struct {
		name string
		op   func() (*Image, error)
	}{
		{"Resize 0", func() (*Image, error) { return rgb.Resize(0, 1) }},
		{"Resize -1", func() (*Image, error) { return rgb.Resize(1, -1) }},
		{"ExtractArea outside", func() (*Image, error) { return rgb.ExtractArea(30, 30, 10, 10) }},
		{"SmartCrop larger", func() (*Image, error) { return rgb.SmartCrop(64, 64) }},
		{"SmartCrop 0", func() (*Image, error) { return rgb.SmartCrop(0, 10) }},
		{"ExtractArea 0", func() (*Image, error) { return rgb.ExtractArea(0, 0, 10, 0) }},
		{"Embed 0", func() (*Image, error) { return rgb.Embed(0, 0, 0, 10, Color{}) }},
		{"GaussBlur 0", func() (*Image, error) { return rgb.GaussBlur(0) }},
	}
	for _, tt := range bad {
		if im, err := tt.op(); err == nil {
			im.Close()
			t.Errorf("%s = nil error, want an error", tt.name)
		}
	}
}

func TestEmbedBackground(t *testing.T) {
	bg := Color{R: 10, G: 200, B: 30}
	tests := []struct {
		file string
		want [4]uint8
	}{
		{"pngsuite/basn2c08.png", [4]uint8{10, 200, 30, 255}},
		{"pngsuite/basn6a08.png", [4]uint8{10, 200, 30, 255}}, // alpha filled opaque
		{"pngsuite/basn0g08.png", [4]uint8{148, 148, 148, 255}},
		{"pngsuite/basn4a08.png", [4]uint8{148, 148, 148, 255}},
	}
	for _, tt := range tests {
		im := mustLoad(t, readCorpus(t, tt.file), LoadOptions{})
		out := must(t)(im.Embed(8, 8, 48, 48, bg))
		img := pixels(t, out)
		for _, p := range []image.Point{{0, 0}, {47, 47}, {7, 30}} {
			if got := rgba8(img.At(p.X, p.Y)); !near(got, tt.want, 1) {
				t.Errorf("Embed(%s) pixel %v = %v, want %v", tt.file, p, got, tt.want)
			}
		}
	}
}

func near(a, b [4]uint8, tol int) bool {
	for i := range a {
		if d := int(a[i]) - int(b[i]); d < -tol || d > tol {
			return false
		}
	}
	return true
}

func TestFlatten(t *testing.T) {
	raw := readCorpus(t, "pngsuite/tbbn3p08.png") // palette with a fully transparent entry
	src, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bg := Color{R: 1, G: 2, B: 250}
	flat := must(t)(mustLoad(t, raw, LoadOptions{}).Flatten(bg))
	if flat.HasAlpha() || flat.Bands() != 3 {
		t.Fatalf("Flatten = %d bands, alpha %v; want 3 bands, no alpha", flat.Bands(), flat.HasAlpha())
	}
	img := pixels(t, flat)
	checked := 0
	r := src.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			s := rgba8(src.At(x, y))
			g := rgba8(img.At(x, y))
			switch s[3] {
			case 0:
				checked++
				if !near(g, [4]uint8{bg.R, bg.G, bg.B, 255}, 0) {
					t.Fatalf("Flatten pixel %d,%d (transparent) = %v, want background %v", x, y, g, bg)
				}
			case 255:
				if !near(g, s, 0) {
					t.Fatalf("Flatten pixel %d,%d (opaque) = %v, want %v", x, y, g, s)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("tbbn3p08.png has no transparent pixel; the test checked nothing")
	}
}

func TestGrayscaleKeepsAlpha(t *testing.T) {
	g := must(t)(mustLoad(t, readCorpus(t, "pngsuite/basn6a08.png"), LoadOptions{}).Grayscale())
	if !g.HasAlpha() || g.Interpretation() != "b-w" {
		t.Errorf("Grayscale(RGBA) = alpha %v, %s; want alpha, b-w", g.HasAlpha(), g.Interpretation())
	}
}

// TestCorruptPNG runs the PngSuite files that are broken on purpose
// (x*.png) through Load and Save: each must give an error, none a crash.
func TestCorruptPNG(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpus, "pngsuite", "x*.png"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corrupt PngSuite files found (%v)", err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		im, err := Load(b, LoadOptions{})
		if err == nil {
			_, err = im.Save(SaveOptions{Format: format.PNG})
			im.Close()
		}
		if err == nil {
			t.Errorf("Load+Save(%s) = nil error, want an error", filepath.Base(path))
			continue
		}
		var ve *Error
		if !errors.As(err, &ve) && !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("Load+Save(%s) = %T %v, want *Error or ErrUnsupportedFormat", filepath.Base(path), err, err)
		}
	}
}

func TestClosed(t *testing.T) {
	var nilImage *Image
	nilImage.Close()
	im := mustLoad(t, readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{})
	im.Close()
	im.Close()
	for _, img := range []*Image{nilImage, im, {}} {
		if img.Width() != 0 || img.Height() != 0 || img.Bands() != 0 || img.HasAlpha() || img.Orientation() != 1 {
			t.Errorf("accessors on a closed image = %d×%d×%d, want zeros and orientation 1", img.Width(), img.Height(), img.Bands())
		}
		if _, err := img.Resize(0.5, 0.5); !errors.Is(err, ErrClosed) {
			t.Errorf("Resize on a closed image = %v, want ErrClosed", err)
		}
		if _, err := img.Save(SaveOptions{Format: format.PNG}); !errors.Is(err, ErrClosed) {
			t.Errorf("Save on a closed image = %v, want ErrClosed", err)
		}
	}
}

// TestCloseOrder closes every input before computing the output: the
// derived image must keep what it reads from alive, including the C copy
// of the encoded bytes.
func TestCloseOrder(t *testing.T) {
	buf := readCorpus(t, "exif-orientation/Landscape_6.jpg")
	im, err := Load(buf, LoadOptions{Shrink: 8})
	if err != nil {
		t.Fatal(err)
	}
	clear(buf) // Load copied it
	rot, err := im.AutoRotate()
	im.Close()
	if err != nil {
		t.Fatal(err)
	}
	small, err := rot.Resize(0.5, 0.5)
	rot.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	out, err := small.Save(SaveOptions{Format: format.JPEG})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Probe(out)
	if err != nil || h.Width != 113 || h.Height != 75 {
		t.Errorf("Probe(result) = %+v, %v; want 113×75", h, err)
	}
}

// TestConcurrent shares one decoded original between goroutines (as a
// srcset does) while others load their own; run under -race.
func TestConcurrent(t *testing.T) {
	buf := readCorpus(t, "exif-orientation/Portrait_5.jpg")
	shared := mustLoad(t, buf, LoadOptions{Shrink: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 {
				src := shared
				if g%2 == 1 {
					own, err := Load(buf, LoadOptions{Shrink: 8})
					if err != nil {
						errs <- err
						return
					}
					defer own.Close()
					src = own
				}
				rot, err := src.AutoRotate()
				if err != nil {
					errs <- err
					return
				}
				scale := 0.2 + 0.1*float64(i)
				small, err := rot.Resize(scale, scale)
				rot.Close()
				if err != nil {
					errs <- err
					return
				}
				f := []format.Format{format.JPEG, format.WebP, format.PNG}[(g+i)%3]
				out, err := small.Save(SaveOptions{Format: f})
				small.Close()
				if err != nil {
					errs <- err
					return
				}
				if got, _ := format.Sniff(out); got != f {
					errs <- errors.New("saved " + f.String() + " sniffs as " + got.String())
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorIsOneLine(t *testing.T) {
	_, err := Load([]byte("\x89PNG\r\n\x1a\n"+strings.Repeat("x", 64)), LoadOptions{})
	if err == nil {
		t.Fatal("Load(bad PNG) = nil error, want an error")
	}
	if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "vips: ") {
		t.Errorf("error %q, want one line starting with vips:", err)
	}
}
