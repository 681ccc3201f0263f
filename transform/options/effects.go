package options

import (
	"strconv"
	"strings"
)

// Effects: the e_ list, a_, r_, bo_, and the rules tying b_blur and
// e_trim to the crop mode.

// Angle is the turn or mirror chosen with a_.
type Angle uint8

const (
	NoTurn  Angle = iota // default: as decoded (EXIF orientation applied)
	Turn90               // a_90: clockwise
	Turn180              // a_180
	Turn270              // a_270: clockwise, i.e. 90 anticlockwise
	FlipH                // a_hflip: mirror left to right
	FlipV                // a_vflip: mirror top to bottom
)

var angleNames = [...]string{NoTurn: "0", Turn90: "90", Turn180: "180", Turn270: "270", FlipH: "hflip", FlipV: "vflip"}

// String is the a_ value: "90", "180", "270", "hflip", "vflip"; "0" for
// none.
func (a Angle) String() string {
	if int(a) >= len(angleNames) {
		return ""
	}
	return angleNames[a]
}

// Swaps reports whether the turn exchanges width and height.
func (a Angle) Swaps() bool { return a == Turn90 || a == Turn270 }

var angleReason = "not one of 90, 180, 270, hflip, vflip"

func parseAngle(_ *Parser, o Options, c component) (Options, string) {
	// a_0 would be the default under a second spelling.
	v, ok := lookup[Angle](angleNames[:], c.value)
	if !ok || v == NoTurn {
		return o, angleReason
	}
	o.Angle = v
	return o, ""
}

func printAngle(o Options) value {
	if o.Angle == NoTurn {
		return value{}
	}
	return word(o.Angle.String())
}

// maxRadius and maxBorder bound r_ and bo_ in CSS pixels: dpr_4 makes
// them 4000 and 400 output pixels, more than any corner or frame is drawn
// with, and the mask and frame stay linear in the output size.
const (
	maxRadius = 1000
	maxBorder = 100
)

// r_<px> rounds the corners, r_max makes the largest ellipse that fits.
func parseRadius(_ *Parser, o Options, c component) (Options, string) {
	if c.value == "max" {
		o.RadiusMax = true
		return o, ""
	}
	n, ok := parseUint(c.value)
	if !ok || n < 1 || n > maxRadius {
		return o, "not an integer in 1.." + strconv.Itoa(maxRadius) + " or max"
	}
	o.Radius = int(n)
	return o, ""
}

func printRadius(o Options) value {
	if o.RadiusMax {
		return word("max")
	}
	return integer(int64(o.Radius))
}

// bo_<px>_<rrggbb> frames the output inside its edge.
func parseBorder(_ *Parser, o Options, c component) (Options, string) {
	const reason = "not <px>_<rrggbb> with px an integer in 1..100"
	px, hex, ok := strings.Cut(c.value, "_")
	if !ok {
		return o, reason
	}
	n, ok := parseUint(px)
	if !ok || n < 1 || n > maxBorder {
		return o, reason
	}
	col, ok := parseColor(hex)
	if !ok {
		return o, reason
	}
	o.Border, o.BorderColor = int(n), col
	return o, ""
}

func printBorder(o Options) value {
	if o.Border == 0 {
		return value{}
	}
	return value{kind: borderValue, n: int64(o.Border), color: o.BorderColor}
}

// backgroundRule: a blurred copy of the image as padding needs padding.
func backgroundRule(o Options) string {
	if o.BackgroundBlur && (o.Crop != Pad || o.Width == 0 || o.Height == 0) {
		return "blur only applies with c_pad and both w_ and h_"
	}
	return ""
}

// effectsRule: e_trim cuts the source before the plan, and x_/y_ of
// c_crop are source pixels that the cut would move.
func effectsRule(o Options) string {
	if o.Trim && o.Crop == Region {
		return "trim does not combine with c_crop"
	}
	return ""
}

// effects is the e_ value: what Options holds of it, compared with == to
// tell whether e_ prints at all.
type effects struct {
	blur                             float64
	grayscale, sharpen, trim         bool
	pixelate                         int
	brightness, contrast, saturation int
}

