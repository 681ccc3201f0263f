package server_test

import (
	"encoding/json"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/valyala/fasthttp"
)

// pipelineRuns is how many variants the server has rendered (cold runs of
// the pipeline): the count of its pipeline-time histogram, as /metrics
// shows it.
func (h *harness) pipelineRuns() uint64 {
	h.t.Helper()
	r := h.do(h.admin, fasthttp.MethodGet, "/metrics", nil)
	const name = "pictor_transform_duration_seconds_count "
	for line := range strings.Lines(string(r.body)) {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				h.t.Fatalf("/metrics: %q: %v", line, err)
			}
			return n
		}
	}
	h.t.Fatalf("/metrics (%v) has no %s", r, name)
	return 0
}

func TestIdenticalRequestsCollapse(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/sample.jpg")
	path := h.signed("w_321,f_webp", key)
	// Hold both workers so the first request's run cannot finish before
	// the other 99 have joined it.
	var releases []func()
	for range 2 {
		r, err := h.pool.Acquire(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	const n = 100
	var wg sync.WaitGroup
	resps := make([]response, n)
	for i := range n {
		wg.Go(func() { resps[i] = h.get(path) })
	}
	waitFor(t, func() bool { return h.srv.VariantCallers(h.vkey("w_321,f_webp", key)) == n })
	for _, r := range releases {
		r()
	}
	wg.Wait()
	for i, r := range resps {
		if r.status != 200 || r.header["Etag"] != resps[0].header["Etag"] {
			t.Fatalf("request %d: %v ETag %q, want 200 with the ETag of the others", i, r, r.header["Etag"])
		}
	}
	if runs := h.pipelineRuns(); runs != 1 {
		t.Errorf("%d identical concurrent requests ran the pipeline %d times, want 1", n, runs)
	}
	if d := h.srv.Processor.Decodes(); d != 1 {
		t.Errorf("%d identical concurrent requests decoded %d times, want 1", n, d)
	}
}

// vkey is the variant key a plain GET of opts on key resolves to.
func (h *harness) vkey(opts, key string) string {
	h.t.Helper()
	p, _ := options.NewParser(options.DefaultConfig())
	o, err := p.Parse(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	src, _ := format.FromKey(key)
	return transform.VariantKey(o, key, transform.Negotiate(o, src, nil, false))
}

func TestSrcset(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/sample.jpg") // 1200×800
	o := options.Options{Format: 0}
	sig, err := h.signer.SignSrcset(o, key, "200,400,600,800,1000")
	if err != nil {
		t.Fatal(err)
	}
	base := "/srcset/s_" + sig + "/" + key
	r := h.get(base + "?w=1000,200,400,800,600,400")
	if r.status != 200 {
		t.Fatalf("GET srcset: %v", r)
	}
	var got server.SrcsetResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Variants) != 5 {
		t.Fatalf("srcset has %d variants, want 5: %s", len(got.Variants), r.body)
	}
	if d := h.srv.Processor.Decodes(); d != 1 {
		t.Errorf("a srcset of 5 widths decoded %d times, want 1", d)
	}
	// The placeholder comes from that one decode, not another.
	if len(got.BlurHash) != 28 || len(got.DominantColor) != 7 {
		t.Errorf("srcset placeholder = %q, %q; want a BlurHash and #rrggbb", got.BlurHash, got.DominantColor)
	}
	var parts []string
	for i, v := range got.Variants {
		w := 200 * (i + 1)
		if wantH := int(math.Round(float64(w) * 2 / 3)); v.Width != w || v.Height != wantH {
			t.Errorf("variant %d is %dx%d, want %dx%d", i, v.Width, v.Height, w, wantH)
		}
		// Each URL is a signed /t/ URL that the cache now answers with
		// exactly the bytes described.
		h.waitStored(v.URL)
		vr := h.get(v.URL)
		if vr.status != 200 || vr.header["X-Cache"] != "memory" || len(vr.body) != v.Bytes || vr.header["Content-Digest"] != v.Digest {
			t.Errorf("GET %s: %v X-Cache %q, %d bytes, digest %q; want a memory hit of %d bytes, digest %q",
				v.URL, vr, vr.header["X-Cache"], len(vr.body), vr.header["Content-Digest"], v.Bytes, v.Digest)
		}
		parts = append(parts, v.URL+" "+strconv.Itoa(w)+"w")
	}
	if want := strings.Join(parts, ", "); got.Srcset != want {
		t.Errorf("srcset = %q, want %q", got.Srcset, want)
	}
	if d := h.srv.Processor.Decodes(); d != 1 {
		t.Errorf("after fetching the srcset's URLs, %d decodes, want 1", d)
	}

	// A second srcset call is answered from the cache.
	if r := h.get(base + "?w=200,400,600,800,1000"); r.status != 200 || h.srv.Processor.Decodes() != 1 {
		t.Errorf("repeated srcset: %v, decodes %d", r, h.srv.Processor.Decodes())
	}

	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/srcset/" + key + "?w=200", 404},                               // no options segment
		{"/srcset/f_webp/" + key + "?w=200", 403},                        // unsigned
		{base + "?w=200,400,600,800,1001", 403},                          // another width list
		{base + "?w=200,400,600,800", 403},                               // a shorter one
		{base + "?w=200,abc", 400},                                       // not a number
		{base + "?w=0", 400},                                             // out of range
		{base + "?w=" + url.QueryEscape("1,2,3,4,5,6,7,8,9,10,11"), 400}, // too many
		{"/srcset/w_100,s_" + sig + "/" + key, 400},                      // w_ in the options
	} {
		wantError(t, h.get(tt.path), tt.status)
	}
}

func TestEagerUpload(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Options.Presets = map[string]options.Preset{
			"thumb": {Name: "thumb", Options: "w_64,h_64,c_fill", Eager: true},
		}
	})
	body := readFile(t, "../testdata/sample.jpg")
	r := h.do(h.client, "POST", "/upload?eager="+url.QueryEscape("w_100|w_200,f_webp"), body, "Authorization: Bearer "+testToken)
	if r.status != 201 {
		t.Fatalf("upload: %v", r)
	}
	var u server.UploadResponse
	if err := json.Unmarshal(r.body, &u); err != nil {
		t.Fatal(err)
	}
	if len(u.Eager) != 3 {
		t.Fatalf("upload lists %d eager variants, want 3: %s", len(u.Eager), r.body)
	}
	// The variants are stored after the run: memory first, then the disk
	// writer, so three entries on disk mean all three are in memory too.
	waitFor(t, func() bool { return h.disk.Stats().Entries == 3 })
	for _, p := range u.Eager {
		h.waitStored(p)
	}
	for _, p := range u.Eager {
		if vr := h.get(p); vr.status != 200 || vr.header["X-Cache"] != "memory" {
			t.Errorf("GET %s after an eager upload: %v X-Cache %q, want a memory hit", p, vr, vr.header["X-Cache"])
		}
	}
	if d := h.srv.Processor.Decodes(); d != 1 {
		t.Errorf("3 eager variants took %d decodes, want 1", d)
	}
	// A bad eager list is refused before anything is stored.
	other := append([]byte(nil), body...)
	other[len(other)-3] ^= 1
	wantError(t, h.do(h.client, "POST", "/upload?eager=w_abc", other, "Authorization: Bearer "+testToken), 400)
}

