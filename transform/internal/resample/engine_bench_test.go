package resample

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pictorhq/pictor/internal/benchenv"
	"github.com/pictorhq/pictor/transform/vips"
)

// BenchmarkEngine compares the resize engine with vips_resize (the
// pipeline's Resize, premultiplied for alpha) on images in memory: the
// srcset case (a 910×600 decode to each width from 300 to 899, as
// the widths scenario of make bench asks) and a large RGBA one to 400
// wide. Both compute into memory (libvips' result copied there).
func BenchmarkEngine(b *testing.B) {
	cases := []struct {
		name        string
		w, h, bands int
		alpha       bool
		widths      []int
	}{
		{"rgb910-widths", 910, 600, 3, false, nil},
		{"rgba3700-400w", 3700, 2400, 4, true, []int{400}},
	}
	for _, c := range cases {
		if c.widths == nil {
			for w := 300; w < 900; w += 7 {
				c.widths = append(c.widths, w)
			}
		}
		img, err := vips.FromPixels(testImage(c.w, c.h, c.bands, c.alpha, 1), c.w, c.h, c.bands, nil)
		if err != nil {
			b.Fatal(err)
		}
		run := func(b *testing.B, f func(s float64) (*vips.Image, error)) {
			i := 0
			for b.Loop() {
				w := c.widths[i%len(c.widths)]
				i++
				out, err := f(float64(w) / float64(c.w))
				if err != nil {
					b.Fatal(err)
				}
				out.Close()
			}
		}
		b.Run(c.name+"/engine", func(b *testing.B) {
			run(b, func(s float64) (*vips.Image, error) {
				p, err := NewPlan(c.w, c.h, c.bands, c.alpha, s, s, Geometry{})
				if err != nil {
					return nil, err
				}
				return img.Resample(p.Engine())
			})
		})
		b.Run(c.name+"/libvips", func(b *testing.B) {
			run(b, func(s float64) (*vips.Image, error) {
				lazy, err := img.Resize(s, s)
				if err != nil {
					return nil, err
				}
				defer lazy.Close()
				return lazy.CopyMemory()
			})
		})
		img.Close()
	}
}

// BenchmarkJPEGEighth compares the 1/8-scale decoder with libjpeg's decode
// at 1/8 (libvips' jpegload at shrink 8, into memory) on the bench
// corpus' photos (make corpus).
func BenchmarkJPEGEighth(b *testing.B) {
	dir := benchenv.Corpus(b, filepath.Join("..", "..", ".."))
	for _, name := range []string{"ukui-firstgeneration-3640x2400.jpg", "photo-3840x2400.jpg", "testdata-sample-1200x800.jpg"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		h, err := vips.Probe(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/eighth", func(b *testing.B) {
			for b.Loop() {
				if _, err := vips.DecodeJPEGEighth(data, h); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/libjpeg", func(b *testing.B) {
			for b.Loop() {
				img, err := vips.Load(data, vips.LoadOptions{Shrink: 8, Sequential: true})
				if err != nil {
					b.Fatal(err)
				}
				m, err := img.CopyMemory()
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
				img.Close()
			}
		})
	}
}
