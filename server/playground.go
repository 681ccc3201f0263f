package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/valyala/fasthttp"
)

// The playground (docs/playground.md) is a page on the admin listener:
// plain HTML, CSS and JavaScript embedded in the binary, so it needs no
// build step and no network beyond this listener. Its API answers only
// with an upload token. The public routes it uses (/files/ for resumable
// uploads, /upload, /t/, /srcset/, /o/) are reached under /playground/ on the same listener, handed to the
// public handler in-process: the page stays same-origin (no CORS, and the
// Resource Timing of each answer, its time to first byte, is readable),
// and each route keeps its own checks, so the proxy grants nothing the
// public listener does not.

//go:embed playground
var playgroundFiles embed.FS

// playgroundTypes are the embedded files' types, by extension.
var playgroundTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// playgroundCSP keeps the page to its own listener: no CDN, no inline
// script; blob: for the result images the page fetches itself.
const playgroundCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Playground API limits: a sign request is a key and an option string; a
// page of originals is a screenful of thumbnails.
const (
	maxSignBody      = 16 << 10
	defaultPageItems = 24
	maxPageItems     = 100
)

// The playground API's refusals, all 400.
var (
	errSignBody = errors.New(`want a JSON body {"key": "<original key>", "options": "<options>", "widths": "320,640,…"}`)
	errSignKey  = errors.New(`"key" is not an original's key`)
	errCursor   = errors.New("before is not a cursor from next")
	errLimit    = errors.New("limit is not an integer in 1..100")
)

// playground serves GET /playground and everything under /playground/.
func (s *Server) playground(ctx *fasthttp.RequestCtx, rest string) {
	switch {
	case rest == "" || rest == "/":
		s.playgroundFile(ctx, "index.html")
	case rest == "/playground.js" || rest == "/playground.css":
		s.playgroundFile(ctx, rest[1:])
	case rest == "/api/config":
		if s.playgroundAuth(ctx, fasthttp.MethodGet) {
			s.playgroundConfig(ctx)
		}
	case rest == "/api/originals":
		if s.playgroundAuth(ctx, fasthttp.MethodGet) {
			s.playgroundOriginals(ctx)
		}
	case rest == "/sign":
		if s.playgroundAuth(ctx, fasthttp.MethodPost) {
			s.playgroundSign(ctx)
		}
	case rest == "/upload", strings.HasPrefix(rest, "/t/"), strings.HasPrefix(rest, "/srcset/"), strings.HasPrefix(rest, "/o/"),
		rest == "/files", strings.HasPrefix(rest, "/files/"):
		s.playgroundProxy(ctx, rest)
	default:
		s.fail(ctx, errNotFound)
	}
}

