package e2e

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The playground in a real browser: Debian's Chromium, driven by chromedp,
// uses the page on the admin listener of the real stack as a person would
// (the keyboard to log in, the file picker, the form), and the URL it
// copies is fetched through Nginx.

// The browser window; the screenshot is of the whole page.
const playgroundShotW, playgroundShotH = 1280, 1000

func TestStackPlaygroundInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("Debian's chromium is not installed: this test drives the playground in it; " +
			"`make test` runs scripts/deps.sh, which installs it, so the test runs there")
	}
	needStack(t)
	// PICTOR_PUBLIC_URL is a placeholder that the test replaces in the page,
	// as a person would: startStack picks Nginx's port itself.
	s := startStack(t, []string{"PICTOR_PUBLIC_URL=https://img.example.com", "PICTOR_MEMORY_CACHE_BYTES=0"})

	// The playground is on the admin listener only: Nginx has none of it.
	for _, p := range []string{"/playground", "/playground/", "/playground/api/config", "/playground/playground.js"} {
		if r := s.get(p); r.status != 404 {
			t.Errorf("GET %s through Nginx = %d, want 404", p, r.status)
		}
	}

	var chromeLog bytes.Buffer
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.UserDataDir(t.TempDir()),
			chromedp.WindowSize(playgroundShotW, playgroundShotH),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("force-device-scale-factor", "1"),
			chromedp.CombinedOutput(&chromeLog))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	fail := func(what string, err error) {
		t.Helper()
		status, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("upload-status").textContent + " | " + document.getElementById("sign-error").textContent`))
		t.Logf("page status: %s", status)
		shot, _ := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		keepPlayground(t, "playground-failed.png", shot)
		t.Fatalf("%s: %v\nsidecar log:\n%s\nchromium:\n%s", what, err, tail(s.sidecarLog(), 30), tail(chromeLog.String(), 20))
	}
	must := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			fail(what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			fail(js, err)
		}
		return v
	}

	must("open the playground", chromedp.Navigate(s.admin+"/playground"), chromedp.WaitVisible(chromedp.ID("token")))
	if _, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "clipboard-read"}, Setting: browser.PermissionSettingGranted, Origin: s.admin,
	}); err != nil {
		fail("grant clipboard-read", err)
	}

	// A wrong token is refused on the page; the right one, typed and sent
	// with Enter, opens it.
	must("log in with a wrong token", chromedp.SendKeys(chromedp.ID("token"), "wrong-token-0123456789"+kb.Enter),
		chromedp.Poll[chromedp.Void](`document.getElementById("login-error").textContent.includes("not accepted")`))
	must("log in", chromedp.SendKeys(chromedp.ID("token"), token+kb.Enter), chromedp.WaitVisible(chromedp.ID("app")))
	if got := eval(`JSON.stringify([localStorage.length, sessionStorage.length, document.cookie])`); got != `[0,0,""]` {
		t.Errorf("after login the page keeps %s in storage or cookies, want nothing", got)
	}

	// Upload through the file picker; the progress bar ends full.
	sample, err := filepath.Abs("../testdata/sample.jpg")
	if err != nil {
		t.Fatal(err)
	}
	must("upload", chromedp.SetUploadFiles(chromedp.ID("file"), []string{sample}),
		chromedp.Poll[chromedp.Void](`document.getElementById("upload-status").textContent.startsWith("Uploaded")`))
	if got := eval(`String(document.getElementById("progress").value)`); got != "100" {
		t.Errorf("progress after the upload = %s, want 100", got)
	}
	// The page sent it as a resumable upload, through the admin listener.
	// (supervisord writes the log as it comes.)
	patched := waitFor(5*time.Second, func() bool { return strings.Contains(s.sidecarLog(), "method=PATCH path=/files/") })
	if log := s.sidecarLog(); !patched || strings.Contains(log, "method=POST path=/upload") {
		t.Errorf("the upload did not go through /files/ alone:\n%s", tail(log, 10))
	}
	key := sha256Key(readTestdata(t, "sample.jpg"), ".jpg")
	must("the recent list shows it",
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll("#recent button")].some(b => b.getAttribute("aria-label").includes("`+key+`"))`))

	// w_400 typed, f_webp chosen: the server's canonical form, and the
	// result at 400 px.
	must("set w_400", chromedp.SendKeys(chromedp.ID("opt-w"), "400"))
	must("set f_webp", chromedp.SetValue(chromedp.ID("opt-f"), "webp"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("opt-f").dispatchEvent(new Event("change", {bubbles: true}))`))
	must("the result loads at 400 px",
		chromedp.Poll[chromedp.Void](`document.getElementById("canonical").value === "w_400,f_webp"`),
		chromedp.Poll[chromedp.Void](`document.getElementById("result-img").complete && document.getElementById("result-img").naturalWidth === 400`))
	meta := eval(`["m-format", "m-size", "m-cache", "m-ttfb", "m-bytes"].map(id => document.getElementById(id).textContent).join("|")`)
	if f := strings.Split(meta, "|"); len(f) != 5 || f[0] != "image/webp" || f[1] != "400×267" || f[2] != "miss" ||
		!strings.HasSuffix(f[3], " ms") || !strings.HasSuffix(f[4], ")") {
		t.Errorf("result format|size|X-Cache|TTFB|bytes = %q, want image/webp|400×267|miss|… ms|…", meta)
	}
	must("the srcset preview", chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll("#srcset-preview img")].length === 5 && [...document.querySelectorAll("#srcset-preview img")].every(i => i.complete && i.naturalWidth > 0)`,
		chromedp.WithPollingTimeout(60*time.Second)))

	// Point the page at this stack's Nginx, then copy the URL with the
	// keyboard, read it back from the clipboard.
	if got := eval(`document.getElementById("public-base").value`); got != "https://img.example.com" {
		t.Errorf("public base = %q, want PICTOR_PUBLIC_URL's https://img.example.com", got)
	}
	must("set the public base", chromedp.Evaluate[chromedp.Void](`document.getElementById("public-base").select()`),
		chromedp.SendKeys(chromedp.ID("public-base"), s.base))
	if snip := eval(`document.getElementById("snippet").value`); !strings.Contains(snip, `srcset="`+s.base+"/t/") || !strings.Contains(snip, " 1920w") {
		t.Errorf("srcset snippet = %q, want %s URLs up to 1920w", snip, s.base)
	}
	must("copy the URL", chromedp.Focus(chromedp.ID("copy-url")), chromedp.KeyEvent(kb.Enter),
		chromedp.Poll[chromedp.Void](`document.getElementById("copy-status").textContent === "Copied."`))
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		fail("read the clipboard", err)
	}
	want := s.base + s.signed("w_400,f_webp", key)
	if copied != want {
		t.Fatalf("copied %q, want %q", copied, want)
	}

	// Labels: every control has one, and every button a name; a layer's
	// controls too.
	must("add a layer", chromedp.Focus(chromedp.ID("add-layer")), chromedp.KeyEvent(kb.Enter),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("fieldset.layer").length === 1`))
	if bad := eval(`[...document.querySelectorAll("input, select, textarea, progress")].filter(e => e.labels.length === 0 || [...e.labels].every(l => !l.textContent.trim())).map(e => e.id || e.outerHTML).join(" ")`); bad != "" {
		t.Errorf("controls without a label: %s", bad)
	}
	if bad := eval(`[...document.querySelectorAll("button")].filter(b => !(b.getAttribute("aria-label") || b.textContent).trim()).map(b => b.outerHTML).join(" ")`); bad != "" {
		t.Errorf("buttons without a name: %s", bad)
	}
	// One control per option of the grammar (s_ is the server's, t_
	// without presets has no choices), one per effect, two for bo_.
	wantControls := 0
	for _, f := range s.parser.Describe() {
		switch {
		case f.Role == "layer", f.Kind == "signature", f.Role == "preset" && len(f.Choices) == 0:
		case f.Kind == "effects":
			wantControls += len(f.Effects)
		case f.Kind == "border":
			wantControls += 2
		default:
			wantControls++
		}
	}
	if n := eval(`String(document.querySelectorAll("#fields [data-opt], #fields [data-fx]").length)`); n != strconv.Itoa(wantControls) {
		t.Errorf("the form has %s controls, want %d", n, wantControls)
	}
	must("remove the layer", chromedp.Focus(chromedp.CSS("fieldset.layer button")), chromedp.KeyEvent(kb.Enter),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("fieldset.layer").length === 0`))

	// The whole page, as a PNG (quality 100).
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		fail("screenshot", err)
	}
	keepPlayground(t, "playground.png", shot)
	if img, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Errorf("screenshot: %v", err)
	} else if img.Bounds().Dx() != playgroundShotW {
		t.Errorf("screenshot %v wide, want %d", img.Bounds(), playgroundShotW)
	}

	// The copied URL through Nginx: the same variant.
	resp, err := s.client.Get(copied)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/webp" {
		t.Fatalf("GET %s through Nginx: %d %s", copied, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := checkVariant(copied, resp.Header, body, 400); err != nil {
		t.Error(err)
	}

	// A photo of two chunks whose second PATCH breaks 100 KiB in: the page
	// asks HEAD where the server got to, and sends the rest from there. The
	// page is opened again through a proxy that cuts that connection, which
	// also shows that a reload forgets the token.
	photo := noisePNG(t, 1500, 1000) // 4.5 MB (opaque: RGB): one 4 MiB chunk and 0.3 MB
	cutter := startCutter(t, strings.TrimPrefix(s.admin, "http://"), []byte("PATCH /playground/files/"), 2, 100<<10)
	must("open the playground again", chromedp.Navigate("http://"+cutter.addr+"/playground"), chromedp.WaitVisible(chromedp.ID("token")))
	if got := eval(`String(document.getElementById("app").hidden)`); got != "true" {
		t.Errorf("after a reload the page is open (app hidden = %s): the token outlived the page", got)
	}
	must("log in again", chromedp.SendKeys(chromedp.ID("token"), token+kb.Enter), chromedp.WaitVisible(chromedp.ID("app")))
	must("upload with a broken chunk", chromedp.SetUploadFiles(chromedp.ID("file"), []string{photo}),
		chromedp.Poll[chromedp.Void](`document.getElementById("upload-status").textContent.startsWith("Uploaded noise.png")`, chromedp.WithPollingTimeout(60*time.Second)))
	// The first chunk, the second cut, and the rest of it; Chromium may
	// itself send the cut request again on a fresh connection, which meets
	// 409 (the offset moved on with the bytes that got through) and makes
	// the page ask HEAD all the same.
	if n := cutter.seen.Load(); n < 3 {
		t.Errorf("%d PATCH requests, want at least 3: the first chunk, the second cut, and the rest of it", n)
	}
	photoKey := sha256Key(fileBytes(t, photo), ".png")
	if got := eval(`document.getElementById("upload-status").textContent`); !strings.Contains(got, photoKey) || !strings.Contains(got, "1500×1000") {
		t.Errorf("upload status %q, want %s and 1500×1000", got, photoKey)
	}
	if !waitFor(5*time.Second, func() bool { return strings.Contains(s.sidecarLog(), "method=HEAD path=/files/") }) {
		t.Errorf("the page resumed without asking HEAD for the offset:\n%s", tail(s.sidecarLog(), 10))
	}
	if r := s.get("/o/" + photoKey); r.status != 200 || len(r.body) != len(fileBytes(t, photo)) {
		t.Errorf("GET /o/%s through Nginx: %d, %d bytes", photoKey, r.status, len(r.body))
	}
}

