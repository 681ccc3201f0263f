package device

import (
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/pictorhq/pictor/transform/device/internal/hostkernel"
	"github.com/pictorhq/pictor/transform/internal/resample"
	"github.com/pictorhq/pictor/transform/internal/vipstest"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestMain(m *testing.M) { vipstest.Main(m) }

// hostDevice runs the CUDA kernels compiled for the host
// (internal/hostkernel): a real implementation of the kernels behind the
// Device interface, for the conformance suite without a GPU.
type hostDevice struct{ n int }

func (h hostDevice) Name() string                   { return "host" }
func (h hostDevice) Streams() int                   { return h.n }
func (h hostDevice) OpenStream(int) (Stream, error) { return &hostStream{}, nil }
func (h hostDevice) Close() error                   { return nil }

type hostStream struct{ out []byte }

func (s *hostStream) Resize(p *resample.Plan, src []byte) ([]byte, error) {
	s.out = make([]byte, p.OutBytes())
	return s.out, hostkernel.RunInto(p, src, s.out)
}
func (s *hostStream) Timings() Timings { return Timings{} }
func (s *hostStream) Close() error     { return nil }

// skipWithoutCUDA opens the GPU or skips, saying what is missing and
// where the test runs.
func skipWithoutCUDA(t testing.TB, streams int) *CUDA {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Streams = streams
	cfg.Library = os.Getenv("PICTOR_GPU_LIBRARY")
	c, err := OpenCUDA(cfg)
	if err != nil {
		t.Skipf("libcuda.so.1 is missing (%v): no NVIDIA driver here; this runs on a machine with one, e.g. the lent GPU machine (docs/operations.md, section \"Running the GPU tests\"); PICTOR_GPU_LIBRARY names a library elsewhere", err)
	}
	return c
}

// photo makes a photo-like test image: smooth gradients, noise and
// edges; with alpha, a band with transparent, opaque and partial regions.
func photo(w, h, bands int, alpha bool, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	pix := make([]byte, w*h*bands)
	for y := range h {
		for x := range w {
			for b := range bands {
				i := (y*w+x)*bands + b
				switch {
				case alpha && b == bands-1:
					pix[i] = [4]byte{0, 255, 128, byte(r.IntN(256))}[(x/13+y/11)%4]
				case (x*7+y*3+b)%11 == 0:
					pix[i] = byte(r.IntN(256))
				case (x/9+y/9)%2 == 0:
					pix[i] = byte((x + 2*y + 40*b) % 256)
				default:
					pix[i] = byte(255 - (x*y/7+b*50)%256)
				}
			}
		}
	}
	return pix
}

func newImage(t testing.TB, w, h, bands int, alpha bool, seed uint64) *vips.Image {
	t.Helper()
	img, err := vips.FromPixels(photo(w, h, bands, alpha, seed), w, h, bands, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(img.Close)
	return img
}

func pixelsOf(t testing.TB, img *vips.Image) []byte {
	t.Helper()
	buf := make([]byte, img.Width()*img.Height()*img.Bands())
	if err := img.WritePixels(buf); err != nil {
		t.Fatal(err)
	}
	return buf
}

// lockThread keeps the test's goroutine on its OS thread until it ends,
// as a queue worker does, so a CUDA context made current stays current.
func lockThread(t testing.TB) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}
