package vips

import (
	"image"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips/internal/libvipstest"
)

// fromFunc makes a w×h image of bands 3 or 4 whose pixel (x, y) is f(x, y).
func fromFunc(t testing.TB, w, h, bands int, f func(x, y int) [4]uint8) *Image {
	t.Helper()
	pix := make([]byte, 0, w*h*bands)
	for y := range h {
		for x := range w {
			p := f(x, y)
			pix = append(pix, p[:bands]...)
		}
	}
	return must(t)(FromPixels(pix, w, h, bands, nil))
}

func at(img image.Image, x, y int) [4]uint8 { return rgba8(img.At(x, y)) }

func TestRotateFlip(t *testing.T) {
	// Red at the top-left corner, blue elsewhere, 4×2.
	im := fromFunc(t, 4, 2, 3, func(x, y int) [4]uint8 {
		if x == 0 && y == 0 {
			return [4]uint8{255, 0, 0, 255}
		}
		return [4]uint8{0, 0, 255, 255}
	})
	red := [4]uint8{255, 0, 0, 255}
	tests := []struct {
		name   string
		op     func() (*Image, error)
		w, h   int
		rx, ry int // where the red pixel ends
	}{
		{"rot90", func() (*Image, error) { return im.Rotate(90) }, 2, 4, 1, 0},
		{"rot180", func() (*Image, error) { return im.Rotate(180) }, 4, 2, 3, 1},
		{"rot270", func() (*Image, error) { return im.Rotate(270) }, 2, 4, 0, 3},
		{"hflip", func() (*Image, error) { return im.Flip(true) }, 4, 2, 3, 0},
		{"vflip", func() (*Image, error) { return im.Flip(false) }, 4, 2, 0, 1},
	}
	for _, tt := range tests {
		out := must(t)(tt.op())
		if out.Width() != tt.w || out.Height() != tt.h {
			t.Errorf("%s: %d×%d, want %d×%d", tt.name, out.Width(), out.Height(), tt.w, tt.h)
			continue
		}
		if got := at(pixels(t, out), tt.rx, tt.ry); got != red {
			t.Errorf("%s: pixel (%d,%d) = %v, want red", tt.name, tt.rx, tt.ry, got)
		}
	}
	if _, err := im.Rotate(45); err == nil {
		t.Error("Rotate(45): no error")
	}
}

func TestFindTrim(t *testing.T) {
	// A white frame 5 px left, 3 top, around a 10×6 dark box, 20×12.
	im := fromFunc(t, 20, 12, 3, func(x, y int) [4]uint8 {
		if x >= 5 && x < 15 && y >= 3 && y < 9 {
			return [4]uint8{20, 30, 40, 255}
		}
		return [4]uint8{255, 255, 255, 255}
	})
	l, tp, w, h, err := im.FindTrim()
	if err != nil || l != 5 || tp != 3 || w != 10 || h != 6 {
		t.Errorf("FindTrim = %d,%d %d×%d, %v; want 5,3 10×6", l, tp, w, h, err)
	}
}

func TestPixelate(t *testing.T) {
	im := fromFunc(t, 10, 10, 3, func(x, y int) [4]uint8 {
		return [4]uint8{uint8(x * 25), uint8(y * 25), 0, 255}
	})
	out := must(t)(im.Pixelate(4))
	if out.Width() != 10 || out.Height() != 10 {
		t.Fatalf("Pixelate: %d×%d, want 10×10", out.Width(), out.Height())
	}
	img := pixels(t, out)
	// Each 4×4 block is one colour: the average of its pixels.
	if a, b := at(img, 0, 0), at(img, 3, 3); a != b {
		t.Errorf("block 0: %v and %v differ", a, b)
	}
	if a, b := at(img, 3, 0), at(img, 4, 0); a == b {
		t.Errorf("blocks 0 and 1 are both %v", a)
	}
	if got := at(img, 1, 1)[0]; got < 30 || got > 45 { // mean of 0, 25, 50, 75
		t.Errorf("block 0 red %d, want about 37", got)
	}
}

