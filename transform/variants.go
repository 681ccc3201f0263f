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
// An error in any request fails the call.
func (p *Processor) Variants(ctx context.Context, key string, src []byte, reqs []Request) ([]Result, error) {
	return p.variants(ctx, key, src, reqs, false)
}

// VariantsMapped is Variants for an original whose bytes are mapped into
// memory outside the Go heap (store.Mapping) and stay mapped until it
// returns: they are decoded in place, not copied first. Nothing made from
// them outlives the call (a decode kept for later is a copy).
func (p *Processor) VariantsMapped(ctx context.Context, key string, src []byte, reqs []Request) ([]Result, error) {
	return p.variants(ctx, key, src, reqs, true)
}

func (p *Processor) variants(ctx context.Context, key string, src []byte, reqs []Request, borrow bool) ([]Result, error) {
	base, jobs, streamed, err := p.decodeOnce(ctx, key, src, reqs, borrow)
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
		if err := j.run(p.variant); err != nil {
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
	if j.geo.region {
		return nil // the region is in source pixels
	}
	needW, needH := loadedSize(j.hdr, j.shrink)
	w, h := j.img.Width(), j.img.Height()
	f := min(w/needW, h/needH)
	if f < 2 {
		return nil
	}
	return j.replace(j.img.Shrink(f))
}

// decodeOnce plans every request and returns the decoded original they
// all start from, their jobs, and whether the decode streams (is read as
// it decodes, once) rather than sitting in memory.
func (p *Processor) decodeOnce(ctx context.Context, key string, src []byte, reqs []Request, borrow bool) (_ *vips.Image, _ []*job, streamed bool, _ error) {
	caching := p.decoded != nil && key != ""
	var cached *Decoded
	if caching {
		cached, _ = p.decoded.Get(key)
	}
	release := func() {
		if cached != nil {
			cached.Release()
			cached = nil
		}
	}
	var hdr vips.Header
	if cached != nil {
		hdr = cached.hdr
	} else {
		h, err := p.Probe(src)
		if err != nil {
			return nil, nil, false, err
		}
		hdr = h
	}
	jobs := make([]*job, len(reqs))
	shrink := 8
	for i, r := range reqs {
		j := &job{ctx: ctx, req: r, src: src, hdr: hdr}
		if err := p.plan(j); err != nil {
			release()
			return nil, nil, false, err
		}
		jobs[i] = j
		shrink = min(shrink, j.shrink)
	}
	needW, needH := loadedSize(hdr, shrink)
	// A decode is kept for later variants only when it fits the cache and
	// promises reuse: several variants at once, or an original decoded
	// recently already. A stream of distinct originals then neither copies
	// each decode into memory nor flushes the cache with decodes that no
	// request will ask for again.
	keep := caching && p.decoded.Admits(decodedBytes(hdr, needW, needH)) &&
		(len(reqs) > 1 || p.seen.check(key))

	fits := func(d *Decoded) bool {
		return d != nil && d.img.Width() >= needW && d.img.Height() >= needH
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
	j := &job{ctx: ctx, src: src, hdr: hdr, shrink: shrink, borrow: borrow}
	if err := j.run([]Step{p.load, p.orient, p.toSRGB}); err != nil {
		j.img.Close()
		return nil, nil, false, err
	}
	if !keep && len(reqs) == 1 {
		// Nothing will reuse the pixels: leave the pipeline lazy, so the
		// decode streams through the resize instead of filling memory.
		return j.img, jobs, j.streamed, nil
	}
	mem, err := j.img.CopyMemory()
	j.img.Close()
	if err != nil {
		return nil, nil, false, &DecodeError{Err: err}
	}
	if keep {
		p.decoded.Put(key, &Decoded{img: mem.Ref(), hdr: hdr})
	}
	p.notePlaceholder(key, mem)
	return mem, jobs, false, nil
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
