package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
)

const (
	token      = "e2e-upload-token-0123456789"
	signingKey = "k1:e2e-signing-secret-0123456789"
	corpus     = "../testdata/corpus"
)

var bin string // the built pictor binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pictor-e2e")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "pictor")
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.Exit(1)
	}
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running pictor process.
type instance struct {
	t      testing.TB
	cmd    *exec.Cmd
	base   string
	admin  string
	dir    string
	signer *sign.Signer
	parser *options.Parser
	log    *bytes.Buffer
	client *http.Client
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs pictor with env on top of the test defaults and waits for
// /healthz.
func start(t testing.TB, env ...string) *instance {
	t.Helper()
	in := &instance{t: t, dir: t.TempDir(), log: &bytes.Buffer{}}
	listen, admin := freeAddr(t), freeAddr(t)
	in.base, in.admin = "http://"+listen, "http://"+admin
	in.cmd = exec.Command(bin, "serve")
	in.cmd.Env = append(os.Environ(),
		"PICTOR_LISTEN="+listen,
		"PICTOR_ADMIN_LISTEN="+admin,
		"PICTOR_DATA_DIR="+in.dir,
		"PICTOR_SIGNING_KEYS="+signingKey,
		"PICTOR_UPLOAD_TOKENS="+token,
		"PICTOR_MEMORY_CACHE_BYTES=64MiB",
	)
	in.cmd.Env = append(in.cmd.Env, env...)
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.stop)
	in.client = &http.Client{Timeout: 60 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := in.client.Get(in.admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pictor did not become healthy: %v\n%s", err, in.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	keys, _ := sign.ParseKeys(signingKey)
	cfg := sign.DefaultConfig()
	cfg.Keys = keys
	in.signer, _ = sign.New(cfg)
	in.parser, _ = options.NewParser(options.DefaultConfig())
	return in
}

func (in *instance) stop() {
	if in.cmd.ProcessState != nil {
		return
	}
	in.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		in.cmd.Process.Kill()
		<-done
	}
	if in.t.Failed() {
		in.t.Logf("pictor log:\n%s", tail(in.log.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// alive fails the test if the process has exited or stopped answering.
func (in *instance) alive() {
	in.t.Helper()
	resp, err := in.client.Get(in.admin + "/healthz")
	if err != nil {
		in.t.Fatalf("pictor stopped answering: %v\n%s", err, tail(in.log.String(), 2000))
	}
	resp.Body.Close()
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (in *instance) do(req *http.Request) result {
	in.t.Helper()
	resp, err := in.client.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return result{resp.StatusCode, resp.Header, body}
}

func (in *instance) get(path string) result {
	in.t.Helper()
	req, _ := http.NewRequest("GET", in.base+path, nil)
	return in.do(req)
}

// upload sends body as a multipart "file" part named name.
func (in *instance) upload(name string, body []byte) result {
	in.t.Helper()
	return in.do(in.uploadRequest(name, body))
}

// uploadRequest is the multipart POST /upload of body as name, built
// ahead so that a test can time the server's answer alone.
func (in *instance) uploadRequest(name string, body []byte) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(body)
	mw.Close()
	req, _ := http.NewRequest("POST", in.base+"/upload", bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func (in *instance) uploadFile(path string) string {
	in.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		in.t.Fatal(err)
	}
	return in.uploadKey(filepath.Base(path), b)
}

// uploadKey uploads body under name and returns its key.
func (in *instance) uploadKey(name string, body []byte) string {
	in.t.Helper()
	r := in.upload(name, body)
	if r.status != 201 && r.status != 200 {
		in.t.Fatalf("upload %s: %d %s", name, r.status, r.body)
	}
	var u struct{ Key string }
	if err := json.Unmarshal(r.body, &u); err != nil {
		in.t.Fatal(err)
	}
	return u.Key
}

func (in *instance) signed(opts, key string) string {
	in.t.Helper()
	o, err := in.parser.Parse(opts)
	if err != nil {
		in.t.Fatalf("Parse(%q): %v", opts, err)
	}
	p, err := in.signer.SignPath(o, key)
	if err != nil {
		in.t.Fatal(err)
	}
	return p
}

// decode turns any output format into an image.Image through libvips (Go
// has no AVIF or WebP decoder in the standard library): load, flatten over
// white, save as PNG, decode with image/png.
func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	im, err := vips.Load(b, vips.LoadOptions{})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	defer im.Close()
	srgb, err := im.ToSRGB()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	defer srgb.Close()
	flat, err := srgb.Flatten(vips.Color{R: 255, G: 255, B: 255})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	defer flat.Close()
	pngBytes, err := flat.Save(vips.SaveOptions{Format: format.PNG})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

// meanDiff is the mean absolute difference per RGB channel, 0..255.
func meanDiff(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Dx() != bb.Dx() || ab.Dy() != bb.Dy() {
		return 255
	}
	var sum, n float64
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			sum += absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2)
			n += 3
		}
	}
	return sum / n / 257
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// rotate180 is a wrong orientation, to show the comparison can fail.
func rotate180(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(b.Dx()-1-x, b.Dy()-1-y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}
