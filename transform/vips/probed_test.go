package vips

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// TestLoadProbed: a load that trusts its probe makes the same pixels as one
// that sniffs, checks and measures the bytes itself, including the clamp
// of a shrink or scale that would take a side below one pixel.
func TestLoadProbed(t *testing.T) {
	jpeg, err := os.ReadFile("../../testdata/sample.jpg")
	if err != nil {
		t.Fatal(err)
	}
	tiny := mustSave(t, mustLoad(t, jpeg, LoadOptions{Shrink: 8}), SaveOptions{Format: format.JPEG}) // 150×100
	strip := mustSave(t, must(t)(mustLoad(t, jpeg, LoadOptions{}).ExtractArea(0, 0, 300, 3)), SaveOptions{Format: format.WebP})
	stripJPEG := mustSave(t, must(t)(mustLoad(t, jpeg, LoadOptions{}).ExtractArea(0, 0, 300, 3)), SaveOptions{Format: format.JPEG})
	png := readCorpus(t, "pngsuite/basn6a08.png")
	for _, c := range []struct {
		name string
		buf  []byte
		o    LoadOptions
	}{
		{"jpeg 1/8", jpeg, LoadOptions{Shrink: 8}},
		{"jpeg 1/8 of 150×100", tiny, LoadOptions{Shrink: 8}},
		{"jpeg sequential", jpeg, LoadOptions{Shrink: 2, Sequential: true}},
		{"jpeg 1/8 of 300×3, clamped", stripJPEG, LoadOptions{Shrink: 8}},
		{"webp 1/8 of 300×3, clamped", strip, LoadOptions{Scale: 0.125}},
		{"png", png, LoadOptions{Sequential: true}},
	} {
		h, err := Probe(c.buf)
		if err != nil {
			t.Fatalf("%s: Probe: %v", c.name, err)
		}
		probed := c.o
		probed.Probed = &h
		a := mustLoad(t, c.buf, c.o)
		b := mustLoad(t, c.buf, probed)
		pa, pb := raw(t, a), raw(t, b)
		if a.Width() != b.Width() || a.Height() != b.Height() || !bytes.Equal(pa, pb) {
			t.Errorf("%s: probed load %d×%d differs from sniffed %d×%d", c.name, b.Width(), b.Height(), a.Width(), a.Height())
		}
		a.Close()
		b.Close()
	}
	if _, err := Load(jpeg, LoadOptions{Probed: &Header{Format: format.Unknown}}); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("Load with a probe of an unknown format = %v, want ErrUnsupportedFormat", err)
	}
}

func raw(t *testing.T, im *Image) []byte {
	t.Helper()
	buf := make([]byte, im.Width()*im.Height()*im.Bands())
	if err := im.WritePixels(buf); err != nil {
		t.Fatal(err)
	}
	return buf
}
