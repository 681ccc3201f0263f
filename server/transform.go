package server

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/valyala/fasthttp"
)

const (
	cacheControlImmutable = "public, max-age=31536000, immutable"
	headerContentDigest   = "Content-Digest"
	headerCache           = "X-Cache"
	headerAccelRedirect   = "X-Accel-Redirect"
	// headerDiskMiss is set by Nginx's @pictor_disk_miss location when a
	// file it was sent to had gone (nginx/pictor-files.conf.tmpl).
	headerDiskMiss = "X-Pictor-Disk-Miss"
)

// tierNames are the X-Cache values and log tiers by cache.Level, boxed
// once so that storing one in a request's user values does not allocate.
var tierNames = [...]any{0: "miss", cache.LevelMemory: "memory", cache.LevelDisk: "disk"}

// handleTransform serves GET/HEAD /t/<options>/<key>.
func (s *Server) handleTransform(ctx *fasthttp.RequestCtx, rest []byte) {
	vp, err := s.parsePath(rest)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	raw, o, key := vp.Raw, vp.Options, vp.Key
	if s.Signer.Enabled() && !s.Parser.PublicPreset(raw) {
		if err := s.Signer.Verify(o, key, s.Now()); err != nil {
			s.fail(ctx, err)
			return
		}
	}
	out := s.negotiate(ctx, o, key)
	// The variant key is made from the resolved options: the hints'
	// values as w_ and dpr_ would spell them, never the raw headers.
	o, hintVary := s.resolveHints(ctx, o)
	vkey := transform.VariantKey(o, key, out)
	if vary := joinVary(out.Vary, hintVary); vary != "" {
		ctx.Response.Header.Set(fasthttp.HeaderVary, vary)
	}
	if s.cfg.AcceptCH {
		ctx.Response.Header.Set("Accept-CH", acceptCH)
	}

	if s.Variants != nil {
		// Behind Nginx a disk hit is handed to Nginx, unless Nginx is
		// asking again because the file was gone when it opened it.
		locate := s.cfg.AccelRedirect && len(ctx.Request.Header.Peek(headerDiskMiss)) == 0
		if hit, ok := s.Variants.Lookup(key, vkey, locate); ok {
			s.writeHit(ctx, hit)
			return
		}
	}
	s.metrics.tier[0].Inc()
	ctx.SetUserValue(ctxTier, tierNames[0])

	e, err := s.variant(key, variantJob{vkey, transform.Request{Options: o, Output: out}})
	if err != nil {
		s.fail(ctx, err)
		return
	}
	s.writeVariant(ctx, e, "miss")
}

// parsePath reads "<options>/<key>" (sign.ParsePath, the one reading of a
// variant path): a missing key or one of the wrong form is 404 before any
// file system access. Copies: the options and key outlive the request
// buffer when a collapsed render goes on after its first caller has been
// answered.
func (s *Server) parsePath(rest []byte) (sign.Path, error) {
	p, err := sign.ParsePath(s.Parser, string(rest))
	if errors.Is(err, sign.ErrMalformedPath) {
		err = errNotFound
	}
	return p, err
}

// negotiate decides a request's output format and quality from the
// options, the original's format (from its key) and the request headers.
func (s *Server) negotiate(ctx *fasthttp.RequestCtx, o options.Options, key string) transform.Output {
	src, _ := format.FromKey(key)
	return transform.Negotiate(o, src, ctx.Request.Header.Peek(fasthttp.HeaderAccept), slowNetwork(&ctx.Request.Header))
}

