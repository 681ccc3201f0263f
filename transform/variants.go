package transform

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

// Decoded is an original decoded, oriented and converted to sRGB, with its
// pixels in memory, possibly scaled down by shrink-on-load. Variants of the
// original start from it instead of decoding again. It is a handle on a
// shared image: Retain makes another, and each is released once.
type Decoded struct {
	img *vips.Image
	hdr vips.Header // the original's header, as probed
}

// Bytes is the memory the pixels take.
func (d *Decoded) Bytes() int64 { return d.img.MemoryBytes() }

// Retain returns another handle on the same pixels.
func (d *Decoded) Retain() *Decoded { return &Decoded{img: d.img.Ref(), hdr: d.hdr} }

// Release drops this handle.
func (d *Decoded) Release() { d.img.Close() }

// DecodeCache holds decoded originals by original key (cache.Decoded
// implements it). Get returns a retained handle the caller releases; Put
// takes over the handle it is given and keeps it when it is larger than
// what it holds for key.
//
// Admits reports whether a decode of n bytes could be kept at all, so that
// one too large to keep is streamed instead of copied into memory first.
type DecodeCache interface {
	Get(key string) (*Decoded, bool)
	Put(key string, d *Decoded) bool
	Admits(n int64) bool
}

// Variants makes one variant per request from the original key, whose
// bytes are src, decoding it once: at the size the largest request needs,
// or not at all when the decoded-original cache holds a decode at least
// that large. The decode is offered to the cache for later requests, and
// concurrent calls for one original wait for a single decode. A request
// served from a larger decode gets the same size and nearly the same
// pixels as one decoded on its own (the resize starts from more pixels).
//
// An error in any request fails the call. Variants is Prepare then Run.
func (p *Processor) Variants(ctx context.Context, key string, src []byte, reqs []Request) ([]Result, error) {
	w, err := p.Prepare(key, src, reqs)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx, w)
}

// Work is the variants of one original, planned from its header before
// any pixel is decoded: Prepare makes it, Bytes says what it will cost in
// memory (for admission), Run makes it.
type Work struct {
	key  string
	src  []byte
	hdr  vips.Header
	jobs []*job
	// shrink is the shrink-on-load that serves every job; needW×needH
	// the decode it gives.
	shrink       int
	needW, needH int
	// keep: the decode goes into the decoded-original cache. cached: the
	// cache held one large enough when the work was planned.
	keep, cached bool
	// reduceW×reduceH, when set: the decode is too large for the cache,
	// so it streams into a copy reduced to this size, which the cache
	// keeps and every job starts from.
	reduceW, reduceH int
	borrow           bool
	bytes            int64
	// page, all: the decode holds frame page alone, or every frame of an
	// animation (framesToDecode). Either but page 0 alone bypasses the
	// decoded-original cache, which holds first frames.
	page int
	all  bool
}

// frames reports whether w's decode is other than an original's first
// frame.
func (w *Work) frames() bool { return w.page > 0 || w.all }

// Bytes is the most memory Run is expected to hold at once, erring high
// (see estimate).
func (w *Work) Bytes() int64 { return w.bytes }

// Borrow says src is mapped memory (store.Mapping) that stays mapped until
// Run returns: it is decoded in place, not copied first. Nothing made from
// it outlives Run (a decode kept for later is a copy).
func (w *Work) Borrow() { w.borrow = true }

// Prepare reads the header of the original key (from the decoded-original
// cache when it holds a decode, else by probing src), checks the pixel
// limit and plans every request. It decodes nothing.
func (p *Processor) Prepare(key string, src []byte, reqs []Request) (*Work, error) {
	w := &Work{key: key, src: src, jobs: make([]*job, len(reqs)), shrink: 8}
	caching := p.decoded != nil && key != ""
	cachedW, cachedH := 0, 0
	if caching {
		if c, ok := p.decoded.Get(key); ok {
			w.hdr, cachedW, cachedH = c.hdr, c.img.Width(), c.img.Height()
			c.Release()
		}
	}
	if cachedW == 0 {
		h, err := p.Probe(src)
		if err != nil {
			return nil, err
		}
		w.hdr = h
	}
	for i, r := range reqs {
		j := &job{req: r, src: src, hdr: w.hdr}
		if err := p.plan(j); err != nil {
			return nil, err
		}
		w.jobs[i] = j
		w.shrink = min(w.shrink, j.shrink)
	}
	w.needW, w.needH = loadedSize(w.hdr, w.shrink)
	w.page, w.all = framesToDecode(w.jobs)
	if w.frames() {
		caching, cachedW, cachedH = false, 0, 0
	}
	w.cached = w.coveredBy(cachedW, cachedH)
	// A decode is kept for later variants only when it promises reuse:
	// several variants at once, or an original decoded recently already. A
	// stream of distinct originals then neither copies each decode into
	// memory nor flushes the cache with decodes that no request will ask
	// for again. One too large for the cache streams into a reduced copy
	// that fits it, where that copy still serves every request.
	reuse := caching && (len(reqs) > 1 || p.seen.check(key))
	switch {
	case !reuse || w.cached:
	case p.decoded.Admits(decodedBytes(w.hdr, w.needW, w.needH)):
		w.keep = true
	default:
		w.reduceW, w.reduceH = w.reducedSize(p.decoded)
		w.keep = w.reduceW > 0
	}
	w.bytes = p.estimate(w)
	return w, nil
}

