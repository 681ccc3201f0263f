package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// keyOf is the key the store gives a file's bytes.
func keyOf(t testing.TB, path, ext string) string {
	sum := sha256.Sum256(readFile(t, path))
	return hex.EncodeToString(sum[:]) + "." + ext
}

// overlayHarness serves with the logo (alpha.png) named as an overlay,
// a watermark, and a preset marked +watermark.
func overlayHarness(t *testing.T) (*harness, *options.Parser, string) {
	logo := keyOf(t, "../testdata/alpha.png", "png")
	var opts options.Config
	h := newHarness(t, func(c *app.Config) {
		c.Options.Overlays = map[string]string{"logo": logo}
		c.Options.Watermark = "l_logo,lw_20,lo_60"
		c.Options.Presets = map[string]options.Preset{
			"card": {Name: "card", Options: "w_300", Watermark: true},
		}
		opts = c.Options
	})
	if got := h.uploadKey("../testdata/alpha.png"); got != logo {
		t.Fatalf("logo key %s, want %s", got, logo)
	}
	p, err := options.NewParser(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h, p, logo
}

func (h *harness) signedWith(p *options.Parser, opts, key string) string {
	h.t.Helper()
	o, err := p.Parse(opts)
	if err != nil {
		h.t.Fatalf("Parse(%q): %v", opts, err)
	}
	path, err := h.signer.SignPath(o, key)
	if err != nil {
		h.t.Fatal(err)
	}
	return path
}

func TestLayers(t *testing.T) {
	h, p, logo := overlayHarness(t)
	key := h.uploadKey("../testdata/sample.jpg")
	cjk := base64.RawURLEncoding.EncodeToString([]byte("你好世界"))
	for _, opts := range []string{
		"w_400,l_logo,lw_30",
		"w_400,l_" + logo + ",lt_1,lw_10,lo_40,f_webp",
		"w_400,l_text:" + cjk + ",lc_ffffff,ls_30,lg_north,f_png",
		"w_400,wm_1",
		"t_card",
		"w_400,a_90,r_20,bo_2_000000,e_pixelate:4:saturation:-50,f_png",
	} {
		r := h.get(h.signedWith(p, opts, key))
		if r.status != 200 {
			t.Errorf("%s: %v", opts, r)
			continue
		}
		if _, err := vips.Probe(r.body); err != nil {
			t.Errorf("%s: output does not probe: %v", opts, err)
		}
	}
	// The +watermark preset's canonical form carries wm_1: signed for
	// t_card, the path is valid for w_300,wm_1 and not for w_300 alone.
	path := h.signedWith(p, "t_card", key)
	if !strings.Contains(path, "wm_1") {
		t.Errorf("signed t_card path %q does not carry wm_1", path)
	}
	bare := strings.Replace(path, ",wm_1", "", 1)
	wantError(t, h.get(bare), 403)
}

func TestLayerErrors(t *testing.T) {
	h, p, _ := overlayHarness(t)
	key := h.uploadKey("../testdata/sample.jpg")
	absent := strings.Repeat("ab", 32) + ".png"
	sign := func(opts string) string { return h.signedWith(p, opts, key) }
	// Paths a parser refuses cannot be signed through one: their
	// signature is over an options string that never parses anyway.
	unsigned := func(opts string) string { return "/t/" + opts + ",s_AAAAAAAAAAAAAAAAAAAAAA/" + key }
	tests := []struct {
		path, want string
		status     int
	}{
		{unsigned("w_100,l_nope"), "l_nope", 400},
		{unsigned("l_logo,l_logo,l_logo,l_logo,l_logo"), "more than 4 layers", 400},
		{unsigned("l_logo,lo_50,lo_60"), "lo_60", 400},
		{unsigned("l_text:ICAK"), "l_text:ICAK", 400}, // blank: nothing to render
		{sign("w_100,l_" + absent), "overlay " + absent + " not found", 404},
		{sign("w_100,l_text:" + base64.RawURLEncoding.EncodeToString([]byte("\u200b"))), "renders nothing", 400},
	}
	for _, tt := range tests {
		r := h.get(tt.path)
		wantError(t, r, tt.status)
		if !strings.Contains(string(r.body), tt.want) {
			t.Errorf("GET %s: body %s, want it to name %q", tt.path, r.body, tt.want)
		}
	}
}
