package transform

import (
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pictorhq/pictor/cache"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// Keys the layer tests store their overlays under.
const (
	logoKey   = "1111111111111111111111111111111111111111111111111111111111111111.png"
	opaqueKey = "2222222222222222222222222222222222222222222222222222222222222222.jpg"
	absentKey = "3333333333333333333333333333333333333333333333333333333333333333.png"
)

var errAbsent = errors.New("test store: no such original")

// memOverlays is an OverlaySource over a map, counting reads.
type memOverlays struct {
	m     map[string][]byte
	reads atomic.Int64
}

func (s *memOverlays) Overlay(key string) ([]byte, func(), error) {
	b, ok := s.m[key]
	if !ok {
		return nil, nil, errAbsent
	}
	s.reads.Add(1)
	return b, func() {}, nil
}

// fxRig is a Processor with overlays and a decode cache, and a parser
// that knows the overlay names and a watermark.
type fxRig struct {
	p        *Processor
	parser   *options.Parser
	overlays *memOverlays
	decoded  *cache.Decoded[*Decoded]
	sample   []byte
	alpha    []byte
}

func newFXRig(t testing.TB) *fxRig {
	t.Helper()
	r := &fxRig{sample: readFile(t, "../testdata/sample.jpg"), alpha: readFile(t, "../testdata/alpha.png")}
	r.overlays = &memOverlays{m: map[string][]byte{logoKey: r.alpha, opaqueKey: r.sample}}
	dc, err := cache.NewDecoded[*Decoded](cache.DecodedConfig{MaxBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	r.decoded = dc
	if r.p, err = New(DefaultConfig(), Deps{Decoded: dc, Overlays: r.overlays}); err != nil {
		t.Fatal(err)
	}
	cfg := options.DefaultConfig()
	cfg.Overlays = map[string]string{"logo": logoKey, "photo": opaqueKey}
	cfg.Watermark = "l_logo,lw_20,lo_60,lx_8,ly_8"
	if r.parser, err = options.NewParser(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

// render makes one variant of src through Variants, as the server does.
func (r *fxRig) render(t testing.TB, key string, src []byte, opts string) (Result, image.Image) {
	t.Helper()
	o, err := r.parser.Parse(opts)
	if err != nil {
		t.Fatalf("Parse(%q): %v", opts, err)
	}
	srcFmt, _ := format.FromKey(key)
	res, err := r.p.Variants(context.Background(), key, src, []Request{{Options: o, Output: Negotiate(o, srcFmt, nil, false)}})
	if err != nil {
		t.Fatalf("Variants(%q): %v", opts, err)
	}
	return res[0], toImage(t, res[0].Body)
}

const (
	fxSampleKey = "4444444444444444444444444444444444444444444444444444444444444444.jpg"
	alphaKey    = "5555555555555555555555555555555555555555555555555555555555555555.png"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// framed is the sample inside a uniform 40 px light-grey frame, a PNG.
func framed(t testing.TB) []byte {
	t.Helper()
	im, err := vips.Load(readFile(t, "../testdata/sample.jpg"), vips.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	e, err := im.Embed(40, 40, im.Width()+80, im.Height()+80, vips.Color{R: 230, G: 230, B: 230})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, err := e.Save(vips.SaveOptions{Format: format.PNG})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenEffects is TestGolden for the effects and layers: one golden
// per option, compared by PSNR.
func TestGoldenEffects(t *testing.T) {
	r := newFXRig(t)
	frame := framed(t)
	const frameKey = "6666666666666666666666666666666666666666666666666666666666666666.png"
	cjk := b64("你好，世界 こんにちは 안녕")
	tests := []struct {
		name string
		key  string
		src  []byte
		opts string
		w, h int
	}{
		{"fx_rot90", fxSampleKey, r.sample, "w_300,a_90", 300, 450},
		{"fx_rot180", fxSampleKey, r.sample, "w_300,a_180", 300, 200},
		{"fx_rot270", fxSampleKey, r.sample, "h_300,a_270,f_webp", 200, 300},
		{"fx_hflip", fxSampleKey, r.sample, "w_300,a_hflip", 300, 200},
		{"fx_vflip_crop", fxSampleKey, r.sample, "w_200,h_150,c_crop,x_100,y_500,a_vflip,f_png", 200, 150},
		{"fx_trim", frameKey, frame, "w_300,e_trim", 300, 200},
		{"fx_pixelate", fxSampleKey, r.sample, "w_300,e_pixelate:12", 300, 200},
		{"fx_brightness", fxSampleKey, r.sample, "w_300,e_brightness:-40", 300, 200},
		{"fx_contrast", fxSampleKey, r.sample, "w_300,e_contrast:50", 300, 200},
		{"fx_saturation", fxSampleKey, r.sample, "w_300,e_saturation:80", 300, 200},
		{"fx_tone", fxSampleKey, r.sample, "w_300,e_brightness:30:contrast:25:saturation:-60", 300, 200},
		{"fx_round_png", fxSampleKey, r.sample, "w_300,r_40,f_png", 300, 200},
		{"fx_round_max_jpeg", fxSampleKey, r.sample, "w_300,r_max,b_ff0000", 300, 200},
		{"fx_border", fxSampleKey, r.sample, "w_300,bo_6_00ff00,dpr_1.5", 450, 300},
		{"fx_pad_blur", fxSampleKey, r.sample, "w_300,h_300,c_pad,b_blur", 300, 300},
		{"fx_overlay_jpeg", fxSampleKey, r.sample, "w_400,l_logo,lw_30,lo_80", 400, 267},
		{"fx_overlay_png_on_alpha", alphaKey, r.alpha, "w_300,l_logo,lw_40,lg_north_west,f_png", 300, 200},
		{"fx_overlay_webp", fxSampleKey, r.sample, "w_400,l_logo,lw_25,lg_center,f_webp", 400, 267},
		{"fx_overlay_opaque_on_alpha_webp", alphaKey, r.alpha, "w_300,l_photo,lw_30,lg_north,ly_10,f_webp", 300, 200},
		{"fx_tile", fxSampleKey, r.sample, "w_400,l_logo,lw_10,lo_50,lt_1", 400, 267},
		{"fx_text_cjk", fxSampleKey, r.sample, "w_400,l_text:" + cjk + ",lc_ffffff,ls_28,lg_south,ly_10", 400, 267},
		{"fx_watermark", fxSampleKey, r.sample, "w_400,wm_1", 400, 267},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, got := r.render(t, tt.key, tt.src, tt.opts)
			if res.Width != tt.w || res.Height != tt.h {
				t.Errorf("%q = %dx%d, want %dx%d", tt.opts, res.Width, res.Height, tt.w, tt.h)
			}
			checkGolden(t, tt.name, got)
		})
	}
}

func checkGolden(t *testing.T, name string, got image.Image) {
	t.Helper()
	path := filepath.Join("../testdata/golden", name+".png")
	if *update {
		writePNG(t, path, got)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -run TestGoldenEffects -update)", path, err)
	}
	want, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db := psnr(got, want); db < 40 {
		failed := filepath.Join("../testdata/golden", name+".failed.png")
		writePNG(t, failed, got)
		t.Errorf("%s: PSNR %.1f dB against the golden, want >= 40; wrote %s", name, db, failed)
	}
}

// changed counts the pixels of a and b (same size) inside rect whose
// colour differs by more than tol in any channel.
func changed(a, b image.Image, rect image.Rectangle, tol int) (n, total int) {
	rect = rect.Intersect(a.Bounds())
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			p, q := rgba8(a.At(x, y)), rgba8(b.At(x, y))
			for i := range p {
				if d := int(p[i]) - int(q[i]); d > tol || d < -tol {
					n++
					break
				}
			}
			total++
		}
	}
	return n, total
}

func rgba8(c interface{ RGBA() (r, g, b, a uint32) }) [4]uint8 {
	r, g, b, a := c.RGBA()
	return [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

// TestLayerPixels checks where layers draw: inside the overlay's box the
// pixels change, away from it they do not, in every output format, over
// bases with and without alpha, and the text of a CJK layer is inked.
func TestLayerPixels(t *testing.T) {
	r := newFXRig(t)
	cases := []struct {
		name, key string
		src       []byte
		base, fx  string
		in, out   image.Rectangle // where pixels must change, and must not
	}{
		// The logo is 300×200 (alpha.png); lw_50 of 400 is 200×133 at
		// the south east corner of a 400×267 JPEG.
		{"jpeg", fxSampleKey, r.sample, "w_400", "w_400,l_logo,lw_50", image.Rect(230, 160, 380, 250), image.Rect(0, 0, 180, 120)},
		{"png", fxSampleKey, r.sample, "w_400,f_png", "w_400,f_png,l_logo,lw_50", image.Rect(230, 160, 380, 250), image.Rect(0, 0, 180, 120)},
		{"webp", fxSampleKey, r.sample, "w_400,f_webp,q_90", "w_400,f_webp,q_90,l_logo,lw_50,lg_north_west", image.Rect(20, 20, 180, 120), image.Rect(230, 160, 400, 267)},
		{"alpha base png", alphaKey, r.alpha, "w_300,f_png", "w_300,f_png,l_photo,lw_50,lg_center", image.Rect(90, 60, 210, 140), image.Rect(0, 0, 60, 40)},
		{"alpha base jpeg", alphaKey, r.alpha, "w_300,f_jpeg", "w_300,f_jpeg,l_photo,lw_50,lg_center", image.Rect(90, 60, 210, 140), image.Rect(0, 0, 60, 40)},
		{"grey base keeps the layer's colour", fxSampleKey, r.sample, "w_400,f_png,e_grayscale", "w_400,f_png,e_grayscale,l_logo,lw_50", image.Rect(230, 160, 380, 250), image.Rect(0, 0, 180, 120)},
		{"tile", fxSampleKey, r.sample, "w_400,f_png", "w_400,f_png,l_photo,lw_10,lo_50,lt_1", image.Rect(0, 0, 400, 267), image.Rectangle{}},
		{"cjk text", fxSampleKey, r.sample, "w_400,f_png", "w_400,f_png,l_text:" + b64("你好世界") + ",lc_ff0000,ls_40,lg_north_west,lx_10,ly_10", image.Rect(10, 10, 170, 60), image.Rect(0, 120, 400, 267)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, base := r.render(t, c.key, c.src, c.base)
			_, with := r.render(t, c.key, c.src, c.fx)
			if n, total := changed(base, with, c.in, 12); n < total/5 {
				t.Errorf("%s: %d of %d pixels changed inside %v, want the layer there", c.fx, n, total, c.in)
			}
			if strings.HasPrefix(c.name, "grey") {
				// alpha.png's discs are red: colour, not grey.
				if p := rgba8(with.At(300, 210)); int(p[0])-int(p[2]) < 60 {
					t.Errorf("%s: layer pixel %v, want the logo's red over the grey base", c.fx, p)
				}
			}
			if !c.out.Empty() {
				if n, _ := changed(base, with, c.out, 12); n != 0 {
					t.Errorf("%s: %d pixels changed outside the layer, in %v", c.fx, n, c.out)
				}
			}
		})
	}

	// Opacity: lo_50 of an opaque overlay lands halfway between the base
	// and lo_100.
	_, base := r.render(t, fxSampleKey, r.sample, "w_400,f_png")
	_, full := r.render(t, fxSampleKey, r.sample, "w_400,f_png,l_photo,lw_50,lg_north_west")
	_, half := r.render(t, fxSampleKey, r.sample, "w_400,f_png,l_photo,lw_50,lg_north_west,lo_50")
	b, f, h := rgba8(base.At(50, 50)), rgba8(full.At(50, 50)), rgba8(half.At(50, 50))
	for i := range 3 {
		if mid := (int(b[i]) + int(f[i])) / 2; int(h[i]) < mid-3 || int(h[i]) > mid+3 {
			t.Errorf("lo_50 channel %d = %d, want about %d (between %d and %d)", i, h[i], mid, b[i], f[i])
		}
	}
}

func TestRoundedCorners(t *testing.T) {
	r := newFXRig(t)
	_, png := r.render(t, fxSampleKey, r.sample, "w_300,r_30,f_png")
	if a := rgba8(png.At(0, 0))[3]; a != 0 {
		t.Errorf("PNG corner alpha %d, want transparent", a)
	}
	if a := rgba8(png.At(150, 100))[3]; a != 255 {
		t.Errorf("PNG centre alpha %d, want opaque", a)
	}
	_, jpg := r.render(t, fxSampleKey, r.sample, "w_300,r_30,b_0000ff")
	if p := rgba8(jpg.At(1, 1)); p[2] < 200 || p[0] > 50 || p[1] > 50 {
		t.Errorf("JPEG corner %v, want the b_ colour (blue)", p)
	}
	_, white := r.render(t, fxSampleKey, r.sample, "w_300,r_max,f_jpeg")
	if p := rgba8(white.At(2, 2)); p[0] < 240 || p[1] < 240 || p[2] < 240 {
		t.Errorf("JPEG r_max corner %v without b_, want white", p)
	}
}

func TestOverlayDecodedOnce(t *testing.T) {
	r := newFXRig(t)
	for range 3 {
		r.render(t, fxSampleKey, r.sample, "w_200,l_logo")
	}
	r.render(t, fxSampleKey, r.sample, "w_300,l_logo,lt_1,lw_5")
	if n := r.overlays.reads.Load(); n != 1 {
		t.Errorf("the overlay was read %d times for four variants, want once (kept decoded)", n)
	}
}

func TestOverlayErrors(t *testing.T) {
	r := newFXRig(t)
	o, err := r.parser.Parse("w_100,l_" + absentKey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.p.Variants(context.Background(), fxSampleKey, r.sample, []Request{{Options: o, Output: Negotiate(o, format.JPEG, nil, false)}})
	var oe *OverlayError
	if !errors.As(err, &oe) || oe.Key != absentKey || !errors.Is(err, errAbsent) {
		t.Errorf("missing overlay: error %v, want an *OverlayError naming it and wrapping the store's", err)
	}

	// Bytes that are no image.
	r.overlays.m[absentKey] = []byte("not an image at all, just text")
	_, err = r.p.Variants(context.Background(), fxSampleKey, r.sample, []Request{{Options: o, Output: Negotiate(o, format.JPEG, nil, false)}})
	if !errors.As(err, &oe) {
		t.Errorf("undecodable overlay: error %v, want an *OverlayError", err)
	}

	// A text of zero-width characters draws nothing.
	zw, err := r.parser.Parse("w_100,l_text:" + b64("\u200b\u200b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.Variants(context.Background(), fxSampleKey, r.sample, []Request{{Options: zw, Output: Negotiate(zw, format.JPEG, nil, false)}}); !errors.Is(err, ErrText) {
		t.Errorf("zero-width text: error %v, want ErrText", err)
	}

	// No source at all.
	p := newProcessor(t)
	_, err = p.Process(context.Background(), r.sample, Request{Options: o, Output: Negotiate(o, format.JPEG, nil, false)})
	if !errors.Is(err, ErrNoOverlays) {
		t.Errorf("no overlay source: error %v, want ErrNoOverlays", err)
	}
}

// TestTurnSizes checks that w_ and h_ apply to the turned image, from one
// decode and from several.
func TestTurnSizes(t *testing.T) {
	r := newFXRig(t)
	var reqs []Request
	want := [][2]int{{200, 300}, {300, 200}, {100, 150}, {150, 100}}
	for _, s := range []string{"w_200,a_90", "w_300,a_180", "w_100,a_270", "w_150,a_hflip"} {
		o, err := r.parser.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, Request{Options: o, Output: Negotiate(o, format.JPEG, nil, false)})
	}
	res, err := r.p.Variants(context.Background(), fxSampleKey, r.sample, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, res := range res {
		if res.Width != want[i][0] || res.Height != want[i][1] {
			t.Errorf("%s: %dx%d, want %dx%d", reqs[i].Options, res.Width, res.Height, want[i][0], want[i][1])
		}
	}
	// hflip mirrors: the left edge of the flip is the right edge of the
	// plain resize.
	_, plain := r.render(t, fxSampleKey, r.sample, "w_300,f_png")
	_, flip := r.render(t, fxSampleKey, r.sample, "w_300,a_hflip,f_png")
	var worst int
	for y := 0; y < 200; y += 10 {
		p, q := rgba8(plain.At(299, y)), rgba8(flip.At(0, y))
		for i := range 3 {
			worst = max(worst, int(p[i])-int(q[i]), int(q[i])-int(p[i]))
		}
	}
	if worst > 2 {
		t.Errorf("hflip: left column differs from the plain right column by up to %d", worst)
	}
}

func TestTrimSize(t *testing.T) {
	r := newFXRig(t)
	src := framed(t)
	res, _ := r.render(t, "7777777777777777777777777777777777777777777777777777777777777777.png", src, "e_trim")
	if res.Width != 1200 || res.Height != 800 {
		t.Errorf("e_trim of a 40 px frame: %dx%d, want 1200x800", res.Width, res.Height)
	}
}

// TestHostileText checks that the largest text at the largest size on a
// tiny output renders at the output's scale, not the URL's: one 256-byte
// word at ls_200 and dpr_4 on a 20 px wide image.
func TestHostileText(t *testing.T) {
	r := newFXRig(t)
	long := b64(strings.Repeat("W", 256))
	start := time.Now()
	res, _ := r.render(t, fxSampleKey, r.sample, "w_20,dpr_4,l_text:"+long+",ls_200,lt_1")
	if res.Width != 80 || res.Height != 53 {
		t.Errorf("%dx%d, want 80x53", res.Width, res.Height)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if got := textSize(800, 256, 80, 53); got > 10 {
		t.Errorf("textSize(800, 256 runes, 80×53) = %d, want the render bounded by the output", got)
	}
}

// TestPlaceholder checks that a placeholder comes from the decode a
// variant made (no decode of its own), and otherwise from a small one,
// with the same look either way.
func TestPlaceholder(t *testing.T) {
	r := newFXRig(t)
	reqs := []Request{}
	for _, s := range []string{"w_300", "w_200"} {
		o := parse(t, s)
		reqs = append(reqs, Request{Options: o, Output: Negotiate(o, format.JPEG, nil, false)})
	}
	if _, err := r.p.Variants(context.Background(), fxSampleKey, r.sample, reqs); err != nil {
		t.Fatal(err)
	}
	decodes := r.p.Decodes()
	from, ok := r.p.CachedPlaceholder(fxSampleKey)
	if !ok {
		t.Fatal("no placeholder after a decode was made")
	}
	if got, err := r.p.Placeholder(context.Background(), fxSampleKey, r.sample); err != nil || got != from || r.p.Decodes() != decodes {
		t.Errorf("Placeholder = %+v, %v after %d decodes, want %+v without decoding", got, err, r.p.Decodes()-decodes, from)
	}

	fresh := newProcessor(t)
	alone, err := fresh.Placeholder(context.Background(), fxSampleKey, r.sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(alone.BlurHash) != 28 || len(alone.Color) != 7 || alone.Color[0] != '#' || fresh.Decodes() != 1 {
		t.Fatalf("Placeholder = %+v after %d decodes, want one", alone, fresh.Decodes())
	}
	// The DC term (the mean colour) of both agrees within a level or two.
	dc := func(h string) [3]int {
		v := 0
		for i := 2; i < 6; i++ {
			v = v*83 + strings.IndexByte("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~", h[i])
		}
		return [3]int{v >> 16, v >> 8 & 255, v & 255}
	}
	a, b := dc(from.BlurHash), dc(alone.BlurHash)
	for i := range a {
		if d := a[i] - b[i]; d > 3 || d < -3 {
			t.Errorf("mean colour %v from the variants' decode, %v from a small one", a, b)
			break
		}
	}
	// Transparent originals are flattened onto white.
	if ph, err := fresh.Placeholder(context.Background(), alphaKey, r.alpha); err != nil || !strings.HasPrefix(ph.Color, "#f") || ph.Color[3] != 'f' || ph.Color[5] != 'f' {
		t.Errorf("alpha.png placeholder = %+v, %v; want white dominant (mostly transparent)", ph, err)
	}
}

// TestOverlayShrinkOnLoad checks that a large JPEG overlay on a small
// output is decoded only as large as it can be drawn, and decoded again,
// larger, for a larger output.
func TestOverlayShrinkOnLoad(t *testing.T) {
	r := newFXRig(t)
	width := func() int {
		d, ok := r.decoded.Get(opaqueKey)
		if !ok {
			t.Fatal("overlay not in the decoded cache")
		}
		defer d.Release()
		return d.img.Width()
	}
	r.render(t, fxSampleKey, r.sample, "w_200,l_photo")
	if w := width(); w != 300 { // 1200/4 covers 200; 1200/8 would not
		t.Errorf("overlay for a 200 px output decoded %d wide, want 300 (1/4)", w)
	}
	res, _ := r.render(t, fxSampleKey, r.sample, "w_1000,l_photo,lw_100,lg_north_west")
	if w := width(); w != 1200 {
		t.Errorf("overlay for a 1000 px output decoded %d wide, want 1200 (whole)", w)
	}
	if res.Width != 1000 {
		t.Errorf("output %d wide", res.Width)
	}
}

// TestPreparedLayerFollowsDelete checks that a layer prepared for an
// output size is drawn again without reading the overlay, and that once
// the overlay's original is deleted (its decode purged, as a DELETE does)
// the prepared copy is not drawn: the variant fails as a missing overlay.
func TestPreparedLayerFollowsDelete(t *testing.T) {
	r := newFXRig(t)
	r.render(t, fxSampleKey, r.sample, "w_240,f_png,l_logo,lw_40,lo_70")
	r.render(t, fxSampleKey, r.sample, "w_240,f_png,l_logo,lw_40,lo_70,lg_north_west")
	if n := r.overlays.reads.Load(); n != 1 {
		t.Errorf("overlay read %d times, want once", n)
	}
	if n := len(r.p.prepared.m); n != 1 {
		t.Errorf("%d prepared layers, want 1 (the place is not part of it)", n)
	}

	delete(r.overlays.m, logoKey)
	r.decoded.Purge(logoKey)
	o, err := r.parser.Parse("w_240,f_png,l_logo,lw_40,lo_70")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.p.Variants(context.Background(), fxSampleKey, r.sample, []Request{{Options: o, Output: Negotiate(o, format.PNG, nil, false)}})
	if !errors.Is(err, errAbsent) {
		t.Errorf("after the overlay's delete: error %v, want the store's not-found", err)
	}
}
