package transform

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

const sampleKey = "0123456789abcdef0123456789abcdef.jpg"

func newCachingProcessor(t testing.TB, budget int64) (*Processor, *cache.Decoded[*Decoded]) {
	t.Helper()
	dc, err := cache.NewDecoded[*Decoded](cache.DecodedConfig{MaxBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	p, err := New(DefaultConfig(), Deps{Decoded: dc})
	if err != nil {
		t.Fatal(err)
	}
	return p, dc
}

func requests(t testing.TB, src format.Format, opts ...string) []Request {
	t.Helper()
	reqs := make([]Request, len(opts))
	for i, s := range opts {
		o := parse(t, s)
		reqs[i] = Request{Options: o, Output: Negotiate(o, src, nil, false)}
	}
	return reqs
}

// Without a decode cache, one request through Variants is the same
// pipeline as Process, byte for byte.
func TestVariantsSingleMatchesProcess(t *testing.T) {
	p := newProcessor(t)
	src := readFile(t, "../testdata/sample.jpg")
	for _, opts := range []string{"w_300", "w_200,h_200,c_fill,f_webp", "c_crop,x_10,y_20,w_100,h_50"} {
		req := requests(t, format.JPEG, opts)
		want, err := p.Process(context.Background(), src, req[0])
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Variants(context.Background(), sampleKey, src, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[0].Body, want.Body) {
			t.Errorf("Variants(%q) differs from Process(%q)", opts, opts)
		}
	}
}

func TestVariantsDecodeOnce(t *testing.T) {
	p, dc := newCachingProcessor(t, 64<<20)
	src := readFile(t, "../testdata/sample.jpg") // 1200×800
	widths := []string{"w_150", "w_300", "w_600", "w_1200,f_webp", "w_100,h_100,c_fill"}
	res, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, widths...))
	if err != nil {
		t.Fatal(err)
	}
	if p.Decodes() != 1 {
		t.Errorf("%d variants took %d decodes, want 1", len(widths), p.Decodes())
	}
	for i, want := range [][2]int{{150, 100}, {300, 200}, {600, 400}, {1200, 800}, {100, 100}} {
		if res[i].Width != want[0] || res[i].Height != want[1] {
			t.Errorf("%s = %dx%d, want %dx%d", widths[i], res[i].Width, res[i].Height, want[0], want[1])
		}
	}
	if st := dc.Stats(); st.Entries != 1 || st.Bytes != 1200*800*3 {
		t.Errorf("decode cache = %+v, want the full 1200×800×3 decode", st)
	}

	// A later, smaller variant starts from the cached decode; its pixels
	// are those of a fresh decode within resampling noise.
	req := requests(t, format.JPEG, "w_250,f_png")
	got, err := p.Variants(context.Background(), sampleKey, src, req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Decodes() != 1 {
		t.Errorf("a smaller variant after a full decode decoded again (%d decodes)", p.Decodes())
	}
	fresh, err := newProcessor(t).Process(context.Background(), src, req[0])
	if err != nil {
		t.Fatal(err)
	}
	if db := psnr(toImage(t, got[0].Body), toImage(t, fresh.Body)); db < 35 {
		t.Errorf("w_250 from the cached decode vs a fresh decode: PSNR %.1f dB, want >= 35", db)
	}
}

// TestVariantsDoorkeeper: a lone variant of an original not decoded before
// streams its decode and keeps nothing; the next one finds the original
// seen and keeps its decode.
func TestVariantsDoorkeeper(t *testing.T) {
	p, dc := newCachingProcessor(t, 64<<20)
	src := readFile(t, "../testdata/sample.jpg")
	for i, want := range []int64{0, 150 * 100 * 3} {
		if _, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_150")); err != nil {
			t.Fatal(err)
		}
		if st := dc.Stats(); st.Bytes != want {
			t.Errorf("after w_150 #%d the cache holds %d B, want %d B", i+1, st.Bytes, want)
		}
	}
	// Distinct originals, each seen once, leave the cache as it was.
	for i := range 5 {
		key := fmt.Sprintf("%032x.jpg", i+1)
		if _, err := p.Variants(context.Background(), key, src, requests(t, format.JPEG, "w_100")); err != nil {
			t.Fatal(err)
		}
	}
	if st := dc.Stats(); st.Entries != 1 {
		t.Errorf("after 5 distinct originals seen once the cache holds %d decodes, want 1", st.Entries)
	}
}

