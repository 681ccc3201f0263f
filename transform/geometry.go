package transform

import (
	"math"

	"github.com/pictorhq/pictor/transform/options"
)

// geometry is what a request asks of an image of a given oriented size:
// the size to resize to, then the box to crop or pad to.
type geometry struct {
	resizeW, resizeH int // after resize; equal to the source for no resize
	boxW, boxH       int // final size for fill (crop) and pad (embed); 0 = none
	crop             bool
	pad              bool
	region           bool // c_crop: cut regionX/Y/boxW/boxH from the source
	regionX, regionY int
	// swap: an a_90 or a_270 turn comes after the resize, so the resize
	// makes the turned size's transpose (see target). A c_crop region is
	// cut from the turned source instead.
	swap bool
}

// target is the size the resize step makes: resizeW×resizeH, transposed
// when the turn that follows it swaps the axes.
func (g geometry) target() (w, h int) {
	if g.swap {
		return g.resizeH, g.resizeW
	}
	return g.resizeW, g.resizeH
}

// plan computes the geometry for a source of w×h (after orientation).
func plan(w, h int, o options.Options, cfg Config) (geometry, error) {
	dpr := o.DPR
	if dpr == 0 {
		dpr = 1
	}
	tw := int(math.Round(float64(o.Width) * dpr))
	th := int(math.Round(float64(o.Height) * dpr))
	if tw > cfg.MaxDimension || th > cfg.MaxDimension {
		return geometry{}, ErrOutputTooLarge
	}
	g := geometry{resizeW: w, resizeH: h}
	fw, fh := float64(w), float64(h)

	switch o.Crop {
	case options.Region:
		if o.X >= w || o.Y >= h {
			return geometry{}, ErrRegion
		}
		g.region = true
		g.regionX, g.regionY = o.X, o.Y
		g.boxW, g.boxH = min(tw, w-o.X), min(th, h-o.Y)
		g.resizeW, g.resizeH = g.boxW, g.boxH
	case options.Scale:
		switch {
		case tw > 0 && th > 0:
			g.resizeW, g.resizeH = tw, th
		case tw > 0:
			g.resizeW, g.resizeH = tw, scaled(fh, float64(tw)/fw)
		case th > 0:
			g.resizeW, g.resizeH = scaled(fw, float64(th)/fh), th
		}
	case options.Fill:
		s := fitScale(fw, fh, tw, th)
		if tw > 0 && th > 0 {
			s = max(float64(tw)/fw, float64(th)/fh)
			g.crop = true
			g.boxW, g.boxH = tw, th
		}
		g.resizeW, g.resizeH = scaled(fw, s), scaled(fh, s)
		if g.crop {
			// Cover: the rounded size must not fall short of the box.
			g.resizeW, g.resizeH = max(g.resizeW, tw), max(g.resizeH, th)
		}
	default: // Fit, Limit, Pad
		s := fitScale(fw, fh, tw, th)
		if o.Crop == options.Limit {
			s = min(s, 1)
		}
		g.resizeW, g.resizeH = scaled(fw, s), scaled(fh, s)
		if o.Crop == options.Pad && tw > 0 && th > 0 {
			g.pad = true
			g.boxW, g.boxH = tw, th
		}
	}
	outW, outH := max(g.resizeW, g.boxW), max(g.resizeH, g.boxH)
	if outW > cfg.MaxDimension || outH > cfg.MaxDimension ||
		int64(outW)*int64(outH) > cfg.MaxOutputPixels {
		return geometry{}, ErrOutputTooLarge
	}
	return g, nil
}

// fitScale is the scale that fits w×h inside tw×th (either may be 0 =
// unconstrained); 1 when both are 0.
func fitScale(w, h float64, tw, th int) float64 {
	switch {
	case tw > 0 && th > 0:
		return min(float64(tw)/w, float64(th)/h)
	case tw > 0:
		return float64(tw) / w
	case th > 0:
		return float64(th) / h
	}
	return 1
}

func scaled(v, s float64) int {
	return max(1, int(math.Round(v*s)))
}

// shrinkOnLoad picks the largest of 8, 4, 2 that still leaves a w×h source
// at or above the resize target, so the decoder does most of the
// downscaling and Lanczos3 finishes from at least the target size.
// libjpeg's scaled sizes round up, so integer division is the safe side.
func shrinkOnLoad(w, h int, g geometry) int {
	if g.region {
		return 1 // the region is in source pixels
	}
	for _, s := range [...]int{8, 4, 2} {
		if w/s >= g.resizeW && h/s >= g.resizeH {
			return s
		}
	}
	return 1
}

// offset places an inner extent within an outer one by gravity along one
// axis: lo is the north/west end, hi the south/east end.
func offset(outer, inner int, lo, hi bool) int {
	switch {
	case lo:
		return 0
	case hi:
		return outer - inner
	}
	return (outer - inner) / 2
}

// anchor returns where a w×h box sits in (or around) a W×H image.
func anchor(gr options.Gravity, W, H, w, h int) (x, y int) {
	north := gr == options.North || gr == options.NorthEast || gr == options.NorthWest
	south := gr == options.South || gr == options.SouthEast || gr == options.SouthWest
	west := gr == options.West || gr == options.NorthWest || gr == options.SouthWest
	east := gr == options.East || gr == options.NorthEast || gr == options.SouthEast
	return offset(W, w, west, east), offset(H, h, north, south)
}
