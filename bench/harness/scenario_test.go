package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/vips"
	"github.com/valyala/fasthttp"
)

func TestMain(m *testing.M) {
	if err := vips.Startup(vips.DefaultConfig()); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

const (
	testKeys  = "k1:bench-test-secret-0123456789"
	testToken = "bench-test-token-0123456789"
)

// testCorpus is the repository's test images.
func testCorpus(t *testing.T) []*File {
	t.Helper()
	files, err := LoadCorpus("../../testdata", []string{"sample.jpg", "alpha.png"})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestLoadCorpus(t *testing.T) {
	files := testCorpus(t)
	want := []struct {
		name string
		f    format.Format
		w, h int
	}{{"alpha.png", format.PNG, 300, 200}, {"sample.jpg", format.JPEG, 1200, 800}}
	for i, w := range want {
		f := files[i]
		if f.Name != w.name || f.Format != w.f || f.Width != w.w || f.Height != w.h {
			t.Errorf("file %d = %s %v %dx%d, want %s %v %dx%d", i, f.Name, f.Format, f.Width, f.Height, w.name, w.f, w.w, w.h)
		}
		if len(f.Key) != 64+1+len(f.Format.Ext()) || !strings.HasSuffix(f.Key, "."+f.Format.Ext()) {
			t.Errorf("%s: key %q", f.Name, f.Key)
		}
	}
	if _, err := LoadCorpus(t.TempDir(), nil); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("LoadCorpus(empty dir) = %v, want ErrNoCorpus", err)
	}
}

func TestTemplate(t *testing.T) {
	f := &File{Name: "a b.jpg", Format: format.JPEG, Width: 4000, Height: 3000, Key: "ab12.jpg"}
	for _, c := range []struct {
		tpl  string
		v    Variant
		want string
	}{
		{"http://127.0.0.1:8082/resize/{w}/{file}", Variant{File: f, Width: 400}, "http://127.0.0.1:8082/resize/400/a%20b.jpg"},
		{"http://h:1/insecure/rs:fit:{w}:{h}/plain/local:///{file}@{fmt}", Variant{File: f, Width: 401}, "http://h:1/insecure/rs:fit:401:301/plain/local:///a%20b.jpg@jpg"},
		{"http://h:1/x?w={w}&q={q}&k={key}", Variant{File: f, Width: 10, Quality: 70}, "http://h:1/x?w=10&q=70&k=ab12.jpg"},
		{"http://h:1/x?q={q}", Variant{File: f, Width: 10}, "http://h:1/x?q=80"},
		{"https://example.com/{w}", Variant{File: f, Width: 7}, "https://example.com/7"},
		{"http://h:1", Variant{File: f, Width: 7}, "http://h:1/"},
	} {
		tpl, err := ParseTemplate(c.tpl)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", c.tpl, err)
			continue
		}
		if got := tpl.Expand(c.v); got != c.want {
			t.Errorf("ParseTemplate(%q).Expand(%+v) = %q, want %q", c.tpl, c.v, got, c.want)
		}
	}
	tpl, _ := ParseTemplate("https://example.com/{w}")
	if tpl.addr != "example.com:443" || !tpl.tls {
		t.Errorf("https without a port: addr %q, tls %v", tpl.addr, tpl.tls)
	}
	for _, bad := range []string{
		"ftp://h/{w}", "h:1/{w}", "http://{w}/x", "http:///x", "http://h/{width}", "http://h/{w", "http://h/w}", "http://h/{w}}",
	} {
		if _, err := ParseTemplate(bad); !errors.Is(err, ErrTemplate) {
			t.Errorf("ParseTemplate(%q) = %v, want ErrTemplate", bad, err)
		}
	}
}

func TestPictorTarget(t *testing.T) {
	for _, c := range []struct {
		base, origin, addr, unix string
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"http://example.com/pictor/", "http://example.com/pictor", "example.com:80", ""},
		{"unix:/run/pictor.sock", "http://pictor", "pictor", "/run/pictor.sock"},
	} {
		tg, err := NewPictorTarget("x", c.base)
		if err != nil || tg.origin != c.origin || tg.addr != c.addr || tg.unix != c.unix {
			t.Errorf("NewPictorTarget(%q) = %+v, %v; want origin %q addr %q unix %q", c.base, tg, err, c.origin, c.addr, c.unix)
		}
	}
	for _, bad := range []string{"unix:", "127.0.0.1:8080", "ftp://h", "http://h?x=1"} {
		if _, err := NewPictorTarget("x", bad); !errors.Is(err, ErrTarget) {
			t.Errorf("NewPictorTarget(%q) = %v, want ErrTarget", bad, err)
		}
	}
}

func TestSpaceIsFresh(t *testing.T) {
	files := []*File{
		{Name: "big.jpg", Width: 3840, Height: 2400},
		{Name: "small.png", Width: 300, Height: 200},
	}
	s := newSpace(7)
	seen := map[Variant]bool{}
	steps := map[*File]map[int]int{} // ladder step → count, for cold
	for i := range 1000 {
		f := files[i%2]
		v := s.cold(f)
		if seen[v] {
			t.Fatalf("cold variant %+v given twice", v)
		}
		seen[v] = true
		if v.Width < 1 || v.Width > min(f.Width, ladderMax) || v.Quality < qualityLo || v.Quality >= qualityLo+qualityN {
			t.Fatalf("cold variant %+v out of range", v)
		}
		l := ladderOf(f)
		for j := range l {
			if v.Width <= l[j] && v.Width > l[j]-max(1, l[0]/4) {
				if steps[f] == nil {
					steps[f] = map[int]int{}
				}
				steps[f][j]++
			}
		}
	}
	for f, st := range steps {
		for j := range ladderSteps {
			if st[j] != 100 {
				t.Errorf("%s: ladder step %d asked %d times in 500 cold requests, want 100 (every step equally)", f.Name, j, st[j])
			}
		}
	}
	for i := range 200 {
		f := files[i%2]
		ws, q := s.srcset(f)
		if !slices.IsSorted(ws[:]) || slices.Compact(slices.Clone(ws[:])) == nil || len(slices.Compact(slices.Clone(ws[:]))) != ladderSteps {
			t.Fatalf("srcset widths %v not increasing and distinct", ws)
		}
		for _, w := range ws {
			v := Variant{File: f, Width: w, Quality: q}
			if seen[v] {
				t.Fatalf("srcset variant %+v was asked for before", v)
			}
			seen[v] = true
		}
	}
	if got := ladderOf(files[0]); got != [ladderSteps]int{384, 768, 1152, 1536, 1920} {
		t.Errorf("ladder of a 3840 px photo = %v, want the srcset breakpoints 384 … 1920", got)
	}
	if s.Wrapped() != 0 {
		t.Errorf("Wrapped = %d after 1,400 variants", s.Wrapped())
	}
	// Another seed starts elsewhere in the space.
	if a, b := newSpace(1).cold(files[0]), newSpace(2).cold(files[0]); a == b {
		t.Errorf("seeds 1 and 2 both start at %+v", a)
	}
}

func TestHotSet(t *testing.T) {
	files := []*File{{Name: "a.jpg", Width: 3840}, {Name: "b.png", Width: 300}}
	set := hotSet(files, 1)
	if len(set) != 2*hotSteps {
		t.Fatalf("%d hot variants, want %d", len(set), 2*hotSteps)
	}
	seen := map[Variant]bool{}
	for _, v := range set {
		if seen[v] || v.Quality != 0 || v.Width < 1 || v.Width > min(v.File.Width, hotMax) {
			t.Errorf("hot variant %+v: repeated, with a quality, or out of range", v)
		}
		seen[v] = true
	}
	if !slices.Equal(set, hotSet(files, 1)) {
		t.Errorf("hotSet is not fixed by its seed")
	}
}

// recorder server: counts requests per URI.
type hits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hits) handler(ctx *fasthttp.RequestCtx) {
	h.mu.Lock()
	h.n[string(ctx.RequestURI())]++
	h.mu.Unlock()
}

