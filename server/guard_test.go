package server_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/vips"
)

// guardHarness is a harness whose parser has the variant-explosion guards
// of cfg.
func guardHarness(t *testing.T, cfg options.Config) *harness {
	t.Helper()
	return newHarness(t, func(c *app.Config) { c.Options = cfg })
}

// wantRefusal checks a 400 whose message names the component.
func wantRefusal(t *testing.T, r response, component, reason string) {
	t.Helper()
	wantError(t, r, 400)
	var e struct{ Error string }
	json.Unmarshal(r.body, &e)
	if !strings.Contains(e.Error, component) || !strings.Contains(e.Error, reason) {
		t.Errorf("error %q does not name %s and say %q", e.Error, component, reason)
	}
}

// wantWidth checks a 200 whose image is width pixels wide.
func wantWidth(t *testing.T, path string, r response, width int) {
	t.Helper()
	if r.status != 200 {
		t.Errorf("GET %s: %v, want 200", path, r)
		return
	}
	im, err := vips.Load(r.body, vips.LoadOptions{})
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return
	}
	defer im.Close()
	if im.Width() != width {
		t.Errorf("GET %s: %d px wide, want %d", path, im.Width(), width)
	}
}

// signedSrcset is the signed /srcset/ path for opts and the canonical
// width list widths (empty: no ?w=, the default widths, which the
// signature still covers as the list they expand to).
func (h *harness) signedSrcset(o options.Options, key, widths, signedWidths string) string {
	h.t.Helper()
	sig, err := h.signer.SignSrcset(o, key, signedWidths)
	if err != nil {
		h.t.Fatal(err)
	}
	o.Signature = sig
	path := "/srcset/" + o.String() + "/" + key
	if widths != "" {
		path += "?w=" + url.QueryEscape(widths)
	}
	return path
}

func TestAllowedWidthsServer(t *testing.T) {
	cfg := options.DefaultConfig()
	cfg.AllowedWidths = []int{320, 640}
	cfg.AllowedHeights = []int{100}
	cfg.Presets = map[string]options.Preset{"hero": {Name: "hero", Options: "w_900,f_webp"}}
	h := guardHarness(t, cfg)
	key := h.uploadKey("../testdata/sample.jpg") // 1200×800

	for _, tt := range []struct {
		opts  string
		width int // 0: refused with 400
	}{
		{"w_320", 320},
		{"w_640,f_webp", 640},
		{"w_320,dpr_2", 640}, // dpr_ multiplies an allowed width
		{"w_321", 0},
		{"w_1200", 0},
		{"w_640,dpr_1.5,h_100,c_fill", 960},
		{"h_101", 0},
	} {
		path := h.signed(tt.opts, key)
		r := h.get(path)
		if tt.width == 0 {
			wantRefusal(t, r, "_", "not an allowed")
			continue
		}
		wantWidth(t, path, r, tt.width)
	}
	// Refused before the signature is looked at: 400 even unsigned, and
	// the message names the component.
	wantRefusal(t, h.get("/t/w_321/"+key), "w_321", "not an allowed width (320, 640)")
	wantRefusal(t, h.get("/t/h_50/"+key), "h_50", "not an allowed height (100)")

	// A preset's own width is the operator's; overriding it is not.
	hero, err := h.srv.Parser.Parse("t_hero")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := h.signer.Sign(hero, key)
	if err != nil {
		t.Fatal(err)
	}
	wantWidth(t, "t_hero", h.get("/t/t_hero,s_"+sig+"/"+key), 900)
	wantRefusal(t, h.get("/t/t_hero,w_800/"+key), "w_800", "not an allowed width")

	// srcset: ?w= widths must be allowed, and without ?w= the widths are
	// the allow-list itself.
	var none options.Options
	path := h.signedSrcset(none, key, "640,320", "320,640")
	r := h.get(path)
	if r.status != 200 {
		t.Fatalf("GET %s: %v", path, r)
	}
	var got server.SrcsetResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Variants) != 2 || got.Variants[0].Width != 320 || got.Variants[1].Width != 640 {
		t.Errorf("srcset ?w=640,320 = %s, want 320 and 640", r.body)
	}
	for _, v := range got.Variants {
		wantWidth(t, v.URL, h.get(v.URL), v.Width)
	}
	path = h.signedSrcset(none, key, "", "320,640")
	if r := h.get(path); r.status != 200 || !strings.Contains(string(r.body), `"width":320`) || !strings.Contains(string(r.body), `"width":640`) || strings.Count(string(r.body), `"url"`) != 2 {
		t.Errorf("srcset without ?w= = %v, want the allow-list's 320 and 640", r)
	}
	// The built-in defaults (320…1920) are not what was signed: 403.
	wantError(t, h.get(h.signedSrcset(none, key, "", "320,640,960,1280,1920")), 403)
	wantRefusal(t, h.get(h.signedSrcset(none, key, "320,700", "320,700")), "w_700", "not an allowed width")
}

