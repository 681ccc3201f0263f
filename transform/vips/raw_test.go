package vips

import (
	"bytes"
	"testing"
)

// TestPixelsRoundTrip: FromPixels then WritePixels gives the samples back,
// and the image is what the band count implies.
func TestPixelsRoundTrip(t *testing.T) {
	tests := []struct {
		bands  int
		interp string
		alpha  bool
	}{
		{1, "b-w", false},
		{2, "b-w", true},
		{3, "srgb", false},
		{4, "srgb", true},
	}
	for _, tt := range tests {
		w, h := 7, 5
		pix := make([]byte, w*h*tt.bands)
		for i := range pix {
			pix[i] = byte(i * 31)
		}
		im, err := FromPixels(pix, w, h, tt.bands, nil)
		if err != nil {
			t.Fatal(err)
		}
		if im.Width() != w || im.Height() != h || im.Bands() != tt.bands || im.BandFormat() != "uchar" ||
			im.Interpretation() != tt.interp || im.HasAlpha() != tt.alpha {
			t.Errorf("FromPixels(%d bands) = %dx%dx%d %s %s alpha %v", tt.bands, im.Width(), im.Height(), im.Bands(),
				im.BandFormat(), im.Interpretation(), im.HasAlpha())
		}
		got := make([]byte, len(pix))
		if err := im.WritePixels(got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pix) {
			t.Errorf("%d bands: WritePixels(FromPixels(p)) != p", tt.bands)
		}
		if err := im.WritePixels(got[1:]); err == nil {
			t.Errorf("WritePixels into a short buffer = nil error")
		}
		im.Close()
	}
	if _, err := FromPixels(make([]byte, 10), 2, 2, 3, nil); err == nil {
		t.Error("FromPixels with the wrong length = nil error")
	}
	if _, err := FromPixels(make([]byte, 20), 2, 2, 5, nil); err == nil {
		t.Error("FromPixels with 5 bands = nil error")
	}
	var closed *Image
	if err := closed.WritePixels(make([]byte, 3)); err != ErrClosed {
		t.Errorf("WritePixels on nil = %v, want ErrClosed", err)
	}
}

// TestFromPixelsLike: with like, the new image takes like's
// interpretation and metadata, as an operation on like would.
func TestFromPixelsLike(t *testing.T) {
	src := mustLoad(t, readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{})
	grey := must(t)(src.Grayscale())
	pix := make([]byte, 4*3*grey.Bands())
	im, err := FromPixels(pix, 4, 3, grey.Bands(), grey)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if im.Interpretation() != grey.Interpretation() || im.Width() != 4 || im.Height() != 3 {
		t.Errorf("FromPixels(like %s) = %s %dx%d", grey.Interpretation(), im.Interpretation(), im.Width(), im.Height())
	}
}

// TestTileSize: a resize reports the regions a sink computes it in.
func TestTileSize(t *testing.T) {
	im, err := FromPixels(make([]byte, 64*48*4), 64, 48, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	a := must(t)(im.Resize(0.3, 0.3))
	if tw, th := a.TileSize(); tw < 1 || th < 1 {
		t.Errorf("TileSize() = %d, %d", tw, th)
	}
	var closed *Image
	if tw, th := closed.TileSize(); tw != 0 || th != 0 {
		t.Errorf("TileSize() on nil = %d, %d", tw, th)
	}
}
