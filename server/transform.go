package server

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/valyala/fasthttp"
)

const (
	cacheControlImmutable = "public, max-age=31536000, immutable"
	headerContentDigest   = "Content-Digest"
	headerCache           = "X-Cache"
)

// handleTransform serves GET/HEAD /t/<options>/<key>.
func (s *Server) handleTransform(ctx *fasthttp.RequestCtx, rest []byte) {
	i := bytes.LastIndexByte(rest, '/')
	if i < 0 {
		s.fail(ctx, errNotFound)
		return
	}
	raw, key := string(rest[:i]), string(rest[i+1:])
	o, err := s.Parser.Parse(raw)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	if !store.ValidKey(key) {
		s.fail(ctx, errNotFound)
		return
	}
	if s.Signer.Enabled() && !s.Parser.PublicPreset(raw) {
		if err := s.Signer.Verify(o, key, s.Now()); err != nil {
			s.fail(ctx, err)
			return
		}
	}
	src, _ := format.FromExt(key[strings.LastIndexByte(key, '.')+1:])
	out := transform.Negotiate(o, src,
		ctx.Request.Header.Peek(fasthttp.HeaderAccept),
		bytes.Equal(ctx.Request.Header.Peek("Save-Data"), []byte("on")))
	vkey := transform.VariantKey(o, key, out)
	if out.Vary != "" {
		ctx.Response.Header.Set(fasthttp.HeaderVary, out.Vary)
	}

	if e, ok := s.lookup(vkey, key); ok {
		ctx.SetUserValue(ctxTier, "memory")
		s.metrics.tiers.WithLabelValues("memory").Inc()
		s.writeVariant(ctx, e, "memory")
		return
	}
	s.metrics.tiers.WithLabelValues("miss").Inc()
	ctx.SetUserValue(ctxTier, "miss")

	e, err := s.render(ctx, key, transform.Request{Options: o, Output: out})
	if err != nil {
		s.fail(ctx, err)
		return
	}
	if s.Memory != nil {
		s.Memory.Set(key, vkey, e)
	}
	s.writeVariant(ctx, e, "miss")
}

func (s *Server) lookup(vkey, key string) (*cache.Entry, bool) {
	if s.Memory == nil {
		return nil, false
	}
	e, ok := s.Memory.Get(vkey)
	if !ok || s.isPurged(key) {
		return nil, false
	}
	return e, true
}

// render admits the request to the work queue and runs the pipeline under
// the request deadline. The pipeline cannot be interrupted inside libvips,
// so on a deadline the client gets 503 at once while the run finishes in
// the background, still holding its worker: the queue bound stays honest.
func (s *Server) render(ctx *fasthttp.RequestCtx, key string, req transform.Request) (*cache.Entry, error) {
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	release, err := s.Workers.Acquire(dctx)
	if err != nil {
		return nil, err
	}
	type result struct {
		e   *cache.Entry
		err error
	}
	done := make(chan result, 1)
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		defer release()
		src, err := s.Store.Map(key)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer src.Close()
		start := time.Now()
		res, err := s.Processor.Process(dctx, src.Bytes(), req)
		if err != nil {
			done <- result{err: err}
			return
		}
		s.metrics.transform.Observe(time.Since(start).Seconds())
		done <- result{e: cache.NewEntry(res.Body, res.Format.ContentType(), res.Width, res.Height)}
	}()
	select {
	case r := <-done:
		return r.e, r.err
	case <-dctx.Done():
		return nil, errDeadline
	}
}

// writeVariant answers with a finished variant and the SPEC's headers.
func (s *Server) writeVariant(ctx *fasthttp.RequestCtx, e *cache.Entry, tier string) {
	h := &ctx.Response.Header
	h.Set(fasthttp.HeaderCacheControl, cacheControlImmutable)
	h.Set(fasthttp.HeaderETag, e.ETag)
	h.Set(headerContentDigest, e.Digest)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(headerCache, tier)
	h.SetContentType(e.ContentType)
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
