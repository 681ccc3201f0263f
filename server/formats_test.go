package server_test

import (
	"bytes"
	"testing"
)

// TestJXL serves JPEG XL: asked for with f_jxl, and chosen by f_auto after
// AVIF when Accept names image/jxl.
func TestJXL(t *testing.T) {
	h := newHarness(t, nil)
	jpg := h.uploadKey("../testdata/sample.jpg")
	r := h.get(h.signed("w_200,f_jxl", jpg))
	if r.status != 200 || r.header["Content-Type"] != "image/jxl" || !bytes.HasPrefix(r.body, []byte{0xFF, 0x0A}) && !bytes.HasPrefix(r.body, []byte("\x00\x00\x00\x0cJXL ")) {
		t.Fatalf("f_jxl: %v Content-Type %q", r, r.header["Content-Type"])
	}
	for _, tt := range []struct{ accept, want string }{
		{"image/jxl,image/avif,image/webp,*/*", "image/avif"},
		{"image/jxl,image/webp,*/*", "image/jxl"},
		{"image/jxl;q=0,image/webp,*/*", "image/webp"},
	} {
		r := h.get(h.signed("w_200,f_auto", jpg), "Accept: "+tt.accept)
		if r.status != 200 || r.header["Content-Type"] != tt.want || r.header["Vary"] != "Accept" {
			t.Errorf("f_auto with Accept %q: %v Content-Type %q Vary %q, want %s", tt.accept, r, r.header["Content-Type"], r.header["Vary"], tt.want)
		}
	}
	// A JPEG XL variant is kept like any other: the second answer is a hit.
	if r := h.get(h.signed("w_200,f_jxl", jpg)); r.status != 200 || r.header["X-Cache"] == "miss" {
		t.Errorf("f_jxl again: %v X-Cache %q, want a hit", r, r.header["X-Cache"])
	}
}
