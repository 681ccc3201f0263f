package harness

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/valyala/fasthttp"
)

// Scenario kinds.
const (
	Cold   = "cold"   // every request a variant not asked for before
	Srcset = "srcset" // five widths of each original
	Hot    = "hot"    // Zipf over a fixed set of variants, warmed first
	Mixed  = "mixed"  // 90% hot, 10% cold
	Upload = "upload" // POST /upload of originals made unique per request
	// Distinct: every request a different original, copies of one photo
	// with the same pixels and different bytes, at one width.
	Distinct = "distinct"
	// Widths: one original at a span of widths, each asked for once.
	Widths = "widths"
)

// Kinds lists the scenario kinds in the order a default run measures them.
var Kinds = []string{Cold, Srcset, Hot, Mixed, Upload}

// PeerKinds are the kinds that set Pictor beside a peer: each target gets
// the same requests in the same order, and each request asks for a
// transform no earlier request of the run asked for. They need a fresh
// server: variants a server made in an earlier run would be cache hits.
var PeerKinds = []string{Distinct, Widths}

// zipfS is the Zipf exponent of the hot scenario, the one the memory
// tier's own benchmark uses. Web proxy traces show somewhat flatter
// popularity (0.64–0.83 in Breslau et al., "Web caching and Zipf-like
// distributions", INFOCOM 1999), so 1.1 is on the side that favours a
// cache.
const zipfS = 1.1

// mixedCold is the share of cold requests in the mixed scenario.
const mixedCold = 0.10

// srcsetVariants is how many variants one Pictor srcset request makes.
const srcsetVariants = ladderSteps

// Spec is one scenario to run: its kind, its load, the targets and
// originals it uses, and the checks made on its results.
type Spec struct {
	Kind string
	// Name is the scenario's name in the results; default Kind. Two specs
	// of one kind need two names (cold, cold-jpeg).
	Name    string
	Targets []string        // target labels; empty: every target the kind fits
	Formats []format.Format // originals of these formats only; empty: all
	Config  Config
	// Warm asks for every hot variant once before a hot or mixed run (a
	// Pictor target renders them from one decode per original first). Off
	// for a server that keeps nothing, where it would only cost time.
	Warm bool
	// MinRPS, when above 0, adds a check that the result's successful
	// requests per second reach it.
	MinRPS float64
	// MaxRSS, when above 0, adds a check that the peak RSS of the process
	// group RSSProc stays below it, in bytes.
	MaxRSS  int64
	RSSProc string

	// The peer kinds' settings (ParseSpec fills in their defaults):
	File    string        // the original, a name in the corpus
	Width   int           // distinct: the width asked for
	Quality int           // the quality asked for, explicitly, of both sides
	Out     format.Format // the output format; Unknown keeps the original's
	Copies  int           // distinct: how many copies of File
	// WidthLo and WidthHi bound the widths kind's widths, both included.
	WidthLo, WidthHi int
	// MinRatio, when above 0, adds a check that Pictor's successful
	// requests per second are at least this many times the peer's.
	MinRatio float64
	// MaxRSSRatio, when above 0, adds a check that Pictor's peak RSS is at
	// most this many times the peer's.
	MaxRSSRatio float64
	// MaxFloorRatio, when above 0, adds a check that Pictor's CPU per
	// request is at most this many times the libvips floor's (floor.go),
	// when the floor was measured.
	MaxFloorRatio float64
}

// label is the scenario's name in the results.
func (s Spec) label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Kind
}

// fits reports whether s's kind can run against t: uploads need Pictor's
// API.
func (s Spec) fits(t *Target) bool { return s.Kind != Upload || t.IsPictor() }

// keepWork reports whether a run of s on t keeps its work for the
// in-process baseline: cold runs against Pictor.
func (s Spec) keepWork(t *Target) bool { return s.Kind == Cold && t.IsPictor() }

// variantsPerRequest is how many variants one request of s on t makes.
func (s Spec) variantsPerRequest(t *Target) int {
	if s.Kind == Srcset && t.IsPictor() {
		return srcsetVariants
	}
	return 1
}

// env is what every generator of one invocation shares.
type env struct {
	pictor *Pictor
	space  *space
	seed   uint64
	corpus string  // the corpus directory, a peer's root
	all    []*File // the whole corpus
	stderr io.Writer
	// pools are the peer kinds' requests, per scenario: made once, so that
	// every target gets the same ones in the same order.
	pools map[string]*peerPool
	// upload numbers every uploaded copy, so that no two are the same
	// bytes in this invocation or (random start) another.
	upload atomic.Uint64
}

// rotation hands out originals round-robin.
type rotation struct {
	files []*File
	n     atomic.Uint64
}

func (r *rotation) next() *File {
	return r.files[(r.n.Add(1)-1)%uint64(len(r.files))]
}

// coldGen asks for a fresh variant per request.
type coldGen struct {
	env   *env
	t     *Target
	files rotation
}

func (g *coldGen) Next(_ *Worker, req *fasthttp.Request) Work {
	v := g.env.space.cold(g.files.next())
	req.SetRequestURI(g.t.VariantURL(g.env.pictor, v))
	return Work{File: v.File, Options: v.Options().String()}
}

// srcsetGen asks Pictor for five fresh widths in one request, and a peer
// for the same five widths in five requests (kept per worker, in order).
type srcsetGen struct {
	env   *env
	t     *Target
	files rotation
}

