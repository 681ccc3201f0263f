package resample

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pictorhq/pictor/transform/internal/vipsref"
	"github.com/pictorhq/pictor/transform/internal/vipstest"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestMain(m *testing.M) { vipstest.Main(m) }

// testImage makes samples that exercise every rounding: smooth gradients
// (long runs near one value), noise (sharp edges, overshoot past 0 and
// 255), and for alpha an alpha band with fully transparent, opaque and
// partial regions.
func testImage(w, h, bands int, alpha bool, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pix := make([]byte, w*h*bands)
	for y := range h {
		for x := range w {
			for b := range bands {
				i := (y*w+x)*bands + b
				switch {
				case alpha && b == bands-1:
					switch (x / 7) % 4 {
					case 0:
						pix[i] = 0
					case 1:
						pix[i] = 255
					default:
						pix[i] = byte(r.IntN(256))
					}
				case (x+y+b)%5 == 0:
					pix[i] = byte(r.IntN(256))
				case (x/3+b)%2 == 0:
					pix[i] = byte(255 * x / max(1, w-1))
				default:
					pix[i] = byte((y*37 + b*91) % 256)
				}
			}
		}
	}
	return pix
}

// oracle resizes pix with libvips: vips_resize alone for the uchar path,
// and the pipeline's Resize (premultiply, cast to uchar, vips_resize,
// unpremultiply, cast) for the alpha path.
func oracle(t testing.TB, pix []byte, w, h, bands int, alpha bool, hs, vs float64) ([]byte, int, int, Geometry) {
	t.Helper()
	if !alpha {
		r, err := vipsref.Resize(pix, w, h, bands, hs, vs, vipsref.Straight)
		if err != nil {
			t.Fatal(err)
		}
		return r.Pix, r.Width, r.Height, Geometry{r.TileWidth, r.TileHeight}
	}
	img, err := vips.FromPixels(pix, w, h, bands, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if !img.HasAlpha() {
		t.Fatalf("FromPixels(%d bands).HasAlpha() = false, want true", bands)
	}
	out, err := img.Resize(hs, vs)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	buf := make([]byte, out.Width()*out.Height()*out.Bands())
	if err := out.WritePixels(buf); err != nil {
		t.Fatal(err)
	}
	tw, th := out.TileSize()
	return buf, out.Width(), out.Height(), Geometry{tw, th}
}

// maxDiff is the largest absolute difference between two sample buffers
// and the index where it first occurs.
func maxDiff(a, b []byte) (int, int) {
	d, at := 0, -1
	for i := range a {
		if x := max(int(a[i])-int(b[i]), int(b[i])-int(a[i])); x > d {
			d, at = x, i
		}
	}
	return d, at
}

// gridCase is one point of the bit-exactness grid.
type gridCase struct {
	w, h, bands int
	alpha       bool
	hs, vs      float64
}

func (c gridCase) String() string {
	return fmt.Sprintf("%dx%dx%d/alpha=%v/%gx%g", c.w, c.h, c.bands, c.alpha, c.hs, c.vs)
}

// grid is odd sizes (and a few even ones) × scales from 0.03 to 0.9, as
// factors and as the pipeline computes them (target / source), × 1, 3 and
// 4 bands, with and without alpha.
func grid(short bool) []gridCase {
	sizes := [][2]int{{3, 5}, {17, 9}, {33, 65}, {101, 77}, {257, 129}, {641, 479}, {1001, 999}}
	scales := []float64{0.03, 0.037, 0.05, 0.0999, 0.125, 0.1667, 0.2, 0.25, 0.3, 1.0 / 3, 0.37, 0.4, 0.5, 0.55, 0.6, 2.0 / 3, 0.7, 0.77, 0.8, 0.9}
	bands := []struct {
		n     int
		alpha bool
	}{{1, false}, {2, true}, {3, false}, {4, false}, {4, true}}
	if short {
		sizes = [][2]int{{17, 9}, {101, 77}, {641, 479}}
		scales = []float64{0.03, 0.1667, 1.0 / 3, 0.5, 0.77, 0.9}
	}
	var cases []gridCase
	for i, s := range sizes {
		for j, sc := range scales {
			for _, b := range bands {
				// Anisotropic scales too: the second scale is another grid
				// value, or the same, or 1 (one axis untouched).
				vs := scales[(j+i+1)%len(scales)]
				switch (i + j) % 3 {
				case 0:
					vs = sc
				case 1:
					vs = 1
				}
				cases = append(cases, gridCase{s[0], s[1], b.n, b.alpha, sc, vs})
			}
		}
		// The pipeline's own scales: an exact target width over the
		// source width.
		for _, target := range []int{1, 2, 7, 40, 99} {
			if target < s[0] {
				sc := float64(target) / float64(s[0])
				cases = append(cases, gridCase{s[0], s[1], 3, false, sc, sc}, gridCase{s[0], s[1], 4, true, sc, sc})
			}
		}
	}
	return cases
}

// TestReferenceEqualsVips is the oracle test: over the grid, the Go
// reference equals libvips with a maximum difference of 0 on every pixel,
// given the tile geometry libvips computes the result in. It also counts
// the pixels a plan leaves unsettled: those whose value libvips itself
// computes differently in another geometry.
func TestReferenceEqualsVips(t *testing.T) {
	var pixels, unsettledPixels, plans, unsettledPlans int
	for i, c := range grid(testing.Short()) {
		pix := testImage(c.w, c.h, c.bands, c.alpha, uint64(i))
		want, ow, oh, g := oracle(t, pix, c.w, c.h, c.bands, c.alpha, c.hs, c.vs)
		p, err := NewPlan(c.w, c.h, c.bands, c.alpha, c.hs, c.vs, g)
		if err != nil {
			t.Fatalf("%v: NewPlan: %v", c, err)
		}
		if p.OutWidth() != ow || p.OutHeight() != oh {
			t.Errorf("%v: plan size %dx%d, vips %dx%d", c, p.OutWidth(), p.OutHeight(), ow, oh)
			continue
		}
		got, err := Reference(p, pix)
		if err != nil {
			t.Fatal(err)
		}
		plans++
		pixels += ow * oh
		if !p.Settled() {
			unsettledPlans++
			unsettledPixels += ow*oh - (ow-p.H.Unsettle)*(oh-p.V.Unsettle)
		}
		if d, at := maxDiff(got, want); d != 0 {
			px := at / c.bands
			t.Errorf("%v (tiles %v): max diff %d at (%d,%d) band %d: got %d, vips %d (stages %v)",
				c, g, d, px%ow, px/ow, at%c.bands, got[at], want[at], p.Stages)
		}
	}
	t.Logf("%d plans, %d output pixels: max diff 0; %d plans leave %d pixels (%.2f%%) unsettled",
		plans, pixels, unsettledPlans, unsettledPixels, 100*float64(unsettledPixels)/float64(pixels))
}

func TestNewPlanRefuses(t *testing.T) {
	tests := []struct {
		w, h, bands int
		alpha       bool
		hs, vs      float64
		want        error
	}{
		{100, 100, 3, false, 1.5, 0.5, ErrUpscale},
		{100, 100, 3, false, 0.5, 1.01, ErrUpscale},
		{100, 100, 3, false, 1, 1, ErrIdentity},
		// Scales below one pixel are raised to one pixel, as resize.c does:
		// a 1-pixel-wide image cannot shrink.
		{1, 100, 3, false, 0.01, 1, ErrIdentity},
	}
	for _, tt := range tests {
		_, err := NewPlan(tt.w, tt.h, tt.bands, tt.alpha, tt.hs, tt.vs, Geometry{})
		if !errors.Is(err, tt.want) {
			t.Errorf("NewPlan(%d, %d, %d, %v, %g, %g) = %v, want %v", tt.w, tt.h, tt.bands, tt.alpha, tt.hs, tt.vs, err, tt.want)
		}
	}
	for _, bad := range [][3]int{{0, 10, 3}, {10, 0, 3}, {10, 10, 0}, {10, 10, 5}} {
		if _, err := NewPlan(bad[0], bad[1], bad[2], false, 0.5, 0.5, Geometry{}); err == nil {
			t.Errorf("NewPlan(%d, %d, %d bands) = nil error", bad[0], bad[1], bad[2])
		}
	}
	if _, err := NewPlan(10, 10, 1, true, 0.5, 0.5, Geometry{}); err == nil {
		t.Error("NewPlan(1 band, alpha) = nil error")
	}
}
