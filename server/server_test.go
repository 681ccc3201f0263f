package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

const testToken = "test-token-0123456789abcdef"

var testKeys = []sign.Key{
	{ID: "k1", Secret: []byte("first-secret-0123456789")},
	{ID: "k2", Secret: []byte("second-secret-0123456789")},
}

// harness is the whole server, built by app.New as main builds it (a
// real store, pipeline, memory and disk tiers, CPU resizing), served on
// in-memory listeners, with a fasthttp client dialling each.
type harness struct {
	t      testing.TB
	srv    *server.Server
	store  *store.FS
	client *fasthttp.Client
	admin  *fasthttp.Client
	signer *sign.Signer
	pool   *workers.Pool
	dir    string
	mem    *cache.Memory
	disk   *cache.Disk
}

// newHarness starts a server with the test settings below, changed by
// edit (nil: none) before app.New sees them.
func newHarness(t testing.TB, edit func(*app.Config)) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := app.DefaultConfig()
	cfg.Store.Dir = dir
	cfg.Memory.MaxBytes = 64 << 20
	cfg.Disk.Dir, cfg.Disk.MaxBytes = filepath.Join(dir, "cache"), 64<<20
	cfg.Workers = workers.Config{Workers: 2, Queue: 8}
	cfg.Device.Mode = device.ModeOff // the CPU resizer, whatever the machine has
	cfg.Server.UploadTokens = []string{testToken}
	cfg.Sign.Keys = testKeys
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	aln := fasthttputil.NewInmemoryListener()
	go a.Serve(ln, aln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
		a.Close()
	})
	srv := a.Server()
	return &harness{
		t: t, srv: srv, store: a.Store(), signer: a.Signer(), pool: srv.Workers,
		dir: dir, mem: a.Memory(), disk: a.Disk(),
		client: &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }},
		admin:  &fasthttp.Client{Dial: func(string) (net.Conn, error) { return aln.Dial() }},
	}
}

type response struct {
	status int
	header map[string]string
	body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.status, truncate(r.body))
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// do sends one request; hdr are "Name: value" pairs.
func (h *harness) do(c *fasthttp.Client, method, path string, body []byte, hdr ...string) response {
	h.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://pictor" + path)
	req.Header.SetMethod(method)
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ": ")
		req.Header.Set(k, v)
	}
	if body != nil {
		req.SetBody(body)
	}
	if method == fasthttp.MethodHead {
		resp.SkipBody = true
	}
	if err := c.DoTimeout(req, resp, 30*time.Second); err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	r := response{status: resp.StatusCode(), header: map[string]string{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		r.header[string(k)] = string(v)
	}
	return r
}

func (h *harness) get(path string, hdr ...string) response {
	return h.do(h.client, fasthttp.MethodGet, path, nil, hdr...)
}

func (h *harness) upload(body []byte, hdr ...string) response {
	hdr = append([]string{"Authorization: Bearer " + testToken}, hdr...)
	return h.do(h.client, fasthttp.MethodPost, "/upload", body, hdr...)
}

func (h *harness) uploadKey(path string) string {
	h.t.Helper()
	r := h.upload(readFile(h.t, path))
	if r.status != 201 && r.status != 200 {
		h.t.Fatalf("upload %s: %v", path, r)
	}
	var u server.UploadResponse
	if err := json.Unmarshal(r.body, &u); err != nil {
		h.t.Fatal(err)
	}
	return u.Key
}

func (h *harness) signed(opts, key string) string {
	h.t.Helper()
	p, _ := options.NewParser(options.DefaultConfig())
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

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantError(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %v, want %d", r, status)
	}
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Status != status || e.Error == "" {
		t.Fatalf("error body %q is not {error, status: %d}: %v", r.body, status, err)
	}
	if r.header["Content-Type"] != "application/json" {
		t.Errorf("error Content-Type = %q", r.header["Content-Type"])
	}
	if strings.Contains(r.header["Cache-Control"], "immutable") {
		t.Errorf("an error is marked immutable")
	}
}

