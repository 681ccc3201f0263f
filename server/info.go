package server

import (
	"context"
	"encoding/json"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/valyala/fasthttp"
)

// infoResponse is the JSON metadata of an original.
type infoResponse struct {
	Key            string            `json:"key"`
	Format         string            `json:"format"`
	Width          int               `json:"width"`
	Height         int               `json:"height"`
	Bytes          int64             `json:"bytes"`
	Bands          int               `json:"bands"`
	HasAlpha       bool              `json:"has_alpha"`
	Orientation    int               `json:"orientation"`
	HasICC         bool              `json:"has_icc"`
	Pages          int               `json:"pages"`
	Interpretation string            `json:"interpretation,omitempty"`
	EXIF           map[string]string `json:"exif,omitempty"`
	// The placeholder a page can paint first (see transform.Placeholder).
	BlurHash      string `json:"blurhash"`
	DominantColor string `json:"dominant_color"`
}

// handleInfo serves GET /info/<key>: the original's header, read without
// decoding pixels, and its placeholder, computed from a decode already
// made or else from the smallest decode its format allows.
func (s *Server) handleInfo(ctx *fasthttp.RequestCtx, rawKey []byte) {
	if !s.authorized(ctx) {
		s.fail(ctx, errUnauthorized)
		return
	}
	key := string(rawKey)
	if !store.ValidKey(key) {
		s.fail(ctx, errNotFound)
		return
	}
	src, err := s.Originals.Map(key)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	defer src.Close()
	h, err := s.Processor.Probe(src.Bytes())
	if err != nil {
		s.fail(ctx, err)
		return
	}
	ph, err := s.placeholder(key, src.Bytes())
	if err != nil {
		s.fail(ctx, err)
		return
	}
	body, _ := json.Marshal(infoResponse{
		BlurHash: ph.BlurHash, DominantColor: ph.Color,
		Key: key, Format: h.Format.String(), Width: h.Width, Height: h.Height,
		Bytes: int64(len(src.Bytes())), Bands: h.Bands, HasAlpha: h.HasAlpha,
		Orientation: h.Orientation, HasICC: h.HasICC, Pages: h.Pages,
		Interpretation: h.Interpretation, EXIF: h.EXIF,
	})
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "private, no-cache")
	ctx.SetBody(append(body, '\n'))
}

// placeholder returns the placeholder of the original key whose bytes are
// src: remembered by the pipeline, or computed under a worker, since it
// may decode.
func (s *Server) placeholder(key string, src []byte) (transform.Placeholder, error) {
	if ph, ok := s.Processor.CachedPlaceholder(key); ok {
		return ph, nil
	}
	need, err := s.Processor.PlaceholderBytes(src)
	if err != nil {
		return transform.Placeholder{}, err
	}
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	release, err := s.Workers.Acquire(dctx, need)
	if err != nil {
		return transform.Placeholder{}, err
	}
	defer release()
	return s.Processor.Placeholder(dctx, key, src)
}
