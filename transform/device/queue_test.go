package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// testConfig sends every job to the device.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.MinPixels = 0
	return cfg
}

func newQueue(t testing.TB, cfg Config, dev Device) *Queue {
	t.Helper()
	q, err := New(cfg, dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// backends is every implementation the conformance suite runs against.
// The CUDA one is there only where a GPU is.
func backends(t *testing.T) map[string]func(t *testing.T) *Queue {
	return map[string]func(t *testing.T) *Queue{
		"cpu":  func(t *testing.T) *Queue { return newQueue(t, testConfig(), nil) },
		"fake": func(t *testing.T) *Queue { return newQueue(t, testConfig(), NewFake(2)) },
		"host": func(t *testing.T) *Queue { return newQueue(t, testConfig(), hostDevice{2}) },
		"cuda": func(t *testing.T) *Queue { return newQueue(t, testConfig(), skipWithoutCUDA(t, 2)) },
	}
}

// conformanceCases are resizes every backend must do exactly as the CPU:
// both paths (alpha premultiplied or not), every band count, settled and
// unsettled plans, with and without box pre-shrink, one axis alone.
var conformanceCases = []struct {
	w, h, bands int
	alpha       bool
	hs, vs      float64
}{
	{1201, 801, 3, false, 400.0 / 1201, 267.0 / 801},
	{1201, 801, 4, true, 400.0 / 1201, 267.0 / 801},
	{1000, 750, 3, false, 0.5, 0.5},
	{1000, 750, 4, true, 0.25, 0.25},
	{960, 600, 3, false, 100.0 / 960, 63.0 / 600}, // 9.6: unsettled
	{960, 600, 4, true, 100.0 / 960, 63.0 / 600},  // unsettled, alpha
	{777, 555, 1, false, 0.13, 0.77},
	{777, 555, 2, true, 0.9, 0.031},
	{640, 480, 4, false, 0.3, 1},
	{333, 999, 3, false, 1, 0.1},
}

// TestConformance: through every backend, the queue returns the pixels
// the CPU's resize engine computes (the oracle, itself checked against the
// Go reference and libvips in transform/internal/resample), and an image the rest of the pipeline
// treats like libvips' own (bands, interpretation).
func TestConformance(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			q := open(t)
			for i, c := range conformanceCases {
				img := newImage(t, c.w, c.h, c.bands, c.alpha, uint64(i))
				cpu, err := transform.CPUResizer{}.Resize(context.Background(), img, c.hs, c.vs)
				if err != nil {
					t.Fatal(err)
				}
				want := pixelsOf(t, cpu)
				cpu.Close()
				got, err := q.Resize(context.Background(), img, c.hs, c.vs)
				if err != nil {
					t.Fatalf("case %d: Resize: %v", i, err)
				}
				if got.Width()*got.Height()*got.Bands() != len(want) {
					t.Fatalf("case %d: %dx%dx%d, want %d samples", i, got.Width(), got.Height(), got.Bands(), len(want))
				}
				if g := pixelsOf(t, got); !bytes.Equal(g, want) {
					t.Errorf("case %d (%+v): pixels differ from libvips (max diff %d)", i, c, maxDiff(g, want))
				}
				if got.Interpretation() != img.Interpretation() || got.HasAlpha() != img.HasAlpha() {
					t.Errorf("case %d: interpretation %s alpha %v, want %s %v", i, got.Interpretation(), got.HasAlpha(), img.Interpretation(), img.HasAlpha())
				}
				got.Close()
			}
			if q.DeviceName() != "" {
				ran := value(q.m.jobs.WithLabelValues(q.DeviceName()))
				if int(ran) != len(conformanceCases) {
					t.Errorf("%s ran %v jobs, want %d (fallbacks: %v)", name, ran, len(conformanceCases), fallbacks(q))
				}
			}
		})
	}
}

func maxDiff(a, b []byte) int {
	d := 0
	for i := range a {
		d = max(d, int(a[i])-int(b[i]), int(b[i])-int(a[i]))
	}
	return d
}

func fallbacks(q *Queue) map[string]float64 {
	m := map[string]float64{}
	for _, r := range []string{reasonOff, reasonDead, reasonFormat, reasonSmall, reasonFull, reasonInput, reasonError} {
		if v := value(q.m.fallbacks.WithLabelValues(r)); v > 0 {
			m[r] = v
		}
	}
	return m
}

