package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/valyala/fasthttp"
)

const bearer = "Authorization: Bearer " + testToken

func (h *harness) adminGet(path string, hdr ...string) response {
	return h.do(h.admin, fasthttp.MethodGet, path, nil, hdr...)
}

// TestPlaygroundPage: the page and its files are on the admin listener,
// with a policy that keeps it to its own origin; the public listener has
// none of it.
func TestPlaygroundPage(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ path, ctype string }{
		{"/playground", "text/html; charset=utf-8"},
		{"/playground/", "text/html; charset=utf-8"},
		{"/playground/playground.js", "text/javascript; charset=utf-8"},
		{"/playground/playground.css", "text/css; charset=utf-8"},
	} {
		r := h.adminGet(tc.path)
		if r.status != 200 || r.header["Content-Type"] != tc.ctype || len(r.body) == 0 {
			t.Errorf("admin GET %s = %v %q, want 200 %q", tc.path, r, r.header["Content-Type"], tc.ctype)
		}
		if csp := r.header["Content-Security-Policy"]; !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("admin GET %s: Content-Security-Policy %q", tc.path, csp)
		}
		wantError(t, h.get(tc.path), 404)
	}
	for _, p := range []string{"/playground/nope", "/playground/api/nope", "/playgroundx"} {
		if r := h.adminGet(p); r.status != 404 {
			t.Errorf("admin GET %s = %v, want 404", p, r)
		}
	}
	if r := h.do(h.admin, "POST", "/playground", nil); r.status != 405 || r.header["Allow"] != "GET, HEAD" {
		t.Errorf("POST /playground = %v Allow %q, want 405", r, r.header["Allow"])
	}
	// No page ever sees the token in the markup it is sent.
	page := h.adminGet("/playground/playground.js").body
	for _, bad := range []string{"localStorage", "sessionStorage", "document.cookie", "http://", "https://"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("playground.js uses %q", bad)
		}
	}
}

// TestPlaygroundAPIAuth: every API route wants the upload token and its
// own method.
func TestPlaygroundAPIAuth(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/playground/api/config"},
		{"GET", "/playground/api/originals"},
		{"POST", "/playground/sign"},
		{"POST", "/playground/upload"},
	} {
		r := h.do(h.admin, tc.method, tc.path, []byte("{}"))
		wantError(t, r, 401)
		r = h.do(h.admin, tc.method, tc.path, []byte("{}"), "Authorization: Bearer wrong-token-0123456789")
		wantError(t, r, 401)
	}
	wantError(t, h.do(h.admin, "GET", "/playground/sign", nil, bearer), 405)
	wantError(t, h.do(h.admin, "POST", "/playground/api/config", nil, bearer), 405)
}

