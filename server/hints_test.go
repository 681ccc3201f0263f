package server_test

import (
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

const (
	varyWidth = "Sec-CH-Width, Width, Sec-CH-Viewport-Width, Viewport-Width"
	varyDPR   = "Sec-CH-DPR, DPR"
)

// TestClientHints serves w_auto and dpr_auto from client hints: the width
// rounded up to the step, Vary on exactly the hints the options read, and
// one variant for every request that resolves alike.
func TestClientHints(t *testing.T) {
	h := newHarness(t, nil)
	jpg := h.uploadKey("../testdata/sample.jpg") // 1200×800
	tests := []struct {
		name  string
		opts  string
		hdr   []string
		w, ht int
		vary  string
		// spelled is the options the request resolves to, spelled out:
		// the test waits for that variant to be stored before going on, so
		// the requests after it that resolve alike must be hits.
		spelled string
		notHit  bool
	}{
		{"Sec-CH-Width", "w_auto,f_webp", []string{"Sec-CH-Width: 301"}, 400, 267, varyWidth, "w_400,f_webp", true},
		{"a width in the same step", "w_auto,f_webp", []string{"Sec-CH-Width: 350"}, 400, 267, varyWidth, "", false},
		{"legacy Width", "w_auto,f_webp", []string{"Width: 399"}, 400, 267, varyWidth, "", false},
		{"the spelled-out URL shares it", "w_400,f_webp", nil, 400, 267, "", "", false},
		{"viewport times DPR", "w_auto,dpr_auto,f_webp", []string{"Sec-CH-Viewport-Width: 250", "Sec-CH-DPR: 2"}, 500, 333, varyWidth + ", " + varyDPR, "", true},
		{"no hints, the fallback", "w_auto:300,f_webp", nil, 300, 200, varyWidth, "", true},
		{"no hints, no fallback: the source's width", "w_auto,f_webp", []string{"Sec-CH-Width: x"}, 1200, 800, varyWidth, "", true},
		{"dpr_auto", "w_100,dpr_auto,f_webp", []string{"Sec-CH-DPR: 2.625"}, 300, 200, varyDPR, "w_100,dpr_3,f_webp", true},
		{"legacy DPR", "w_100,dpr_auto,f_webp", []string{"DPR: 3"}, 300, 200, varyDPR, "", false},
		{"dpr_ spelled out", "w_100,dpr_3,f_webp", nil, 300, 200, "", "", false},
		{"f_auto and w_auto", "w_auto,f_auto", []string{"Accept: image/webp,*/*", "Sec-CH-Width: 200"}, 200, 133, "Accept, " + varyWidth, "", true},
		{"hints without an auto option", "w_100,f_webp", []string{"Sec-CH-Width: 900", "Sec-CH-DPR: 3"}, 100, 67, "", "", true},
	}
	for _, tt := range tests {
		r := h.get(h.signed(tt.opts, jpg), tt.hdr...)
		if r.status != 200 {
			t.Fatalf("%s: %v", tt.name, r)
		}
		hd, err := vips.Probe(r.body)
		if err != nil || hd.Width != tt.w || hd.Height != tt.ht {
			t.Errorf("%s: %s with %q is %d×%d (%v), want %d×%d", tt.name, tt.opts, tt.hdr, hd.Width, hd.Height, err, tt.w, tt.ht)
		}
		if r.header["Vary"] != tt.vary {
			t.Errorf("%s: Vary %q, want %q", tt.name, r.header["Vary"], tt.vary)
		}
		if hit := r.header["X-Cache"] != "miss"; hit == tt.notHit {
			t.Errorf("%s: X-Cache %q, want a hit: %v", tt.name, r.header["X-Cache"], !tt.notHit)
		}
		if _, ok := r.header["Accept-Ch"]; ok {
			t.Errorf("%s: Accept-CH sent, but it is off by default", tt.name)
		}
		if tt.spelled != "" {
			h.waitStored(h.signed(tt.spelled, jpg))
		}
	}

	// A srcset has its own widths.
	wantError(t, h.get("/srcset/w_auto/"+jpg), 400)
}

// TestAcceptCH sends Accept-CH when configured, and rounds to
// PICTOR_AUTO_WIDTH_STEP.
func TestAcceptCH(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Server.AcceptCH = true
		c.Transform.AutoWidthStep = 64
	})
	jpg := h.uploadKey("../testdata/sample.jpg")
	r := h.get(h.signed("w_auto,f_webp", jpg), "Sec-CH-Width: 65")
	if r.status != 200 || r.header["Accept-Ch"] != "Sec-CH-Width, Sec-CH-DPR, Sec-CH-Viewport-Width, ECT" {
		t.Fatalf("%v Accept-CH %q", r, r.header["Accept-Ch"])
	}
	if hd, err := vips.Probe(r.body); err != nil || hd.Width != 128 {
		t.Errorf("Sec-CH-Width 65 at step 64: %d wide (%v), want 128", hd.Width, err)
	}
}

// TestQualityAutoECT lowers q_auto for a 2g connection, as for Save-Data.
func TestQualityAutoECT(t *testing.T) {
	h := newHarness(t, nil)
	jpg := h.uploadKey("../testdata/sample.jpg")
	p := h.signed("w_600,f_jpeg,q_auto", jpg)
	full := h.get(p, "ECT: 4g")
	h.waitStored(p)
	for _, ect := range []string{"2g", "slow-2g"} {
		lite := h.get(p, "ECT: "+ect)
		if full.status != 200 || lite.status != 200 || len(lite.body) >= len(full.body) {
			t.Errorf("ECT %s: %d bytes vs %d for 4g, want fewer", ect, len(lite.body), len(full.body))
		}
		if lite.header["Vary"] != "Save-Data, ECT" {
			t.Errorf("ECT %s: Vary %q, want %q", ect, lite.header["Vary"], "Save-Data, ECT")
		}
	}
	// Save-Data and a 2g ECT make one variant: the key holds the lowered
	// quality, not the header that lowered it.
	o, err := h.srv.Parser.Parse("w_600,f_jpeg,q_auto")
	if err != nil {
		t.Fatal(err)
	}
	lowered := transform.VariantKey(o, jpg, transform.Negotiate(o, format.JPEG, nil, true))
	waitFor(t, func() bool { _, ok := h.mem.Get(lowered); return ok })
	if sd := h.get(p, "Save-Data: on"); sd.status != 200 || sd.header["X-Cache"] == "miss" {
		t.Errorf("Save-Data after ECT 2g: X-Cache %q, want a hit", sd.header["X-Cache"])
	}
	if three := h.get(p, "ECT: 3g"); three.header["X-Cache"] == "miss" || len(three.body) != len(full.body) {
		t.Errorf("ECT 3g: X-Cache %q, %d bytes, want the 4g variant's %d", three.header["X-Cache"], len(three.body), len(full.body))
	}
}