func TestTone(t *testing.T) {
	mid := fromFunc(t, 4, 4, 4, func(x, y int) [4]uint8 { return [4]uint8{200, 100, 50, 128} })
	check := func(name string, b, c, s int, f func(p [4]uint8) bool) {
		t.Helper()
		out := must(t)(mid.Tone(b, c, s))
		if out.Bands() != 4 {
			t.Errorf("%s: %d bands, want alpha kept", name, out.Bands())
		}
		p := at(pixels(t, out), 1, 1)
		if p[3] != 128 {
			t.Errorf("%s: alpha %d, want 128 untouched", name, p[3])
		}
		if !f(p) {
			t.Errorf("%s: pixel %v", name, p)
		}
	}
	// Colour checks are on the premultiplied values Go's decoder gives
	// back; the order between them is what matters.
	check("brighter", 50, 0, 0, func(p [4]uint8) bool { return p[0] > 100 && p[2] > 25+20 })
	check("greyer", 0, 0, -100, func(p [4]uint8) bool { return absDiff(p[0], p[1]) <= 1 && absDiff(p[1], p[2]) <= 1 })
	check("more contrast", 0, 60, 0, func(p [4]uint8) bool { return p[0] > 100+5 && p[2] < 25 })
	if _, err := mid.Tone(101, 0, 0); err == nil {
		t.Error("Tone(101): no error")
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestRound(t *testing.T) {
	for _, bands := range []int{3, 4} {
		im := fromFunc(t, 40, 20, bands, func(x, y int) [4]uint8 { return [4]uint8{10, 200, 10, 255} })
		out := must(t)(im.Round(8, 8))
		if out.Bands() != 4 {
			t.Fatalf("%d bands in: Round gives %d bands, want alpha", bands, out.Bands())
		}
		img := pixels(t, out)
		for _, c := range [][2]int{{0, 0}, {39, 0}, {0, 19}, {39, 19}} {
			if a := at(img, c[0], c[1])[3]; a != 0 {
				t.Errorf("%d bands: corner %v alpha %d, want 0", bands, c, a)
			}
		}
		for _, c := range [][2]int{{20, 10}, {8, 0}, {0, 8}, {31, 19}} {
			if a := at(img, c[0], c[1])[3]; a != 255 {
				t.Errorf("%d bands: %v alpha %d, want 255", bands, c, a)
			}
		}
	}
}

func TestCompositeOpacityTile(t *testing.T) {
	base := fromFunc(t, 20, 20, 3, func(x, y int) [4]uint8 { return [4]uint8{0, 0, 0, 255} })
	white := fromFunc(t, 4, 4, 3, func(x, y int) [4]uint8 { return [4]uint8{255, 255, 255, 255} })
	half := must(t)(white.Opacity(50))
	if half.Bands() != 4 {
		t.Fatalf("Opacity: %d bands, want 4", half.Bands())
	}
	out := must(t)(base.Composite(half, 10, 10))
	if out.Bands() != 3 {
		t.Errorf("Composite over an opaque base: %d bands, want 3", out.Bands())
	}
	img := pixels(t, out)
	if p := at(img, 11, 11); p[0] < 120 || p[0] > 135 {
		t.Errorf("50%% white over black = %v, want about 128", p)
	}
	if p := at(img, 5, 5); p[0] != 0 {
		t.Errorf("outside the overlay = %v, want black", p)
	}
	// Partly outside: clipped, no error.
	if _, err := base.Composite(half, 18, -2); err != nil {
		t.Errorf("Composite partly outside: %v", err)
	}
	tiled := must(t)(half.Tile(10, 9))
	if tiled.Width() != 10 || tiled.Height() != 9 {
		t.Errorf("Tile: %d×%d, want 10×9", tiled.Width(), tiled.Height())
	}
}

func TestTextCJK(t *testing.T) {
	for _, tt := range []struct{ text, font string }{
		{"Hello", "DejaVu Sans"},
		{"你好世界 日本語 한국어", "WenQuanYi Micro Hei"},
		{"你好 <b>&amp;", "DejaVu Sans"}, // markup stays text; CJK falls back
	} {
		im, err := Text(tt.text, tt.font, 32, 1000, Color{255, 0, 0})
		if err != nil {
			t.Fatalf("Text(%q): %v", tt.text, err)
		}
		defer im.Close()
		if im.Bands() != 4 || im.Width() < 32 || im.Height() < 20 {
			t.Fatalf("Text(%q): %d×%d×%d", tt.text, im.Width(), im.Height(), im.Bands())
		}
		img := pixels(t, im)
		inked := 0
		for y := range im.Height() {
			for x := range im.Width() {
				if p := at(img, x, y); p[3] > 128 {
					inked++
					if p[0] < 200 || p[1] > 60 {
						t.Fatalf("Text(%q): inked pixel %v, want red", tt.text, p)
					}
				}
			}
		}
		if inked < 50 {
			t.Errorf("Text(%q): %d inked pixels, want glyphs", tt.text, inked)
		}
	}
	// Markup is not interpreted: "<b>" renders as three more glyphs, so
	// the escaped text is wider than the same text without it.
	plain := must(t)(Text("你好 &amp;", "DejaVu Sans", 32, 1000, Color{}))
	marked := must(t)(Text("你好 <b>&amp;", "DejaVu Sans", 32, 1000, Color{}))
	if marked.Width() <= plain.Width() {
		t.Errorf("text with <b> is %d wide, plain %d: markup was interpreted", marked.Width(), plain.Width())
	}
}

// fxPipeline runs every effect and layer operation once on buf, as the
// pipeline's steps would.
func fxPipeline(buf []byte, i int) (int, error) {
	var open []*Image
	defer func() {
		for _, im := range open {
			im.Close()
		}
	}()
	keep := func(im *Image, err error) (*Image, error) {
		if err == nil {
			open = append(open, im)
		}
		return im, err
	}
	im, err := keep(Load(buf, LoadOptions{Shrink: 2}))
	if err != nil {
		return 0, err
	}
	steps := []func(*Image) (*Image, error){
		func(im *Image) (*Image, error) { return im.AutoRotate() },
		func(im *Image) (*Image, error) { return im.ToSRGB() },
		func(im *Image) (*Image, error) { return im.Rotate(90 * (1 + i%3)) },
		func(im *Image) (*Image, error) { return im.Flip(i%2 == 0) },
		func(im *Image) (*Image, error) { return im.Tone(20, -10, -50) },
		func(im *Image) (*Image, error) { return im.Pixelate(4) },
		func(im *Image) (*Image, error) { return im.BlurPad(10, 10, im.Width()+20, im.Height()+40, 3) },
		func(im *Image) (*Image, error) {
			txt, err := keep(Text("水印 mark", "DejaVu Sans", 14, im.Width(), Color{R: 255}))
			if err != nil {
				return nil, err
			}
			faded, err := keep(txt.Opacity(60))
			if err != nil {
				return nil, err
			}
			tiled, err := keep(faded.Tile(im.Width(), im.Height()))
			if err != nil {
				return nil, err
			}
			return im.Composite(tiled, 0, 0)
		},
		func(im *Image) (*Image, error) { return im.Round(12, 12) },
	}
	for _, step := range steps {
		if im, err = keep(step(im)); err != nil {
			return 0, err
		}
	}
	if _, _, _, _, err := im.FindTrim(); err != nil {
		return 0, err
	}
	out, err := im.Save(SaveOptions{Format: format.PNG})
	return len(out), err
}

// TestFXNoLeak is TestNoLeak for the effect and layer operations: C heap
// in use may not grow by more than 3 MiB over 500 calls once warm
// (Pango's and fontconfig's caches fill during the first hundred).
func TestFXNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 600 libvips pipelines are too slow; make test (no -short) runs it")
	}
	buf := smallOriented(t)
	const calls, warm = 600, 100
	var heap100 int64
	for i := range calls {
		if n, err := fxPipeline(buf, i); err != nil || n == 0 {
			t.Fatalf("call %d: %d bytes, %v", i, n, err)
		}
		if i+1 == warm {
			settledRSS(t)
			heap100 = libvipstest.HeapInUse()
		}
	}
	settledRSS(t)
	heapEnd := libvipstest.HeapInUse()
	const mib = 1 << 20
	t.Logf("C heap in use after %d calls: %.2f MiB; after %d: %.2f MiB", warm, float64(heap100)/mib, calls, float64(heapEnd)/mib)
	if heapEnd-heap100 > 3*mib {
		t.Errorf("C heap in use grew by %.2f MiB over %d calls, want at most 3 MiB", float64(heapEnd-heap100)/mib, calls-warm)
	}
}

