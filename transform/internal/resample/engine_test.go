package resample

import (
	"testing"

	"github.com/pictorhq/pictor/transform/vips"
)

// TestEngineEqualsReference: over the grid, the CPU engine computes every
// plan byte for byte as the Go reference does (and so as the kernels do).
func TestEngineEqualsReference(t *testing.T) {
	for i, c := range grid(testing.Short()) {
		pix := testImage(c.w, c.h, c.bands, c.alpha, uint64(i))
		p, err := NewPlan(c.w, c.h, c.bands, c.alpha, c.hs, c.vs, Geometry{})
		if err == ErrIdentity {
			continue
		}
		if err != nil {
			t.Fatalf("%v: NewPlan: %v", c, err)
		}
		want, err := Reference(p, pix)
		if err != nil {
			t.Fatal(err)
		}
		img, err := vips.FromPixels(pix, c.w, c.h, c.bands, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := img.Resample(p.Engine())
		img.Close()
		if err != nil {
			t.Fatalf("%v: Resample: %v", c, err)
		}
		if out.Width() != p.OutWidth() || out.Height() != p.OutHeight() || out.Bands() != c.bands {
			t.Fatalf("%v: engine made %dx%dx%d, plan %dx%dx%d", c, out.Width(), out.Height(), out.Bands(), p.OutWidth(), p.OutHeight(), c.bands)
		}
		got := make([]byte, p.OutBytes())
		if err := out.WritePixels(got); err != nil {
			t.Fatal(err)
		}
		out.Close()
		if d, at := maxDiff(got, want); d != 0 {
			px := at / c.bands
			t.Errorf("%v: max diff %d at (%d,%d) band %d: engine %d, reference %d (stages %v)",
				c, d, px%p.OutWidth(), px/p.OutWidth(), at%c.bands, got[at], want[at], p.Stages)
		}
	}
}
