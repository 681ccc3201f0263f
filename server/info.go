package server

import (
	"encoding/json"

	"github.com/pictorhq/pictor/store"
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
}

// handleInfo serves GET /info/<key>: the original's header, read without
// decoding pixels.
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
	body, _ := json.Marshal(infoResponse{
		Key: key, Format: h.Format.String(), Width: h.Width, Height: h.Height,
		Bytes: int64(len(src.Bytes())), Bands: h.Bands, HasAlpha: h.HasAlpha,
		Orientation: h.Orientation, HasICC: h.HasICC, Pages: h.Pages,
		Interpretation: h.Interpretation, EXIF: h.EXIF,
	})
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "private, no-cache")
	ctx.SetBody(append(body, '\n'))
}