func TestVariantsLargerRequestDecodesAgain(t *testing.T) {
	p, dc := newCachingProcessor(t, 64<<20)
	src := readFile(t, "../testdata/sample.jpg") // 1200×800: w_150 loads at 1/8
	for range 2 {                                // the second sighting keeps its decode (TestVariantsDoorkeeper)
		if _, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_150")); err != nil {
			t.Fatal(err)
		}
	}
	if st := dc.Stats(); st.Bytes != 150*100*3 {
		t.Fatalf("after w_150 the cache holds %d B, want the 1/8 decode (%d B)", st.Bytes, 150*100*3)
	}
	if _, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_500")); err != nil {
		t.Fatal(err)
	}
	if p.Decodes() != 3 {
		t.Errorf("w_500 after a 1/8 decode: %d decodes, want 3", p.Decodes())
	}
	if st := dc.Stats(); st.Bytes != 600*400*3 {
		t.Errorf("after w_500 the cache holds %d B, want the 1/2 decode (%d B)", st.Bytes, 600*400*3)
	}
	if _, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_150", "w_400")); err != nil {
		t.Fatal(err)
	}
	if p.Decodes() != 3 {
		t.Errorf("w_150 and w_400 after a 1/2 decode: %d decodes, want 3", p.Decodes())
	}
}

func TestVariantsConcurrentShareOneDecode(t *testing.T) {
	p, _ := newCachingProcessor(t, 64<<20)
	src := readFile(t, "../testdata/sample.jpg")
	// A first sighting, so that the concurrent ones keep their decode.
	if _, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_50")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	formats := []string{"f_jpeg", "f_webp", "f_png", "f_gif", "f_avif", "q_50", "q_60", "q_70"}
	for _, f := range formats {
		wg.Go(func() {
			if _, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_300,"+f)); err != nil {
				t.Errorf("w_300,%s: %v", f, err)
			}
		})
	}
	wg.Wait()
	if p.Decodes() != 2 {
		t.Errorf("%d concurrent variants needing the same decode ran %d decodes after the first sighting, want 1", len(formats), p.Decodes()-1)
	}
}

