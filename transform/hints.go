package transform

import (
	"math"
	"slices"

	"github.com/pictorhq/pictor/transform/options"
)

// Hints are a request's client hints as numbers, 0 where a hint is absent
// or malformed. Package server reads them from the headers; the names are
// the Sec-CH- ones, with the older unprefixed names as fallbacks.
type Hints struct {
	// Width (Sec-CH-Width, Width) is the width the image is shown at, in
	// device pixels: the CSS width from sizes times the DPR.
	Width int
	// ViewportWidth (Sec-CH-Viewport-Width, Viewport-Width) is the layout
	// viewport's width in CSS pixels.
	ViewportWidth int
	// DPR (Sec-CH-DPR, DPR) is the device pixel ratio.
	DPR float64
}

// The Vary values of the hints, each naming both spellings: the answer
// depends on whichever the request carries.
const (
	varyWidth = "Sec-CH-Width, Width, Sec-CH-Viewport-Width, Viewport-Width"
	varyDPR   = "Sec-CH-DPR, DPR"
)

// maxDPR is the largest ratio dpr_auto resolves to, the grammar's largest
// dpr_.
const maxDPR = 4

// ResolveHints replaces w_auto and dpr_auto in o with values taken from h,
// so that the variant key holds the resolved width and ratio and never a
// raw header: every request that resolves alike shares one variant, with
// a URL that spells the same values out too. vary lists the headers the
// answer depends on ("" when o asks for no hint), for the response's Vary.
//
// dpr_auto rounds the DPR hint up to the grammar's step of 0.5 within
// 1..4 (1 without a hint). w_auto takes the Width hint, or the
// viewport's width times the ratio, rounded up to the width step (or to
// the next allowed width when an allow-list is set) and capped at the
// largest dimension. That width is in device pixels, so the resolved
// options say it with no dpr_, and h_ is turned into device pixels with
// the ratio it would have been multiplied by. Without either width hint,
// w_auto is its fallback width (w_auto:<n>) in CSS pixels, or no width.
func (p *Processor) ResolveHints(o options.Options, h Hints, allowedWidths []int) (_ options.Options, vary string) {
	if !o.WidthAuto && !o.DPRAuto {
		return o, ""
	}
	if o.DPRAuto {
		vary = varyDPR
		o.DPRAuto = false
		o.DPR = 0 // dpr_1 is the default and canonically unset
		if d := roundUpHalf(h.DPR); d > 1 {
			o.DPR = d
		}
	}
	if !o.WidthAuto {
		return o, vary
	}
	if vary == "" {
		vary = varyWidth
	} else {
		vary = varyWidth + ", " + vary
	}
	dpr := max(o.DPR, 1)
	device := h.Width
	if device <= 0 && h.ViewportWidth > 0 {
		device = int(math.Ceil(float64(h.ViewportWidth) * dpr))
	}
	o.WidthAuto = false
	fallback := o.WidthFallback
	o.WidthFallback = 0
	if device <= 0 {
		o.Width = fallback
		return o, vary
	}
	maxDim := p.cfg.MaxDimension
	o.Width = min(p.snapWidth(min(device, maxDim), allowedWidths), maxDim)
	o.Height = min(int(math.Round(float64(o.Height)*dpr)), maxDim)
	o.DPR = 0
	return o, vary
}

// snapWidth rounds w up to the next allowed width, or the largest one
// when none is as wide; without an allow-list, up to a multiple of
// AutoWidthStep.
func (p *Processor) snapWidth(w int, allowed []int) int {
	if len(allowed) > 0 {
		i, _ := slices.BinarySearch(allowed, w)
		return allowed[min(i, len(allowed)-1)]
	}
	step := p.cfg.AutoWidthStep
	return (w + step - 1) / step * step
}

// roundUpHalf rounds a DPR hint up to the next multiple of 0.5 within
// 1..maxDPR: a 2.625 phone gets 3, never a blurrier 2.5. Anything that is
// not a positive number is 1.
func roundUpHalf(d float64) float64 {
	if !(d > 1) { // NaN too
		return 1
	}
	return min(math.Ceil(d*2)/2, maxDPR)
}