func TestUploadSameBytesSameKey(t *testing.T) {
	h := newHarness(t, nil)
	img := readFile(t, "../testdata/sample.jpg")
	r1 := h.upload(img, "Content-Type: image/jpeg")
	if r1.status != 201 {
		t.Fatalf("first upload: %v", r1)
	}
	// The same bytes as multipart give the same key, and 200 not 201.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "a field before the file is skipped")
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(img)
	mw.Close()
	r2 := h.upload(buf.Bytes(), "Content-Type: "+mw.FormDataContentType())
	if r2.status != 200 {
		t.Fatalf("second upload: %v", r2)
	}
	var u1, u2 server.UploadResponse
	json.Unmarshal(r1.body, &u1)
	json.Unmarshal(r2.body, &u2)
	if u1.Key == "" || u1.Key != u2.Key {
		t.Fatalf("keys differ: %q vs %q", u1.Key, u2.Key)
	}
	sum := sha256.Sum256(img)
	if !strings.HasPrefix(u1.Key, fmt.Sprintf("%x", sum[:])) || !strings.HasSuffix(u1.Key, ".jpg") {
		t.Errorf("key %q is not the SHA-256 of the bytes + .jpg", u1.Key)
	}
	if u1.Width != 1200 || u1.Height != 800 || u1.Format != "jpeg" {
		t.Errorf("upload reported %+v", u1)
	}
}

