package server

import (
	"bytes"
	"context"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
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
	raw, o, key, err := s.variantPath(rest)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	if s.Signer.Enabled() && !s.Parser.PublicPreset(raw) {
		if err := s.Signer.Verify(o, key, s.Now()); err != nil {
			s.fail(ctx, err)
			return
		}
	}
	out := s.negotiate(ctx, o, key)
	vkey := transform.VariantKey(o, key, out)
	if out.Vary != "" {
		ctx.Response.Header.Set(fasthttp.HeaderVary, out.Vary)
	}

	if s.Cache != nil {
		// Behind Nginx a disk hit is handed to Nginx, unless Nginx is
		// asking again because the file was gone when it opened it.
		locate := s.cfg.AccelRedirect && len(ctx.Request.Header.Peek(headerDiskMiss)) == 0
		if hit, ok := s.Cache.Lookup(key, vkey, locate); ok {
			s.writeHit(ctx, hit)
			return
		}
	}
	s.metrics.tier[0].Inc()
	ctx.SetUserValue(ctxTier, tierNames[0])

	e, err := s.variant(key, vkey, transform.Request{Options: o, Output: out})
	if err != nil {
		s.fail(ctx, err)
		return
	}
	s.writeVariant(ctx, e, "miss")
}

// variantPath splits "<options>/<key>", parses the options and checks the
// key's form (404 before any file system access when it is malformed).
func (s *Server) variantPath(rest []byte) (raw string, o options.Options, key string, err error) {
	i := bytes.LastIndexByte(rest, '/')
	if i < 0 {
		return "", o, "", errNotFound
	}
	// Copies: the options and key outlive the request buffer when a
	// collapsed render goes on after its first caller has been answered.
	raw, key = string(rest[:i]), string(rest[i+1:])
	if o, err = s.Parser.Parse(raw); err != nil {
		return "", o, "", err
	}
	if !store.ValidKey(key) {
		return "", o, "", errNotFound
	}
	return raw, o, key, nil
}

// negotiate decides a request's output format and quality from the
// options, the original's format (from its key) and the request headers.
func (s *Server) negotiate(ctx *fasthttp.RequestCtx, o options.Options, key string) transform.Output {
	src, _ := format.FromKey(key)
	return transform.Negotiate(o, src,
		ctx.Request.Header.Peek(fasthttp.HeaderAccept),
		bytes.Equal(ctx.Request.Header.Peek("Save-Data"), []byte("on")))
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

// variant makes the variant vkey of the original key, or waits for the
// identical request already making it: concurrent requests for one
// variant share one pipeline run. The result enters the cache before
// anyone is answered.
func (s *Server) variant(key, vkey string, req transform.Request) (*cache.Entry, error) {
	// Waiting ends at the deadline; the run goes on for the others and the
	// cache (see render).
	deadline := time.Now().Add(s.cfg.Timeout)
	wctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	e, err, _ := s.inflightVariants.Do(wctx, vkey, func() (*cache.Entry, error) {
		es, epoch, err := s.render(deadline, key, []transform.Request{req})
		if err != nil {
			return nil, err
		}
		if s.Cache != nil {
			s.Cache.SetSince(key, vkey, es[0], epoch)
		}
		return es[0], nil
	})
	if err == context.DeadlineExceeded {
		err = errDeadline
	}
	return e, err
}

// render admits a job to the work queue and runs the pipeline for reqs,
// all from one decode of the original key, by deadline. It
// runs in its own goroutine (see variant and cache.Group), so a deadline
// passing for the waiting clients does not stop it: libvips cannot be
// interrupted mid-operation, the run keeps its worker to the end so the
// queue bound stays honest, and its result still fills the cache.
//
// epoch is the cache's epoch from before the original was read: results
// are stored with SetSince(…, epoch), so that a render racing a delete of
// its original stores nothing.
func (s *Server) render(deadline time.Time, key string, reqs []transform.Request) (_ []*cache.Entry, epoch uint64, _ error) {
	dctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	release, err := s.Workers.Acquire(dctx)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	s.inflight.Add(1)
	defer s.inflight.Done()
	if s.Cache != nil {
		epoch = s.Cache.Epoch()
	}
	src, err := s.Store.Map(key)
	if err != nil {
		return nil, 0, err
	}
	defer src.Close()
	start := time.Now()
	res, err := s.Processor.Variants(dctx, key, src.Bytes(), reqs)
	if err != nil {
		return nil, 0, err
	}
	s.metrics.transform.Observe(time.Since(start).Seconds())
	es := make([]*cache.Entry, len(res))
	for i, r := range res {
		es[i] = cache.NewEntry(r.Body, r.Format.ContentType(), r.Width, r.Height)
	}
	return es, epoch, nil
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
