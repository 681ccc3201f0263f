package vips

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// FuzzJPEGEighth holds the 1/8-scale decoder (jpegdc.c, DecodeJPEGEighth)
// to libjpeg on any bytes: it never crashes, and whatever it decodes is
// exactly what libvips' jpegload at shrink 8 decodes from the same bytes.
// Where the two would differ it must refuse the file, and ResampleJPEG
// then hands it to libjpeg.
func FuzzJPEGEighth(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("..", "..", "testdata", "jpegdc", "*.jpg"))
	if err != nil {
		f.Fatal(err)
	}
	names = append(names, filepath.Join("..", "..", "testdata", "sample.jpg"),
		filepath.Join(corpus, "exif-orientation", "Landscape_1.jpg"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Probe(b)
		if err != nil || h.Format != format.JPEG || int64(h.Width)*int64(h.Height) > 20_000_000 {
			return
		}
		got, err := DecodeJPEGEighth(b, h)
		if err != nil {
			return
		}
		img, err := Load(b, LoadOptions{Shrink: 8})
		if err != nil {
			t.Fatalf("decoded at 1/8, but libvips cannot load it: %v", err)
		}
		defer img.Close()
		w, ht, bands := img.Width(), img.Height(), img.Bands()
		if w != h.Width/8 || ht != h.Height/8 || bands != h.Bands {
			// A shrink clamped for a tiny image: not the 1/8 decode.
			return
		}
		want := make([]byte, w*ht*bands)
		if err := img.WritePixels(want); err != nil {
			t.Fatalf("decoded at 1/8, but libvips fails: %v", err)
		}
		stride := (h.Width + 7) / 8 * bands
		for y := range ht {
			if !bytes.Equal(got[y*stride:][:w*bands], want[y*w*bands:][:w*bands]) {
				t.Fatalf("row %d differs from libjpeg's", y)
			}
		}
	})
}