func (g *srcsetGen) Next(w *Worker, req *fasthttp.Request) Work {
	if g.t.IsPictor() {
		f := g.files.next()
		widths, q := g.env.space.srcset(f)
		req.SetRequestURI(g.t.SrcsetURL(g.env.pictor, f, q, widths[:]))
		return Work{}
	}
	pending, _ := w.State.([]Variant)
	if len(pending) == 0 {
		f := g.files.next()
		widths, q := g.env.space.srcset(f)
		for _, wd := range widths {
			pending = append(pending, Variant{File: f, Width: wd, Quality: q})
		}
	}
	v := pending[0]
	w.State = pending[1:]
	req.SetRequestURI(g.t.VariantURL(g.env.pictor, v))
	return Work{File: v.File, Options: v.Options().String()}
}

// hotGen draws from a fixed set of variant URLs, rank r with probability
// proportional to 1/(r+1)^zipfS.
type hotGen struct {
	urls []string
}

// zipfState is a worker's own Zipf sampler (rand.Zipf is not safe for
// concurrent use).
type zipfState struct{ z *rand.Zipf }

func (g *hotGen) draw(w *Worker) int {
	st, ok := w.State.(*zipfState)
	if !ok {
		st = &zipfState{z: rand.NewZipf(w.Rand, zipfS, 1, uint64(len(g.urls)-1))}
		w.State = st
	}
	return int(st.z.Uint64())
}

func (g *hotGen) Next(w *Worker, req *fasthttp.Request) Work {
	req.SetRequestURI(g.urls[g.draw(w)])
	return Work{}
}

// mixedGen is hot with a share of cold.
type mixedGen struct {
	hot  *hotGen
	cold *coldGen
}

func (g *mixedGen) Next(w *Worker, req *fasthttp.Request) Work {
	if w.Rand.Float64() < mixedCold {
		return g.cold.Next(w, req)
	}
	return g.hot.Next(w, req)
}

// uploadGen posts originals, each made unique.
type uploadGen struct {
	env   *env
	t     *Target
	files rotation
}

// uploadState is a worker's body buffer, reused from request to request.
type uploadState struct{ buf []byte }

func (g *uploadGen) Next(w *Worker, req *fasthttp.Request) Work {
	st, ok := w.State.(*uploadState)
	if !ok {
		st = &uploadState{}
		w.State = st
	}
	f := g.files.next()
	b := append(st.buf[:0], multipartHead(f.Name, f.Format.ContentType())...)
	b = uniqueBytes(b, f, g.env.upload.Add(1))
	b = append(b, multipartTail...)
	st.buf = b
	g.t.setUpload(req, g.env.pictor, b)
	return Work{}
}

// generator builds the generator of spec on t over files, after any
// preparation the kind needs (warming the hot set).
func (e *env) generator(ctx context.Context, s Spec, t *Target, files []*File) (Generator, error) {
	switch s.Kind {
	case Cold:
		return &coldGen{env: e, t: t, files: rotation{files: files}}, nil
	case Srcset:
		return &srcsetGen{env: e, t: t, files: rotation{files: files}}, nil
	case Hot, Mixed:
		hot, err := e.hotGen(ctx, s, t, files)
		if err != nil || s.Kind == Hot {
			return hot, err
		}
		return &mixedGen{hot: hot, cold: &coldGen{env: e, t: t, files: rotation{files: files}}}, nil
	case Distinct, Widths:
		return e.poolGen(ctx, s, t)
	case Upload:
		var up []*File
		for _, f := range files {
			if canMakeUnique(f) {
				up = append(up, f)
			}
		}
		if len(up) == 0 {
			return nil, fmt.Errorf("%w: upload needs JPEG or PNG originals", ErrNoCorpus)
		}
		return &uploadGen{env: e, t: t, files: rotation{files: up}}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrScenario, s.Kind)
}

// hotGen builds the hot set's URLs for t and, if s.Warm, asks for each
// once, so that the measured part finds them cached.
func (e *env) hotGen(ctx context.Context, s Spec, t *Target, files []*File) (*hotGen, error) {
	set := hotSet(files, e.seed)
	g := &hotGen{urls: make([]string, len(set))}
	for i, v := range set {
		g.urls[i] = t.VariantURL(e.pictor, v)
	}
	if !s.Warm {
		return g, nil
	}
	client := t.Client(s.Config)
	defer client.CloseIdleConnections()
	// One warming request per core: more would only wait in the server's
	// queue, and a long wait there runs into its request deadline (503).
	conns := min(s.Config.Connections, runtime.NumCPU())
	// Pictor makes each original's hot widths from one decode in a srcset
	// request: a fraction of the CPU of asking for each on its own. That
	// needs signing on (an unsigned srcset has no options segment).
	if t.IsPictor() && e.pictor.signer != nil {
		var urls []string
		for _, f := range files {
			var ws []int
			for _, v := range set {
				if v.File == f {
					ws = append(ws, v.Width)
				}
			}
			urls = append(urls, t.origin+e.pictor.srcsetPath(options.Options{}, t.key(f), ws))
		}
		if err := getAll(ctx, client, urls, conns); err != nil {
			return nil, fmt.Errorf("harness: warming %s on %s: %w", s.label(), t.Label, err)
		}
	}
	if err := getAll(ctx, client, g.urls, conns); err != nil {
		return nil, fmt.Errorf("harness: warming %s on %s: %w", s.label(), t.Label, err)
	}
	return g, nil
}

// getAll GETs every URL once, conns at a time, and fails on the first
// answer that is not 200.
func getAll(ctx context.Context, c Doer, urls []string, conns int) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range max(1, conns) {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(urls) {
					return
				}
				req.SetRequestURI(urls[i])
				err := c.Do(req, resp)
				if err == nil && resp.StatusCode() != fasthttp.StatusOK {
					err = fmt.Errorf("GET %s: status %d: %.200s", urls[i], resp.StatusCode(), resp.Body())
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
