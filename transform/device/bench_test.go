package device

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/device/internal/hostkernel"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/internal/resample"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// The GPU figures the issue asks for come from one test binary:
//
//	go test -c -o device.test ./transform/device
//	./device.test -test.run 'CUDA' -test.v -test.bench . -test.benchtime 20x
//
// On a machine without an NVIDIA driver every CUDA part skips.

// The 12 MP frame of the end-to-end figures: 4000×3000 RGB.
const mpW, mpH = 4000, 3000

// TestCUDAEqualsReference: on the GPU, the kernels' output equals the Go
// reference (and so libvips) byte for byte over a grid of sizes, scales
// and bands, on both paths.
func TestCUDAEqualsReference(t *testing.T) {
	c := skipWithoutCUDA(t, 1)
	defer c.Close()
	s := openStream(t, c)
	defer s.Close()
	sizes := [][2]int{{17, 9}, {101, 77}, {641, 479}, {1001, 999}, {mpW, mpH}}
	scales := []float64{0.03, 0.05, 0.1, 0.1667, 0.25, 1.0 / 3, 0.5, 0.77, 0.9}
	var n int
	for i, sz := range sizes {
		for j, sc := range scales {
			for _, b := range []struct {
				n     int
				alpha bool
			}{{1, false}, {3, false}, {4, false}, {2, true}, {4, true}} {
				vs := scales[(i+j)%len(scales)]
				p, err := resample.NewPlan(sz[0], sz[1], b.n, b.alpha, sc, vs, resample.Geometry{TileWidth: 128, TileHeight: 128})
				if err != nil {
					t.Fatal(err)
				}
				src := photo(sz[0], sz[1], b.n, b.alpha, uint64(i*100+j))
				want, err := resample.Reference(p, src)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Resize(p, src)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(got, want); d != 0 {
					t.Errorf("%dx%dx%d alpha=%v %gx%g: max diff %d against the reference", sz[0], sz[1], b.n, b.alpha, sc, vs, d)
				}
				n++
			}
		}
	}
	t.Logf("%s: %d plans on the GPU, max diff 0 against the reference", c.Describe(), n)
}

func openStream(t testing.TB, c *CUDA) *cudaStream {
	t.Helper()
	// The stream's context must stay current on this goroutine's thread.
	lockThread(t)
	s, err := c.OpenStream(0)
	if err != nil {
		t.Fatal(err)
	}
	return s.(*cudaStream)
}

// BenchmarkCUDACopy is pinned host-to-device and device-to-host bandwidth
// for a 12 MP RGBA frame (48 MB), timed with CUDA events.
func BenchmarkCUDACopy(b *testing.B) {
	c := skipWithoutCUDA(b, 1)
	defer c.Close()
	s := openStream(b, c)
	defer s.Close()
	n := mpW * mpH * 4
	if err := s.growHost(&s.hostIn, &s.hostInN, n); err != nil {
		b.Fatal(err)
	}
	if err := s.growDev(&s.devInN, n, &s.devIn); err != nil {
		b.Fatal(err)
	}
	d := c.d
	var h2d, d2h time.Duration
	b.SetBytes(int64(2 * n))
	b.ResetTimer()
	for range b.N {
		if err := s.calls(
			func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[0], s.stream) },
			func() (string, int32) {
				return "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync(s.devIn, s.hostIn, uint64(n), s.stream)
			},
			func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[1], s.stream) },
			func() (string, int32) {
				return "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync(s.hostIn, s.devIn, uint64(n), s.stream)
			},
			func() (string, int32) { return "cuEventRecord", d.cuEventRecord(s.ev[2], s.stream) },
			func() (string, int32) { return "cuStreamSynchronize", d.cuStreamSynchronize(s.stream) },
		); err != nil {
			b.Fatal(err)
		}
		h2d += s.elapsed(0, 1)
		d2h += s.elapsed(1, 2)
	}
	gbps := func(d time.Duration) float64 { return float64(n) * float64(b.N) / d.Seconds() / 1e9 }
	b.ReportMetric(gbps(h2d), "H2D-GB/s")
	b.ReportMetric(gbps(d2h), "D2H-GB/s")
}

// BenchmarkCUDAKernels is the device time of one 12 MP resize, split into
// its copies and kernels, per scale and path.
func BenchmarkCUDAKernels(b *testing.B) {
	c := skipWithoutCUDA(b, 1)
	defer c.Close()
	s := openStream(b, c)
	defer s.Close()
	for _, alpha := range []bool{false, true} {
		bands := 3
		if alpha {
			bands = 4
		}
		src := photo(mpW, mpH, bands, alpha, 1)
		for _, sc := range []float64{0.5, 0.25, 0.1} {
			b.Run(fmt.Sprintf("bands=%d/scale=%g", bands, sc), func(b *testing.B) {
				p, err := resample.NewPlan(mpW, mpH, bands, alpha, sc, sc, resample.Geometry{TileWidth: 128, TileHeight: 128})
				if err != nil {
					b.Fatal(err)
				}
				var sum Timings
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := s.Resize(p, src); err != nil {
						b.Fatal(err)
					}
					t := s.Timings()
					sum.HostToDevice += t.HostToDevice
					sum.Kernels += t.Kernels
					sum.DeviceToHost += t.DeviceToHost
				}
				ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(b.N) }
				b.ReportMetric(ms(sum.HostToDevice), "h2d-ms")
				b.ReportMetric(ms(sum.Kernels), "kernel-ms")
				b.ReportMetric(ms(sum.DeviceToHost), "d2h-ms")
			})
		}
	}
}

