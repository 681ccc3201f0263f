package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/device"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

const testToken = "app-test-token-0123456789"

// running is an App serving on in-memory listeners, with clients for both.
type running struct {
	app           *App
	dir           string
	client, admin *fasthttp.Client
}

// start builds the App through New, as main does, and serves it on
// in-memory listeners.
func start(t *testing.T, edit func(*Config)) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Store.Dir = dir
	cfg.Disk.Dir, cfg.Disk.MaxBytes = filepath.Join(dir, "cache"), 64<<20
	cfg.Memory.MaxBytes = 16 << 20
	cfg.Device.Mode = device.ModeOff
	cfg.Server.UploadTokens = []string{testToken}
	cfg.Sign.Keys = []sign.Key{{ID: "k1", Secret: []byte("app-test-secret-0123456789")}}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, aln := fasthttputil.NewInmemoryListener(), fasthttputil.NewInmemoryListener()
	go a.Serve(ln, aln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
		a.Close()
	})
	return &running{
		app: a, dir: dir,
		client: &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }},
		admin:  &fasthttp.Client{Dial: func(string) (net.Conn, error) { return aln.Dial() }},
	}
}

func (r *running) do(t *testing.T, c *fasthttp.Client, method, path string, body []byte) (int, []byte) {
	t.Helper()
	return request(t, c, method, path, body)
}

// request sends one request with the test token through c and returns the
// status and a copy of the body; a transport error fails t.
func request(t testing.TB, c *fasthttp.Client, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://pictor" + path)
	req.Header.SetMethod(method)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.SetBody(body)
		req.Header.SetContentType("image/jpeg")
	}
	if err := c.DoTimeout(req, resp, 30*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

// upload posts the file at path and returns its key.
func (r *running) upload(t *testing.T, path string) string {
	t.Helper()
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	code, body := r.do(t, r.client, "POST", "/upload", img)
	if code != 201 && code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var up struct{ Key string }
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	return up.Key
}

// The wired server does its job end to end: upload, a signed variant (a
// miss, then a hit), DELETE purging every tier, and each part's metrics
// on /metrics.
func TestAppServes(t *testing.T) {
	r := start(t, nil)
	up := struct{ Key string }{r.upload(t, "../testdata/sample.jpg")}
	path, err := r.app.Signer().VariantPath(r.app.Server().Parser, "w_100", mustParse(t, r, "w_100"), up.Key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if code, body := r.do(t, r.client, "GET", path, nil); code != 200 || len(body) == 0 {
			t.Fatalf("GET %s: %d", path, code)
		}
		if i == 0 {
			// The memory tier admits asynchronously: the second GET is a
			// hit only once the first variant has landed.
			vp, err := sign.ParsePath(r.app.Server().Parser, strings.TrimPrefix(path, "/t/"))
			if err != nil {
				t.Fatal(err)
			}
			src, _ := format.FromKey(vp.Key)
			vkey := transform.VariantKey(vp.Options, vp.Key, transform.Negotiate(vp.Options, src, nil, false))
			deadline := time.Now().Add(5 * time.Second)
			for _, ok := r.app.Memory().Get(vkey); !ok; _, ok = r.app.Memory().Get(vkey) {
				if time.Now().After(deadline) {
					t.Fatal("the first variant never reached the memory tier")
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	if d := r.app.Processor().Decodes(); d != 1 {
		t.Errorf("two GETs of one variant decoded %d times, want 1", d)
	}
	if code, _ := r.do(t, r.client, "DELETE", "/o/"+up.Key, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := r.do(t, r.client, "GET", path, nil); code != 404 {
		t.Errorf("GET after DELETE: %d, want 404", code)
	}
	_, metrics := r.do(t, r.admin, "GET", "/metrics", nil)
	for _, name := range []string{
		"pictor_http_requests_total", "pictor_memory_cache_hits_total", "pictor_disk_cache_entries",
		"pictor_cache_promotions_total", "pictor_decode_cache_bytes", "pictor_workers_running",
		"pictor_decodes_total", "pictor_device_",
	} {
		if !bytes.Contains(metrics, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func mustParse(t *testing.T, r *running, raw string) options.Options {
	t.Helper()
	o, err := r.app.Server().Parser.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// /readyz checks what it claims: the store, libvips and the device, each by
// name; an unwritable store makes the server unready.
func TestReadyz(t *testing.T) {
	r := start(t, nil)
	code, body := r.do(t, r.admin, "GET", "/readyz", nil)
	var got struct {
		Ready  bool
		Checks map[string]string
	}
	if err := json.Unmarshal(body, &got); err != nil || code != 200 || !got.Ready {
		t.Fatalf("/readyz = %d %s, want 200 and ready", code, body)
	}
	for name, want := range map[string]string{"store": "ok", "libvips": "ok", "device": "off"} {
		if got.Checks[name] != want {
			t.Errorf("/readyz check %s = %q, want %q", name, got.Checks[name], want)
		}
	}
	// The memory budget, with nothing running: none of it reserved.
	if want := fmt.Sprintf("0 of %d MiB reserved", workers.MachineMemory()/2>>20); got.Checks["memory"] != want {
		t.Errorf("/readyz check memory = %q, want %q", got.Checks["memory"], want)
	}

	// The store's temporary directory replaced by a file: no write can
	// succeed, even as root.
	tmp := filepath.Join(r.dir, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, body = r.do(t, r.admin, "GET", "/readyz", nil)
	got.Checks = nil
	if err := json.Unmarshal(body, &got); err != nil || code != 503 || got.Ready {
		t.Fatalf("/readyz with an unwritable store = %d %s, want 503 and not ready", code, body)
	}
	if got.Checks["store"] == "ok" || got.Checks["libvips"] != "ok" {
		t.Errorf("/readyz checks = %v, want the store failing and libvips ok", got.Checks)
	}
}

// New releases what it built when a later part fails, and names the
// setting's package.
func TestNewFails(t *testing.T) {
	_, err := New(func() Config {
		c := DefaultConfig()
		c.Store.Dir = t.TempDir()
		c.Device.Mode = device.ModeOff
		c.Workers.Workers = 0
		c.Disk.MaxBytes = 0
		return c
	}())
	if err == nil || !strings.Contains(err.Error(), "workers") {
		t.Errorf("New with 0 workers = %v, want a workers error", err)
	}
}

// Run listens where configured, serves, and drains when its context ends.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Store.Dir = dir
	cfg.Disk.MaxBytes = 0
	cfg.Device.Mode = device.ModeOff
	cfg.Server.Listen = "unix:" + filepath.Join(dir, "pictor.sock")
	cfg.Server.AdminListen = "unix:" + filepath.Join(dir, "admin.sock")
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return net.Dial("unix", filepath.Join(dir, "admin.sock")) }}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, err := c.Get(nil, "http://pictor/healthz")
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered: %d %v", code, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestAppTrimsWhenIdle: once the last transform of a burst is done and the
// pool stays idle, freed C heap goes back to the system (and only then).
func TestAppTrimsWhenIdle(t *testing.T) {
	r := start(t, nil)
	trims := r.app.trim.trims.Load
	up := struct{ Key string }{r.upload(t, "../testdata/sample.jpg")}
	if n := trims(); n != 0 {
		t.Fatalf("trimmed %d times before any transform", n)
	}
	path, err := r.app.Signer().VariantPath(r.app.Server().Parser, "w_120", mustParse(t, r, "w_120"), up.Key)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := r.do(t, r.client, "GET", path, nil); code != 200 {
		t.Fatalf("GET %s: %d", path, code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for trims() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no trim within 5 s of the pool going idle")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