// coveredBy reports whether a decode of width×height serves every job of
// w: it is at least the size each resizes to (or, for a region in source
// pixels or a trim, the whole decode w needs).
func (w *Work) coveredBy(width, height int) bool {
	if width == 0 || height == 0 {
		return false
	}
	for _, j := range w.jobs {
		// A region and a trim start from the source's own pixels.
		if j.geo.region || j.req.Options.Trim {
			if width < w.needW || height < w.needH {
				return false
			}
		} else if tw, th := j.geo.target(); width < tw || height < th {
			return false
		}
	}
	return true
}

// reducedSize is the largest whole fraction of w's decode that the cache
// admits and that still serves every job; 0×0 when none does.
func (w *Work) reducedSize(c DecodeCache) (width, height int) {
	for k := 2; k <= 64; k++ {
		width, height = (w.needW+k-1)/k, (w.needH+k-1)/k
		if !w.coveredBy(width, height) {
			return 0, 0
		}
		if c.Admits(decodedBytes(w.hdr, width, height)) {
			return width, height
		}
	}
	return 0, 0
}

// Run makes the variants w was prepared for.
func (p *Processor) Run(ctx context.Context, w *Work) ([]Result, error) {
	for _, j := range w.jobs {
		j.ctx = ctx
	}
	base, jobs, streamed, err := p.decodeOnce(ctx, w)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	if len(jobs) == 1 {
		j := jobs[0]
		j.img, j.streamed = base.Ref(), streamed
		defer func() { j.img.Close() }()
		if err := p.boxToDecode(j); err != nil {
			return nil, err
		}
		if err := p.runVariant(j); err != nil {
			return nil, err
		}
		return []Result{j.result()}, nil
	}
	// Largest first, each resized from the smallest earlier resize that
	// still covers it rather than from the decode: a srcset's 320w comes
	// from its 640w, not from a 1920 px decode. Resampling cost falls with
	// the source size, and a Lanczos3 step of 2× or less is as sharp as
	// one long step.
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ga, gb := jobs[a].geo, jobs[b].geo
		return cmp.Compare(gb.resizeW*gb.resizeH, ga.resizeW*ga.resizeH)
	})
	var resized []*vips.Image
	defer func() {
		for _, im := range resized {
			im.Close()
		}
	}()
	res := make([]Result, len(jobs))
	for _, i := range order {
		j := jobs[i]
		if j.frames > 1 {
			// A decode of every frame: each variant takes its frames
			// from it, with no resize to share.
			j.img = base.Ref()
			err := p.runVariant(j)
			if err == nil {
				res[i] = j.result()
			}
			j.img.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		from := base
		// A region and a trim start from the source's own pixels.
		shared := !j.geo.region && !j.req.Options.Trim
		if shared {
			tw, th := j.geo.target()
			for _, im := range resized {
				if im.Width() >= tw && im.Height() >= th &&
					im.Width()*im.Height() < from.Width()*from.Height() {
					from = im
				}
			}
		}
		j.img = from.Ref()
		err := j.run(p.resizeSteps)
		if err == nil && shared && j.img.Width() < from.Width() {
			var mem *vips.Image
			if mem, err = j.img.CopyMemory(); err == nil {
				j.img.Close()
				j.img = mem
				resized = append(resized, mem.Ref())
			}
		}
		if err == nil {
			err = j.run(p.finishSteps)
		}
		if err == nil {
			res[i] = j.result()
		}
		j.img.Close()
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// boxToDecode brings a cached decode that is several times larger than
// j's own decode would be down to about that size with a box filter, the
// way the decoder's shrink-on-load would have: a 400 px variant from a
// cached 1/4 decode of a 3640 px JPEG then resamples 455 px, not 910, with
// a Lanczos3 kernel half as wide. Only whole factors, and never below what
// j's own decode would give.
func (p *Processor) boxToDecode(j *job) error {
	if j.geo.region || j.frames > 1 {
		return nil // the region is in source pixels; frames are not shrunk
	}
	needW, needH := loadedSize(j.hdr, j.shrink)
	w, h := j.img.Width(), j.img.Height()
	f := min(w/needW, h/needH)
	if f < 2 {
		return nil
	}
	return j.replace(j.img.Shrink(f))
}

// decodeOnce returns the decoded original every job of w starts from, the
// jobs, and whether the decode streams (is read as it decodes, once)
// rather than sitting in memory.
func (p *Processor) decodeOnce(ctx context.Context, w *Work) (_ *vips.Image, _ []*job, streamed bool, _ error) {
	key, jobs, keep := w.key, w.jobs, w.keep
	var cached *Decoded
	if p.decoded != nil && key != "" && !w.frames() {
		cached, _ = p.decoded.Get(key)
	}
	release := func() {
		if cached != nil {
			cached.Release()
			cached = nil
		}
	}
	fits := func(d *Decoded) bool {
		return d != nil && w.coveredBy(d.img.Width(), d.img.Height())
	}
	for {
		if fits(cached) {
			img := cached.img // the handle passes to the caller
			cached = nil
			return img, jobs, false, nil
		}
		release()
		if !keep {
			break
		}
		// Either decode for everyone or wait for whoever is decoding, then
		// look again: their decode may serve this request too.
		wait, leader := p.claim(key)
		if leader {
			// Another leader may have put its decode and gone between
			// this call's first look and its claim: look once more.
			if c, _ := p.decoded.Get(key); fits(c) {
				p.unclaim(key, wait)
				cached = c
				continue
			} else if c != nil {
				c.Release()
			}
			defer p.unclaim(key, wait)
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, false, ctx.Err()
		}
		cached, _ = p.decoded.Get(key)
	}

	p.decodes.Add(1)
	j := &job{ctx: ctx, src: w.src, hdr: w.hdr, shrink: w.shrink, borrow: w.borrow, page: w.page, animated: w.all,
		rollOnly: len(jobs) == 1 && jobs[0].rollOnly}
	if err := j.run([]Step{p.load, p.orient, p.toSRGB}); err != nil {
		j.img.Close()
		return nil, nil, false, err
	}
	for _, r := range jobs {
		r.frames, r.anim = j.frames, j.anim
	}
	if !keep && len(jobs) == 1 {
		// Nothing will reuse the pixels: leave the pipeline lazy, so the
		// decode streams through the resize instead of filling memory.
		return j.img, jobs, j.streamed, nil
	}
	if w.reduceW > 0 {
		dw, dh := float64(j.img.Width()), float64(j.img.Height())
		if err := j.replace(p.resizer.Resize(ctx, j.img, float64(w.reduceW)/dw, float64(w.reduceH)/dh)); err != nil {
			j.img.Close()
			return nil, nil, false, err
		}
	}
	mem, err := j.img.CopyMemory()
	j.img.Close()
	if err != nil {
		return nil, nil, false, &DecodeError{Err: err}
	}
	if keep {
		p.decoded.Put(key, &Decoded{img: mem.Ref(), hdr: w.hdr})
	}
	if !w.frames() {
		// An original's placeholder is of its first frame, not of a
		// stack of frames or another frame.
		p.notePlaceholder(key, mem)
	}
	return mem, jobs, false, nil
}

// framesToDecode is what one decode must hold to serve jobs: the frame
// page alone, or every frame (all) when one job animates or two want
// different frames.
func framesToDecode(jobs []*job) (page int, all bool) {
	for i, j := range jobs {
		if j.animated || (i > 0 && j.page != page) {
			return 0, true
		}
		page = j.page
	}
	return page, false
}

// decodedBytes is the memory a decode of w×h pixels takes once in sRGB:
// 8 bits a band, with or without alpha.
func decodedBytes(h vips.Header, w, ht int) int64 {
	bands := int64(3)
	if h.HasAlpha {
		bands = 4
	}
	return int64(w) * int64(ht) * bands
}

// loadedSize is the oriented size of the original decoded with shrink.
func loadedSize(h vips.Header, shrink int) (w, ht int) {
	w, ht = orientedSize(h)
	switch {
	case shrink <= 1:
		return w, ht
	case h.Format == format.JPEG:
		return max(w/shrink, 1), max(ht/shrink, 1)
	case h.Format == format.WebP:
		s := 1 / float64(shrink)
		return max(int(math.Round(float64(w)*s)), 1), max(int(math.Round(float64(ht)*s)), 1)
	}
	return w, ht
}

// claim registers a decode of key. The first caller is the leader and
// must call unclaim when its decode is in the cache (or failed); the
// others get the channel to wait on.
func (p *Processor) claim(key string) (ch chan struct{}, leader bool) {
	p.decodingMu.Lock()
	defer p.decodingMu.Unlock()
	if ch, ok := p.decoding[key]; ok {
		return ch, false
	}
	ch = make(chan struct{})
	p.decoding[key] = ch
	return ch, true
}

func (p *Processor) unclaim(key string, ch chan struct{}) {
	p.decodingMu.Lock()
	delete(p.decoding, key)
	p.decodingMu.Unlock()
	close(ch)
}

// Decodes is how many times Variants and Placeholder have decoded an
// original.
func (p *Processor) Decodes() int64 { return p.decodes.Load() }

// MaxDimension is the largest output width or height this Processor makes.
func (p *Processor) MaxDimension() int { return p.cfg.MaxDimension }
