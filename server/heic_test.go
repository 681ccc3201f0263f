package server_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/server"
)

// TestHEIC uploads a real HEIC (made by heif-enc from a PngSuite image)
// and serves it: a .heic key, the original as image/heic, variants as
// JPEG (PNG with alpha) without f_, and the upload's checks as for any
// other format.
func TestHEIC(t *testing.T) {
	h := newHarness(t, func(c *app.Config) { c.Transform.MaxPixels = 32 * 32 })
	heic := heictest.Encode(t, "../testdata/corpus/pngsuite/basn2c08.png", 80)
	alpha := heictest.Encode(t, "../testdata/corpus/pngsuite/basn6a08.png", 80)

	r := h.upload(heic, "Content-Type: image/heic")
	var u server.UploadResponse
	if r.status != 201 || json.Unmarshal(r.body, &u) != nil {
		t.Fatalf("upload HEIC: %v", r)
	}
	if !strings.HasSuffix(u.Key, ".heic") || u.Format != "heic" || u.Width != 32 || u.Height != 32 {
		t.Fatalf("upload HEIC = %+v, want a .heic key, format heic, 32×32", u)
	}
	if o := h.get("/o/" + u.Key); o.status != 200 || o.header["Content-Type"] != "image/heic" || !bytes.Equal(o.body, heic) {
		t.Errorf("GET /o/%s: %v Content-Type %q", u.Key, o, o.header["Content-Type"])
	}
	info := h.get("/info/"+u.Key, "Authorization: Bearer "+testToken)
	if info.status != 200 || !strings.Contains(string(info.body), `"format":"heic"`) {
		t.Errorf("GET /info/%s: %v", u.Key, info)
	}
	for _, tt := range []struct{ opts, want string }{
		{"w_16", "image/jpeg"},
		{"w_16,f_webp", "image/webp"},
		{"w_16,f_auto", "image/avif"},
	} {
		v := h.get(h.signed(tt.opts, u.Key), "Accept: image/avif,image/webp,*/*")
		if v.status != 200 || v.header["Content-Type"] != tt.want || len(v.body) == 0 {
			t.Errorf("GET %s of a HEIC: %v Content-Type %q, want %s", tt.opts, v, v.header["Content-Type"], tt.want)
		}
	}
	ka := h.uploadKeyBytes(alpha)
	if v := h.get(h.signed("w_16", ka)); v.status != 200 || v.header["Content-Type"] != "image/png" {
		t.Errorf("GET w_16 of a HEIC with alpha: %v Content-Type %q, want image/png", v, v.header["Content-Type"])
	}
	wantError(t, h.get("/t/w_16,f_heic/"+u.Key), 400) // never written

	// A HEIC cut short fails its header read (422), and a HEIC over the
	// pixel limit is refused from the header (422); neither is stored.
	wantError(t, h.upload(heic[:len(heic)/3]), 422)
	big := heictest.Encode(t, "../testdata/corpus/pngsuite/basn2c16.png", 50) // 32×32 too
	if b := h.upload(big); b.status != 201 {
		t.Fatalf("a 32×32 HEIC at the limit: %v", b)
	}
	huge := heictest.EncodeBytes(t, readFile(t, "../testdata/alpha.png"), 30)
	wantError(t, h.upload(huge), 422)
}

func (h *harness) uploadKeyBytes(img []byte) string {
	h.t.Helper()
	r := h.upload(img)
	var u server.UploadResponse
	if (r.status != 201 && r.status != 200) || json.Unmarshal(r.body, &u) != nil {
		h.t.Fatalf("upload: %v", r)
	}
	return u.Key
}
