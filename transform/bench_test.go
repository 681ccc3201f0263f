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

// BenchmarkSrcset compares a srcset of five widths made from one decode
// (Variants) with the same five variants made cold, each with its own
// decode (Process), on real photos. cpu-ratio is srcset CPU over cold CPU;
// the target is at most 0.4.
func BenchmarkSrcset(b *testing.B) {
	dir := benchenv.Corpus(b, "..")
	p := newProcessor(b)
	widths := []string{"w_320", "w_640", "w_960", "w_1280", "w_1920"}
	for _, c := range []struct {
		name, file, suffix string
		src                format.Format
	}{
		{"jpeg3840_jpeg", "photo-3840x2400.jpg", "", format.JPEG},
		{"jpeg3840_webp", "photo-3840x2400.jpg", ",f_webp", format.JPEG},
		{"png3700_webp", "photo-3700x2400.png", ",f_webp", format.PNG},
	} {
		src := readFile(b, filepath.Join(dir, c.file))
		reqs := make([]Request, len(widths))
		for i, w := range widths {
			o := parse(b, w+c.suffix)
			reqs[i] = Request{Options: o, Output: Negotiate(o, c.src, nil, false)}
		}
		var coldCPU time.Duration
		b.Run(c.name+"/cold5", func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := benchenv.CPUTime()
			for b.Loop() {
				for _, r := range reqs {
					if _, err := p.Process(context.Background(), src, r); err != nil {
						b.Fatal(err)
					}
				}
			}
			coldCPU = (benchenv.CPUTime() - cpu0) / time.Duration(b.N)
			b.ReportMetric(float64(coldCPU.Microseconds())/1e3, "ms-cpu/op")
		})
		b.Run(c.name+"/srcset5", func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := benchenv.CPUTime()
			for b.Loop() {
				if _, err := p.Variants(context.Background(), "", src, reqs); err != nil {
					b.Fatal(err)
				}
			}
			cpu := (benchenv.CPUTime() - cpu0) / time.Duration(b.N)
			b.ReportMetric(float64(cpu.Microseconds())/1e3, "ms-cpu/op")
			if coldCPU > 0 {
				b.ReportMetric(float64(cpu)/float64(coldCPU), "cpu-ratio")
			}
		})
	}
}

// BenchmarkOverlay measures what a layer adds to a variant, on a real
// photo: the 400w JPEG alone, then with an image overlay (alpha.png at
// 15% of the width, 60% opacity, kept decoded after the first run as in
// service), with a CJK text layer, and a tiled overlay over a 4000 px
// output, which must stay well within the request deadline (10 s by
// default). cpu-ratio is the variant's CPU over the plain one's; the
// target for an overlay is at most 1.15.
func BenchmarkOverlay(b *testing.B) {
	dir := benchenv.Corpus(b, "..")
	r := newFXRig(b)
	src := readFile(b, filepath.Join(dir, "photo-3840x2400.jpg"))
	var plainCPU time.Duration
	for _, c := range []struct{ name, opts string }{
		{"400w_jpeg", "w_400,f_jpeg"},
		{"400w_jpeg_overlay", "w_400,f_jpeg,l_logo,lw_15,lo_60"},
		{"400w_jpeg_text", "w_400,f_jpeg,l_text:" + b64("© 2026 Pictor 图片") + ",lc_ffffff,ls_16,lo_80"},
		{"4000w_jpeg_tiled", "w_4000,f_jpeg,l_logo,lw_5,lo_40,lt_1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			o, err := r.parser.Parse(c.opts)
			if err != nil {
				b.Fatal(err)
			}
			reqs := []Request{{Options: o, Output: Negotiate(o, format.JPEG, nil, false)}}
			// Once outside the clock: the overlay's decode is kept, as
			// after a service's first request.
			if _, err := r.p.Variants(context.Background(), "", src, reqs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0, wall0 := benchenv.CPUTime(), time.Now()
			for b.Loop() {
				if _, err := r.p.Variants(context.Background(), "", src, reqs); err != nil {
					b.Fatal(err)
				}
			}
			cpu := (benchenv.CPUTime() - cpu0) / time.Duration(b.N)
			wall := time.Since(wall0) / time.Duration(b.N)
			b.ReportMetric(float64(cpu.Microseconds())/1e3, "ms-cpu/op")
			b.ReportMetric(float64(wall.Microseconds())/1e3, "ms-wall/op")
			if c.name == "400w_jpeg" {
				plainCPU = cpu
			} else if plainCPU > 0 && c.name != "4000w_jpeg_tiled" {
				b.ReportMetric(float64(cpu)/float64(plainCPU), "cpu-ratio")
			}
		})
	}
}
