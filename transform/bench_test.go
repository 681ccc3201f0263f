package transform

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pictorhq/pictor/internal/benchenv"
	"github.com/pictorhq/pictor/transform/format"
)

// BenchmarkPipeline runs the whole pipeline on real photos, one image at a
// time, and reports CPU per image and source megapixels per second.
func BenchmarkPipeline(b *testing.B) {
	dir := benchenv.Corpus(b, "..")
	p := newProcessor(b)
	cases := []struct {
		name, file, opts string
		src              format.Format
	}{
		{"jpeg3840_to_400w_jpeg", "photo-3840x2400.jpg", "w_400,f_jpeg", format.JPEG},
		{"jpeg3840_to_400w_webp", "photo-3840x2400.jpg", "w_400,f_webp", format.JPEG},
		{"jpeg3840_to_1200w_avif", "photo-3840x2400.jpg", "w_1200,f_avif", format.JPEG},
		{"png3700_to_400w_jpeg", "photo-3700x2400.png", "w_400,f_jpeg", format.PNG},
		{"png3700_to_400w_webp", "photo-3700x2400.png", "w_400,f_webp", format.PNG},
		{"png3700_to_1200w_avif", "photo-3700x2400.png", "w_1200,f_avif", format.PNG},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			src := readFile(b, filepath.Join(dir, c.file))
			o := parse(b, c.opts)
			req := Request{Options: o, Output: Negotiate(o, c.src, nil, false)}
			h, err := p.Probe(src)
			if err != nil {
				b.Fatal(err)
			}
			mpix := float64(h.Width*h.Height) / 1e6
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, wall0 := benchenv.CPUTime(), time.Now()
			for b.Loop() {
				if _, err := p.Process(context.Background(), src, req); err != nil {
					b.Fatal(err)
				}
			}
			cpu, wall := benchenv.CPUTime()-cpu0, time.Since(wall0)
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "ms-cpu/op")
			b.ReportMetric(mpix*float64(b.N)/wall.Seconds(), "Mpix/s")
		})
	}
}
