package report

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test of the HTML report: Debian's Chromium, headless,
// renders a report of three servers and four scenarios, and the test reads
// back both what it built (the DOM, dumped after rendering) and what it
// painted (a screenshot), and watches, through a proxy, that the page asks
// the network for nothing.

// screenshotSize is the browser window: two charts side by side, and tall
// enough for the whole fixture page, so that every chart is painted.
const screenshotSize = "1400,4600"

// chromiumServiceHosts are hosts Chromium itself calls at start-up even
// with background networking, sync and component updates off (sign-in,
// its update check, network time). They are the browser's, not the
// page's, and seen here in Chromium 156; any other host is the page's.
var chromiumServiceHosts = []string{"accounts.google.com", "update.googleapis.com", "clients2.google.com"}

func TestHTMLInChromium(t *testing.T) {
	bin := chromiumBinary(t)
	proxy := startRecordingProxy(t)

	// The control: a page that does load something is seen by the proxy,
	// so that silence below means the report asked for nothing.
	control := filepath.Join(t.TempDir(), "control.html")
	const controlHost = "pictor-report-control.invalid"
	if err := os.WriteFile(control, []byte(`<!DOCTYPE html><img src="http://`+controlHost+`/pixel.png">`), 0o644); err != nil {
		t.Fatal(err)
	}
	runChromium(t, bin, proxy, "--dump-dom", fileURL(control))
	if got := proxy.pageHosts(); !slices.Contains(got, controlHost) {
		t.Fatalf("the proxy saw %q, not the control page's request to %s: the network check cannot be trusted", got, controlHost)
	}
	proxy.reset()

	r := fixtureRun()
	page, source := writeFixturePage(t, r)
	dom := runChromium(t, bin, proxy, "--dump-dom", fileURL(page))
	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, proxy, "--screenshot="+shot, "--window-size="+screenshotSize, fileURL(page))
	keep(t, map[string][]byte{"report.html": []byte(source), "dom.html": dom}, shot)

	if hosts := proxy.pageHosts(); len(hosts) > 0 {
		t.Errorf("the report made network requests to %q", hosts)
	}

	// Structure: Chromium's DOM has every chart with its lines and legend.
	p := parsePage(t, string(dom))
	if len(p.Charts) == 0 {
		t.Fatalf("Chromium's DOM has no charts:\n%.2000s", dom)
	}
	if p.CSP != pageCSP || len(p.Fetching) > 0 {
		t.Errorf("Chromium's DOM has the policy %q and resources %q, want %q and none", p.CSP, p.Fetching, pageCSP)
	}
	checkCharts(t, p.Charts, r)
	colours := map[string]color.RGBA{}
	for _, c := range p.Charts {
		for _, path := range c.Paths {
			colours[path.Target] = parseHex(t, path.Stroke)
		}
	}
	if len(colours) != len(fixtureTargets) {
		t.Fatalf("lines drawn for %d targets, want %d", len(colours), len(fixtureTargets))
	}

	// Pixels: each plot, found by its frame, holds each server's colour
	// along a good part of its width; an empty plot holds none.
	img := decodePNG(t, shot)
	plots := findPlots(img)
	want := expectedCharts(r)
	if len(plots) != len(want) {
		t.Fatalf("screenshot shows %d plots, want %d (is the window, %s, tall enough?)", len(plots), len(want), screenshotSize)
	}
	for i, w := range want {
		name := w.Scenario + "/" + w.Kind
		for target, c := range colours {
			n, cols := countColour(img, plots[i], c)
			if w.Lines[target] == 0 {
				if n > 4 {
					t.Errorf("%s: %d pixels of %s's colour in a plot without its lines", name, n, target)
				}
				continue
			}
			if minCols := plots[i].Dx() / 5; n < 150 || cols < minCols {
				t.Errorf("%s: %s painted in %d pixels over %d columns, want at least 150 over %d",
					name, target, n, cols, minCols)
			}
		}
	}
}

func chromiumBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("Debian's chromium is not installed: this test renders the report in it; " +
		"`make test` runs scripts/deps.sh, which installs it, so the test runs there")
	return ""
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// runChromium runs one headless Chromium with a fresh profile, every
// request sent to the recording proxy, and returns what it printed. It
// gets a minute; Chromium and the helpers it forks are killed as a group.
func runChromium(t *testing.T, bin string, proxy *recordingProxy, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	flags := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--disable-domain-reliability",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + t.TempDir(),
		// Loopback too goes through the proxy (Chromium bypasses it for
		// loopback unless told not to).
		"--proxy-server=http://" + proxy.addr(), "--proxy-bypass-list=<-loopback>",
	}
	cmd := exec.CommandContext(ctx, bin, append(flags, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		// Helpers that outlived the browser (its crash handler) are ours.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 3000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// keep copies the test's artefacts into $PICTOR_REPORT_KEEP, when set, to
// be looked at: the report, Chromium's DOM of it and the screenshot.
func keep(t *testing.T, files map[string][]byte, screenshot string) {
	dir := os.Getenv("PICTOR_REPORT_KEEP")
	if dir == "" {
		return
	}
	png, err := os.ReadFile(screenshot)
	if err != nil {
		t.Fatal(err)
	}
	files["report.png"] = png
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("kept report.html, dom.html and report.png in %s", dir)
}

// recordingProxy is an HTTP proxy that forwards nothing: it notes the host
// of each request (GET http://host/… or CONNECT host:443) and hangs up.
type recordingProxy struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	hosts []string
}

func startRecordingProxy(t *testing.T) *recordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *recordingProxy) addr() string { return p.ln.Addr().String() }

func (p *recordingProxy) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	// "GET http://host/path HTTP/1.1" or "CONNECT host:443 HTTP/1.1".
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return
	}
	host := fields[1]
	if u, err := url.Parse(fields[1]); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(fields[1]); err == nil {
		host = h
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, host)
	p.mu.Unlock()
	_, _ = c.Write([]byte("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
}

// pageHosts is the hosts asked for so far, other than Chromium's own.
func (p *recordingProxy) pageHosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, h := range p.hosts {
		if !slices.Contains(chromiumServiceHosts, h) && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func (p *recordingProxy) reset() {
	p.mu.Lock()
	p.hosts = nil
	p.mu.Unlock()
}

func decodePNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
	return img
}

// hexColour reads a #rrggbb colour.
func hexColour(s string) (color.RGBA, error) {
	c := color.RGBA{A: 255}
	if len(s) != 7 {
		return c, fmt.Errorf("colour %q is not #rrggbb", s)
	}
	_, err := fmt.Sscanf(s, "#%02x%02x%02x", &c.R, &c.G, &c.B)
	return c, err
}

func parseHex(t *testing.T, s string) color.RGBA {
	t.Helper()
	c, err := hexColour(s)
	if err != nil {
		t.Fatalf("stroke %q: %v", s, err)
	}
	return c
}

// near says whether the pixel at i is within tol of c in every channel.
func near(img *image.RGBA, i int, c color.RGBA, tol int) bool {
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	px := img.Pix[i : i+3 : i+3]
	return d(px[0], c.R) <= tol && d(px[1], c.G) <= tol && d(px[2], c.B) <= tol
}

// findPlots finds every plot in a screenshot by its frame, a rectangle in
// a colour nothing else on the page uses, and returns their insides in
// reading order (top to bottom, then left to right).
func findPlots(img *image.RGBA) []image.Rectangle {
	frame, err := hexColour(frameColor)
	if err != nil {
		panic(err) // a constant of this package
	}
	b := img.Bounds()
	is := func(x, y int) bool { return near(img, img.PixOffset(x, y), frame, 3) }
	var plots []image.Rectangle
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !is(x, y) {
				continue
			}
			// A run of frame pixels long enough to be a plot's top edge.
			x1 := x
			for x1+1 < b.Max.X && is(x1+1, y) {
				x1++
			}
			if x1-x >= 200 {
				// Down the left edge, then check the bottom and right edges.
				y1 := y
				for y1+1 < b.Max.Y && is(x, y1+1) {
					y1++
				}
				if y1-y >= 100 && is(x1, y1) && is(x1, (y+y1)/2) && is((x+x1)/2, y1) {
					plots = append(plots, image.Rect(x+1, y+1, x1, y1))
				}
			}
			x = x1
		}
	}
	slices.SortStableFunc(plots, func(p, q image.Rectangle) int {
		if p.Min.Y != q.Min.Y {
			return p.Min.Y - q.Min.Y
		}
		return p.Min.X - q.Min.X
	})
	return plots
}

// countColour counts the pixels inside r close to c, and the columns they
// fall in.
func countColour(img *image.RGBA, r image.Rectangle, c color.RGBA) (pixels, columns int) {
	for x := r.Min.X; x < r.Max.X; x++ {
		in := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if near(img, img.PixOffset(x, y), c, 24) {
				in++
			}
		}
		pixels += in
		if in > 0 {
			columns++
		}
	}
	return pixels, columns
}