func TestHotIsZipf(t *testing.T) {
	h := &hits{n: map[string]int{}}
	srv := serve(t, h.handler)
	peer, err := NewPeerTarget("peer", srv.origin+"/resize/{w}/{file}")
	if err != nil {
		t.Fatal(err)
	}
	var files []*File
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		files = append(files, &File{Name: n + ".jpg", Format: format.JPEG, Width: 2000, Height: 1000})
	}
	e := &env{space: newSpace(1), seed: 1}
	sp, err := ParseSpec("hot:warm=off", quick())
	if err != nil {
		t.Fatal(err)
	}
	gen, err := e.generator(context.Background(), sp, peer, files)
	if err != nil {
		t.Fatal(err)
	}
	cfg := quick()
	cfg.MaxRequests = 5000
	cfg.Duration = 30 * time.Second
	m, err := Run(context.Background(), cfg, peer.Client(cfg), gen, RunOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 5000 {
		t.Fatalf("Requests = %d, want 5000", m.Requests)
	}
	counts := make([]int, 0, len(h.n))
	for _, n := range h.n {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top10 := 0
	for _, n := range counts[:10] {
		top10 += n
	}
	// Zipf(1.1) over 100 variants: the first rank has about 1/4 of the
	// requests and the first ten about 2/3; uniform would be 1/100 and 1/10.
	if share := float64(counts[0]) / 5000; share < 0.15 {
		t.Errorf("the most requested variant has %.3f of the requests, want ≥ 0.15 (Zipf 1.1 over 100)", share)
	}
	if share := float64(top10) / 5000; share < 0.5 {
		t.Errorf("the ten most requested variants have %.3f of the requests, want ≥ 0.5", share)
	}
	if len(counts) < 50 || len(counts) > 100 {
		t.Errorf("%d distinct variants requested, want most of the 100 in the set and no others", len(counts))
	}
}

// pictorLike is a real server that checks what Pictor checks of variant and
// srcset URLs, the canonical options and their signature, and records each
// variant it is asked for.
type pictorLike struct {
	t        *testing.T
	signer   *sign.Signer
	parser   *options.Parser
	mu       sync.Mutex
	variants map[string]int // canonical options + "/" + key → requests
	uploads  map[[32]byte]int
	bad      int
}

func newPictorLike(t *testing.T) *pictorLike {
	keys, _ := sign.ParseKeys(testKeys)
	cfg := sign.DefaultConfig()
	cfg.Keys = keys
	signer, _ := sign.New(cfg)
	parser, _ := options.NewParser(options.DefaultConfig())
	return &pictorLike{t: t, signer: signer, parser: parser, variants: map[string]int{}, uploads: map[[32]byte]int{}}
}

func (p *pictorLike) handler(ctx *fasthttp.RequestCtx) {
	p.mu.Lock()
	defer p.mu.Unlock()
	path := string(ctx.Path())
	fail := func(code int) {
		p.bad++
		ctx.SetStatusCode(code)
	}
	switch {
	case strings.HasPrefix(path, "/t/"), strings.HasPrefix(path, "/srcset/"):
		rest := path[strings.IndexByte(path[1:], '/')+2:]
		i := strings.LastIndexByte(rest, '/')
		o, err := p.parser.Parse(rest[:i])
		if err != nil || o.String() != rest[:i] {
			fail(fasthttp.StatusBadRequest) // not canonical
			return
		}
		key := rest[i+1:]
		if strings.HasPrefix(path, "/t/") {
			if p.signer.Verify(o, key, time.Now()) != nil {
				fail(fasthttp.StatusForbidden)
				return
			}
			p.variants[o.Unsigned().String()+"/"+key]++
			return
		}
		ws := string(ctx.QueryArgs().Peek("w"))
		if p.signer.VerifySrcset(o, key, ws, time.Now()) != nil {
			fail(fasthttp.StatusForbidden)
			return
		}
		for w := range strings.SplitSeq(ws, ",") {
			p.variants["w_"+w+","+o.Unsigned().String()+"/"+key]++
		}
	case path == "/upload":
		if string(ctx.Request.Header.Peek("Authorization")) != "Bearer "+testToken {
			fail(fasthttp.StatusUnauthorized)
			return
		}
		form, err := ctx.MultipartForm()
		if err != nil || len(form.File["file"]) != 1 {
			fail(fasthttp.StatusBadRequest)
			return
		}
		fh := form.File["file"][0]
		r, _ := fh.Open()
		data, _ := io.ReadAll(r)
		r.Close()
		// What the store would do: the bytes must decode as the image they
		// came from.
		im, err := vips.Load(data, vips.LoadOptions{})
		if err != nil {
			fail(fasthttp.StatusUnprocessableEntity)
			return
		}
		im.Close()
		sum := sha256.Sum256(data)
		p.uploads[sum]++
		ext := ".jpg"
		if bytes.HasPrefix(data, []byte("\x89PNG")) {
			ext = ".png"
		}
		ctx.SetStatusCode(fasthttp.StatusCreated)
		ctx.SetBodyString(`{"key":"` + strings.Repeat("a", 64) + ext + `"}`)
	default:
		fail(fasthttp.StatusNotFound)
	}
}

func TestPictorScenariosSignAndStayFresh(t *testing.T) {
	p := newPictorLike(t)
	tg := serve(t, p.handler)
	pictor, err := NewPictor(testKeys, 16, testToken)
	if err != nil {
		t.Fatal(err)
	}
	files := testCorpus(t)
	cl := tg.Client(quick())
	if err := tg.Upload(context.Background(), cl, pictor, files); err != nil {
		t.Fatal(err)
	}
	e := &env{pictor: pictor, space: newSpace(3), seed: 3}
	for _, kind := range []string{"cold", "srcset", "upload", "hot", "mixed"} {
		sp, err := ParseSpec(kind+":max=60,duration=10s", quick())
		if err != nil {
			t.Fatal(err)
		}
		gen, err := e.generator(context.Background(), sp, tg, files)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		m, err := Run(context.Background(), sp.Config, tg.Client(sp.Config), gen, RunOptions{KeepWork: sp.keepWork(tg)})
		if err != nil {
			t.Fatal(err)
		}
		if m.Requests != 60 || len(m.Errors) != 0 {
			t.Errorf("%s: %d requests, errors %v; want 60 and none", kind, m.Requests, m.Errors)
		}
		if kind == "cold" && len(m.Works) != 60 {
			t.Errorf("cold kept %d works of 60 requests", len(m.Works))
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bad != 0 {
		t.Errorf("%d requests were refused (unsigned, not canonical, or not an image)", p.bad)
	}
	// Cold and srcset variants are never asked for twice; hot ones (no q_)
	// are by design.
	fresh := 0
	for v, n := range p.variants {
		if strings.Contains(v, "q_") {
			fresh++
			if n != 1 {
				t.Errorf("variant %s asked for %d times", v, n)
			}
		}
	}
	if want := 60 + 60*ladderSteps; fresh < want { // cold and srcset; mixed adds some
		t.Errorf("%d fresh variants asked for, want ≥ %d", fresh, want)
	}
	uploads := 0
	for _, n := range p.uploads {
		uploads += n
		if n != 1 {
			t.Errorf("the same bytes were uploaded %d times", n)
		}
	}
	if uploads != 60+len(files) {
		t.Errorf("%d uploads, want %d", uploads, 60+len(files))
	}
}

func TestUniqueBytes(t *testing.T) {
	for _, f := range testCorpus(t) {
		if !canMakeUnique(f) {
			t.Fatalf("%s: cannot be made unique", f.Name)
		}
		a, b := uniqueBytes(nil, f, 1), uniqueBytes(nil, f, 2)
		if bytes.Equal(a, b) || bytes.Equal(a, f.Data) {
			t.Errorf("%s: copies 1 and 2 are not distinct from each other and the original", f.Name)
		}
		for _, data := range [][]byte{a, b} {
			im, err := vips.Load(data, vips.LoadOptions{})
			if err != nil {
				t.Fatalf("%s: a unique copy does not decode: %v", f.Name, err)
			}
			if im.Width() != f.Width || im.Height() != f.Height {
				t.Errorf("%s: unique copy is %dx%d", f.Name, im.Width(), im.Height())
			}
			im.Close()
			if got, err := format.Sniff(data); err != nil || got != f.Format {
				t.Errorf("%s: unique copy sniffs as %v, %v", f.Name, got, err)
			}
		}
	}
	if canMakeUnique(&File{Format: format.WebP}) {
		t.Errorf("WebP cannot be made unique by uniqueBytes")
	}
}

func TestSrcsetOnPeerAsksEachWidth(t *testing.T) {
	h := &hits{n: map[string]int{}}
	srv := serve(t, h.handler)
	peer, err := NewPeerTarget("peer", srv.origin+"/resize/{w}/{file}")
	if err != nil {
		t.Fatal(err)
	}
	files := []*File{{Name: "a.jpg", Format: format.JPEG, Width: 3840, Height: 2400}}
	e := &env{space: newSpace(5), seed: 5}
	sp, err := ParseSpec("srcset:max=10,conns=1", quick())
	if err != nil {
		t.Fatal(err)
	}
	if sp.variantsPerRequest(peer) != 1 {
		t.Errorf("a peer's srcset request makes %d variants, want 1", sp.variantsPerRequest(peer))
	}
	gen, err := e.generator(context.Background(), sp, peer, files)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Run(context.Background(), sp.Config, peer.Client(sp.Config), gen, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 10 || len(h.n) != 10 {
		t.Fatalf("%d requests for %d distinct URLs, want 10 and 10 (two srcsets of five widths)", m.Requests, len(h.n))
	}
	// Each srcset is the ladder less one offset.
	var widths []int
	for u := range h.n {
		var w int
		if _, err := fmt.Sscanf(u, "/resize/%d/a.jpg", &w); err != nil {
			t.Fatalf("URL %q", u)
		}
		widths = append(widths, w)
	}
	ladder := ladderOf(files[0])
	full := 0
	for k := range ladder[0] {
		n := 0
		for _, w := range widths {
			if slices.Contains(ladder[:], w+k) {
				n++
			}
		}
		if n == ladderSteps {
			full++
		}
	}
	if full != 2 {
		t.Errorf("widths %v hold %d whole ladders %v less an offset, want 2", widths, full, ladder)
	}
}
