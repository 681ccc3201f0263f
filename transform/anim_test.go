package transform

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pictorhq/pictor/internal/animtest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// animFrames is the test animation's frame count; animDelays its delays
// in centiseconds, animMS the same in milliseconds as libvips reports
// them.
const animFrames = 6

var (
	animDelays = []int{3, 5, 7, 9, 11, 13}
	animMS     = []int{30, 50, 70, 90, 110, 130}
)

// animGIF is a 120×80 animation of animFrames frames, looping forever.
func animGIF(t testing.TB) []byte {
	t.Helper()
	return animtest.GIF(animFrames, 120, 80, animDelays, 0)
}

// animWebP is animGIF as an animated WebP, through libvips.
func animWebP(t testing.TB) []byte {
	t.Helper()
	im, err := vips.Load(animGIF(t), vips.LoadOptions{Pages: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	a := im.Animation()
	b, err := im.Save(vips.SaveOptions{Format: format.WebP, Quality: 90, Animation: &a})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// animOut is what an output holds: its frames' size, count, delays and
// loop count, and the frames stacked as one image.
type animOut struct {
	format        format.Format
	width, height int // of one frame
	frames        int
	delays        []int
	loop          int
	stack         image.Image
}

func readAnim(t testing.TB, b []byte) animOut {
	t.Helper()
	h, err := vips.Probe(b)
	if err != nil {
		t.Fatalf("probe output: %v", err)
	}
	im, err := vips.Load(b, vips.LoadOptions{Pages: -1})
	if err != nil {
		t.Fatalf("load output: %v", err)
	}
	defer im.Close()
	a := im.Animation()
	out := animOut{format: h.Format, width: h.Width, height: h.Height, frames: a.Frames(im.Height()), loop: a.Loop}
	if out.frames > 1 {
		out.delays = a.Delays
	}
	s, err := im.ToSRGB()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Save(vips.SaveOptions{Format: format.PNG})
	if err != nil {
		t.Fatal(err)
	}
	if out.stack, err = png.Decode(bytes.NewReader(p)); err != nil {
		t.Fatal(err)
	}
	return out
}

// frameColours names, for each frame of o, the test animation's frame
// whose colour its centre shows.
func (o animOut) frameColours() []int {
	c := make([]int, o.frames)
	for i := range c {
		c[i] = animtest.Nearest(o.stack.At(o.width/2, i*o.height+o.height/2))
	}
	return c
}

// TestAnimatedGolden is the golden set of animated outputs: each frame
// resized, cropped, padded and given effects on its own, with frame
// count, delays, loop and size checked exactly and the pixels of all
// frames against a golden image by PSNR.
func TestAnimatedGolden(t *testing.T) {
	p := newProcessor(t)
	gif, webp := animGIF(t), animWebP(t)
	all := []int{0, 1, 2, 3, 4, 5}
	tests := []struct {
		name    string
		src     []byte
		srcFmt  format.Format
		opts    string
		accept  string
		format  format.Format
		w, h    int
		colours []int // the source frame each output frame shows
	}{
		{"anim_gif_w60", gif, format.GIF, "w_60", "", format.GIF, 60, 40, all},
		{"anim_gif_to_webp", gif, format.GIF, "w_60,f_webp", "", format.WebP, 60, 40, all},
		{"anim_webp_w90", webp, format.WebP, "w_90", "", format.WebP, 90, 60, all},
		{"anim_webp_f_gif", webp, format.WebP, "w_90,f_gif", "", format.GIF, 90, 60, all},
		{"anim_fill", gif, format.GIF, "w_50,h_50,c_fill", "", format.GIF, 50, 50, all},
		{"anim_crop", gif, format.GIF, "w_40,h_30,c_crop,x_10,y_10", "", format.GIF, 40, 30, all},
		{"anim_pad", gif, format.GIF, "w_100,h_100,c_pad,b_ff0000", "", format.GIF, 100, 100, all},
		{"anim_blur", gif, format.GIF, "w_60,e_blur:1", "", format.GIF, 60, 40, all},
		{"anim_fill_auto", gif, format.GIF, "w_40,h_40,c_fill,g_auto", "", format.GIF, 40, 40, all},
		{"anim_auto_webp", gif, format.GIF, "w_60,f_auto", "image/avif,image/webp", format.WebP, 60, 40, all},
		{"anim_auto_gif", gif, format.GIF, "w_60,f_auto", "image/avif", format.GIF, 60, 40, all},
		{"anim_auto_none", gif, format.GIF, "w_60,f_auto", "", format.GIF, 60, 40, all},
		{"anim_turn90", gif, format.GIF, "w_40,a_90", "", format.GIF, 40, 60, all},
		{"anim_crop_turn", gif, format.GIF, "w_30,h_20,c_crop,x_5,y_10,a_180", "", format.GIF, 30, 20, all},
		{"anim_border_round", webp, format.WebP, "w_60,r_8,bo_2_000000", "", format.WebP, 60, 40, all},
		{"anim_trim_ignored", gif, format.GIF, "w_60,e_trim", "", format.GIF, 60, 40, all},
		{"anim_page3", gif, format.GIF, "w_60,pg_3", "", format.GIF, 60, 40, []int{2}},
		{"anim_page6_webp", webp, format.WebP, "w_60,pg_6", "", format.WebP, 60, 40, []int{5}},
		{"anim_to_jpeg", gif, format.GIF, "w_60,f_jpeg", "", format.JPEG, 60, 40, []int{0}},
		{"anim_to_avif", gif, format.GIF, "w_60,f_avif", "", format.AVIF, 60, 40, []int{0}},
		{"anim_to_png_page2", gif, format.GIF, "w_60,f_png,pg_2", "", format.PNG, 60, 40, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parse(t, tt.opts)
			res, err := p.Process(context.Background(), tt.src, Request{Options: o, Output: Negotiate(o, tt.srcFmt, []byte(tt.accept), false)})
			if err != nil {
				t.Fatalf("Process(%q): %v", tt.opts, err)
			}
			if res.Format != tt.format || res.Width != tt.w || res.Height != tt.h {
				t.Errorf("Process(%q) = %v %d×%d, want %v %d×%d", tt.opts, res.Format, res.Width, res.Height, tt.format, tt.w, tt.h)
			}
			got := readAnim(t, res.Body)
			if got.format != tt.format || got.width != tt.w || got.height != tt.h || got.frames != len(tt.colours) {
				t.Errorf("output is %v, %d frames of %d×%d; want %v, %d of %d×%d",
					got.format, got.frames, got.width, got.height, tt.format, len(tt.colours), tt.w, tt.h)
			}
			if len(tt.colours) > 1 && (!slices.Equal(got.delays, animMS) || got.loop != 0) {
				t.Errorf("delays %v loop %d, want %v loop 0", got.delays, got.loop, animMS)
			}
			if c := got.frameColours(); !slices.Equal(c, tt.colours) {
				t.Errorf("frames show the colours of source frames %v, want %v", c, tt.colours)
			}
			compareGolden(t, tt.name, got.stack)
		})
	}
}

// compareGolden checks img against testdata/golden/<name>.png by PSNR,
// or writes it there with -update.
func compareGolden(t *testing.T, name string, img image.Image) {
	t.Helper()
	path := filepath.Join("../testdata/golden", name+".png")
	if *update {
		writePNG(t, path, img)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -run %s -update)", path, err, t.Name())
	}
	want, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db := psnr(img, want); db < 40 {
		failed := filepath.Join("../testdata/golden", name+".failed.png")
		writePNG(t, failed, img)
		t.Errorf("%s: PSNR %.1f dB against the golden, want >= 40; wrote %s", name, db, failed)
	}
}

// TestAnimatedLimits: the frame limit and the pixel limit over all frames
// are judged from the header, before any decode.
func TestAnimatedLimits(t *testing.T) {
	gif := animGIF(t) // 6 frames of 120×80: 57,600 pixels in all
	for _, tt := range []struct {
		name      string
		maxFrames int
		maxPixels int64
		want      error
	}{
		{"within", 6, 57_600, nil},
		{"frames", 5, 50_000_000, ErrTooManyFrames},
		{"pixels of all frames", 200, 57_599, ErrTooManyPixels},
	} {
		cfg := DefaultConfig()
		cfg.MaxFrames, cfg.MaxPixels = tt.maxFrames, tt.maxPixels
		p, err := New(cfg, Deps{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Probe(gif); !errors.Is(err, tt.want) {
			t.Errorf("%s: Probe = %v, want %v", tt.name, err, tt.want)
		}
		o := parse(t, "w_10")
		if _, err := p.Process(context.Background(), gif, Request{Options: o, Output: Negotiate(o, format.GIF, nil, false)}); !errors.Is(err, tt.want) {
			t.Errorf("%s: Process = %v, want %v", tt.name, err, tt.want)
		}
	}

	// A GIF of 20,000 one-pixel frames (libvips counts 4097 and stops) is
	// refused by the header read alone.
	huge := animtest.GIF(20_000, 1, 1, []int{1}, 0)
	if _, err := newProcessor(t).Probe(huge); !errors.Is(err, ErrTooManyFrames) {
		t.Errorf("Probe(20,000 frames) = %v, want ErrTooManyFrames", err)
	}

	for _, bad := range []int{0, 4097} {
		cfg := DefaultConfig()
		cfg.MaxFrames = bad
		if _, err := New(cfg, Deps{}); err == nil {
			t.Errorf("New(MaxFrames %d): no error", bad)
		}
	}
}

func TestPageOutsideImage(t *testing.T) {
	p := newProcessor(t)
	for _, tt := range []struct {
		src    []byte
		srcFmt format.Format
		opts   string
	}{
		{animGIF(t), format.GIF, "pg_7"},
		{readFile(t, "../testdata/sample.jpg"), format.JPEG, "w_10,pg_2"},
	} {
		o := parse(t, tt.opts)
		if _, err := p.Process(context.Background(), tt.src, Request{Options: o, Output: Negotiate(o, tt.srcFmt, nil, false)}); !errors.Is(err, ErrPage) {
			t.Errorf("Process(%q) = %v, want ErrPage", tt.opts, err)
		}
	}
	// pg_1 of a still is the still.
	o := parse(t, "w_10,pg_1")
	if _, err := p.Process(context.Background(), readFile(t, "../testdata/sample.jpg"), Request{Options: o, Output: Negotiate(o, format.JPEG, nil, false)}); err != nil {
		t.Errorf("Process(w_10,pg_1) of a JPEG: %v", err)
	}
}

// TestVariantsAnimated: a srcset over an animation decodes it once for
// every request, animated or not, and each gets its own frames.
func TestVariantsAnimated(t *testing.T) {
	p, _ := newCachingProcessor(t, 64<<20)
	gif := animGIF(t)
	const key = "0123456789abcdef0123456789abcdef.gif"
	// A first-frame decode in the cache must not serve an animation.
	if _, err := p.Variants(context.Background(), key, gif, requests(t, format.GIF, "w_100,f_png", "w_50,f_png")); err != nil {
		t.Fatal(err)
	}
	for _, round := range []string{"after a first-frame decode", "again"} {
		decodes := p.Decodes()
		res, err := p.Variants(context.Background(), key, gif, requests(t, format.GIF, "w_60", "w_30,f_webp", "w_40,f_jpeg", "w_20,pg_4"))
		if err != nil {
			t.Fatal(err)
		}
		if n := p.Decodes() - decodes; n != 1 {
			t.Errorf("%s: %d decodes for four variants, want 1", round, n)
		}
		want := []struct {
			w, h    int
			colours []int
		}{
			{60, 40, []int{0, 1, 2, 3, 4, 5}},
			{30, 20, []int{0, 1, 2, 3, 4, 5}},
			{40, 27, []int{0}},
			{20, 13, []int{3}},
		}
		for i, r := range res {
			got := readAnim(t, r.Body)
			if got.width != want[i].w || got.height != want[i].h || !slices.Equal(got.frameColours(), want[i].colours) {
				t.Errorf("%s: variant %d is %d frames of %d×%d showing %v; want %d×%d showing %v",
					round, i, got.frames, got.width, got.height, got.frameColours(), want[i].w, want[i].h, want[i].colours)
			}
		}
	}
}

// TestRollResizeBleed bounds what resizing the stacked frames in one pass
// costs against resizing each frame alone: the same pixels but for the
// rows within reach of the Lanczos3 kernel at a frame boundary.
func TestRollResizeBleed(t *testing.T) {
	p := newProcessor(t)
	gif := animGIF(t) // 120×80 frames
	o := parse(t, "w_50")
	res, err := p.Process(context.Background(), gif, Request{Options: o, Output: Negotiate(o, format.GIF, nil, false)})
	if err != nil {
		t.Fatal(err)
	}
	got := readAnim(t, res.Body)

	// The reference: each frame resized on its own.
	im, err := vips.Load(gif, vips.LoadOptions{Pages: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	frames, err := im.SplitFrames(80)
	if err != nil {
		t.Fatal(err)
	}
	defer vips.CloseAll(frames)
	for i, f := range frames {
		r, err := f.Resize(50.0/120, 33.0/80) // 50×33: w_50 of 120×80
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = r
		f.Close()
	}
	joined, err := vips.JoinFrames(frames)
	if err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	a := vips.Animation{PageHeight: 33}
	b, err := joined.Save(vips.SaveOptions{Format: format.GIF, Animation: &a})
	if err != nil {
		t.Fatal(err)
	}
	want := readAnim(t, b)
	if got.height != 33 || got.frames != animFrames {
		t.Fatalf("output %d frames of height %d, want %d of 33", got.frames, got.height, animFrames)
	}
	const reach = 3 // output rows the kernel reaches past a boundary
	for i := range animFrames {
		for y := reach; y < 33-reach; y++ {
			for x := 0; x < 50; x++ {
				g := color.RGBAModel.Convert(got.stack.At(x, i*33+y)).(color.RGBA)
				w := color.RGBAModel.Convert(want.stack.At(x, i*33+y)).(color.RGBA)
				if d := max(absDiff(g.R, w.R), absDiff(g.G, w.G), absDiff(g.B, w.B)); d > 24 {
					t.Fatalf("frame %d (%d, %d): %v, each frame alone gives %v", i, x, y, g, w)
				}
			}
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
