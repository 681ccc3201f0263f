package server

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/valyala/fasthttp"
)

// defaultSrcsetWidths are the widths of a srcset request without ?w=: the
// common breakpoints from phone to large desktop.
var defaultSrcsetWidths = []int{320, 640, 960, 1280, 1920}

// maxSrcsetWidths bounds one srcset request: each width is a variant made
// and stored, so the list is the request's cost.
const maxSrcsetWidths = 10

type srcsetVariant struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int    `json:"bytes"`
	Digest string `json:"digest"`
}

type srcsetResponse struct {
	Key      string          `json:"key"`
	Variants []srcsetVariant `json:"variants"`
	Srcset   string          `json:"srcset"`
	// The original's placeholder, for the page to paint first.
	BlurHash      string `json:"blurhash"`
	DominantColor string `json:"dominant_color"`
}

// handleSrcset serves GET/HEAD /srcset/<options>/<key>?w=320,640,…: the
// variants of one original at several widths, made from one decode, as
// JSON with each variant's signed URL, size, bytes and digest, and a ready
// srcset attribute. The width list is part of what is signed, so a signed
// srcset URL cannot mint signed variant URLs for other widths.
func (s *Server) handleSrcset(ctx *fasthttp.RequestCtx, rest []byte) {
	vp, widths, err := s.srcsetRequest(ctx, rest)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	items, err := s.srcsetItems(ctx, vp, widths)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	if err := s.fillSrcset(vp.Key, items); err != nil {
		s.fail(ctx, err)
		return
	}
	ph, err := s.srcsetPlaceholder(vp.Key)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	writeSrcset(ctx, vp.Key, items, ph)
}

// srcsetItem is one width of a srcset: its URL, its variant and, once
// found in the cache or made, its entry.
type srcsetItem struct {
	url string
	job variantJob
	e   *cache.Entry
}

// srcsetRequest reads and checks the request: the path, the widths, the
// options a srcset allows, the signature over all of them.
func (s *Server) srcsetRequest(ctx *fasthttp.RequestCtx, rest []byte) (sign.Path, []int, error) {
	vp, err := s.parsePath(rest)
	if err != nil {
		return vp, nil, err
	}
	// The widths first: in presets-only mode that refusal is the one
	// that explains.
	widths, canon, err := SrcsetWidths(string(ctx.QueryArgs().Peek("w")), s.Parser)
	if err != nil {
		return vp, nil, err
	}
	if err := srcsetOptions(vp.Options); err != nil {
		return vp, nil, err
	}
	if s.Signer.Enabled() {
		if err := s.Signer.VerifySrcset(vp.Options, vp.Key, canon, s.Now()); err != nil {
			return vp, nil, err
		}
	}
	return vp, widths, nil
}

// srcsetItems lists the variant of each width, with its URL, and takes
// those the cache holds from it.
func (s *Server) srcsetItems(ctx *fasthttp.RequestCtx, vp sign.Path, widths []int) ([]srcsetItem, error) {
	items := make([]srcsetItem, len(widths))
	for n, w := range widths {
		vo := vp.Options
		vo.Width, vo.Signature = w, ""
		out := s.negotiate(ctx, vo, vp.Key)
		if n == 0 && out.Vary != "" {
			ctx.Response.Header.Set(fasthttp.HeaderVary, out.Vary)
		}
		url, err := s.Signer.VariantPath(s.Parser, "", vo, vp.Key)
		if err != nil {
			return nil, err
		}
		it := srcsetItem{url: url, job: variantJob{transform.VariantKey(vo, vp.Key, out), transform.Request{Options: vo, Output: out}}}
		if s.Variants != nil {
			if hit, ok := s.Variants.Lookup(vp.Key, it.job.vkey, false); ok {
				it.e = hit.Entry
			}
		}
		items[n] = it
	}
	return items, nil
}

