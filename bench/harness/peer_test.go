package harness

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/bench/report"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
	"github.com/valyala/fasthttp"
)

func TestImgproxyTemplate(t *testing.T) {
	tpl, err := ParseTemplate(imgproxyTemplate("127.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	jpeg := &File{Name: "bench-distinct-00000000000000ff/a b-00001.jpg", Format: format.JPEG, Width: 3640, Height: 2400}
	png := &File{Name: "photo-3700x2400.png", Format: format.PNG, Width: 3700, Height: 2400}
	for _, c := range []struct {
		v    Variant
		want string
	}{
		{Variant{File: jpeg, Width: 400, Quality: 80},
			"http://127.0.0.1:9/insecure/rs:fit:400:0/q:80/plain/local:///bench-distinct-00000000000000ff/a%20b-00001.jpg@jpg"},
		{Variant{File: png, Width: 400, Quality: 80, Format: format.WebP},
			"http://127.0.0.1:9/insecure/rs:fit:400:0/q:80/plain/local:///photo-3700x2400.png@webp"},
		{Variant{File: jpeg, Width: 899, Quality: 0},
			"http://127.0.0.1:9/insecure/rs:fit:899:0/q:80/plain/local:///bench-distinct-00000000000000ff/a%20b-00001.jpg@jpg"},
	} {
		if got := tpl.Expand(c.v); got != c.want {
			t.Errorf("Expand(%+v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestImgproxyEnv(t *testing.T) {
	env := imgproxyEnv([]string{
		"PATH=/usr/bin", "HOME=/root", "IMGPROXY_KEY=aa", "IMGPROXY_SALT=bb", "IMGPROXY_WORKERS=1",
		"IMGPROXY_USE_ETAG=true", "MALLOC_MMAP_THRESHOLD_=1048576", "MALLOC_ARENA_MAX=8",
	}, "/corpus", "127.0.0.1:7")
	want := []string{
		"PATH=/usr/bin", "HOME=/root", "IMGPROXY_BIND=127.0.0.1:7", "IMGPROXY_LOCAL_FILESYSTEM_ROOT=/corpus",
		"IMGPROXY_QUALITY=80", "IMGPROXY_USE_ETAG=false", "IMGPROXY_USE_LAST_MODIFIED=false",
		"IMGPROXY_LOG_LEVEL=warn", "IMGPROXY_MAX_ANIMATION_FRAMES=200", "MALLOC_ARENA_MAX=2",
	}
	if !slices.Equal(env, want) {
		t.Errorf("imgproxyEnv = %q, want %q (no key or salt: unsigned URLs; default workers; no ETag)", env, want)
	}
}

func TestImgproxySkipped(t *testing.T) {
	t.Setenv("IMGPROXY_BIN", "")
	var stderr bytes.Buffer
	c, err := parseArgs([]string{
		"--target", "pictor=http://127.0.0.1:1",
		"--scenario", "distinct:name=vs-jpeg,file=a.jpg,copies=10,targets=pictor-defaults+imgproxy",
		"--scenario", "widths:name=vs-widths,file=a.jpg,targets=pictor+imgproxy",
		"--scenario", "cold:targets=pictor",
	}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.specs) != 1 || c.specs[0].Kind != Cold {
		t.Errorf("specs = %+v, want only cold: the imgproxy scenarios skipped", c.specs)
	}
	msg := stderr.String()
	for _, want := range []string{"skipped vs-jpeg, vs-widths", "IMGPROXY_BIN", "v3.31.4", "--branch v3.31.4", "go build -o", "libvips-dev"} {
		if !strings.Contains(msg, want) {
			t.Errorf("skip message %q lacks %q", msg, want)
		}
	}

	// Nothing left to run: Main says so and succeeds, writing nothing.
	stderr.Reset()
	err = Main(t.Context(), []string{"--target", "p=http://127.0.0.1:1", "--scenario", "widths:file=a.jpg,targets=p+imgproxy"}, io.Discard, &stderr)
	if err != nil || !strings.Contains(stderr.String(), "no scenario left") {
		t.Errorf("Main with only imgproxy scenarios and no binary = %v, stderr %q", err, stderr.String())
	}

	// A binary that is not one fails at once, saying how to build one.
	t.Setenv("IMGPROXY_BIN", filepath.Join(t.TempDir(), "nope"))
	if _, err := parseArgs([]string{"--scenario", "cold"}, io.Discard); !errors.Is(err, ErrImgproxy) || !strings.Contains(err.Error(), "go build") {
		t.Errorf("parseArgs with a missing IMGPROXY_BIN = %v, want ErrImgproxy", err)
	}

	// With one, the target imgproxy exists and its scenarios stay.
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err = parseArgs([]string{"--imgproxy", bin, "--target", "p=http://127.0.0.1:1",
		"--scenario", "distinct:file=a.jpg,copies=5,targets=p+imgproxy"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.specs) != 1 || c.imgproxyTarget() == nil || c.imgproxyTarget().IsPictor() {
		t.Errorf("with --imgproxy: specs %+v, target %+v", c.specs, c.imgproxyTarget())
	}
	if _, err := parseArgs([]string{"--imgproxy", bin, "--template", "imgproxy=http://h:1/{w}"}, io.Discard); !errors.Is(err, ErrUsage) {
		t.Errorf("--imgproxy beside a target labelled imgproxy = %v, want ErrUsage", err)
	}
}

func TestParsePeerSpec(t *testing.T) {
	def := DefaultConfig()
	for _, c := range []struct {
		in    string
		check func(Spec) bool
	}{
		{"distinct:file=a.jpg,copies=300", func(s Spec) bool {
			return s.Width == 400 && s.Quality == 80 && s.Out == format.Unknown && s.Copies == 300 &&
				s.Config.MaxRequests == 300 && s.Config.Warmup == 0
		}},
		{"distinct:file=a.png,out=webp,width=320,quality=75,max=50,min-ratio=1.1,max-rss-ratio=0.8", func(s Spec) bool {
			return s.Out == format.WebP && s.Width == 320 && s.Quality == 75 && s.Copies == 50 &&
				s.Config.MaxRequests == 50 && s.MinRatio == 1.1 && s.MaxRSSRatio == 0.8
		}},
		{"widths:file=a.jpg", func(s Spec) bool {
			return s.WidthLo == 300 && s.WidthHi == 899 && s.Config.MaxRequests == 600 && s.Quality == 80
		}},
		{"widths:file=a.jpg,widths=100-109,warmup=1s", func(s Spec) bool {
			return s.Config.MaxRequests == 10 && s.Config.Warmup == def.Warmup
		}},
	} {
		s, err := ParseSpec(c.in, def)
		if err != nil || !c.check(s) {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, s, err)
		}
	}
	for _, bad := range []string{
		"distinct", "distinct:file=a.jpg", "distinct:file=a.jpg,copies=0,max=0", "distinct:file=a.jpg,copies=20001",
		"widths:file=a.jpg,widths=9-3", "widths:file=a.jpg,widths=300", "distinct:file=a.jpg,copies=9,out=tiff",
		"distinct:file=a.jpg,copies=9,quality=101", "cold:file=a.jpg", "hot:min-ratio=2",
	} {
		if _, err := ParseSpec(bad, def); !errors.Is(err, ErrScenario) {
			t.Errorf("ParseSpec(%q) = %v, want ErrScenario", bad, err)
		}
	}
}

// TestCopySet writes copies of a JPEG and an RGBA PNG as a peer reads
// them: every copy is different bytes (a store keeps each) and decodes to
// the original's pixels.
func TestCopySet(t *testing.T) {
	corpus := t.TempDir()
	for _, base := range testCorpus(t) {
		const n = 6
		cs := newCopySet(base, n, 1000, corpus)
		if err := cs.write(); err != nil {
			t.Fatal(err)
		}
		pixels := decodePixels(t, base.Data)
		sums := map[[32]byte]bool{sha256.Sum256(base.Data): true}
		for i, f := range cs.files {
			data, err := os.ReadFile(filepath.Join(corpus, f.Name))
			if err != nil {
				t.Fatalf("copy %d is not at its name under the corpus: %v", i, err)
			}
			sum := sha256.Sum256(data)
			sums[sum] = true
			if got, err := format.Sniff(data); err != nil || got != base.Format {
				t.Errorf("%s: sniffs as %v, %v; want %v", f.Name, got, err, base.Format)
			}
			if !bytes.Equal(decodePixels(t, data), pixels) {
				t.Errorf("%s: decodes to other pixels than %s", f.Name, base.Name)
			}
			if f.Key != hex.EncodeToString(sum[:])+"."+base.Format.Ext() {
				t.Errorf("%s: key %q is not its bytes' SHA-256", f.Name, f.Key)
			}
		}
		if len(sums) != n+1 {
			t.Errorf("%s: %d distinct SHA-256 among the original and %d copies, want %d", base.Name, len(sums), n, n+1)
		}
		dir := filepath.Dir(cs.files[0].Path)
		if err := cs.remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("copies left behind in %s", dir)
		}
	}
	// A corpus with a set left behind by a killed run still loads only
	// its own originals.
	if err := os.MkdirAll(filepath.Join(corpus, copiesDirPrefix+"1"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(corpus, "sample.jpg"), testCorpus(t)[1].Data, 0o644)
	if files, err := LoadCorpus(corpus, nil); err != nil || len(files) != 1 {
		t.Errorf("LoadCorpus beside a copies directory = %d files, %v; want 1", len(files), err)
	}
}

// decodePixels decodes data in full.
func decodePixels(t *testing.T, data []byte) []byte {
	t.Helper()
	im, err := vips.Load(data, vips.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	pix := make([]byte, im.Width()*im.Height()*im.Bands())
	if err := im.WritePixels(pix); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return pix
}

// TestPeerPool checks that the peer kinds ask every target the same
// requests in the same order, each once.
func TestPeerPool(t *testing.T) {
	files := testCorpus(t)
	e := &env{pictor: &Pictor{}, seed: 7, corpus: t.TempDir(), all: files, stderr: io.Discard}
	widths, err := ParseSpec("widths:name=w,file=sample.jpg,widths=300-899", DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewPeerTarget("a", "http://127.0.0.1:1/{w}/{file}@{fmt}")
	b, _ := NewPeerTarget("b", "http://127.0.0.1:2/{w}/{file}@{fmt}")
	ga, err := e.poolGen(t.Context(), widths, a)
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := e.poolGen(t.Context(), widths, b)
	seen := map[string]bool{}
	for i := range ga.urls {
		pa, pb := strings.TrimPrefix(ga.urls[i], "http://127.0.0.1:1"), strings.TrimPrefix(gb.urls[i], "http://127.0.0.1:2")
		if pa != pb {
			t.Fatalf("request %d: %s on a, %s on b", i, pa, pb)
		}
		seen[pa] = true
	}
	if len(seen) != 600 || !seen["/300/sample.jpg@jpg"] || !seen["/899/sample.jpg@jpg"] || ga.urls[0] == "http://127.0.0.1:1/300/sample.jpg@jpg" {
		t.Errorf("%d distinct widths, first %s: want 300…899 once each, shuffled", len(seen), ga.urls[0])
	}
	req := &fasthttp.Request{}
	for range 602 {
		ga.Next(nil, req)
	}
	if ga.reused() != 2 {
		t.Errorf("reused = %d after 602 requests over 600, want 2", ga.reused())
	}

	distinct, _ := ParseSpec("distinct:name=d,file=alpha.png,out=webp,width=100,copies=4", DefaultConfig())
	gd, err := e.poolGen(t.Context(), distinct, a)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(e.pools["d"].copies.files[0].Path)
	if ents, _ := os.ReadDir(dir); len(ents) != 4 || len(gd.urls) != 4 || !strings.HasSuffix(gd.urls[3], "-00003.png@webp") {
		t.Errorf("%d copies written, urls %q", len(ents), gd.urls)
	}
	if err := e.cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cleanup left %s", dir)
	}
	wide, _ := ParseSpec("distinct:name=wide,file=alpha.png,width=301,copies=1", DefaultConfig())
	if _, err := e.poolGen(t.Context(), wide, a); !errors.Is(err, ErrScenario) {
		t.Errorf("a width above the original's = %v, want ErrScenario (peers do not enlarge)", err)
	}
}

func TestComparisons(t *testing.T) {
	pictor, _ := NewPictorTarget("pictor-defaults", "http://127.0.0.1:1")
	peer, _ := NewPeerTarget("imgproxy", imgproxyTemplate("127.0.0.1:2"))
	sp, _ := ParseSpec("distinct:name=vs-jpeg,file=a.jpg,copies=600,min-ratio=1.15,max-rss-ratio=0.8", DefaultConfig())
	cold, _ := ParseSpec("cold", DefaultConfig())
	res := func(sp Spec, t *Target, reqs int64, secs, cpu float64, rss int64, errs map[string]int64) *measured {
		return &measured{spec: sp, target: t, res: &report.Result{
			Scenario: sp.label(), Target: t.Label, Requests: reqs, Seconds: secs, Bytes: reqs * 20000, Errors: errs,
			Latency:   report.Percentiles{P50: 100, P99: 300},
			Processes: []report.Process{{Name: t.Label, CPUSeconds: cpu, PeakRSSBytes: rss}},
		}}
	}
	done := []*measured{
		res(cold, pictor, 50, 10, 1, 1e8, nil),
		res(sp, pictor, 410, 20, 25.42, 234e6, map[string]int64{"503": 10}),
		res(sp, peer, 482, 20, 25.546, 263e6, nil),
	}
	cs := comparisons(done, nil)
	if len(cs) != 1 {
		t.Fatalf("%d comparisons, want 1 (cold is no peer scenario)", len(cs))
	}
	c := cs[0]
	if c.Pictor.Target != "pictor-defaults" || c.Peer.Target != "imgproxy" || c.Pictor.Errors != 10 ||
		c.Pictor.Throughput != 20 || c.Peer.Throughput != 24.1 || c.Pictor.BytesPerRequest != 20000 ||
		!strings.Contains(c.Workload, "600 distinct originals") || !strings.Contains(c.Workload, "w_400,q_80") {
		t.Errorf("comparison = %+v", c)
	}
	q := c.Ratio()
	if round2(q.Throughput) != 0.83 || round2(q.CPUPerRequest) != 1.17 || round2(q.PeakRSS) != 0.89 {
		t.Errorf("ratios = %+v, want req/s 0.83, CPU 1.17 (62 ÷ 53 ms), RSS 0.89", q)
	}
	checks := comparisonChecks(done, cs)
	if len(checks) != 2 || checks[0].Met || checks[0].Target != 1.15 || checks[1].Met || checks[1].Target != 0.8 {
		t.Errorf("checks = %+v, want req/s 0.83 < 1.15 and RSS 0.89 > 0.8, both unmet", checks)
	}
}

func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }
