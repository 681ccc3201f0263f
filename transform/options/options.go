package options

import "github.com/pictorhq/pictor/transform/format"

// Crop is the resize mode chosen with c_.
type Crop uint8

const (
	Fit    Crop = iota // c_fit (default): fit inside the w×h box
	Fill               // c_fill: cover the box and crop the overflow at g_
	Limit              // c_limit: like fit, but never upscale
	Pad                // c_pad: fit, then pad to the box with b_ at g_
	Scale              // c_scale: exactly w×h, ignoring the aspect ratio
	Region             // c_crop: cut the w×h region at x_,y_ (or at g_)
)

var cropNames = [...]string{Fit: "fit", Fill: "fill", Limit: "limit", Pad: "pad", Scale: "scale", Region: "crop"}

// String is the c_ value: "fit", "fill", "limit", "pad", "scale", "crop".
func (c Crop) String() string {
	if int(c) >= len(cropNames) {
		return ""
	}
	return cropNames[c]
}

// Gravity is the anchor chosen with g_ for c_fill, c_pad and c_crop.
type Gravity uint8

const (
	Center Gravity = iota // g_center (default)
	North
	South
	East
	West
	NorthEast
	NorthWest
	SouthEast
	SouthWest
	Auto // g_auto: libvips smartcrop, attention strategy
)

var gravityNames = [...]string{
	Center: "center", North: "north", South: "south", East: "east", West: "west",
	NorthEast: "north_east", NorthWest: "north_west", SouthEast: "south_east", SouthWest: "south_west",
	Auto: "auto",
}

// String is the g_ value: "center", "north", …, "south_west", "auto".
func (g Gravity) String() string {
	if int(g) >= len(gravityNames) {
		return ""
	}
	return gravityNames[g]
}

// Color is an sRGB colour given with b_rrggbb.
type Color struct{ R, G, B uint8 }

// String is the b_ value: six lowercase hex digits.
func (c Color) String() string { return string(c.append(nil)) }

func (c Color) append(b []byte) []byte {
	const hex = "0123456789abcdef"
	return append(b, hex[c.R>>4], hex[c.R&15], hex[c.G>>4], hex[c.G&15], hex[c.B>>4], hex[c.B&15])
}

// Options is one parsed options segment. The zero value means "no
// transform beyond the defaults" (auto-rotate, sRGB, strip metadata) and
// keeps the source's size and format. Options is comparable with ==.
type Options struct {
	// Width and Height (w_, h_) are the target box in CSS pixels,
	// 1..MaxDimension; 0 means unset.
	Width, Height int
	// Crop (c_) is the resize mode; Fit is the default.
	Crop Crop
	// Gravity (g_) anchors c_fill, c_pad and c_crop; Center is the default.
	Gravity Gravity
	// X and Y (x_, y_) are the region offset for c_crop, 0..MaxDimension.
	X, Y int
	// DPR (dpr_) multiplies Width and Height: 1.5..4 in steps of 0.5; 0
	// means unset, which dpr_1 also parses to.
	DPR float64
	// Format (f_) is the output format; Unknown keeps the source's.
	Format format.Format
	// FormatAuto (f_auto) negotiates the format from Accept.
	FormatAuto bool
	// Page (pg_) is the one frame of an animation to output, 1..4096
	// counted from 1; 0 means unset: every frame where the output format
	// animates, else the first.
	Page int
	// Quality (q_) is the encoder quality 1..100; 0 means the encoder's
	// default.
	Quality int
	// QualityAuto (q_auto) lowers quality for Save-Data: on.
	QualityAuto bool
	// Background (b_) pads c_pad and flattens alpha for JPEG, when
	// HasBackground is set (black is a valid background).
	Background    Color
	HasBackground bool
	// Blur (e_blur:<sigma>) is the Gaussian sigma, in (0, 100]; 0 means no
	// blur.
	Blur float64
	// Sharpen (e_sharpen) and Grayscale (e_grayscale) are effects.
	Sharpen   bool
	Grayscale bool
	// BackgroundBlur (b_blur) pads c_pad with a blurred copy of the image
	// instead of a colour.
	BackgroundBlur bool
	// Trim (e_trim) cuts away a border of the colour of the top-left
	// pixel before anything else.
	Trim bool
	// Pixelate (e_pixelate:<px>) is the block size in CSS pixels,
	// 2..200; 0 means none.
	Pixelate int
	// Brightness, Contrast and Saturation (e_brightness:<n>, …) are
	// -100..100; 0 means unchanged.
	Brightness, Contrast, Saturation int
	// Angle (a_) turns or mirrors the image before it is sized: w_ and h_
	// are the turned image's.
	Angle Angle
	// Radius (r_<px>, CSS pixels, 1..1000) rounds the corners; RadiusMax
	// (r_max) makes the largest ellipse that fits. Transparent where the
	// output format has alpha, b_ (or white) where it has not.
	Radius    int
	RadiusMax bool
	// Border (bo_<px>_<rrggbb>, CSS pixels, 1..100) frames the output
	// inside its edge in BorderColor.
	Border      int
	BorderColor Color
	// Layers (l_ and its l*_ options) are the overlays, drawn in order,
	// at most MaxLayers from the URL and its preset, then the watermark.
	// The unused ones are zero; see LayerList.
	Layers [MaxLayers + 1]Layer
	// Watermark (wm_1) draws the configured watermark, which Parse puts
	// after the URL's layers.
	Watermark bool
	// Expires (exp_) is the unix second after which the URL stops
	// working; 0 means never.
	Expires int64
	// KeyID (kid_) names the signing key; empty means the default key.
	KeyID string
	// Signature (s_) is the URL signature, unpadded base64url.
	Signature string
}

// String prints o in canonical form: the components in the fixed order
// w, h, c, g, x, y, dpr, f, pg, q, b, e, a, r, bo, then each layer (l_ and
// its lg, lx, ly, lw, lo, lt, lc, ls, lf), wm, exp, kid, s, with defaults
// and zero values left out and presets already expanded. For every o that Parse
// returned, Parse(o.String()) returns o again. The zero Options prints as
// "".
func (o Options) String() string {
	return string(o.Append(make([]byte, 0, 64)))
}

// Append appends o's canonical form (see String) to b. It allocates only
// when b runs out of room, which lets the signature check and the cache
// key work in a stack buffer.
func (o Options) Append(b []byte) []byte {
	start := len(b)
	for i := range grammar {
		opt := &grammar[i]
		if opt.print == nil {
			continue
		}
		v := opt.print(o)
		if v.kind == unset {
			continue
		}
		if v.kind == layersValue {
			b = appendLayers(b, &o, start)
			continue
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, opt.name...)
		b = append(b, '_')
		b = v.append(b)
	}
	return b
}

// Unsigned returns o without its signature: what package sign signs.
func (o Options) Unsigned() Options {
	o.Signature = ""
	return o
}

// Variant returns o without the signing fields (s_, exp_, kid_): the
// options that decide the output pixels, and so the cache key. Two URLs
// signed differently for the same variant share one cache entry.
//
// What names stand for is spelt out, so that the key follows the
// configuration: an overlay name prints as its key, and wm_1 as the
// watermark's layer. The result may then not parse (the watermark is a
// fifth layer); it is a key, not a URL.
func (o Options) Variant() Options {
	o.Signature = ""
	o.Expires = 0
	o.KeyID = ""
	for i := range o.Layers {
		o.Layers[i].Name = ""
	}
	o.Watermark = false
	return o
}

// IsZero reports whether o asks for nothing beyond the defaults.
func (o Options) IsZero() bool { return o == Options{} }
