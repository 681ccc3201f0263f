package vipsref

import (
	"bytes"
	"testing"

	"github.com/pictorhq/pictor/transform/internal/vipstest"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestMain(m *testing.M) { vipstest.Main(m) }

// pipeline is the production resize, vips.Image.Resize, on the same
// samples.
func pipeline(t testing.TB, pix []byte, w, h, bands int, hs, vs float64) []byte {
	t.Helper()
	im, err := vips.FromPixels(pix, w, h, bands, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	out, err := im.Resize(hs, vs)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	buf := make([]byte, out.Width()*out.Height()*out.Bands())
	if err := out.WritePixels(buf); err != nil {
		t.Fatal(err)
	}
	return buf
}

// TestPaths: without alpha every path is the pipeline's resize; with
// alpha Straight ignores it and Float rounds differently from the
// pipeline's uchar path, so both differ from it.
func TestPaths(t *testing.T) {
	w, h := 64, 48
	for _, bands := range []int{3, 4} {
		pix := make([]byte, w*h*bands)
		for i := range pix {
			pix[i] = byte(i * 7)
			if bands == 4 && i%4 == 3 {
				pix[i] = byte(i % 3 * 120)
			}
		}
		want := pipeline(t, pix, w, h, bands, 0.3, 0.3)
		for _, path := range []Path{Straight, Float} {
			r, err := Resize(pix, w, h, bands, 0.3, 0.3, path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Width != 19 || r.Height != 14 || r.TileWidth < 1 || r.TileHeight < 1 {
				t.Errorf("path %d: %dx%d in tiles %dx%d, want 19x14 in tiles of at least 1x1",
					path, r.Width, r.Height, r.TileWidth, r.TileHeight)
			}
			if equal := bytes.Equal(r.Pix, want); equal != (bands == 3) {
				t.Errorf("%d bands, path %d: equal to the pipeline's Resize is %v, want %v", bands, path, equal, bands == 3)
			}
		}
	}
	if _, err := Resize(make([]byte, 10), 2, 2, 3, 0.5, 0.5, Straight); err == nil {
		t.Error("Resize with the wrong length = nil error")
	}
	if _, err := Resize(make([]byte, 12), 2, 2, 3, 0, 0.5, Straight); err == nil {
		t.Error("Resize by 0 = nil error")
	}
}