func TestMemoryHitAllocs(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/sample.jpg")
	path := h.signed("w_120", key)
	if r := h.get(path); r.status != 200 {
		t.Fatal(r)
	}
	h.waitStored(path)
	handler := h.srv.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	run := func() {
		ctx.Response.Reset()
		handler(&ctx)
	}
	run()
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.Peek("X-Cache")) != "memory" {
		t.Fatalf("warm-up: %d X-Cache %q", ctx.Response.StatusCode(), ctx.Response.Header.Peek("X-Cache"))
	}
	n := testing.AllocsPerRun(1000, run)
	t.Logf("memory hit: %.1f allocations per request (request log off)", n)
	// What is left: the options and key strings copied out of the request
	// buffer (the collapsing goroutine may outlive it), the parser's
	// component slice and the variant key's hex string. The signature
	// check, the cache lookup, the headers and the body allocate nothing.
	bound := 4.0
	if raceEnabled {
		bound = 8 // measured 6 under -race
	}
	if n > bound {
		t.Errorf("a memory hit allocates %.1f times, want at most %.0f", n, bound)
	}
}

func TestDiskTier(t *testing.T) {
	h := newHarness(t, func(c *app.Config) { c.Memory.MaxBytes = 0 })
	key := h.uploadKey("../testdata/sample.jpg")
	path := h.signed("w_222,f_webp", key)
	first := h.get(path)
	if first.status != 200 || first.header["X-Cache"] != "miss" {
		t.Fatalf("first GET: %v X-Cache %q", first, first.header["X-Cache"])
	}
	h.waitStored(path)
	r := h.get(path)
	if r.status != 200 || r.header["X-Cache"] != "disk" || string(r.body) != string(first.body) ||
		r.header["Etag"] != first.header["Etag"] || r.header["Content-Digest"] != first.header["Content-Digest"] {
		t.Fatalf("second GET: %v X-Cache %q; want a disk hit with the first answer's bytes and headers", r, r.header["X-Cache"])
	}
	if runs := h.pipelineRuns(); runs != 1 {
		t.Errorf("pipeline ran %d times for a miss and a disk hit, want 1", runs)
	}
	if r := h.get(path, "If-None-Match: "+first.header["Etag"]); r.status != 304 {
		t.Errorf("If-None-Match on a disk hit: %v, want 304", r)
	}

	// DELETE takes the variant off the disk.
	if r := h.do(h.client, "DELETE", "/o/"+key, nil, "Authorization: Bearer "+testToken); r.status != 204 {
		t.Fatalf("DELETE: %v", r)
	}
	if st := h.disk.Stats(); st.Entries != 0 {
		t.Errorf("%d disk entries left after DELETE of their original", st.Entries)
	}
	wantError(t, h.get(path), 404)
}