func (s *Server) playgroundFile(ctx *fasthttp.RequestCtx, name string) {
	m := ctx.Method()
	if !bytes.Equal(m, methodGet) && !bytes.Equal(m, methodHead) {
		s.methodNotAllowed(ctx, "GET, HEAD")
		return
	}
	b, err := playgroundFiles.ReadFile("playground/" + name)
	if err != nil {
		s.fail(ctx, errNotFound)
		return
	}
	h := &ctx.Response.Header
	h.SetContentType(playgroundTypes[path.Ext(name)])
	h.Set("Content-Security-Policy", playgroundCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	ctx.SetBody(b)
}

// playgroundAuth checks the method and the bearer token; on refusal it has
// answered.
func (s *Server) playgroundAuth(ctx *fasthttp.RequestCtx, method string) bool {
	if string(ctx.Method()) != method {
		s.methodNotAllowed(ctx, method)
		return false
	}
	if !s.authorized(ctx) {
		s.fail(ctx, errUnauthorized)
		return false
	}
	return true
}

type playgroundConfig struct {
	Options        []options.Field `json:"options"`
	Signing        bool            `json:"signing"`
	PresetsOnly    bool            `json:"presets_only"`
	MaxUploadBytes int64           `json:"max_upload_bytes"`
	// Tus says whether resumable uploads (/files/) are on; the page
	// falls back to POST /upload without them.
	Tus          bool   `json:"tus"`
	MaxLayers    int    `json:"max_layers"`
	SrcsetWidths []int  `json:"srcset_widths"`
	PublicURL    string `json:"public_url"`
}

// playgroundConfig answers GET /playground/api/config: the grammar as the
// form builds its controls from it, and the settings the page needs.
func (s *Server) playgroundConfig(ctx *fasthttp.RequestCtx) {
	widths, _, err := SrcsetWidths("", s.Parser)
	if err != nil {
		widths = nil // presets-only: no srcset
	}
	writeJSON(ctx, fasthttp.StatusOK, playgroundConfig{
		Options: s.Parser.Describe(), Signing: s.Signer.Enabled(), PresetsOnly: s.Parser.PresetsOnly(),
		MaxUploadBytes: s.cfg.MaxUploadBytes, Tus: s.tus != nil, MaxLayers: options.MaxLayers, SrcsetWidths: widths,
		PublicURL: s.cfg.PublicURL,
	})
}

type playgroundOriginal struct {
	recentItem
	// Thumb is a signed /t/ path of a small variant, empty when the
	// parser refuses it (presets-only mode, or an allow-list without a
	// small width).
	Thumb string `json:"thumb,omitempty"`
}

type playgroundPage struct {
	Items []playgroundOriginal `json:"items"`
	// Next is the cursor of the next page (?before=), 0 after the last.
	Next uint64 `json:"next"`
}

// thumbWidth is the recent originals' thumbnail width in CSS pixels, or
// the first allowed width above it.
const thumbWidth = 160

// playgroundOriginals answers GET /playground/api/originals?before=&limit=:
// the originals this process stored last, newest first.
func (s *Server) playgroundOriginals(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	var before uint64
	if b := args.Peek("before"); len(b) > 0 {
		n, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil {
			s.fail(ctx, errCursor)
			return
		}
		before = n
	}
	limit := defaultPageItems
	if l := args.Peek("limit"); len(l) > 0 {
		n, err := strconv.Atoi(string(l))
		if err != nil || n < 1 || n > maxPageItems {
			s.fail(ctx, errLimit)
			return
		}
		limit = n
	}
	items, next := s.recent.page(before, limit)
	thumbOpts := "w_" + strconv.Itoa(s.thumbWidth()) + ",c_limit"
	o, thumbErr := s.Parser.Parse(thumbOpts)
	page := playgroundPage{Items: make([]playgroundOriginal, len(items)), Next: next}
	for i, it := range items {
		page.Items[i].recentItem = it
		if thumbErr == nil {
			page.Items[i].Thumb, _ = s.Signer.VariantPath(s.Parser, thumbOpts, o, it.Key)
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, page)
}

func (s *Server) thumbWidth() int {
	for _, w := range s.allowedWidths {
		if w >= thumbWidth {
			return w
		}
	}
	if n := len(s.allowedWidths); n > 0 {
		return s.allowedWidths[n-1]
	}
	return thumbWidth
}

type signRequest struct {
	Key     string `json:"key"`
	Options string `json:"options"`
	Widths  string `json:"widths"`
}

type signResponse struct {
	// Options is the canonical form of what was asked, unsigned.
	Options string `json:"options"`
	// Path is the signed /t/ path.
	Path string `json:"path"`
	// Srcset is the signed /srcset/ path of the same options without
	// their size (w_, h_, dpr_), which a srcset takes from its widths;
	// SrcsetError says why there is none.
	Srcset      string `json:"srcset,omitempty"`
	SrcsetError string `json:"srcset_error,omitempty"`
}

// playgroundSign answers POST /playground/sign: the server parses the
// options as a URL's, so the page shows the canonical form and the
// parser's own refusal, and signs them with the configured key.
func (s *Server) playgroundSign(ctx *fasthttp.RequestCtx) {
	var req signRequest
	body, err := readSmallBody(ctx, maxSignBody)
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		if !errors.Is(err, errTooLarge) {
			err = errSignBody
		}
		s.fail(ctx, err)
		return
	}
	if !store.ValidKey(req.Key) {
		s.fail(ctx, errSignKey)
		return
	}
	o, err := s.Parser.Parse(req.Options)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	o.Signature = ""
	p, err := s.Signer.VariantPath(s.Parser, req.Options, o, req.Key)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	resp := signResponse{Options: o.String(), Path: p}
	so := o
	so.Width, so.WidthAuto, so.WidthFallback, so.Height, so.DPR, so.DPRAuto = 0, false, 0, 0, 0, false
	_, canon, err := SrcsetWidths(req.Widths, s.Parser)
	if err == nil {
		err = srcsetOptions(so)
	}
	if err == nil {
		resp.Srcset, err = s.Signer.SrcsetPath(so, req.Key, canon)
	}
	if err != nil {
		resp.Srcset, resp.SrcsetError = "", classify(err).msg
	}
	writeJSON(ctx, fasthttp.StatusOK, resp)
}

// playgroundProxy hands a public route, under /playground/ on the admin
// listener, to the public handler. Nginx is not in front here, so a disk
// hit or an original is answered with its bytes, never X-Accel-Redirect.
func (s *Server) playgroundProxy(ctx *fasthttp.RequestCtx, rest string) {
	ctx.Request.URI().SetPath(rest)
	ctx.Request.Header.Set(headerDiskMiss, "1")
	s.public.Handler(ctx)
}

// readSmallBody reads a request body of at most limit bytes, streamed or
// not.
func readSmallBody(ctx *fasthttp.RequestCtx, limit int64) ([]byte, error) {
	if cl := ctx.Request.Header.ContentLength(); cl > int(limit) {
		return nil, errTooLarge
	}
	r := ctx.RequestBodyStream()
	if r == nil {
		return ctx.Request.Body(), nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, errBadRequest
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, _ := json.Marshal(v)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(append(body, '\n'))
}