func (o Options) effects() effects {
	return effects{
		blur: o.Blur, grayscale: o.Grayscale, sharpen: o.Sharpen, trim: o.Trim,
		pixelate: o.Pixelate, brightness: o.Brightness, contrast: o.Contrast, saturation: o.Saturation,
	}
}

// maxBlur bounds the blur sigma: past 100 the Gaussian mask is larger than
// most images and the cost grows with its area for no visible change.
const maxBlur = 100

// maxPixelate bounds the pixelate block in CSS pixels: a 200 px block
// already leaves a 400 px image four blocks wide.
const maxPixelate = 200

// effectList lists the effects for the refusal of an unknown one.
const effectList = "blur:<sigma>, sharpen, grayscale, trim, pixelate:<px>, brightness:<-100..100>, contrast:<-100..100> or saturation:<-100..100>"

// parseEffects reads the e_ value into o and returns a reason when it is
// malformed: ':'-separated effects, each at most once, those with a value
// followed by it.
func (o *Options) parseEffects(v string) string {
	tokens := strings.Split(v, ":")
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		arg, hasArg := "", i+1 < len(tokens)
		if hasArg {
			arg = tokens[i+1]
		}
		// Every effect given leaves its field non-zero, so a set field
		// is an effect given before.
		var twice bool
		switch tok {
		case "":
			return "empty effect"
		case "grayscale":
			twice, o.Grayscale = o.Grayscale, true
		case "sharpen":
			twice, o.Sharpen = o.Sharpen, true
		case "trim":
			twice, o.Trim = o.Trim, true
		case "blur":
			sigma, ok := parseDecimal(arg)
			if !hasArg || !ok || sigma <= 0 || sigma > maxBlur {
				return "blur needs a sigma, a decimal in (0, 100] such as 0.5 or 2: blur:<sigma>"
			}
			twice, o.Blur = o.Blur != 0, sigma
			i++
		case "pixelate":
			n, ok := parseUint(arg)
			if !hasArg || !ok || n < 2 || n > maxPixelate {
				return "pixelate needs a block size in 2.." + strconv.Itoa(maxPixelate) + ": pixelate:<px>"
			}
			twice, o.Pixelate = o.Pixelate != 0, int(n)
			i++
		case "brightness", "contrast", "saturation":
			n, ok := parseLevel(arg)
			if !hasArg || !ok {
				return tok + " needs a non-zero integer in -100..100: " + tok + ":<level>"
			}
			f := &o.Saturation
			switch tok {
			case "brightness":
				f = &o.Brightness
			case "contrast":
				f = &o.Contrast
			}
			twice, *f = *f != 0, n
			i++
		default:
			return "unknown effect " + strconv.Quote(tok) + ", want " + effectList
		}
		if twice {
			return tok + " given more than once"
		}
	}
	return ""
}

// parseLevel accepts -100..100 but not 0 (no change, a second spelling of
// leaving the effect out), with one spelling: an optional '-' and plain
// digits.
func parseLevel(s string) (int, bool) {
	neg := strings.HasPrefix(s, "-")
	n, ok := parseUint(strings.TrimPrefix(s, "-"))
	if !ok || n < 1 || n > 100 {
		return 0, false
	}
	if neg {
		return -int(n), true
	}
	return int(n), true
}

// appendEffects appends the e_ value in a fixed order: the pipeline
// applies effects in its own order, so the URL's order carries no meaning
// and must not split the cache.
func appendEffects(b []byte, fx effects) []byte {
	start := len(b)
	sep := func() {
		if len(b) > start {
			b = append(b, ':')
		}
	}
	if fx.blur != 0 {
		b = append(b, "blur:"...)
		b = appendDecimal(b, fx.blur)
	}
	level := func(name string, n int) {
		if n != 0 {
			sep()
			b = append(b, name...)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	level("brightness", fx.brightness)
	level("contrast", fx.contrast)
	if fx.grayscale {
		sep()
		b = append(b, "grayscale"...)
	}
	level("pixelate", fx.pixelate)
	level("saturation", fx.saturation)
	if fx.sharpen {
		sep()
		b = append(b, "sharpen"...)
	}
	if fx.trim {
		sep()
		b = append(b, "trim"...)
	}
	return b
}