func TestPresetsOnlyServer(t *testing.T) {
	cfg := options.DefaultConfig()
	cfg.PresetsOnly = true
	cfg.Presets = map[string]options.Preset{
		"card":  {Name: "card", Options: "w_300,f_webp"},
		"thumb": {Name: "thumb", Options: "w_64,h_64,c_fill", Public: true, Eager: true},
	}
	h := guardHarness(t, cfg)
	img := readFile(t, "../testdata/sample.jpg")

	// An eager upload: eager= takes presets only, and the URLs it lists
	// keep the t_ form, so they can be fetched in this mode.
	wantRefusal(t, h.do(h.client, "POST", "/upload?eager=w_100", img, "Authorization: Bearer "+testToken), "w_100", "presets-only")
	r := h.do(h.client, "POST", "/upload?eager=t_card", img, "Authorization: Bearer "+testToken)
	if r.status != 201 {
		t.Fatalf("upload with eager=t_card: %v", r)
	}
	var u server.UploadResponse
	if err := json.Unmarshal(r.body, &u); err != nil {
		t.Fatal(err)
	}
	if len(u.Eager) != 2 {
		t.Fatalf("eager = %q, want t_card and t_thumb", u.Eager)
	}
	for _, p := range u.Eager {
		h.waitStored(p)
	}
	for _, p := range u.Eager {
		if !strings.HasPrefix(p, "/t/t_card,s_") && !strings.HasPrefix(p, "/t/t_thumb,s_") {
			t.Errorf("eager URL %s is not in t_ form", p)
		}
		want := 300
		if strings.Contains(p, "t_thumb") {
			want = 64
		}
		wantWidth(t, p, h.get(p), want)
	}
	key := u.Key

	card, err := h.srv.Parser.Parse("t_card")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := h.signer.Sign(card, key)
	if err != nil {
		t.Fatal(err)
	}
	wantWidth(t, "t_card", h.get("/t/t_card,s_"+sig+"/"+key), 300)
	// A public preset still needs no signature.
	wantWidth(t, "t_thumb", h.get("/t/t_thumb/"+key), 64)
	// A signature is still checked: the preset is not a way around it.
	wantError(t, h.get("/t/t_card/"+key), 403)
	wantError(t, h.get("/t/t_card,s_AAAAAAAAAAAAAAAA/"+key), 403)

	for _, tt := range []struct{ path, component string }{
		// Validly signed, but not a preset: the URL's author could sign
		// anything, the guard is what bounds the variants.
		{h.signed("w_300,f_webp", key), "w_300"},
		{h.signed("f_auto", key), "f_auto"},
		// An override of the preset, even one that changes nothing.
		{"/t/t_card,w_300,s_" + sig + "/" + key, "w_300"},
		{"/t/t_card,q_auto/" + key, "q_auto"},
		{"/t/s_" + sig + "/" + key, "t_"},
		// srcset lists widths, which are not presets.
		{h.signedSrcset(options.Options{}, key, "320", "320"), "presets-only"},
		{"/srcset/t_card/" + key + "?w=320", "presets-only"},
	} {
		wantRefusal(t, h.get(tt.path), tt.component, "presets-only mode")
	}
}