func TestUploadRefusals(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Server.MaxUploadBytes = 200 << 10
		c.Transform.MaxPixels = 1000 * 700
	})
	img := readFile(t, "../testdata/sample.jpg")

	t.Run("no token", func(t *testing.T) {
		wantError(t, h.do(h.client, "POST", "/upload", img), 401)
	})
	t.Run("wrong token", func(t *testing.T) {
		wantError(t, h.do(h.client, "POST", "/upload", img, "Authorization: Bearer wrong-token-0123456789"), 401)
	})
	t.Run("too large", func(t *testing.T) {
		wantError(t, h.upload(bytes.Repeat(img, 6)), 413)
	})
	t.Run("bmp", func(t *testing.T) {
		bmp := append([]byte("BM"), make([]byte, 100)...)
		wantError(t, h.upload(bmp, "Content-Type: image/jpeg"), 415)
	})
	t.Run("svg", func(t *testing.T) {
		wantError(t, h.upload([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>`)), 415)
	})
	t.Run("empty", func(t *testing.T) {
		wantError(t, h.upload([]byte{}), 415)
	})
	t.Run("pixel limit from the header", func(t *testing.T) {
		wantError(t, h.upload(img), 422) // 1200×800 > 1000×700
	})
	t.Run("header only", func(t *testing.T) {
		wantError(t, h.upload(append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 80)...)), 422)
	})
	t.Run("multipart without file", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("x", "y")
		mw.Close()
		wantError(t, h.upload(buf.Bytes(), "Content-Type: "+mw.FormDataContentType()), 400)
	})
	// Nothing half-written is left behind.
	entries, _ := os.ReadDir(h.dir + "/tmp")
	if len(entries) != 0 {
		t.Errorf("tmp/ holds %d files after refused uploads", len(entries))
	}
	if h.get("/nope").status != 404 {
		t.Error("server stopped answering after refused uploads")
	}
}

func TestTransform(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/sample.jpg")
	path := h.signed("w_400,f_webp", key)

	r := h.get(path)
	if r.status != 200 {
		t.Fatalf("GET %s: %v", path, r)
	}
	sum := sha256.Sum256(r.body)
	want := map[string]string{
		"Content-Type":           "image/webp",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"Content-Digest":         "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":",
		"X-Content-Type-Options": "nosniff",
		"Content-Length":         fmt.Sprint(len(r.body)),
		"X-Cache":                "miss",
	}
	for k, v := range want {
		if r.header[k] != v {
			t.Errorf("%s = %q, want %q", k, r.header[k], v)
		}
	}
	hdr, err := vips.Probe(r.body)
	if err != nil || hdr.Width != 400 || hdr.Height != 267 {
		t.Errorf("variant is %dx%d (%v), want 400x267", hdr.Width, hdr.Height, err)
	}
	etag := r.header["Etag"]
	if !strings.HasPrefix(etag, `"`) {
		t.Errorf("ETag %q is not a strong ETag", etag)
	}

	// Option order does not matter: same canonical form, same signature, a
	// memory hit (once the tier has applied the insert, which is async).
	h.waitStored(path)
	r2 := h.get(strings.Replace(path, "w_400,f_webp", "f_webp,w_400", 1))
	if r2.status != 200 || r2.header["X-Cache"] != "memory" || !bytes.Equal(r2.body, r.body) {
		t.Errorf("reordered options: %v X-Cache=%q", r2, r2.header["X-Cache"])
	}
	if r3 := h.get(path, "If-None-Match: "+etag); r3.status != 304 || len(r3.body) != 0 {
		t.Errorf("If-None-Match: %v, want 304 with no body", r3)
	}
	r4 := h.do(h.client, "HEAD", path, nil)
	if r4.status != 200 || len(r4.body) != 0 || r4.header["Content-Length"] != fmt.Sprint(len(r.body)) {
		t.Errorf("HEAD: %v Content-Length %q", r4, r4.header["Content-Length"])
	}
}

func TestTransformErrors(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/sample.jpg")
	good := h.signed("w_100", key)
	absent := strings.Repeat("ab", 16) + ".jpg"
	tests := []struct {
		name, path string
		status     int
	}{
		{"unsigned", "/t/w_100/" + key, 403},
		{"tampered signature", good[:len(good)-len(key)-3] + "xx/" + key, 403},
		{"tampered option", strings.Replace(good, "w_100", "w_101", 1), 403},
		{"other key", strings.Replace(good, key, absent, 1), 403},
		{"expired", h.signed(fmt.Sprintf("w_100,exp_%d", time.Now().Add(-time.Minute).Unix()), key), 403},
		{"unknown option", "/t/z_1/" + key, 400},
		{"duplicate option", "/t/w_1,w_2/" + key, 400},
		{"bad value", "/t/w_abc/" + key, 400},
		{"bad key form", h.signed("w_100", key)[:3] + "w_100/../../etc/passwd", 404},
		{"absent original", h.signed("w_100", absent), 404},
		{"no key", "/t/w_100", 404},
		{"unknown route", "/x", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantError(t, h.get(tt.path), tt.status) })
	}
	t.Run("method", func(t *testing.T) {
		r := h.do(h.client, "POST", good, []byte("x"))
		wantError(t, r, 405)
		if r.header["Allow"] != "GET, HEAD" {
			t.Errorf("Allow = %q", r.header["Allow"])
		}
	})
	t.Run("not expired yet", func(t *testing.T) {
		p := h.signed(fmt.Sprintf("w_100,exp_%d", time.Now().Add(time.Hour).Unix()), key)
		if r := h.get(p); r.status != 200 {
			t.Errorf("GET %s: %v", p, r)
		}
	})
	t.Run("second key", func(t *testing.T) {
		p := h.signed("w_100,kid_k2", key)
		if r := h.get(p); r.status != 200 {
			t.Errorf("GET %s: %v", p, r)
		}
	})
}

func TestPublicPreset(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Options.Presets = map[string]options.Preset{
			"thumb": {Name: "thumb", Options: "w_64,h_64,c_fill", Public: true},
			"big":   {Name: "big", Options: "w_900"},
		}
	})
	key := h.uploadKey("../testdata/sample.jpg")
	r := h.get("/t/t_thumb/" + key)
	if r.status != 200 {
		t.Fatalf("public preset unsigned: %v", r)
	}
	if hdr, _ := vips.Probe(r.body); hdr.Width != 64 || hdr.Height != 64 {
		t.Errorf("t_thumb gave %dx%d, want 64x64", hdr.Width, hdr.Height)
	}
	wantError(t, h.get("/t/t_big/"+key), 403)
	wantError(t, h.get("/t/t_thumb,w_65/"+key), 403)
}

