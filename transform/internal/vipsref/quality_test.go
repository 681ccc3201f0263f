package vipsref

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/internal/benchenv"
	"github.com/pictorhq/pictor/transform/vips"
)

// decode loads a PNG as the pipeline sees it before resizing (8-bit sRGB,
// alpha kept) and returns its samples, or ok false when it has no alpha.
func decode(t testing.TB, path string) (pix []byte, w, h, bands int, ok bool) {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := vips.Load(buf, vips.LoadOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer im.Close()
	srgb, err := im.ToSRGB()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer srgb.Close()
	if !srgb.HasAlpha() {
		return nil, 0, 0, 0, false
	}
	w, h, bands = srgb.Width(), srgb.Height(), srgb.Bands()
	pix = make([]byte, w*h*bands)
	if err := srgb.WritePixels(pix); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pix, w, h, bands, true
}

// alphaFiles are the test images with alpha: testdata/alpha.png and every
// PngSuite file that has an alpha channel or a tRNS chunk (colour types 4
// and 6, and the t* transparency files).
func alphaFiles(t testing.TB) []string {
	t.Helper()
	root := filepath.Join("..", "..", "..", "testdata")
	names, err := filepath.Glob(filepath.Join(root, "corpus", "pngsuite", "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(root, "alpha.png")}
	for _, n := range names {
		b := filepath.Base(n)
		if strings.Contains(b[4:], "4a") || strings.Contains(b[4:], "6a") || b[0] == 't' {
			files = append(files, n)
		}
	}
	return files
}

// edges marks the pixels on an alpha edge of a w × h image: alpha strictly
// between 0 and 255, or a 4-neighbour of such a pixel.
func edges(pix []byte, w, h, bands int) []bool {
	partial := func(x, y int) bool {
		a := pix[(y*w+x)*bands+bands-1]
		return a > 0 && a < 255
	}
	e := make([]bool, w*h)
	for y := range h {
		for x := range w {
			if !partial(x, y) {
				continue
			}
			e[y*w+x] = true
			for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				if nx, ny := x+d[0], y+d[1]; nx >= 0 && nx < w && ny >= 0 && ny < h {
					e[ny*w+nx] = true
				}
			}
		}
	}
	return e
}

// stats accumulates the difference of two resizes of one image, on
// premultiplied samples: colour times alpha (what a pixel adds over a
// black background) and alpha. Straight colour is not compared as such:
// where alpha is 0 it is arbitrary, and where alpha is small the eye sees
// only a small part of it.
type stats struct {
	max, maxEdge, maxAlpha int
	sse, sseEdge           float64
	n, nEdge               int
	// darken is the largest darkening of an edge pixel's straight colour
	// against the float path's, weighted by its alpha: (want - got) ·
	// alpha / 255, in levels. Weighting both by the same alpha leaves out
	// differences in coverage, which are not a colour fringe.
	darken float64
}

func psnr(sse float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	if sse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sse/float64(n)))
}

// compare adds got against want (the float path, whose alpha edges
// define the edge pixels) to s.
func (s *stats) compare(got, want []byte, w, h, bands int) {
	edge := edges(want, w, h, bands)
	for p := range w * h {
		ag, aw := float64(got[p*bands+bands-1]), float64(want[p*bands+bands-1])
		s.maxAlpha = max(s.maxAlpha, int(math.Abs(ag-aw)))
		for b := range bands {
			i := p*bands + b
			pg, pw := ag, aw
			if b < bands-1 {
				pg, pw = float64(got[i])*ag/255, float64(want[i])*aw/255
				if edge[p] {
					s.darken = max(s.darken, (float64(want[i])-float64(got[i]))*ag/255)
				}
			}
			d := math.Abs(pg - pw)
			s.max = max(s.max, int(math.Ceil(d)))
			s.sse += d * d
			s.n++
			if edge[p] {
				s.maxEdge = max(s.maxEdge, int(math.Ceil(d)))
				s.sseEdge += d * d
				s.nEdge++
			}
		}
	}
}