// cutter is a TCP proxy that counts the requests starting with mark on
// each connection's way in, and cuts the connection carrying the cut-th one
// after forwarding cutAfter bytes from its start: a connection broken in
// the middle of a request body.
type cutter struct {
	addr string
	seen atomic.Int32
}

func startCutter(t *testing.T, upstream string, mark []byte, cut int32, cutAfter int) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &cutter{addr: ln.Addr().String()}
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				down.Close()
				continue
			}
			go func() { io.Copy(down, up); down.Close() }()
			go func() {
				defer up.Close()
				defer down.Close()
				buf := make([]byte, 32<<10)
				var tail []byte // the end of the last read, for a mark split across reads
				left := -1      // bytes still to forward before the cut; -1: no cut coming
				for {
					n, err := down.Read(buf)
					if n > 0 {
						b := buf[:n]
						joined := append(tail, b...)
						for i := 0; ; {
							j := bytes.Index(joined[i:], mark)
							if j < 0 {
								break
							}
							i += j + len(mark)
							if i > len(tail) && c.seen.Add(1) == cut {
								left = cutAfter
							}
						}
						tail = append([]byte(nil), joined[max(0, len(joined)-len(mark)):]...)
						if left >= 0 {
							if len(b) >= left {
								up.Write(b[:left])
								return
							}
							left -= len(b)
						}
						if _, werr := up.Write(b); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return c
}

// noisePNG writes a PNG of random pixels, which compresses to about its
// raw size, and returns its path.
func noisePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(18, 2026))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	path := filepath.Join(t.TempDir(), "noise.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keepPlayground writes the screenshot where PICTOR_PLAYGROUND_KEEP says
// (set it to keep the screenshot after the run), else into the test's
// temporary directory, and logs where.
func keepPlayground(t *testing.T, name string, shot []byte) {
	t.Helper()
	if len(shot) == 0 {
		return
	}
	dir := os.Getenv("PICTOR_PLAYGROUND_KEEP")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}
