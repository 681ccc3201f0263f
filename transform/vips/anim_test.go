package vips

import (
	"bytes"
	"image/png"
	"slices"
	"testing"

	"github.com/pictorhq/pictor/internal/animtest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips/internal/libvipstest"
)

// loadAll loads every frame of an animation.
func loadAll(t *testing.T, b []byte) *Image {
	t.Helper()
	im, err := Load(b, LoadOptions{Pages: -1})
	if err != nil {
		t.Fatalf("Load(Pages: -1): %v", err)
	}
	return im
}

func TestLoadAnimatedGIF(t *testing.T) {
	src := animtest.GIF(4, 40, 30, []int{10, 20, 30, 40}, 2)
	h, err := Probe(src)
	if err != nil {
		t.Fatal(err)
	}
	if h.Pages != 4 || h.Width != 40 || h.Height != 30 {
		t.Errorf("Probe = %d pages of %d×%d, want 4 of 40×30", h.Pages, h.Width, h.Height)
	}

	im := loadAll(t, src)
	defer im.Close()
	if im.Width() != 40 || im.Height() != 120 {
		t.Errorf("Load(Pages: -1) = %d×%d, want 40×120", im.Width(), im.Height())
	}
	a := im.Animation()
	// image/gif's LoopCount 2 is three plays; libvips counts plays.
	want := Animation{PageHeight: 30, Delays: []int{100, 200, 300, 400}, Loop: 3}
	if a.PageHeight != want.PageHeight || !slices.Equal(a.Delays, want.Delays) || a.Loop != want.Loop {
		t.Errorf("Animation() = %+v, want %+v", a, want)
	}

	one, err := Load(src, LoadOptions{Page: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if one.Height() != 30 {
		t.Errorf("Load(Page: 2) height %d, want 30", one.Height())
	}
	if _, err := Load(src, LoadOptions{Page: 4}); err == nil {
		t.Error("Load(Page: 4) of 4 frames: no error")
	}
	if _, err := Load(src, LoadOptions{Page: -1}); err == nil {
		t.Error("Load(Page: -1): no error")
	}
}

// TestAnimationRoundTrip resizes each frame on its own, joins them and
// saves GIF and WebP: the frames, their order, delays and loop count must
// survive, and no frame may bleed into the next.
func TestAnimationRoundTrip(t *testing.T) {
	const n = 5
	src := animtest.GIF(n, 64, 48, []int{4, 8, 12, 16, 20}, 1)
	im := loadAll(t, src)
	defer im.Close()
	anim := im.Animation()
	frames, err := im.SplitFrames(anim.PageHeight)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(frames)
	small := make([]*Image, len(frames))
	for i, f := range frames {
		if small[i], err = f.Resize(0.5, 0.5); err != nil {
			t.Fatal(err)
		}
	}
	defer CloseAll(small)
	joined, err := JoinFrames(small)
	if err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	if joined.Width() != 32 || joined.Height() != n*24 {
		t.Fatalf("joined %d×%d, want 32×%d", joined.Width(), joined.Height(), n*24)
	}
	out := anim
	out.PageHeight = 24

	for _, f := range []format.Format{format.GIF, format.WebP} {
		t.Run(f.String(), func(t *testing.T) {
			b, err := joined.Save(SaveOptions{Format: f, Animation: &out})
			if err != nil {
				t.Fatal(err)
			}
			h, err := Probe(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.Pages != n || h.Width != 32 || h.Height != 24 {
				t.Errorf("saved %s: %d pages of %d×%d, want %d of 32×24", f, h.Pages, h.Width, h.Height, n)
			}
			back := loadAll(t, b)
			defer back.Close()
			got := back.Animation()
			if !slices.Equal(got.Delays, anim.Delays) || got.Loop != 2 {
				t.Errorf("saved %s: delays %v loop %d, want %v loop 2", f, got.Delays, got.Loop, anim.Delays)
			}
			if f == format.GIF {
				d, err := animtest.Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Frames) != n || d.LoopCount != 1 || !slices.Equal(d.Delays, []int{4, 8, 12, 16, 20}) {
					t.Errorf("image/gif reads %d frames, loop %d, delays %v; want %d, 1, [4 8 12 16 20]", len(d.Frames), d.LoopCount, d.Delays, n)
				}
			}
			// Each frame's centre keeps its own colour.
			png, err := back.Save(SaveOptions{Format: format.PNG})
			if err != nil {
				t.Fatal(err)
			}
			checkFrameCentres(t, png, 32, 24, n)
		})
	}

	// A still format saves the pixels as they are, animation or not.
	b, err := joined.Save(SaveOptions{Format: format.PNG, Animation: &out})
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := Probe(b); h.Pages != 1 || h.Height != n*24 {
		t.Errorf("PNG of an animation: %d pages, height %d; want 1, %d", h.Pages, h.Height, n*24)
	}

	bad := Animation{PageHeight: 7}
	if _, err := joined.Save(SaveOptions{Format: format.GIF, Animation: &bad}); err == nil {
		t.Error("Save with a page height that does not divide the height: no error")
	}
}

func TestJoinFramesSizes(t *testing.T) {
	im := loadAll(t, animtest.GIF(2, 20, 10, []int{5}, 0))
	defer im.Close()
	a, _ := im.ExtractArea(0, 0, 20, 10)
	b, _ := im.ExtractArea(0, 10, 10, 10)
	defer a.Close()
	defer b.Close()
	if _, err := JoinFrames([]*Image{a, b}); err == nil {
		t.Error("JoinFrames of 20×10 and 10×10: no error")
	}
	if _, err := JoinFrames(nil); err == nil {
		t.Error("JoinFrames(nil): no error")
	}
	if _, err := im.SplitFrames(3); err == nil {
		t.Error("SplitFrames(3) of height 20: no error")
	}
}

// checkFrameCentres decodes a PNG of n frames of w×h stacked vertically
// and checks that frame i's centre is animtest's colour i.
func checkFrameCentres(t *testing.T, b []byte, w, h, n int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c := img.At(w/2, i*h+h/2)
		if got := animtest.Nearest(c); got != i {
			t.Errorf("frame %d centre %v is frame %d's colour", i, c, got)
		}
	}
}

// animPipeline is what the transform package does for an animated output:
// every frame loaded, cut apart, resized, joined and saved with its
// delays.
func animPipeline(buf []byte, f format.Format) (int, error) {
	im, err := Load(buf, LoadOptions{Pages: -1})
	if err != nil {
		return 0, err
	}
	defer im.Close()
	a := im.Animation()
	frames, err := im.SplitFrames(a.PageHeight)
	if err != nil {
		return 0, err
	}
	defer CloseAll(frames)
	for i, fr := range frames {
		small, err := fr.Resize(0.5, 0.5)
		if err != nil {
			return 0, err
		}
		fr.Close()
		frames[i] = small
	}
	joined, err := JoinFrames(frames)
	if err != nil {
		return 0, err
	}
	defer joined.Close()
	a.PageHeight = frames[0].Height()
	out, err := joined.Save(SaveOptions{Format: f, Animation: &a})
	return len(out), err
}

// TestNoLeakAnimation is TestNoLeak for animations: 1,000 runs of
// animPipeline, alternating GIF and WebP, must not grow the C heap by more
// than 3 MiB after the first hundred (measured: 0.4-0.5 MiB). Each run makes
// about 20 images (six frames cut, six resized, the join, the save's copy)
// and a delay array; leaking the resized frames (six images with their
// metadata and 0.5 KB of pixels each, about 13 KB a run) adds 11 MiB, and
// leaking the decoded stack (12 KB a run) another 10 MiB.
func TestNoLeakAnimation(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 1,000 animated pipelines are too slow; make test (no -short) runs it")
	}
	buf := animtest.GIF(6, 32, 16, []int{4, 8}, 0)
	const calls, warm = 1000, 100
	var heap100 int64
	for i := range calls {
		f := format.GIF
		if i%2 == 1 {
			f = format.WebP
		}
		if n, err := animPipeline(buf, f); err != nil || n == 0 {
			t.Fatalf("call %d: %d bytes, %v", i, n, err)
		}
		if i+1 == warm {
			settledRSS(t)
			heap100 = libvipstest.HeapInUse()
		}
	}
	settledRSS(t)
	heapEnd := libvipstest.HeapInUse()
	const mib = 1 << 20
	t.Logf("C heap in use after %d calls: %.2f MiB; after %d: %.2f MiB; growth %+.2f MiB", warm, float64(heap100)/mib, calls, float64(heapEnd)/mib, float64(heapEnd-heap100)/mib)
	if heapEnd-heap100 > 3*mib {
		t.Errorf("C heap in use grew by %.2f MiB over %d animated calls, want at most 3 MiB", float64(heapEnd-heap100)/mib, calls-warm)
	}
}
