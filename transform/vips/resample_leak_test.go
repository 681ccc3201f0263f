package vips

import (
	"testing"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips/internal/libvipstest"
)

// testAxis is an axis of in pixels shrunk by 2 with a box, then reduced by
// 2 with a three-tap kernel: every stage of the engine, with tables that
// need not be Lanczos' to exercise its memory.
func testAxis(in int) Axis {
	shrunk := (in + 1) / 2
	out := (shrunk + 1) / 2
	a := Axis{Shrink: 2, Shrunk: shrunk, Out: out, Points: 3,
		Start: make([]int32, out), Phase: make([]int32, out),
		Fixed: make([]int16, 65*3), Int: make([]int32, 65*3)}
	for i := range out {
		a.Start[i] = int32(2*i - 1)
		a.Phase[i] = int32(i % 65)
	}
	for p := range 65 {
		a.Fixed[3*p], a.Fixed[3*p+1], a.Fixed[3*p+2] = 16, 32, 16
		a.Int[3*p], a.Int[3*p+1], a.Int[3*p+2] = 1024, 2048, 1024
	}
	return a
}

func testPlan(w, h, bands int, alpha bool) *Plan {
	return &Plan{Width: w, Height: h, Bands: bands, Alpha: alpha, V: testAxis(h), H: testAxis(w)}
}

// TestNoLeakEngine runs 600 rounds of the resize engine's four paths (the
// 1/8 JPEG decoder, libjpeg at 1/2, libpng with alpha, the engine over a
// lazy libvips image), each followed by the direct JPEG writer, and of
// the decoders' failures on truncated files (their longjmp exits). The C
// heap in use may not grow by more than 3 MiB after the first hundred
// rounds (see TestNoLeak for the measure): a leak of 6 KB a round fails,
// and the smallest thing a path allocates per call, its output image, is
// 100 KB.
func TestNoLeakEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of decodes are too slow for -short; this runs in make test and CI")
	}
	jpegBytes := readCorpus(t, "exif-orientation/Landscape_1.jpg") // 1200×1800 4:2:0
	jh, err := Probe(jpegBytes)
	if err != nil {
		t.Fatal(err)
	}
	pngBytes := readCorpus(t, "pngsuite/basn6a08.png") // 32×32 RGBA
	ph, err := Probe(pngBytes)
	if err != nil {
		t.Fatal(err)
	}
	eighth := testPlan(jh.Width/8, jh.Height/8, 3, false)
	half := testPlan(jh.Width/2, jh.Height/2, 3, false)
	rgba := testPlan(ph.Width, ph.Height, 4, true)
	cut := func(b []byte) []byte { return b[:len(b)*2/3] }

	round := func(i int) {
		save := func(im *Image, err error) {
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			defer im.Close()
			if _, err := im.Save(SaveOptions{Format: format.JPEG, Quality: 80}); err != nil {
				t.Fatalf("round %d: save: %v", i, err)
			}
		}
		save(ResampleJPEG(jpegBytes, jh.Width, jh.Height, 8, eighth, nil))
		save(ResampleJPEG(jpegBytes, jh.Width, jh.Height, 2, half, nil))
		save(ResamplePNG(pngBytes, rgba, nil))
		lazy, err := Load(jpegBytes, LoadOptions{Shrink: 8, Sequential: true})
		if err != nil {
			t.Fatal(err)
		}
		save(lazy.Resample(eighth))
		lazy.Close()
		if im, err := ResampleJPEG(cut(jpegBytes), jh.Width, jh.Height, 8, eighth, nil); err == nil {
			im.Close()
			t.Fatalf("round %d: a truncated JPEG decoded", i)
		}
		if im, err := ResamplePNG(cut(pngBytes), rgba, nil); err == nil {
			im.Close()
			t.Fatalf("round %d: a truncated PNG decoded", i)
		}
	}
	const rounds, warm = 600, 100
	var heap100 int64
	for i := range rounds {
		round(i)
		if i+1 == warm {
			settledRSS(t)
			heap100 = libvipstest.HeapInUse()
		}
	}
	settledRSS(t)
	heapEnd := libvipstest.HeapInUse()
	const mib = 1 << 20
	t.Logf("C heap in use after %d rounds: %.2f MiB; after %d: %.2f MiB; growth %+.2f MiB (bound 3 MiB)",
		warm, float64(heap100)/mib, rounds, float64(heapEnd)/mib, float64(heapEnd-heap100)/mib)
	if heapEnd-heap100 > 3*mib {
		t.Errorf("C heap in use grew by %.2f MiB over %d rounds, want at most 3 MiB", float64(heapEnd-heap100)/mib, rounds-warm)
	}
}