func (s *stats) log(t *testing.T, name string) {
	t.Helper()
	t.Logf("%-26s all: max %3d PSNR %6.2f dB | edges: max %3d PSNR %6.2f dB | alpha max %3d | darkest edge colour %5.2f levels",
		name, s.max, psnr(s.sse, s.n), s.maxEdge, psnr(s.sseEdge, s.nEdge), s.maxAlpha, s.darken)
}

// qualityScales are odd and even factors, as scale and as target sizes.
var qualityScales = []float64{0.77, 0.5, 0.37, 0.3, 0.1}

// fringeBound is how many levels (of 255) the 8-bit path may darken an
// edge pixel's colour, weighted by its alpha, against the float path.
// The alpha handling's own roundings add up to under 3 levels (the
// premultiply's truncation, under 1; the reduces' rounding, 1/2; the
// unpremultiply's truncation, under a/255 weighted), but the uchar reduce
// libvips uses for every 8-bit image, alpha or not, is coarser than the
// float one: its vertical pass has 2.6 fixed-point weights, each off by
// up to 1/128, and clips its intermediate rows to 0..255, which moves a
// sample next to a hard edge by a few levels either way (5.3 at most over
// these files and scales). 8 leaves room for that; a dark fringe,
// transparent black resampled into the edge, darkens by tens of levels (a
// straight resize of these files: 51).
const fringeBound = 8

// TestNoDarkFringes: resizing the alpha test images in uchar never makes
// a partially transparent edge pixel darker than the float path makes it
// by more than fringeBound; a straight (not premultiplied) resize, which
// does make dark fringes, fails the same check.
func TestNoDarkFringes(t *testing.T) {
	var all, straight stats
	for _, f := range alphaFiles(t) {
		pix, w, h, bands, ok := decode(t, f)
		if !ok {
			continue
		}
		var s stats
		for _, sc := range qualityScales {
			want, err := Resize(pix, w, h, bands, sc, sc, Float)
			if err != nil {
				t.Fatal(err)
			}
			got := pipeline(t, pix, w, h, bands, sc, sc)
			s.compare(got, want.Pix, want.Width, want.Height, bands)
			all.compare(got, want.Pix, want.Width, want.Height, bands)
			str, err := Resize(pix, w, h, bands, sc, sc, Straight)
			if err != nil {
				t.Fatal(err)
			}
			straight.compare(str.Pix, want.Pix, want.Width, want.Height, bands)
		}
		s.log(t, filepath.Base(f))
		if s.darken > fringeBound {
			t.Errorf("%s: an edge pixel's colour is %.2f levels darker (alpha-weighted) than the float path makes it, want <= %d",
				filepath.Base(f), s.darken, fringeBound)
		}
	}
	all.log(t, "all files, 8-bit path")
	straight.log(t, "all files, straight resize")
	if straight.darken <= fringeBound {
		t.Errorf("a straight resize darkens edges by %.2f levels at most: the check cannot see a dark fringe", straight.darken)
	}
}

// TestQualityPhoto is TestNoDarkFringes' comparison on the benchmark's RGBA
// photo, 3700×2400 to 400 wide, when the bench corpus is present.
func TestQualityPhoto(t *testing.T) {
	path := filepath.Join(benchenv.Corpus(t, "../../../.."), "photo-3700x2400.png")
	pix, w, h, bands, ok := decode(t, path)
	if !ok {
		t.Fatalf("%s has no alpha", path)
	}
	sc := 400.0 / float64(w)
	want, err := Resize(pix, w, h, bands, sc, sc, Float)
	if err != nil {
		t.Fatal(err)
	}
	got := pipeline(t, pix, w, h, bands, sc, sc)
	var s stats
	s.compare(got, want.Pix, want.Width, want.Height, bands)
	s.log(t, filepath.Base(path))
	if s.darken > fringeBound {
		t.Errorf("an edge pixel's colour is %.2f levels darker (alpha-weighted) than the float path makes it, want <= %d", s.darken, fringeBound)
	}
}
