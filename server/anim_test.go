package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/internal/animtest"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/transform/vips"
)

// uploadBytes stores body and returns its key.
func (h *harness) uploadBytes(body []byte) string {
	h.t.Helper()
	r := h.upload(body)
	if r.status != 201 && r.status != 200 {
		h.t.Fatalf("upload: %v", r)
	}
	var u server.UploadResponse
	if err := json.Unmarshal(r.body, &u); err != nil {
		h.t.Fatal(err)
	}
	return u.Key
}

// TestAnimatedTransform: an animated GIF stays animated through the edge
// in GIF and WebP, f_auto picks WebP or GIF by Accept, pg_ picks a frame,
// and a frame past the last is 400.
func TestAnimatedTransform(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadBytes(animtest.GIF(6, 120, 80, []int{5}, 0))
	if !strings.HasSuffix(key, ".gif") {
		t.Fatalf("key %s, want .gif", key)
	}
	const chrome = "image/avif,image/webp,image/apng,*/*;q=0.8"
	tests := []struct {
		opts, accept, ctype string
		frames              int
	}{
		{"w_60", "", "image/gif", 6},
		{"w_60,f_webp", "", "image/webp", 6},
		{"w_60,f_auto", chrome, "image/webp", 6},
		{"w_60,f_auto", "image/avif", "image/gif", 6},
		{"w_60,f_auto", "*/*", "image/gif", 6},
		{"w_60,f_jpeg", "", "image/jpeg", 1},
		{"w_60,pg_2,f_png", "", "image/png", 1},
		{"w_40,h_40,c_fill,e_blur:1", "", "image/gif", 6},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.accept != "" {
			hdr = append(hdr, "Accept: "+tt.accept)
		}
		r := h.get(h.signed(tt.opts, key), hdr...)
		if r.status != 200 || r.header["Content-Type"] != tt.ctype {
			t.Errorf("%s (Accept %q): %v, Content-Type %q, want 200 %s", tt.opts, tt.accept, r, r.header["Content-Type"], tt.ctype)
			continue
		}
		hd, err := vips.Probe(r.body)
		if err != nil || hd.Pages != tt.frames || hd.Width > 60 {
			t.Errorf("%s (Accept %q): %+v, %v; want %d frames at most 60 wide", tt.opts, tt.accept, hd, err, tt.frames)
		}
		if tt.accept != "" && r.header["Vary"] != "Accept" {
			t.Errorf("%s: Vary %q, want Accept", tt.opts, r.header["Vary"])
		}
	}
	wantError(t, h.get(h.signed("w_60,pg_7", key)), 400)
}

// TestAnimationLimits: over the frame limit, or over the pixel limit
// counting every frame, an upload is 422 from its header.
func TestAnimationLimits(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Transform.MaxFrames = 5
		c.Transform.MaxPixels = 10_000
	})
	for _, tt := range []struct {
		name string
		gif  []byte
		msg  string
	}{
		{"6 frames", animtest.GIF(6, 8, 8, []int{5}, 0), "frame limit"},
		{"5 frames of 50×50", animtest.GIF(5, 50, 50, []int{5}, 0), "pixel limit"},
	} {
		r := h.upload(tt.gif)
		wantError(t, r, 422)
		if !strings.Contains(string(r.body), tt.msg) {
			t.Errorf("%s: %s, want the %s", tt.name, r.body, tt.msg)
		}
	}
	// Within both: 5 frames of 40×40, 8,000 pixels in all.
	h.uploadBytes(animtest.GIF(5, 40, 40, []int{5}, 0))
}