// BenchmarkResize is end to end through the queue for a 12 MP RGB frame
// already decoded in memory: input written out of libvips, copies,
// kernels, the output wrapped as a libvips image; or libvips on the CPU,
// computed into memory. Callers run in parallel, two per stream.
func BenchmarkResize(b *testing.B) {
	src := photo(mpW, mpH, 3, false, 1)
	img, err := vips.FromPixels(src, mpW, mpH, 3, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	type backend struct {
		name    string
		streams []int
		open    func(b *testing.B, streams int) *Queue
	}
	backends := []backend{
		{"cpu", []int{1}, func(b *testing.B, _ int) *Queue { return newQueue(b, testConfig(), nil) }},
		{"host", []int{1}, func(b *testing.B, _ int) *Queue { return newQueue(b, testConfig(), hostDevice{1}) }},
		{"cuda", []int{1, 2, 4}, func(b *testing.B, n int) *Queue {
			cfg := testConfig()
			cfg.Streams = n
			return newQueue(b, cfg, skipWithoutCUDA(b, n))
		}},
	}
	for _, be := range backends {
		for _, n := range be.streams {
			for _, sc := range []float64{0.5, 0.25, 0.1} {
				b.Run(fmt.Sprintf("%s/streams=%d/scale=%g", be.name, n, sc), func(b *testing.B) {
					q := be.open(b, n)
					b.ReportAllocs()
					b.SetParallelism(2 * n)
					start := time.Now()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							out, err := q.Resize(context.Background(), img, sc, sc)
							if err != nil {
								b.Error(err)
								return
							}
							if be.name == "cpu" {
								// The queue without a device returns libvips'
								// lazy image; compute it, as a save would.
								m, err := out.CopyMemory()
								if err != nil {
									b.Error(err)
								}
								m.Close()
							}
							out.Close()
						}
					})
					el := time.Since(start)
					b.ReportMetric(el.Seconds()*1000/float64(b.N), "ms/image")
					b.ReportMetric(float64(mpW*mpH)*float64(b.N)/el.Seconds()/1e6, "Mpix/s")
					if be.name != "cpu" && value(q.m.jobs.WithLabelValues(q.DeviceName())) == 0 {
						b.Errorf("no job ran on %s: fallbacks %v", be.name, fallbacks(q))
					}
				})
			}
		}
	}
}

// BenchmarkHostKernels is the kernels compiled for the host on one core:
// the CI stand-in for the GPU, measured for scale, not speed.
func BenchmarkHostKernels(b *testing.B) {
	for _, alpha := range []bool{false, true} {
		bands := 3
		if alpha {
			bands = 4
		}
		w, h := 1000, 750
		src := photo(w, h, bands, alpha, 1)
		b.Run(fmt.Sprintf("bands=%d", bands), func(b *testing.B) {
			p, err := resample.NewPlan(w, h, bands, alpha, 0.25, 0.25, resample.Geometry{TileWidth: 128, TileHeight: 128})
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, p.OutBytes())
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := hostkernel.RunInto(p, src, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w*h)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpix/s")
		})
	}
}

// BenchmarkPNGWorkload is the workload: the bench corpus'
// 3700×2400 RGBA PNG to 400w WebP through the whole pipeline, resizing on
// the CPU or on the GPU, callers in parallel.
func BenchmarkPNGWorkload(b *testing.B) {
	src := benchPNG(b)
	parser, err := options.NewParser(options.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	o, err := parser.Parse("w_400,f_webp")
	if err != nil {
		b.Fatal(err)
	}
	req := transform.Request{Options: o, Output: transform.Negotiate(o, format.PNG, nil, false)}
	for _, be := range []string{"cpu", "cuda"} {
		b.Run(be, func(b *testing.B) {
			var r transform.Resizer = transform.CPUResizer{}
			var q *Queue
			if be == "cuda" {
				q = newQueue(b, DefaultConfig(), skipWithoutCUDA(b, 2))
				r = q
			}
			p, err := transform.New(transform.DefaultConfig(), transform.Deps{Resizer: r})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Process(context.Background(), src, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "images/s")
			b.ReportMetric(el.Seconds()*1000/float64(b.N), "ms/image")
			if q != nil && value(q.m.jobs.WithLabelValues("cuda")) == 0 {
				b.Errorf("no resize ran on the GPU: fallbacks %v", fallbacks(q))
			}
		})
	}
}
