package server

import (
	"bytes"
	"math"
	"strconv"

	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/valyala/fasthttp"
)

// acceptCH is the Accept-CH value sent when Config.AcceptCH is on: the
// hints w_auto, dpr_auto and q_auto read. The unprefixed Width, DPR and
// Viewport-Width are still read, but browsers that know Accept-CH send
// the Sec-CH- names; ECT has no other.
const acceptCH = "Sec-CH-Width, Sec-CH-DPR, Sec-CH-Viewport-Width, ECT"

// maxHintWidth bounds a width hint before any arithmetic; a larger value
// is no real screen and is treated as absent. The result is capped at
// the largest dimension anyway.
const maxHintWidth = 1 << 20

// hints reads a request's client hints, each from its Sec-CH- name first,
// then from the older unprefixed name. A malformed value counts as absent.
func hints(h *fasthttp.RequestHeader) transform.Hints {
	return transform.Hints{
		Width:         hintInt(h, "Sec-CH-Width", "Width"),
		ViewportWidth: hintInt(h, "Sec-CH-Viewport-Width", "Viewport-Width"),
		DPR:           hintFloat(h, "Sec-CH-DPR", "DPR"),
	}
}

// hintInt is the first of the named headers that holds a whole number
// in 1..maxHintWidth (RFC 8941 integer, as the hints are sent), else 0.
func hintInt(h *fasthttp.RequestHeader, names ...string) int {
	for _, name := range names {
		v := bytes.TrimSpace(h.Peek(name))
		if len(v) == 0 {
			continue
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxHintWidth {
			return 0
		}
		return n
	}
	return 0
}

// hintFloat is the first of the named headers that holds a positive
// finite decimal (RFC 8941 decimal or integer), else 0.
func hintFloat(h *fasthttp.RequestHeader, names ...string) float64 {
	for _, name := range names {
		v := bytes.TrimSpace(h.Peek(name))
		if len(v) == 0 {
			continue
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return 0
		}
		return f
	}
	return 0
}

// slowNetwork reports whether the request asks to save data: Save-Data:
// on, or an effective connection type (ECT) of slow-2g or 2g.
func slowNetwork(h *fasthttp.RequestHeader) bool {
	if bytes.Equal(bytes.TrimSpace(h.Peek("Save-Data")), []byte("on")) {
		return true
	}
	ect := bytes.TrimSpace(h.Peek("ECT"))
	return bytes.EqualFold(ect, []byte("slow-2g")) || bytes.EqualFold(ect, []byte("2g"))
}

// resolveHints settles w_auto and dpr_auto from the request's hints (see
// transform.Processor.ResolveHints) and returns the options the variant
// is made and keyed with, and the hint headers to add to Vary.
func (s *Server) resolveHints(ctx *fasthttp.RequestCtx, o options.Options) (options.Options, string) {
	if !o.WidthAuto && !o.DPRAuto {
		return o, ""
	}
	return s.Processor.ResolveHints(o, hints(&ctx.Request.Header), s.allowedWidths)
}

// joinVary joins two Vary lists, either of which may be empty.
func joinVary(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ", " + b
}