// TestCJKFallback checks that Chinese asked for in DejaVu Sans, which has
// no CJK glyphs, is drawn with WenQuanYi's (fontconfig's fallback), not as
// boxes: the two renders are the same pixels.
func TestCJKFallback(t *testing.T) {
	a := must(t)(Text("你好世界", "DejaVu Sans", 40, 1000, Color{}))
	b := must(t)(Text("你好世界", "WenQuanYi Micro Hei", 40, 1000, Color{}))
	if a.Width() != b.Width() || a.Height() != b.Height() {
		t.Fatalf("DejaVu Sans %dx%d, WenQuanYi %dx%d: not the same glyphs", a.Width(), a.Height(), b.Width(), b.Height())
	}
	pa, pb := pixels(t, a), pixels(t, b)
	diff := 0
	for y := range a.Height() {
		for x := range a.Width() {
			if at(pa, x, y) != at(pb, x, y) {
				diff++
			}
		}
	}
	if diff > a.Width()*a.Height()/100 {
		t.Errorf("%d pixels differ between the fallback and WenQuanYi itself", diff)
	}
}

// FuzzText renders what a text layer may hold (valid UTF-8, no control
// character but newline, not blank: options.checkText's rules) and checks
// that it renders, markup and all, as an RGBA image no wider than the wrap
// width allows a glyph to run past.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Hello", "你好世界", "<b>bold</b> &amp; <span foreground='red'>x</span>", "a\nb", "\u202eRTL", "ﷺ", strings.Repeat("W", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 || !utf8.ValidString(s) || strings.TrimSpace(s) == "" {
			return
		}
		for _, r := range s {
			if r < 0x20 && r != '\n' || r == 0x7f {
				return
			}
		}
		im, err := Text(s, "DejaVu Sans", 12, 200, Color{R: 1, G: 2, B: 3})
		if err != nil {
			// Pango may find nothing to draw (only zero-width or
			// default-ignorable characters); that is an error, not a
			// crash, and the pipeline reports it.
			return
		}
		defer im.Close()
		if im.Bands() != 4 || im.Width() < 1 || im.Width() > 200+64 {
			t.Fatalf("Text(%q) = %dx%d×%d", s, im.Width(), im.Height(), im.Bands())
		}
	})
}
