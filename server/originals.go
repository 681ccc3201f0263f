package server

import (
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/valyala/fasthttp"
)

// handleOriginal serves GET/HEAD /o/<key>. Behind Nginx it answers with
// X-Accel-Redirect and no body, and Nginx sends the file with sendfile;
// without Nginx it streams the file itself.
func (s *Server) handleOriginal(ctx *fasthttp.RequestCtx, rawKey []byte) {
	key := string(rawKey)
	if !store.ValidKey(key) {
		s.fail(ctx, errNotFound)
		return
	}
	f, _ := format.FromKey(key)
	etag, digest := originalTags(key)
	h := &ctx.Response.Header
	set := func(size int64) {
		h.Set(fasthttp.HeaderCacheControl, cacheControlImmutable)
		h.Set(fasthttp.HeaderETag, etag)
		if digest != "" {
			h.Set(headerContentDigest, digest)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.SetContentType(f.ContentType())
	}
	// X-Pictor-Disk-Miss: Nginx did not find the file this process named
	// (an evicted local copy of an S3 original); send it directly.
	if s.cfg.AccelRedirect && len(ctx.Request.Header.Peek(headerDiskMiss)) == 0 {
		rel, err := s.Originals.RelPath(key)
		if err == nil {
			_, _, err = s.Originals.Stat(key)
		}
		if err != nil {
			s.fail(ctx, err)
			return
		}
		set(0)
		if notModified(ctx, etag) {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		h.Set("X-Accel-Redirect", s.cfg.AccelPrefix+rel)
		return
	}
	file, err := s.Originals.Open(key)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		s.fail(ctx, err)
		return
	}
	set(st.Size())
	if notModified(ctx, etag) {
		file.Close()
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if ctx.IsHead() {
		file.Close()
		h.SetContentLength(int(st.Size()))
		return
	}
	// fasthttp closes the file once the body is sent.
	ctx.Response.SetBodyStream(file, int(st.Size()))
}

// originalTags derives the ETag and Content-Digest of an original from its
// key, which is the hex SHA-256 of its bytes: no file read is needed. A key
// with fewer than 64 hex digits holds only part of the digest, so it gets
// an ETag but no Content-Digest.
func originalTags(key string) (etag, digest string) {
	hexPart := key[:strings.IndexByte(key, '.')]
	etag = `"` + hexPart + `"`
	if len(hexPart) == 64 {
		sum, err := hex.DecodeString(hexPart)
		if err == nil {
			digest = "sha-256=:" + base64.StdEncoding.EncodeToString(sum) + ":"
		}
	}
	return etag, digest
}

// handleDelete serves DELETE /o/<key>: the original goes, and with it every
// variant in every tier and its decode.
func (s *Server) handleDelete(ctx *fasthttp.RequestCtx, rawKey []byte) {
	if !s.authorized(ctx) {
		s.fail(ctx, errUnauthorized)
		return
	}
	key := string(rawKey)
	if !store.ValidKey(key) {
		s.fail(ctx, errNotFound)
		return
	}
	if err := s.Originals.Delete(key); err != nil {
		s.fail(ctx, err)
		return
	}
	if s.Purger != nil {
		s.Purger.Purge(key)
	}
	s.recent.remove(key)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