// TestPipelineBitExact runs real pipelines (decode, resize, crop, pad,
// effects, encode) through the queue with the host-compiled kernels and
// through transform.CPUResizer, and wants identical bytes out: the device
// path changes nothing a client can see.
func TestPipelineBitExact(t *testing.T) {
	pngAlpha := encode(t, 1501, 1003, 4, true, format.PNG)
	jpeg := encode(t, 1600, 1200, 3, false, format.JPEG)
	parser, err := options.NewParser(options.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := transform.New(transform.DefaultConfig(), transform.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	q := newQueue(t, testConfig(), hostDevice{1})
	dev, err := transform.New(transform.DefaultConfig(), transform.Deps{Resizer: q})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src  []byte
		fmt  format.Format
		opts string
	}{
		{pngAlpha, format.PNG, "w_400,f_webp"},
		{pngAlpha, format.PNG, "w_400,f_png"},
		{pngAlpha, format.PNG, "w_300,h_300,c_fill,f_png"},
		{pngAlpha, format.PNG, "w_500,h_200,c_pad,f_png"},
		{pngAlpha, format.PNG, "w_350,f_jpeg"},
		{pngAlpha, format.PNG, "w_640,c_scale,h_100,f_png"},
		{jpeg, format.JPEG, "w_700,f_png"},
		{jpeg, format.JPEG, "w_333,e_sharpen,f_png"},
		{jpeg, format.JPEG, "w_1000,f_webp"},
	}
	for _, tt := range tests {
		o, err := parser.Parse(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		req := transform.Request{Options: o, Output: transform.Negotiate(o, tt.fmt, nil, false)}
		want, err := cpu.Process(context.Background(), tt.src, req)
		if err != nil {
			t.Fatal(err)
		}
		before := value(q.m.jobs.WithLabelValues("host"))
		got, err := dev.Process(context.Background(), tt.src, req)
		if err != nil {
			t.Fatal(err)
		}
		ran := value(q.m.jobs.WithLabelValues("host")) - before
		if !bytes.Equal(got.Body, want.Body) {
			t.Errorf("%s from %v: device pipeline output differs from the CPU's (%d vs %d bytes; on the device: %v)",
				tt.opts, tt.fmt, len(got.Body), len(want.Body), ran)
		}
		t.Logf("%s from %v: equal=%v, device jobs %v", tt.opts, tt.fmt, bytes.Equal(got.Body, want.Body), ran)
	}
	if value(q.m.jobs.WithLabelValues("host")) == 0 {
		t.Error("no pipeline resize ran on the device")
	}
}

func encode(t testing.TB, w, h, bands int, alpha bool, f format.Format) []byte {
	t.Helper()
	img := newImage(t, w, h, bands, alpha, 1)
	b, err := img.Save(vips.SaveOptions{Format: f, Quality: 92})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBounded: with one stream busy and Capacity jobs on the device, a
// further job does not wait: it runs on the CPU at once.
func TestBounded(t *testing.T) {
	f := NewFake(1)
	f.SetLatency(300 * time.Millisecond)
	cfg := testConfig()
	cfg.Capacity = 2
	q := newQueue(t, cfg, f)
	img := newImage(t, 300, 200, 3, false, 1)

	var wg sync.WaitGroup
	results := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := q.Resize(context.Background(), img, 0.5, 0.5)
			out.Close()
			results <- err
		}()
	}
	<-f.Started() // one running, and (below) one waiting
	deadline := time.Now().Add(2 * time.Second)
	for len(q.slots) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if len(q.slots) != 2 {
		t.Fatalf("queue depth %d, want 2", len(q.slots))
	}
	start := time.Now()
	for range 3 {
		out, err := q.Resize(context.Background(), img, 0.5, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("three resizes with the queue full took %v: they waited for the device", d)
	}
	if got := value(q.m.fallbacks.WithLabelValues(reasonFull)); got != 3 {
		t.Errorf("fallbacks{full} = %v, want 3", got)
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
	if f.Ran() != 2 {
		t.Errorf("device ran %d jobs, want 2", f.Ran())
	}
}

// TestCancelDropsQueued: a job whose context ends while it waits returns
// at once with the context's error and never runs.
func TestCancelDropsQueued(t *testing.T) {
	f := NewFake(1)
	f.SetLatency(300 * time.Millisecond)
	q := newQueue(t, testConfig(), f)
	img := newImage(t, 300, 200, 4, true, 2)

	done := make(chan struct{})
	go func() {
		defer close(done)
		out, err := q.Resize(context.Background(), img, 0.5, 0.5)
		if err != nil {
			t.Error(err)
		}
		out.Close()
	}()
	<-f.Started()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := q.Resize(ctx, img, 0.5, 0.5)
	if !errors.Is(err, context.DeadlineExceeded) || out != nil {
		t.Fatalf("Resize with an expiring context = %v, %v; want nil, deadline exceeded", out, err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("cancelled Resize returned after %v, want about 50ms", d)
	}
	<-done
	_ = q.Close() // waits for the worker to pass over the dropped job
	if f.Ran() != 1 {
		t.Errorf("device ran %d jobs, want 1 (the cancelled one dropped)", f.Ran())
	}
	if got := value(q.m.dropped); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
}

// TestCancelWhileRunning: a context that ends while the job runs returns
// at once; the result, when it comes, is released.
func TestCancelWhileRunning(t *testing.T) {
	f := NewFake(1)
	f.SetLatency(200 * time.Millisecond)
	q := newQueue(t, testConfig(), f)
	img := newImage(t, 300, 200, 3, false, 3)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-f.Started(); cancel() }()
	if _, err := q.Resize(ctx, img, 0.5, 0.5); !errors.Is(err, context.Canceled) {
		t.Fatalf("Resize = %v, want context.Canceled", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDeadDevice: a device error fails no request: that job and every
// later one run on the CPU with the right pixels, the device is marked
// dead, and with ModeRequire Ready reports it.
func TestDeadDevice(t *testing.T) {
	for _, mode := range []Mode{ModeAuto, ModeRequire} {
		t.Run(string(mode), func(t *testing.T) {
			f := NewFake(2)
			f.FailNext(1, &CUDAError{Call: "cuLaunchKernel", Code: 719, Name: "CUDA_ERROR_LAUNCH_FAILED"})
			cfg := testConfig()
			cfg.Mode = mode
			q := newQueue(t, cfg, f)
			img := newImage(t, 400, 300, 4, true, 4)
			lazy, err := img.Resize(0.3, 0.3)
			if err != nil {
				t.Fatal(err)
			}
			want := pixelsOf(t, lazy)
			lazy.Close()
			for i := range 3 {
				out, err := q.Resize(context.Background(), img, 0.3, 0.3)
				if err != nil {
					t.Fatalf("Resize %d after a device error: %v", i, err)
				}
				if !bytes.Equal(pixelsOf(t, out), want) {
					t.Errorf("Resize %d: pixels differ from libvips", i)
				}
				out.Close()
			}
			if q.State() != StateDead {
				t.Errorf("State() = %s, want dead", q.State())
			}
			if f.Ran() != 1 {
				t.Errorf("device ran %d jobs, want 1", f.Ran())
			}
			var ce *CUDAError
			if !errors.As(q.Err(), &ce) || ce.Code != 719 {
				t.Errorf("Err() = %v, want the CUDA error", q.Err())
			}
			if got := value(q.m.errors); got != 1 {
				t.Errorf("errors = %v, want 1", got)
			}
			fb := fallbacks(q)
			if fb[reasonError] != 1 || fb[reasonDead] != 2 {
				t.Errorf("fallbacks = %v, want error 1, dead 2", fb)
			}
			err = q.Ready()
			if (mode == ModeRequire) != errors.Is(err, ErrDead) {
				t.Errorf("mode %s: Ready() = %v", mode, err)
			}
		})
	}
}

// TestRouting: jobs the device should not take go to the CPU, each
// counted under its reason.
func TestRouting(t *testing.T) {
	f := NewFake(1)
	cfg := testConfig()
	cfg.MinPixels = 100_000
	q := newQueue(t, cfg, f)
	big := newImage(t, 400, 300, 3, false, 5)
	small := newImage(t, 100, 100, 3, false, 6)
	tests := []struct {
		img    *vips.Image
		hs, vs float64
		reason string
	}{
		{small, 0.5, 0.5, reasonSmall},
		{big, 1.5, 0.5, reasonFormat}, // enlarging one axis
		{big, 2, 2, reasonFormat},
		{big, 0.5, 0.5, ""},
	}
	for _, tt := range tests {
		before := fallbacks(q)[tt.reason]
		out, err := q.Resize(context.Background(), tt.img, tt.hs, tt.vs)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if tt.reason == "" {
			continue
		}
		if got := fallbacks(q)[tt.reason]; got != before+1 {
			t.Errorf("%dx%d by %gx%g: fallbacks{%s} = %v, want %v", tt.img.Width(), tt.img.Height(), tt.hs, tt.vs, tt.reason, got, before+1)
		}
	}
	if f.Ran() != 1 {
		t.Errorf("device ran %d jobs, want 1", f.Ran())
	}
}

// TestOpen: off never looks for a GPU; auto without one serves from the
// CPU and is ready; require without one fails to start.
func TestOpen(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeOff
	q, err := Open(cfg)
	if err != nil || q.State() != StateOff || q.Ready() != nil {
		t.Fatalf("Open(off) = %v, state %v", err, q.State())
	}
	_ = q.Close()

	_, cudaErr := OpenCUDA(DefaultConfig())
	cfg.Mode = ModeAuto
	q, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if cudaErr != nil {
		if q.State() != StateAbsent || q.Ready() != nil || !errors.Is(q.Err(), ErrNoDevice) {
			t.Errorf("Open(auto) without a GPU: state %s, Ready %v, Err %v", q.State(), q.Ready(), q.Err())
		}
		cfg.Mode = ModeRequire
		if _, err := Open(cfg); !errors.Is(err, ErrNoDevice) {
			t.Errorf("Open(require) without a GPU = %v, want ErrNoDevice", err)
		}
		if !strings.Contains(cudaErr.Error(), "libcuda.so.1") {
			t.Errorf("OpenCUDA error %q does not name the library", cudaErr)
		}
		cfg.Library = "/nonexistent/libcuda.so.1"
		if _, err := OpenCUDA(cfg); !errors.Is(err, ErrNoDevice) {
			t.Errorf("OpenCUDA(missing library) = %v, want ErrNoDevice", err)
		}
	} else if q.State() != StateReady {
		t.Errorf("Open(auto) with a GPU: state %s (%v)", q.State(), q.Err())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		edit func(*Config)
		ok   bool
	}{
		{func(*Config) {}, true},
		{func(c *Config) { c.Mode = "sometimes" }, false},
		{func(c *Config) { c.Capacity = 0 }, false},
		{func(c *Config) { c.Streams = 0 }, false},
		{func(c *Config) { c.Streams = maxStreams + 1 }, false},
		{func(c *Config) { c.MinPixels = -1 }, false},
		{func(c *Config) { c.Ordinal = -1 }, false},
		{func(c *Config) { c.Mode = ModeRequire; c.Streams = 4 }, true},
	}
	for i, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("case %d: Validate(%+v) = %v, want ok %v", i, c, err, tt.ok)
		}
		if _, err := New(c, nil); (err == nil) != tt.ok {
			t.Errorf("case %d: New = %v, want ok %v", i, err, tt.ok)
		}
	}
}

// TestCollectors: the metrics register on a registry and report the queue.
func TestCollectors(t *testing.T) {
	q := newQueue(t, testConfig(), NewFake(1))
	reg := prometheus.NewRegistry()
	for _, c := range q.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	img := newImage(t, 200, 100, 3, false, 8)
	out, err := q.Resize(context.Background(), img, 0.5, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"pictor_device_queue_depth", "pictor_device_queue_wait_seconds", "pictor_device_jobs_total",
		"pictor_device_fallbacks_total", "pictor_device_errors_total", "pictor_device_dropped_total", "pictor_device_state"} {
		if !names[want] {
			t.Errorf("metric %s not gathered", want)
		}
	}
	if got := value(q.m.state.WithLabelValues(string(StateReady))); got != 1 {
		t.Errorf("pictor_device_state{state=ready} = %v, want 1", got)
	}
	if got := value(q.m.jobs.WithLabelValues("fake")); got != 1 {
		t.Errorf("jobs{fake} = %v, want 1", got)
	}
}

// TestPhotoBitExact is the workload through the host kernels: the
// 3700×2400 RGBA PNG from the bench corpus resized to 400 wide equals
// libvips. It skips without the corpus (make corpus).
func TestPhotoBitExact(t *testing.T) {
	src := benchPNG(t)
	img, err := vips.Load(src, vips.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	q := newQueue(t, testConfig(), hostDevice{1})
	hs, vs := 400.0/float64(img.Width()), 259.0/float64(img.Height())
	lazy, err := img.Resize(hs, vs)
	if err != nil {
		t.Fatal(err)
	}
	want := pixelsOf(t, lazy)
	lazy.Close()
	out, err := q.Resize(context.Background(), img, hs, vs)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if got := pixelsOf(t, out); !bytes.Equal(got, want) {
		t.Errorf("photo: max diff %d against libvips", maxDiff(got, want))
	}
	if value(q.m.jobs.WithLabelValues("host")) != 1 {
		t.Errorf("the photo did not run on the device: fallbacks %v", fallbacks(q))
	}
}

// benchPNG is the bench corpus' RGBA PNG, or a skip naming the command
// that fetches it.
func benchPNG(t testing.TB) []byte {
	t.Helper()
	dir := os.Getenv("PICTOR_BENCH_CORPUS")
	if dir == "" {
		dir = "../../data/bench-corpus"
	}
	b, err := os.ReadFile(dir + "/photo-3700x2400.png")
	if err != nil {
		t.Skipf("bench corpus missing (%v): it runs under make bench, which fetches it (make corpus), or with PICTOR_BENCH_CORPUS set", err)
	}
	return b
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(fmt.Sprint("metric: ", err))
	}
	if c := d.GetCounter(); c != nil {
		return c.GetValue()
	}
	return d.GetGauge().GetValue()
}
