package transform

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/golden")

func TestMain(m *testing.M) {
	flag.Parse()
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func newProcessor(t testing.TB) *Processor {
	t.Helper()
	p, err := New(DefaultConfig(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parse(t testing.TB, s string) options.Options {
	t.Helper()
	p, err := options.NewParser(options.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	o, err := p.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return o
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toImage decodes any output through libvips to PNG, then image/png.
func toImage(t testing.TB, b []byte) image.Image {
	t.Helper()
	im, err := vips.Load(b, vips.LoadOptions{})
	if err != nil {
		t.Fatalf("load output: %v", err)
	}
	defer im.Close()
	s, err := im.ToSRGB()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Save(vips.SaveOptions{Format: format.PNG})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// psnr compares two images of the same size over RGBA, in dB.
func psnr(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return 0
	}
	var se, n float64
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			// Premultiplied, as the pixel shows over any background: the
			// colour of a fully transparent pixel is not part of the image.
			r1, g1, b1, a1 := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{
				float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8),
				float64(b1>>8) - float64(b2>>8), float64(a1>>8) - float64(a2>>8),
			} {
				se += d * d
			}
			n += 4
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/n))
}

// Goldens are compared by PSNR, not byte for byte: encoders may change
// bits across library builds without a visible difference.
func TestGolden(t *testing.T) {
	p := newProcessor(t)
	sample := readFile(t, "../testdata/sample.jpg")
	alpha := readFile(t, "../testdata/alpha.png")
	tests := []struct {
		name   string
		src    []byte
		opts   string
		srcFmt format.Format
		w, h   int
	}{
		{"fit_w300", sample, "w_300", format.JPEG, 300, 200},
		{"fill_auto", sample, "w_200,h_200,c_fill,g_auto", format.JPEG, 200, 200},
		{"fill_north", sample, "w_200,h_100,c_fill,g_north", format.JPEG, 200, 100},
		{"pad_red", sample, "w_300,h_300,c_pad,b_ff0000,f_png", format.JPEG, 300, 300},
		{"crop_region", sample, "w_120,h_100,x_700,y_150,c_crop,f_png", format.JPEG, 120, 100},
		{"scale", sample, "w_200,h_200,c_scale,f_webp", format.JPEG, 200, 200},
		{"limit", sample, "w_3000,c_limit,f_webp", format.JPEG, 1200, 800},
		{"blur_gray", sample, "w_300,e_blur:2:grayscale", format.JPEG, 300, 200},
		{"sharpen", sample, "w_300,e_sharpen,q_90", format.JPEG, 300, 200},
		{"dpr2", sample, "w_150,dpr_2,f_avif", format.JPEG, 300, 200},
		{"gif", sample, "w_160,f_gif", format.JPEG, 160, 107},
		{"alpha_png", alpha, "w_150", format.PNG, 150, 100},
		{"alpha_to_jpeg", alpha, "w_150,f_jpeg,b_00ff00", format.PNG, 150, 100},
	}
	if err := os.MkdirAll("../testdata/golden", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parse(t, tt.opts)
			res, err := p.Process(context.Background(), tt.src, Request{Options: o, Output: Negotiate(o, tt.srcFmt, nil, false)})
			if err != nil {
				t.Fatalf("Process(%q): %v", tt.opts, err)
			}
			if res.Width != tt.w || res.Height != tt.h {
				t.Errorf("Process(%q) = %dx%d, want %dx%d", tt.opts, res.Width, res.Height, tt.w, tt.h)
			}
			h, err := vips.Probe(res.Body)
			if err != nil || h.Width != tt.w || h.Height != tt.h || h.Format != res.Format {
				t.Errorf("output header %+v (%v), want %v %dx%d", h, err, res.Format, tt.w, tt.h)
			}
			got := toImage(t, res.Body)
			path := filepath.Join("../testdata/golden", tt.name+".png")
			if *update {
				writePNG(t, path, got)
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("golden %s: %v (run go test -run TestGolden -update)", path, err)
			}
			want, err := png.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if db := psnr(got, want); db < 40 {
				failed := filepath.Join("../testdata/golden", tt.name+".failed.png")
				writePNG(t, failed, got)
				t.Errorf("%s: PSNR %.1f dB against the golden, want >= 40; wrote %s", tt.name, db, failed)
			}
		})
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bigJPEG is a 3840×2400 JPEG made here, the size of the benchmark photo.
func bigJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3840, 2400))
	for y := 0; y < 2400; y++ {
		for x := 0; x < 3840; x++ {
			img.Pix[(y*3840+x)*4+0] = uint8(x)
			img.Pix[(y*3840+x)*4+1] = uint8(y)
			img.Pix[(y*3840+x)*4+2] = uint8(x ^ y)
			img.Pix[(y*3840+x)*4+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The case: a 3840-wide JPEG going to 400 wide loads at 1/8.
func TestShrinkOnLoadJPEG(t *testing.T) {
	p := newProcessor(t)
	src := bigJPEG(t)
	for _, tt := range []struct {
		opts  string
		loadW int
	}{
		{"w_400", 480},   // 1/8
		{"w_600", 960},   // 1/4: 480 < 600
		{"w_1000", 1920}, // 1/2
		{"w_2000", 3840}, // none
		{"w_100,h_100,c_fill", 480},
	} {
		o := parse(t, tt.opts)
		j := &job{ctx: context.Background(), req: Request{Options: o, Output: Negotiate(o, format.JPEG, nil, false)}, src: src}
		if err := p.probe(j); err != nil {
			t.Fatal(err)
		}
		if err := p.load(j); err != nil {
			t.Fatal(err)
		}
		if got := j.img.Width(); got != tt.loadW {
			t.Errorf("%s: loaded %d wide, want %d", tt.opts, got, tt.loadW)
		}
		j.img.Close()
	}
}

func TestProcessErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPixels = 1000 * 700
	p, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	sample := readFile(t, "../testdata/sample.jpg")
	small := readFile(t, "../testdata/alpha.png")
	var de *DecodeError
	tests := []struct {
		name string
		src  []byte
		opts string
		ok   func(error) bool
	}{
		{"pixel limit", sample, "w_10", func(err error) bool { return errors.Is(err, ErrTooManyPixels) }},
		{"garbage", []byte("\xff\xd8\xff\xe0 definitely not a jpeg"), "w_10", func(err error) bool { return errors.As(err, &de) }},
		{"truncated", small[:len(small)/2], "w_10", func(err error) bool { return errors.As(err, &de) }},
		{"region outside", small, "w_10,h_10,x_400,y_0,c_crop", func(err error) bool { return errors.Is(err, ErrRegion) }},
		{"output too large", small, "w_8192,h_8192,c_scale", func(err error) bool { return errors.Is(err, ErrOutputTooLarge) }},
	}
	for _, tt := range tests {
		o := parse(t, tt.opts)
		_, err := p.Process(context.Background(), tt.src, Request{Options: o, Output: Negotiate(o, format.PNG, nil, false)})
		if !tt.ok(err) {
			t.Errorf("%s: Process = %v", tt.name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := parse(t, "w_10")
	if _, err := p.Process(ctx, small, Request{Options: o, Output: Negotiate(o, format.PNG, nil, false)}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: Process = %v, want context.Canceled", err)
	}
}

// Every output is stripped of metadata: no EXIF orientation or camera tags
// survive from a source that had them.
func TestMetadataStripped(t *testing.T) {
	p := newProcessor(t)
	src := readFile(t, "../testdata/corpus/exif-orientation/Landscape_6.jpg")
	if h, _ := vips.Probe(src); h.Orientation != 6 {
		t.Fatalf("source orientation %d, want 6", h.Orientation)
	}
	for _, f := range []format.Format{format.JPEG, format.WebP, format.AVIF, format.PNG} {
		o := options.Options{Width: 100, Format: f}
		res, err := p.Process(context.Background(), src, Request{Options: o, Output: Negotiate(o, format.JPEG, nil, false)})
		if err != nil {
			t.Fatal(err)
		}
		h, err := vips.Probe(res.Body)
		if err != nil || h.Orientation != 1 || h.EXIF != nil {
			t.Errorf("%v output: orientation %d exif %v (%v), want 1 and none", f, h.Orientation, h.EXIF, err)
		}
	}
}

// TestHEICSource runs HEIC originals through the pipeline: Pictor reads
// HEIC but writes none, so without f_ a HEIC comes out as JPEG, or PNG
// when it has alpha; the pixel limit holds as for any other format.
func TestHEICSource(t *testing.T) {
	p := newProcessor(t)
	opaque := heictest.Encode(t, "../testdata/corpus/pngsuite/basn2c08.png", 90)
	alpha := heictest.Encode(t, "../testdata/corpus/pngsuite/basn6a08.png", 90)
	for _, tt := range []struct {
		name string
		src  []byte
		opts string
		want format.Format
	}{
		{"no f_, opaque", opaque, "w_16", format.JPEG},
		{"no f_, alpha", alpha, "w_16", format.PNG},
		{"f_webp", opaque, "w_16,f_webp", format.WebP},
		{"f_auto without AVIF or WebP", alpha, "w_16,f_auto", format.PNG},
	} {
		o := parse(t, tt.opts)
		res, err := p.Process(context.Background(), tt.src, Request{Options: o, Output: Negotiate(o, format.HEIC, []byte("*/*"), false)})
		if err != nil {
			t.Fatalf("%s: Process: %v", tt.name, err)
		}
		h, err := vips.Probe(res.Body)
		if res.Format != tt.want || err != nil || h.Format != tt.want || h.Width != 16 || h.Height != 16 {
			t.Errorf("%s: Process = %v %d×%d (probed %+v, %v), want %v 16×16", tt.name, res.Format, res.Width, res.Height, h, err, tt.want)
		}
		// The picture survives: compare with the same variant, in the same
		// format, of the PNG it was encoded from.
		orig := readFile(t, "../testdata/corpus/pngsuite/basn2c08.png")
		if bytes.Equal(tt.src, alpha) {
			orig = readFile(t, "../testdata/corpus/pngsuite/basn6a08.png")
		}
		ro := o
		ro.Format, ro.FormatAuto = tt.want, false
		ref, err := p.Process(context.Background(), orig, Request{Options: ro, Output: Negotiate(ro, format.PNG, nil, false)})
		if err != nil {
			t.Fatal(err)
		}
		if db := psnr(toImage(t, res.Body), toImage(t, ref.Body)); db < 30 {
			t.Errorf("%s: PSNR against the PNG source's variant %.1f dB, want ≥ 30", tt.name, db)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxPixels = 32*32 - 1
	small, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	o := parse(t, "w_16")
	if _, err := small.Process(context.Background(), opaque, Request{Options: o, Output: Negotiate(o, format.HEIC, nil, false)}); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("HEIC over the pixel limit: Process = %v, want %v", err, ErrTooManyPixels)
	}
}