// writeHit answers from a cache tier: the bytes, or behind Nginx for a
// disk hit, the file's internal path for Nginx to send with sendfile.
func (s *Server) writeHit(ctx *fasthttp.RequestCtx, hit cache.Hit) {
	s.metrics.tier[hit.Level].Inc()
	ctx.SetUserValue(ctxTier, tierNames[hit.Level])
	if hit.Path == "" {
		s.writeVariant(ctx, hit.Entry, tierNames[hit.Level].(string))
		return
	}
	s.setVariantHeaders(ctx, hit.Entry, "disk")
	if notModified(ctx, hit.Entry.ETag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.Response.Header.Set(headerAccelRedirect, s.cfg.AccelPrefix+"cache/"+hit.Path)
}

// variantJob is one variant to make: its cache key and what the pipeline
// is asked for.
type variantJob struct {
	vkey string
	req  transform.Request
}

// variant makes one variant of the original key, or waits for the
// identical request already making it: concurrent requests for one
// variant share one pipeline run.
func (s *Server) variant(key string, j variantJob) (*cache.Entry, error) {
	// Waiting ends at the deadline; the run goes on for the others and the
	// cache (see render).
	deadline := time.Now().Add(s.cfg.Timeout)
	wctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	e, err, _ := s.inflightVariants.Do(wctx, j.vkey, func() (*cache.Entry, error) {
		es, err := s.render(deadline, key, []variantJob{j})
		if err != nil {
			return nil, err
		}
		return es[0], nil
	})
	if err == context.DeadlineExceeded {
		err = errDeadline
	}
	return e, err
}

// render makes the variants jobs of the original key from one decode, by
// deadline, and stores each in the variant cache before anyone is
// answered: the one render-then-store of /t/, /srcset/ and eager uploads.
//
// It plans the work from the original's header and admits it to the worker
// pool by count and estimated memory before decoding anything. Callers run it in a
// goroutine of its own (see variant and cache.Group), so a deadline passing
// for the waiting clients does not stop it: libvips cannot be interrupted
// mid-operation, the run keeps its worker to the end so the queue bound
// stays honest, and its result still fills the cache.
//
// The cache's epoch is read before the original is: a render racing a
// delete of its original stores nothing (cache.Tiered.SetSince).
func (s *Server) render(deadline time.Time, key string, jobs []variantJob) ([]*cache.Entry, error) {
	// A full server says so at once, before the original is read and
	// planned (Acquire below still decides).
	if s.Workers.Full() {
		return nil, workers.ErrQueueFull
	}
	dctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var epoch uint64
	if s.Variants != nil {
		epoch = s.Variants.Epoch()
	}
	src, err := s.Originals.Map(key)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	reqs := make([]transform.Request, len(jobs))
	for i, j := range jobs {
		reqs[i] = j.req
	}
	// Planned from the header alone, so that the pool admits the work by
	// the memory it will take before any pixel is decoded.
	work, err := s.Processor.Prepare(key, src.Bytes(), reqs)
	if err != nil {
		return nil, err
	}
	if src.Mapped() {
		work.Borrow() // decoded in place, no copy
	}
	release, err := s.Workers.Acquire(dctx, work.Bytes())
	if err != nil {
		return nil, err
	}
	defer release()
	s.inflight.Add(1)
	defer s.inflight.Done()
	start := time.Now()
	res, err := s.Processor.Run(dctx, work)
	if err != nil {
		return nil, err
	}
	s.metrics.transform.Observe(time.Since(start).Seconds())
	es := make([]*cache.Entry, len(res))
	for i, r := range res {
		es[i] = cache.NewEntry(r.Body, r.Format.ContentType(), r.Width, r.Height)
		if s.Variants != nil {
			s.Variants.SetSince(key, jobs[i].vkey, es[i], epoch)
		}
	}
	return es, nil
}

// setVariantHeaders sets a finished variant's headers: immutable caching,
// the strong ETag and Content-Digest of its bytes, nosniff and X-Cache.
func (s *Server) setVariantHeaders(ctx *fasthttp.RequestCtx, e *cache.Entry, tier string) {
	h := &ctx.Response.Header
	h.Set(fasthttp.HeaderCacheControl, cacheControlImmutable)
	h.Set(fasthttp.HeaderETag, e.ETag)
	h.Set(headerContentDigest, e.Digest)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(headerCache, tier)
	h.SetContentType(e.ContentType)
}

// writeVariant answers with a finished variant and its headers (see
// setVariantHeaders).
func (s *Server) writeVariant(ctx *fasthttp.RequestCtx, e *cache.Entry, tier string) {
	s.setVariantHeaders(ctx, e, tier)
	if notModified(ctx, e.ETag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	// The entry is shared and immutable; SetBodyRaw sends it without a copy.
	ctx.Response.SetBodyRaw(e.Body)
}

// notModified reports whether If-None-Match names etag (or is *).
func notModified(ctx *fasthttp.RequestCtx, etag string) bool {
	inm := ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch)
	if len(inm) == 0 {
		return false
	}
	for len(inm) > 0 {
		var tag []byte
		if i := bytes.IndexByte(inm, ','); i >= 0 {
			tag, inm = inm[:i], inm[i+1:]
		} else {
			tag, inm = inm, nil
		}
		tag = bytes.TrimSpace(tag)
		tag = bytes.TrimPrefix(tag, []byte("W/")) // weak comparison, RFC 9110 13.1.2
		if string(tag) == "*" || string(tag) == etag {
			return true
		}
	}
	return false
}