// TestPlaygroundConfig: the form's description is the grammar's, row for
// row, with this server's settings.
func TestPlaygroundConfig(t *testing.T) {
	h := newHarness(t, func(c *app.Config) { c.Server.PublicURL = "https://img.example.com" })
	r := h.adminGet("/playground/api/config", bearer)
	if r.status != 200 {
		t.Fatalf("config: %v", r)
	}
	var c struct {
		Options        []options.Field `json:"options"`
		Signing        bool            `json:"signing"`
		MaxUploadBytes int64           `json:"max_upload_bytes"`
		SrcsetWidths   []int           `json:"srcset_widths"`
		PublicURL      string          `json:"public_url"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	if !c.Signing || c.MaxUploadBytes != 50<<20 || len(c.SrcsetWidths) == 0 || c.PublicURL != "https://img.example.com" {
		t.Errorf("config = %+v", c)
	}
	var names []string
	for _, f := range c.Options {
		names = append(names, f.Name)
	}
	want := h.srv.Parser.Describe()
	if len(names) != len(want) || names[0] != "w" || !strings.Contains(strings.Join(names, ","), ",e,") || !strings.Contains(strings.Join(names, ","), ",l,lg,") {
		t.Errorf("options = %v, want the grammar's %d rows", names, len(want))
	}
}

// pngOf is a small PNG of one colour: distinct bytes, distinct keys.
func pngOf(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type playgroundPage struct {
	Items []struct {
		Key    string `json:"key"`
		Width  int    `json:"width"`
		Format string `json:"format"`
		Thumb  string `json:"thumb"`
	} `json:"items"`
	Next uint64 `json:"next"`
}

func (h *harness) originalsPage(query string) playgroundPage {
	h.t.Helper()
	r := h.adminGet("/playground/api/originals"+query, bearer)
	if r.status != 200 {
		h.t.Fatalf("originals%s: %v", query, r)
	}
	var p playgroundPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// TestPlaygroundUploadAndList: an upload through the playground is the
// public /upload (same answer, token checked); the listing pages newest
// first, with thumbnails that load, and forgets a deleted original.
func TestPlaygroundUploadAndList(t *testing.T) {
	h := newHarness(t, nil)
	if p := h.originalsPage(""); len(p.Items) != 0 || p.Next != 0 {
		t.Fatalf("empty store lists %+v", p)
	}
	var keys []string
	for i := range 3 {
		r := h.do(h.admin, "POST", "/playground/upload", pngOf(t, 20+i, 10, color.RGBA{uint8(40 * i), 90, 200, 255}), bearer)
		if r.status != 201 {
			t.Fatalf("upload %d through the playground: %v", i, r)
		}
		var u struct{ Key string }
		json.Unmarshal(r.body, &u)
		keys = append(keys, u.Key)
	}
	// The same bytes through the public listener: the same key, moved to
	// the front of the list.
	r := h.upload(pngOf(t, 20, 10, color.RGBA{0, 90, 200, 255}), "Content-Type: image/png")
	if r.status != 200 || !bytes.Contains(r.body, []byte(keys[0])) {
		t.Fatalf("public re-upload: %v, want 200 with %s", r, keys[0])
	}
	want := []string{keys[0], keys[2], keys[1]}

	p1 := h.originalsPage("?limit=2")
	if len(p1.Items) != 2 || p1.Items[0].Key != want[0] || p1.Items[1].Key != want[1] || p1.Next == 0 {
		t.Fatalf("page 1 = %+v, want %v then a cursor", p1, want[:2])
	}
	p2 := h.originalsPage(fmt.Sprintf("?limit=2&before=%d", p1.Next))
	if len(p2.Items) != 1 || p2.Items[0].Key != want[2] || p2.Next != 0 {
		t.Fatalf("page 2 = %+v, want [%s] and no cursor", p2, want[2])
	}
	if it := p1.Items[0]; it.Width != 20 || it.Format != "png" || !strings.HasPrefix(it.Thumb, "/t/") {
		t.Errorf("item = %+v", it)
	}
	thumb := h.adminGet("/playground" + p1.Items[0].Thumb)
	if thumb.status != 200 || thumb.header["Content-Type"] != "image/png" {
		t.Errorf("thumbnail %s through the playground: %v", p1.Items[0].Thumb, thumb)
	}
	if pub := h.get(p1.Items[0].Thumb); pub.status != 200 || !bytes.Equal(pub.body, thumb.body) {
		t.Errorf("thumbnail %s on the public listener: %v", p1.Items[0].Thumb, pub)
	}

	if r := h.do(h.client, "DELETE", "/o/"+keys[2], nil, bearer); r.status != 204 {
		t.Fatalf("DELETE: %v", r)
	}
	if p := h.originalsPage(""); len(p.Items) != 2 || p.Items[1].Key != keys[1] {
		t.Errorf("after DELETE of %s: %+v", keys[2], p)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?before=-1"} {
		wantError(t, h.adminGet("/playground/api/originals"+q, bearer), 400)
	}
}

// TestPlaygroundSign: the server answers with the canonical form, the
// path `pictor sign` would give, and a srcset; the path serves the
// variant through the playground and on the public listener alike.
func TestPlaygroundSign(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		// Disk hits only: the playground must answer them with bytes, as
		// there is no Nginx in front of it to follow X-Accel-Redirect.
		c.Server.AccelRedirect = true
		c.Memory.MaxBytes = 0
	})
	key := h.uploadKey("../testdata/sample.jpg")
	sign := func(body string, hdr ...string) response {
		return h.do(h.admin, "POST", "/playground/sign", []byte(body), append([]string{bearer, "Content-Type: application/json"}, hdr...)...)
	}
	r := sign(`{"key":"` + key + `","options":"f_webp,w_400"}`)
	if r.status != 200 {
		t.Fatalf("sign: %v", r)
	}
	var s struct{ Options, Path, Srcset, SrcsetError string }
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Options != "w_400,f_webp" || s.Path != h.signed("w_400,f_webp", key) {
		t.Errorf("sign = %+v, want w_400,f_webp and %s", s, h.signed("w_400,f_webp", key))
	}
	if !strings.HasPrefix(s.Srcset, "/srcset/f_webp,s_") || !strings.Contains(s.Srcset, "?w=320,640,960,1280,1920") {
		t.Errorf("srcset = %q", s.Srcset)
	}
	first := h.adminGet("/playground" + s.Path)
	if first.status != 200 || first.header["Content-Type"] != "image/webp" || first.header["X-Cache"] != "miss" {
		t.Fatalf("GET /playground%s = %v %v", s.Path, first, first.header)
	}
	h.waitStored(s.Path)
	again := h.adminGet("/playground" + s.Path)
	if again.status != 200 || again.header["X-Cache"] != "disk" || !bytes.Equal(again.body, first.body) || again.header["X-Accel-Redirect"] != "" {
		t.Errorf("disk hit through the playground = %v X-Cache %q X-Accel-Redirect %q, want the bytes", again, again.header["X-Cache"], again.header["X-Accel-Redirect"])
	}
	if pub := h.get(s.Path); pub.status != 200 || pub.header["X-Accel-Redirect"] == "" {
		t.Errorf("disk hit on the public listener = %v, want X-Accel-Redirect for Nginx", pub)
	}
	ss := h.adminGet("/playground" + s.Srcset)
	var set struct {
		Variants []struct{ Width int }
	}
	if json.Unmarshal(ss.body, &set); ss.status != 200 || len(set.Variants) != 5 || set.Variants[0].Width != 320 {
		t.Errorf("srcset through the playground = %v", ss)
	}

	// c_crop has no srcset: said, not failed.
	r = sign(`{"key":"` + key + `","options":"w_100,h_100,c_crop"}`)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"srcset_error":"options: c_crop: not allowed in a srcset"`)) {
		t.Errorf("c_crop sign = %v", r)
	}
	// The form's text layer spelling signs and renders.
	r = sign(`{"key":"` + key + `","options":"w_300,l_text:SGVsbG8,lg_north_west,lc_ff0000"}`)
	if r.status != 200 {
		t.Errorf("text layer sign = %v", r)
	}

	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"key":"` + key + `","options":"w_0"}`, 400, "w_0"},
		{`{"key":"` + key + `","options":""}`, 400, ""},
		{`{"key":"nope.jpg","options":"w_10"}`, 400, "key"},
		{`not json`, 400, "JSON"},
		{`{"key":"` + key + `","options":"w_10","widths":"7,x"}`, 200, "srcset_error"},
		{`{"key":"` + key + `","options":"` + strings.Repeat("w", 20<<10) + `"}`, 413, ""},
	} {
		r := sign(tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.msg) {
			t.Errorf("sign %.60s = %v, want %d with %q", tc.body, r, tc.status, tc.msg)
		}
	}
}

// TestPlaygroundResumable: the page's tus requests reach /files/ through
// the playground, a finished one answers Pictor-Key, and the original is
// listed.
func TestPlaygroundResumable(t *testing.T) {
	h := newHarness(t, nil)
	body := readFile(t, "../testdata/sample.jpg")
	tus := []string{bearer, "Tus-Resumable: 1.0.0"}
	wantError(t, h.do(h.admin, "POST", "/playground/files/", nil, "Tus-Resumable: 1.0.0", fmt.Sprintf("Upload-Length: %d", len(body))), 401)
	r := h.do(h.admin, "POST", "/playground/files/", nil, append(tus, fmt.Sprintf("Upload-Length: %d", len(body)))...)
	loc := r.header["Location"]
	if r.status != 201 || !strings.HasPrefix(loc, "/files/") {
		t.Fatalf("create through the playground: %v Location %q", r, loc)
	}
	half := len(body) / 2
	patch := func(from, to int) response {
		return h.do(h.admin, "PATCH", "/playground"+loc, body[from:to],
			append(tus, fmt.Sprintf("Upload-Offset: %d", from), "Content-Type: application/offset+octet-stream")...)
	}
	if r := patch(0, half); r.status != 204 || r.header["Upload-Offset"] != fmt.Sprint(half) || r.header["Pictor-Key"] != "" {
		t.Fatalf("first half: %v %v", r, r.header)
	}
	if r := h.do(h.admin, "HEAD", "/playground"+loc, nil, tus...); r.status != 200 || r.header["Upload-Offset"] != fmt.Sprint(half) {
		t.Fatalf("HEAD: %v %v", r, r.header)
	}
	r = patch(half, len(body))
	key := r.header["Pictor-Key"]
	if r.status != 204 || !strings.HasSuffix(key, ".jpg") {
		t.Fatalf("last half: %v %v", r, r.header)
	}
	if p := h.originalsPage(""); len(p.Items) != 1 || p.Items[0].Key != key || p.Items[0].Width != 1200 {
		t.Errorf("after a resumable upload: %+v, want %s", p, key)
	}
}
