package hostkernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pictorhq/pictor/transform/internal/resample"
	"github.com/pictorhq/pictor/transform/internal/vipstest"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestMain(m *testing.M) { vipstest.Main(m) }

func noise(n int, seed uint64, alpha int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		switch {
		case alpha > 0 && i%alpha == alpha-1 && (i/alpha)%5 == 0:
			b[i] = 0 // transparent
		case i%3 == 0:
			b[i] = byte(r.IntN(256))
		default:
			b[i] = byte(i / 7)
		}
	}
	return b
}

// TestKernelsEqualReference: the .cu compiled as C++ equals the Go
// reference, byte for byte, on both paths and every kind of stage.
func TestKernelsEqualReference(t *testing.T) {
	tests := []struct {
		w, h, bands int
		alpha       bool
		hs, vs      float64
	}{
		{641, 479, 3, false, 40.0 / 641, 30.0 / 479},
		{641, 479, 4, true, 40.0 / 641, 30.0 / 479},
		{333, 257, 1, false, 0.5, 0.5},
		{333, 257, 2, true, 0.37, 0.9},
		{1001, 77, 4, false, 0.03, 1},
		{77, 1001, 4, true, 1, 0.03},
		{255, 255, 3, false, 0.77, 0.2},
		{1200, 800, 4, true, 400.0 / 1200, 267.0 / 800},
		{5, 3, 3, false, 0.2, 0.34},
	}
	for i, tt := range tests {
		name := fmt.Sprintf("%dx%dx%d/alpha=%v/%.4gx%.4g", tt.w, tt.h, tt.bands, tt.alpha, tt.hs, tt.vs)
		t.Run(name, func(t *testing.T) {
			p, err := resample.NewPlan(tt.w, tt.h, tt.bands, tt.alpha, tt.hs, tt.vs, resample.Geometry{TileWidth: 128, TileHeight: 128})
			if err != nil {
				t.Fatal(err)
			}
			alpha := 0
			if tt.alpha {
				alpha = tt.bands
			}
			src := noise(p.InBytes(), uint64(i), alpha)
			want, err := resample.Reference(p, src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Run(p, src)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				if got[j] != want[j] {
					px := j / tt.bands
					t.Fatalf("sample %d (%d,%d band %d): kernel %d, reference %d (stages %v)",
						j, px%p.OutWidth(), px/p.OutWidth(), j%tt.bands, got[j], want[j], p.Stages)
				}
			}
		})
	}
}

// TestKernelsEqualVips closes the loop on a photo-like case with libvips
// as the oracle directly: the kernels, run on the host, equal vips_resize
// (premultiplied as the pipeline does) in the geometry libvips computes in.
func TestKernelsEqualVips(t *testing.T) {
	for _, bands := range []int{3, 4} {
		w, h := 901, 601
		src := noise(w*h*bands, 42, map[int]int{3: 0, 4: 4}[bands])
		img, err := vips.FromPixels(src, w, h, bands, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer img.Close()
		hs, vs := 300.0/float64(w), 200.0/float64(h)
		out, err := img.Resize(hs, vs)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		want := make([]byte, out.Width()*out.Height()*bands)
		if err := out.WritePixels(want); err != nil {
			t.Fatal(err)
		}
		tw, th := out.TileSize()
		p, err := resample.NewPlan(w, h, bands, img.HasAlpha(), hs, vs, resample.Geometry{TileWidth: tw, TileHeight: th})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Run(p, src)
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for i := range want {
			diff = max(diff, int(got[i])-int(want[i]), int(want[i])-int(got[i]))
		}
		if diff != 0 {
			t.Errorf("%d bands: max diff %d against vips_resize", bands, diff)
		}
	}
}

func TestRunChecksSizes(t *testing.T) {
	p, err := resample.NewPlan(10, 10, 3, false, 0.5, 0.5, resample.Geometry{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(p, make([]byte, 299)); err == nil {
		t.Error("Run with a short input = nil error")
	}
}
