package vipsref

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/internal/benchenv"
	"github.com/pictorhq/pictor/transform/vips"
)

// benchImage is the bench corpus' 3700×2400 RGBA photo when present, or
// an RGBA image of that size with smooth colour and a soft-edged alpha.
func benchImage(b *testing.B) (pix []byte, w, h, bands int, name string) {
	dir := os.Getenv("PICTOR_BENCH_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "data", "bench-corpus")
	}
	path := filepath.Join(dir, "photo-3700x2400.png")
	if _, err := os.Stat(path); err == nil {
		pix, w, h, bands, ok := decode(b, path)
		if ok {
			return pix, w, h, bands, "photo"
		}
	}
	w, h, bands = 3700, 2400, 4
	pix = make([]byte, w*h*bands)
	for y := range h {
		for x := range w {
			i := (y*w + x) * bands
			pix[i], pix[i+1], pix[i+2] = byte(x*255/w), byte(y*255/h), byte((x^y)&255)
			dx, dy := x-w/2, y-h/2
			pix[i+3] = byte(min(255, max(0, 255-(dx*dx+dy*dy)/4000+200)))
		}
	}
	return pix, w, h, bands, "synthetic"
}

// BenchmarkResizeAlpha is the alpha resize alone, a 3700×2400 RGBA image
// to 400 wide, from memory to memory: the float path pictor_resize took
// before, and the 8-bit path it takes now (vips.Image.Resize).
func BenchmarkResizeAlpha(b *testing.B) {
	pix, w, h, bands, name := benchImage(b)
	sc := 400.0 / float64(w)
	run := func(b *testing.B, resize func() error) {
		b.ReportAllocs()
		cpu := benchenv.CPUTime()
		for b.Loop() {
			if err := resize(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((benchenv.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "ms-cpu/op")
	}
	b.Run(name+"/float", func(b *testing.B) {
		run(b, func() error {
			_, err := Resize(pix, w, h, bands, sc, sc, Float)
			return err
		})
	})
	b.Run(name+"/uchar", func(b *testing.B) {
		run(b, func() error {
			im, err := vips.FromPixels(pix, w, h, bands, nil)
			if err != nil {
				return err
			}
			defer im.Close()
			out, err := im.Resize(sc, sc)
			if err != nil {
				return err
			}
			defer out.Close()
			return out.WritePixels(make([]byte, out.Width()*out.Height()*out.Bands()))
		})
	})
}