func TestFormatAuto(t *testing.T) {
	h := newHarness(t, nil)
	jpg := h.uploadKey("../testdata/sample.jpg")
	png := h.uploadKey("../testdata/alpha.png")
	tests := []struct {
		key, accept, want string
	}{
		{jpg, "image/avif,image/webp,*/*", "image/avif"},
		{jpg, "image/webp,*/*", "image/webp"},
		{jpg, "*/*", "image/jpeg"},
		{png, "*/*", "image/png"},
	}
	for _, tt := range tests {
		r := h.get(h.signed("w_120,f_auto", tt.key), "Accept: "+tt.accept)
		if r.status != 200 || r.header["Content-Type"] != tt.want || r.header["Vary"] != "Accept" {
			t.Errorf("f_auto %s with Accept %q: %v Content-Type %q Vary %q, want %s",
				tt.key, tt.accept, r, r.header["Content-Type"], r.header["Vary"], tt.want)
		}
	}
	// Save-Data lowers q_auto: a smaller file, and a different variant.
	p := h.signed("w_600,f_jpeg,q_auto", jpg)
	full, lite := h.get(p), h.get(p, "Save-Data: on")
	if full.status != 200 || lite.status != 200 || len(lite.body) >= len(full.body) {
		t.Errorf("Save-Data: %d bytes vs %d without, want fewer", len(lite.body), len(full.body))
	}
	if !strings.Contains(full.header["Vary"], "Save-Data") {
		t.Errorf("q_auto Vary = %q", full.header["Vary"])
	}
}

func TestOriginals(t *testing.T) {
	img := readFile(t, "../testdata/sample.jpg")
	t.Run("served by the sidecar", func(t *testing.T) {
		h := newHarness(t, nil)
		key := h.uploadKey("../testdata/sample.jpg")
		r := h.get("/o/" + key)
		if r.status != 200 || !bytes.Equal(r.body, img) || r.header["Content-Type"] != "image/jpeg" {
			t.Fatalf("GET /o/: %v", r)
		}
		if r.header["Cache-Control"] != "public, max-age=31536000, immutable" || r.header["Etag"] == "" {
			t.Errorf("headers: %v", r.header)
		}
		if r2 := h.get("/o/"+key, "If-None-Match: "+r.header["Etag"]); r2.status != 304 {
			t.Errorf("If-None-Match: %v", r2)
		}
		wantError(t, h.get("/o/"+strings.Repeat("0", 32)+".jpg"), 404)
		wantError(t, h.get("/o/..%2f..%2fetc%2fpasswd"), 404)
	})
	t.Run("X-Accel-Redirect", func(t *testing.T) {
		h := newHarness(t, func(c *app.Config) { c.Server.AccelRedirect = true })
		key := h.uploadKey("../testdata/sample.jpg")
		r := h.get("/o/" + key)
		want := "/_pictor/originals/" + key[:2] + "/" + key[2:4] + "/" + key
		if r.status != 200 || r.header["X-Accel-Redirect"] != want || len(r.body) != 0 {
			t.Fatalf("GET /o/: %v X-Accel-Redirect %q, want %q", r, r.header["X-Accel-Redirect"], want)
		}
	})
	t.Run("delete purges", func(t *testing.T) {
		h := newHarness(t, nil)
		key := h.uploadKey("../testdata/sample.jpg")
		p := h.signed("w_50", key)
		if r := h.get(p); r.status != 200 {
			t.Fatal(r)
		}
		wantError(t, h.do(h.client, "DELETE", "/o/"+key, nil), 401)
		if r := h.do(h.client, "DELETE", "/o/"+key, nil, "Authorization: Bearer "+testToken); r.status != 204 {
			t.Fatalf("DELETE: %v", r)
		}
		wantError(t, h.get("/o/"+key), 404)
		wantError(t, h.get(p), 404) // the cached variant is not served
		h.uploadKey("../testdata/sample.jpg")
		if r := h.get(p); r.status != 200 {
			t.Errorf("after re-upload: %v", r)
		}
	})
}

func TestInfo(t *testing.T) {
	h := newHarness(t, nil)
	key := h.uploadKey("../testdata/corpus/exif-orientation/Landscape_6.jpg")
	wantError(t, h.get("/info/"+key), 401)
	r := h.get("/info/"+key, "Authorization: Bearer "+testToken)
	var info server.InfoResponse
	if r.status != 200 || json.Unmarshal(r.body, &info) != nil {
		t.Fatalf("GET /info: %v", r)
	}
	if info.Orientation != 6 || info.Format != "jpeg" || info.Width == 0 || info.Bytes == 0 {
		t.Errorf("info = %+v", info)
	}
	if len(info.BlurHash) != 28 || len(info.DominantColor) != 7 || info.DominantColor[0] != '#' {
		t.Errorf("info placeholder = %q, %q; want a 28-character BlurHash and #rrggbb", info.BlurHash, info.DominantColor)
	}
}