func TestDiskTierAccelRedirect(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Memory.MaxBytes = 0
		c.Server.AccelRedirect = true
	})
	key := h.uploadKey("../testdata/sample.jpg")
	path := h.signed("w_111,f_png", key)
	first := h.get(path)
	if first.status != 200 || first.header["X-Cache"] != "miss" || len(first.body) == 0 {
		t.Fatalf("first GET: %v X-Cache %q", first, first.header["X-Cache"])
	}
	h.waitStored(path)
	r := h.get(path)
	accel := r.header["X-Accel-Redirect"]
	if r.status != 200 || r.header["X-Cache"] != "disk" || len(r.body) != 0 || !strings.HasPrefix(accel, "/_pictor/cache/") {
		t.Fatalf("second GET: %v X-Cache %q X-Accel-Redirect %q; want a disk hit handed to Nginx", r, r.header["X-Cache"], accel)
	}
	for _, name := range []string{"Etag", "Content-Digest", "Content-Type", "Cache-Control", "X-Content-Type-Options"} {
		if r.header[name] != first.header[name] {
			t.Errorf("disk hit %s = %q, want %q as on the miss", name, r.header[name], first.header[name])
		}
	}
	file := filepath.Join(h.dir, "cache", filepath.FromSlash(strings.TrimPrefix(accel, "/_pictor/cache/")))
	if b, err := os.ReadFile(file); err != nil || string(b) != string(first.body) {
		t.Errorf("the file Nginx would send (%s) does not hold the variant: %v", file, err)
	}
	if r := h.get(path, "If-None-Match: "+first.header["Etag"]); r.status != 304 || r.header["X-Accel-Redirect"] != "" {
		t.Errorf("If-None-Match on a located disk hit: %v X-Accel-Redirect %q, want 304 without a redirect", r, r.header["X-Accel-Redirect"])
	}
}
