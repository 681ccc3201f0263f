package transform

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/format"
)

// benchCorpus is where `make corpus` puts the real photos.
func benchCorpus(b *testing.B) string {
	dir := os.Getenv("PICTOR_BENCH_CORPUS")
	if dir == "" {
		dir = "../data/bench-corpus"
	}
	if _, err := os.Stat(filepath.Join(dir, "photo-3840x2400.jpg")); err != nil {
		b.Skipf("bench corpus not found in %s: run `make corpus` (fetches Debian's ukui-wallpapers) or set PICTOR_BENCH_CORPUS", dir)
	}
	return dir
}

// CPUTime is the CPU time (user + system) this process has used.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipeline runs the whole pipeline on real photos, one image at a
// time, and reports CPU per image and source megapixels per second.
func BenchmarkPipeline(b *testing.B) {
	dir := benchCorpus(b)
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
			cpu0, wall0 := CPUTime(), time.Now()
			for b.Loop() {
				if _, err := p.Process(context.Background(), src, req); err != nil {
					b.Fatal(err)
				}
			}
			cpu, wall := CPUTime()-cpu0, time.Since(wall0)
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "ms-cpu/op")
			b.ReportMetric(mpix*float64(b.N)/wall.Seconds(), "Mpix/s")
		})
	}
}