func TestQueueFullAndDeadline(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Workers = workers.Config{Workers: 1, Queue: 1}
		c.Server.Timeout = 300 * time.Millisecond
	})
	key := h.uploadKey("../testdata/sample.jpg")
	release, err := h.pool.Acquire(context.Background(), 1) // the only worker is busy
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	// One request waits in the queue and runs out of time: 503.
	done := make(chan response, 1)
	go func() { done <- h.get(h.signed("w_10", key)) }()
	waitFor(t, func() bool { return h.pool.Waiting() == 1 })
	// The queue is full now: the next is refused at once with Retry-After.
	r := h.get(h.signed("w_11", key))
	wantError(t, r, 429)
	if r.header["Retry-After"] != "1" {
		t.Errorf("Retry-After = %q", r.header["Retry-After"])
	}
	wantError(t, <-done, 503)
	// The queued job gives up its place at the same deadline.
	waitFor(t, func() bool { return h.pool.Waiting() == 0 })
}

// TestMemoryBudget: a transform whose estimate is over the whole memory
// budget is refused with 422 naming the setting, before any decode; one
// that fits beside what runs is served; one that fits the budget but not
// beside a running transform waits its turn and runs out of time (503).
func TestMemoryBudget(t *testing.T) {
	h := newHarness(t, func(c *app.Config) {
		c.Workers = workers.Config{Workers: 2, Queue: 2, MemoryBudget: 24 << 20}
		c.Server.Timeout = 300 * time.Millisecond
	})
	key := h.uploadKey("../testdata/sample.jpg")
	wantOK := func(path string) {
		t.Helper()
		if r := h.get(path); r.status != 200 {
			t.Fatalf("GET %s = %v, want 200", path, r)
		}
	}
	wantOK(h.signed("w_100", key))

	// A 6000×4000 output: its copies alone are over 24 MiB.
	r := h.get(h.signed("w_6000,h_4000,c_scale", key))
	wantError(t, r, 422)
	if !strings.Contains(string(r.body), "PICTOR_MEMORY_BUDGET") {
		t.Errorf("422 body %q does not name PICTOR_MEMORY_BUDGET", r.body)
	}

	// 20 of 24 MiB held: a small transform waits for memory, not a worker.
	release, err := h.pool.Acquire(context.Background(), 20<<20)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, h.get(h.signed("w_101", key)), 503)
	release()
	wantOK(h.signed("w_102", key))
}

func TestAdmin(t *testing.T) {
	h := newHarness(t, nil)
	h.get("/nope")
	if r := h.do(h.admin, "GET", "/healthz", nil); r.status != 200 {
		t.Errorf("healthz: %v", r)
	}
	if r := h.do(h.admin, "GET", "/readyz", nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"ready":true`)) {
		t.Errorf("readyz: %v", r)
	}
	r := h.do(h.admin, "GET", "/metrics", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`pictor_http_requests_total{code="404",route="other"} 1`)) {
		t.Errorf("metrics: %v", r)
	}
	// The admin routes are not on the public listener.
	wantError(t, h.get("/metrics"), 404)
}

// waitStored waits until the variant that a GET of the /t/ path (without
// an Accept header) asks for is in the cache: in memory, or on disk when
// the memory tier is off. The tiers store in the background.
func (h *harness) waitStored(path string) {
	h.t.Helper()
	vp, err := sign.ParsePath(h.srv.Parser, strings.TrimPrefix(path, "/t/"))
	if err != nil {
		h.t.Fatalf("ParsePath(%q): %v", path, err)
	}
	src, _ := format.FromKey(vp.Key)
	vkey := transform.VariantKey(vp.Options, vp.Key, transform.Negotiate(vp.Options, src, nil, false))
	waitFor(h.t, func() bool {
		if h.mem.Enabled() {
			_, ok := h.mem.Get(vkey)
			return ok
		}
		_, _, ok := h.disk.Locate(vkey)
		return ok
	})
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