// fillSrcset makes the variants the cache did not hold, from one decode.
func (s *Server) fillSrcset(key string, items []srcsetItem) error {
	var missing []int
	var jobs []variantJob
	for n, it := range items {
		if it.e == nil {
			missing = append(missing, n)
			jobs = append(jobs, it.job)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	es, err := s.render(time.Now().Add(s.cfg.Timeout), key, jobs)
	if err != nil {
		return err
	}
	for m, n := range missing {
		items[n].e = es[m]
	}
	return nil
}

// srcsetPlaceholder is the original's placeholder: usually computed by the
// render that just made the variants, from its decode; else read here.
func (s *Server) srcsetPlaceholder(key string) (transform.Placeholder, error) {
	if ph, ok := s.Processor.CachedPlaceholder(key); ok {
		return ph, nil
	}
	src, err := s.Originals.Map(key)
	if err != nil {
		return transform.Placeholder{}, err
	}
	defer src.Close()
	return s.placeholder(key, src.Bytes())
}

// writeSrcset answers with the JSON listing and the srcset attribute.
func writeSrcset(ctx *fasthttp.RequestCtx, key string, items []srcsetItem, ph transform.Placeholder) {
	resp := srcsetResponse{Key: key, Variants: make([]srcsetVariant, 0, len(items)), BlurHash: ph.BlurHash, DominantColor: ph.Color}
	var set strings.Builder
	seen := make(map[int]bool)
	for _, it := range items {
		// c_limit and friends can give two widths the same result; a srcset
		// lists each width descriptor once.
		if seen[it.e.Width] {
			continue
		}
		seen[it.e.Width] = true
		resp.Variants = append(resp.Variants, srcsetVariant{
			URL: it.url, Width: it.e.Width, Height: it.e.Height, Bytes: len(it.e.Body), Digest: it.e.Digest,
		})
		if set.Len() > 0 {
			set.WriteString(", ")
		}
		set.WriteString(it.url + " " + strconv.Itoa(it.e.Width) + "w")
	}
	resp.Srcset = set.String()
	body, _ := json.Marshal(resp)
	h := &ctx.Response.Header
	h.SetContentType("application/json")
	// The listing names immutable variants, but a later render of one may
	// differ in its last bits (it may start from another decode), so it is
	// cached for an hour rather than forever.
	h.Set(fasthttp.HeaderCacheControl, "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(append(body, '\n'))
}

// srcsetOptions refuses options that fight the width list.
func srcsetOptions(o options.Options) error {
	switch {
	case o.Width != 0:
		return &options.Error{Option: "w", Value: strconv.Itoa(o.Width), Reason: "a srcset takes its widths from ?w="}
	case o.WidthAuto:
		return &options.Error{Option: "w", Value: "auto", Reason: "a srcset takes its widths from ?w="}
	case o.DPRAuto:
		return &options.Error{Option: "dpr", Value: "auto", Reason: "not allowed in a srcset, whose widths are in device pixels"}
	case o.Height != 0:
		return &options.Error{Option: "h", Value: strconv.Itoa(o.Height), Reason: "not allowed in a srcset, whose variants keep the aspect ratio"}
	case o.DPR != 0:
		return &options.Error{Option: "dpr", Value: strconv.FormatFloat(o.DPR, 'f', -1, 64), Reason: "not allowed in a srcset, whose widths are in device pixels"}
	case o.Crop == options.Region:
		return &options.Error{Option: "c", Value: "crop", Reason: "not allowed in a srcset"}
	}
	return nil
}

// SrcsetWidths parses a srcset's ?w=320,640,… into sorted, distinct widths
// and their canonical spelling, which is what the signature covers. Each
// width must be one p accepts as a w_ (within the dimension limit and on
// the width allow-list, if there is one). An empty list means the default
// widths: the allow-list when there is one (spread over at most ten of
// them), else 320, 640, 960, 1280 and 1920. In presets-only mode every
// srcset is refused: its variants are widths, not presets, and the /t/
// URLs it would list could not be fetched.
func SrcsetWidths(raw string, p *options.Parser) ([]int, string, error) {
	bad := func(v, reason string) error {
		return &options.Error{Option: "w", Value: v, Reason: reason}
	}
	if p.PresetsOnly() {
		return nil, "", bad(raw, "a srcset's widths are not presets; only t_<preset> URLs are served here (presets-only mode)")
	}
	var ws []int
	switch {
	case len(raw) > 0:
		maxDim := p.MaxDimension()
		for _, f := range strings.Split(raw, ",") {
			w, err := strconv.Atoi(f)
			if err != nil || w < 1 || w > maxDim || f != strconv.Itoa(w) {
				return nil, "", bad(f, "want widths from 1 to "+strconv.Itoa(maxDim)+", comma-separated")
			}
			if err := p.CheckWidth(w); err != nil {
				return nil, "", err
			}
			ws = append(ws, w)
		}
	case p.AllowedWidths() != nil:
		ws = spread(p.AllowedWidths(), maxSrcsetWidths)
	default:
		ws = slices.Clone(defaultSrcsetWidths)
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)
	if len(ws) > maxSrcsetWidths {
		return nil, "", bad(raw, "at most "+strconv.Itoa(maxSrcsetWidths)+" widths")
	}
	canon := make([]string, len(ws))
	for i, w := range ws {
		canon[i] = strconv.Itoa(w)
	}
	return ws, strings.Join(canon, ","), nil
}

// spread picks at most n of the sorted list, evenly, the smallest and the
// largest always among them: a default srcset covers the whole range of
// an allow-list longer than one request may ask for.
func spread(list []int, n int) []int {
	if len(list) <= n {
		return list
	}
	out := make([]int, n)
	for i := range n {
		out[i] = list[i*(len(list)-1)/(n-1)]
	}
	return out
}