func TestVariantsErrors(t *testing.T) {
	p, dc := newCachingProcessor(t, 64<<20)
	src := readFile(t, "../testdata/sample.jpg")
	// One bad request fails the call and caches nothing wrong.
	_, err := p.Variants(context.Background(), sampleKey, src, requests(t, format.JPEG, "w_100", "c_crop,x_5000,y_0,w_10,h_10"))
	if err == nil {
		t.Error("Variants with a region outside the image = nil error")
	}
	if _, err := p.Variants(context.Background(), "ffffffffffffffffffffffffffffffff.png", []byte("not an image"), requests(t, format.PNG, "w_10")); err == nil {
		t.Error("Variants of garbage = nil error")
	}
	if st := dc.Stats(); st.Entries != 0 {
		t.Errorf("decode cache holds %d entries after failures, want 0", st.Entries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Variants(ctx, sampleKey, src, requests(t, format.JPEG, "w_100")); err == nil {
		t.Error("Variants with a cancelled context = nil error")
	}
}

// Cascaded variants (each resized from the next larger one) stay within
// resampling noise of the same variants made alone.
func TestVariantsCascadeQuality(t *testing.T) {
	p := newProcessor(t)
	src := readFile(t, "../testdata/sample.jpg")
	opts := []string{"w_150,f_png", "w_1000,f_png", "w_300,f_png", "w_600,f_png", "w_200,h_200,c_fill,f_png", "w_450,f_png,e_grayscale"}
	reqs := requests(t, format.JPEG, opts...)
	got, err := p.Variants(context.Background(), "", src, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		want, err := p.Process(context.Background(), src, r)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].Width != want.Width || got[i].Height != want.Height {
			t.Errorf("%s: %dx%d from Variants, %dx%d alone", opts[i], got[i].Width, got[i].Height, want.Width, want.Height)
			continue
		}
		if db := psnr(toImage(t, got[i].Body), toImage(t, want.Body)); db < 35 {
			t.Errorf("%s: PSNR %.1f dB between Variants and a lone Process, want >= 35", opts[i], db)
		} else {
			t.Logf("%s: PSNR %.1f dB", opts[i], db)
		}
	}
}

// TestBoxToDecode: a cached decode several times larger than a request's
// own decode is box-shrunk to that size before the resize, by whole
// factors only; a region request keeps its source pixels.
func TestBoxToDecode(t *testing.T) {
	p := newProcessor(t)
	src := readFile(t, "../testdata/sample.jpg") // 1200×800
	hdr, err := p.Probe(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts         string
		fromW, fromH int // the cached decode
		wantW, wantH int
	}{
		{"w_150", 600, 400, 150, 100},    // needs the 1/8 decode: 4×
		{"w_150", 1200, 800, 150, 100},   // 8×
		{"w_300", 600, 400, 300, 200},    // needs 1/4: 2×
		{"w_300", 300, 200, 300, 200},    // already its own size
		{"w_500", 1200, 800, 600, 400},   // needs 1/2: 2×
		{"w_1000", 1200, 800, 1200, 800}, // needs all of it
		{"c_crop,x_10,y_10,w_100,h_100", 1200, 800, 1200, 800},
	} {
		j := &job{ctx: context.Background(), req: requests(t, format.JPEG, c.opts)[0], src: src, hdr: hdr}
		if err := p.plan(j); err != nil {
			t.Fatal(err)
		}
		full, err := vips.Load(src, vips.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j.img, err = full.Resize(float64(c.fromW)/1200, float64(c.fromH)/800)
		full.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.boxToDecode(j); err != nil {
			t.Fatalf("%s from %d×%d: %v", c.opts, c.fromW, c.fromH, err)
		}
		if w, h := j.img.Width(), j.img.Height(); w != c.wantW || h != c.wantH {
			t.Errorf("%s from a %d×%d decode: boxed to %d×%d, want %d×%d", c.opts, c.fromW, c.fromH, w, h, c.wantW, c.wantH)
		}
		j.img.Close()
	}
}

// TestVariantsReducedCopy: an original whose decode is too large for the
// decoded-original cache, asked for again, streams into a reduced copy
// the cache keeps; later variants no larger than the copy start from it
// (no decode, pixels within resampling noise of a fresh decode), larger
// ones stream from the original again.
func TestVariantsReducedCopy(t *testing.T) {
	p, dc := newCachingProcessor(t, 16<<20) // keeps decodes up to 4 MiB
	src := readFile(t, "testdata/rgba16-3000.png")
	const key = "0123456789abcdef0123456789abcdef.png"
	variant := func(opts string, wantDecodes int64, wantW int) Result {
		t.Helper()
		res, err := p.Variants(context.Background(), key, src, requests(t, format.PNG, opts))
		if err != nil {
			t.Fatal(err)
		}
		if p.Decodes() != wantDecodes || res[0].Width != wantW {
			t.Fatalf("%s: %d decodes so far and width %d, want %d and %d", opts, p.Decodes(), res[0].Width, wantDecodes, wantW)
		}
		return res[0]
	}
	variant("w_200", 1, 200) // first sighting: streamed, nothing kept
	if st := dc.Stats(); st.Entries != 0 {
		t.Fatalf("after a first sighting the cache holds %+v", st)
	}
	variant("w_300", 2, 300) // seen before: reduced by 3 to fit 4 MiB
	if st := dc.Stats(); st.Entries != 1 || st.Bytes != 1000*1000*4 {
		t.Fatalf("decode cache = %+v, want one 1000×1000 RGBA copy", st)
	}
	got := variant("w_800,f_png", 2, 800)
	o := parse(t, "w_800,f_png")
	fresh, err := newProcessor(t).Process(context.Background(), src, Request{Options: o, Output: Negotiate(o, format.PNG, nil, false)})
	if err != nil {
		t.Fatal(err)
	}
	if db := psnr(toImage(t, got.Body), toImage(t, fresh.Body)); db < 35 {
		t.Errorf("w_800 from the reduced copy vs a fresh decode: PSNR %.1f dB, want >= 35", db)
	}
	variant("w_1500", 3, 1500) // over the copy, and no copy that serves it fits
	if st := dc.Stats(); st.Bytes != 1000*1000*4 {
		t.Errorf("after w_1500 the cache holds %d B, want the reduced copy still", st.Bytes)
	}
}
