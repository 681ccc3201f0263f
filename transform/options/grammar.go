package options

import (
	"strconv"
	"strings"

	"github.com/pictorhq/pictor/transform/format"
)

// An option is one row of the grammar: a component name and everything
// Parse, Append, presets and presets-only mode do with it. Adding an option
// is adding a row here (and its field to Options); nothing else lists the
// names.
//
// Options travel by value through the rows' funcs, and print returns a
// value instead of appending to a buffer: an argument passed to a func
// value escapes to the heap, and Parse would then allocate its result and
// Append its caller's buffer, which the signature check and the variant key
// keep on the stack.
type option struct {
	name string
	role role
	// parse reads c's value into o and returns o, or says why the value is
	// refused; the *Error then names c with its value as given.
	parse func(p *Parser, o Options, c component) (Options, string)
	// print says what o holds for this option, unset for its default,
	// which the canonical form leaves out. Nil for t_, which never prints:
	// a preset is expanded.
	print func(o Options) value
	// rule, when set and the option was given, is checked once every
	// component has parsed: it refuses a combination with other options
	// that would change nothing but the cache key, or that the pipeline
	// cannot honour, blaming this option's component.
	rule func(o Options) string
}

// role is what an option is to presets and to presets-only mode.
type role uint8

const (
	// pixels options decide the variant: presets hold them, and
	// presets-only mode refuses them in a URL (each one would be a new
	// variant).
	pixels role = iota
	// preset is t_: Parse expands it; a preset may not hold one.
	preset
	// signing options (exp_, kid_, s_) belong to one signed URL: a preset
	// may not hold them, and presets-only mode accepts them beside t_.
	signing
	// layer options (l_ and its placement) make one overlay each time l_
	// is given: they repeat, once per layer, and a preset's layers stack
	// under the URL's instead of being overridden.
	layer
)

// grammar lists the options in canonical order: Append prints them in
// this order, and the cross-option rules are checked in it.
var grammar = [...]option{
	{name: "w", parse: parseWidth, print: func(o Options) value { return integer(int64(o.Width)) }},
	{name: "h", parse: parseHeight, print: func(o Options) value { return integer(int64(o.Height)) }},
	{name: "c", parse: parseCrop, print: printCrop, rule: cropRule},
	{name: "g", parse: parseGravity, print: printGravity, rule: gravityRule},
	{name: "x", parse: parseX, print: func(o Options) value { return integer(int64(o.X)) }, rule: offsetRule},
	{name: "y", parse: parseY, print: func(o Options) value { return integer(int64(o.Y)) }, rule: offsetRule},
	{name: "dpr", parse: parseDPROption, print: printDPR},
	{name: "f", parse: parseFormat, print: printFormat},
	{name: "pg", parse: parsePage, print: func(o Options) value { return integer(int64(o.Page)) }},
	{name: "q", parse: parseQuality, print: printQuality},
	{name: "b", parse: parseBackground, print: printBackground, rule: backgroundRule},
	{name: "e", parse: parseEffectsOption, print: printEffects, rule: effectsRule},
	{name: "a", parse: parseAngle, print: printAngle},
	{name: "r", parse: parseRadius, print: printRadius},
	{name: "bo", parse: parseBorder, print: printBorder},
	{name: "l", role: layer, parse: parseLayer, print: printLayers},
	{name: "lg", role: layer, parse: parseLayerGravity, print: printInLayer},
	{name: "lx", role: layer, parse: parseLayerX, print: printInLayer},
	{name: "ly", role: layer, parse: parseLayerY, print: printInLayer},
	{name: "lw", role: layer, parse: parseLayerWidth, print: printInLayer},
	{name: "lo", role: layer, parse: parseLayerOpacity, print: printInLayer},
	{name: "lt", role: layer, parse: parseLayerTile, print: printInLayer},
	{name: "lc", role: layer, parse: parseLayerColor, print: printInLayer},
	{name: "ls", role: layer, parse: parseLayerSize, print: printInLayer},
	{name: "lf", role: layer, parse: parseLayerFont, print: printInLayer},
	{name: "wm", parse: parseWatermark, print: printWatermark},
	{name: "t", role: preset, parse: parseNestedPreset},
	{name: "exp", role: signing, parse: parseExpires, print: func(o Options) value { return integer(o.Expires) }},
	{name: "kid", role: signing, parse: parseKeyID, print: func(o Options) value { return word(o.KeyID) }},
	{name: "s", role: signing, parse: parseSignature, print: func(o Options) value { return word(o.Signature) }},
}

// wmOption is wm_'s row, which a preset marked +watermark adds.
var wmOption = optionNamed("wm")

// optionNamed returns the row for a component name, nil for none. A scan
// of a few dozen short names is as quick as a map lookup.
func optionNamed(name string) *option {
	for i := range grammar {
		if grammar[i].name == name {
			return &grammar[i]
		}
	}
	return nil
}

// Sizes: w_ and h_ are 1..MaxDimension, and on the allow-lists unless they
// come from a preset (the operator's own values); x_ and y_ are
// 0..MaxDimension.

func parseWidth(p *Parser, o Options, c component) (Options, string) {
	n, ok := p.dimension(c.value, 1)
	if !ok {
		return o, p.dimensionReason(1)
	}
	if c.from == "" && !allowed(p.widths, n) {
		return o, p.widthReason
	}
	o.Width = n
	return o, ""
}

func parseHeight(p *Parser, o Options, c component) (Options, string) {
	n, ok := p.dimension(c.value, 1)
	if !ok {
		return o, p.dimensionReason(1)
	}
	if c.from == "" && !allowed(p.heights, n) {
		return o, p.heightReason
	}
	o.Height = n
	return o, ""
}

func parseX(p *Parser, o Options, c component) (Options, string) {
	n, ok := p.dimension(c.value, 0)
	if !ok {
		return o, p.dimensionReason(0)
	}
	o.X = n
	return o, ""
}

func parseY(p *Parser, o Options, c component) (Options, string) {
	n, ok := p.dimension(c.value, 0)
	if !ok {
		return o, p.dimensionReason(0)
	}
	o.Y = n
	return o, ""
}

// offsetRule: x_ and y_ place a c_crop region; for any other mode they
// would only split the cache.
func offsetRule(o Options) string {
	if o.Crop != Region {
		return "only applies with c_crop"
	}
	return ""
}

// Crop and gravity: one of their names.

var (
	cropReason    = oneOfReason(cropNames[:])
	gravityReason = oneOfReason(gravityNames[:])
)

func parseCrop(_ *Parser, o Options, c component) (Options, string) {
	v, ok := lookup[Crop](cropNames[:], c.value)
	if !ok {
		return o, cropReason
	}
	o.Crop = v
	return o, ""
}

func printCrop(o Options) value {
	if o.Crop == Fit {
		return value{}
	}
	return word(o.Crop.String())
}

// cropRule: every mode but the default needs a box to act on, and c_crop
// cuts a region of both sizes.
func cropRule(o Options) string {
	switch {
	case o.Crop != Fit && o.Width == 0 && o.Height == 0:
		return "needs w_ or h_"
	case o.Crop == Region && (o.Width == 0 || o.Height == 0):
		return "needs both w_ and h_"
	}
	return ""
}

func parseGravity(_ *Parser, o Options, c component) (Options, string) {
	v, ok := lookup[Gravity](gravityNames[:], c.value)
	if !ok {
		return o, gravityReason
	}
	o.Gravity = v
	return o, ""
}

func printGravity(o Options) value {
	if o.Gravity == Center {
		return value{}
	}
	return word(o.Gravity.String())
}

// gravityRule: only the modes that cut or pad have an anchor.
func gravityRule(o Options) string {
	if o.Crop != Fill && o.Crop != Pad && o.Crop != Region {
		return "only applies with c_fill, c_pad or c_crop"
	}
	return ""
}

// dprNames are the accepted device pixel ratios in their one spelling.
var (
	dprNames  = []string{"1", "1.5", "2", "2.5", "3", "3.5", "4"}
	dprReason = oneOfReason(dprNames)
)

func parseDPROption(_ *Parser, o Options, c component) (Options, string) {
	v, ok := parseDPR(c.value)
	if !ok {
		return o, dprReason
	}
	o.DPR = v
	return o, ""
}

func printDPR(o Options) value {
	if o.DPR == 0 || o.DPR == 1 {
		return value{}
	}
	return value{kind: decimalValue, f: o.DPR}
}

// f_ is an output format by its option name (f_jpg an alias of f_jpeg), or
// auto: negotiated from Accept.
func parseFormat(_ *Parser, o Options, c component) (Options, string) {
	if c.value == "auto" {
		o.FormatAuto = true
		return o, ""
	}
	f, ok := format.Parse(c.value)
	if !ok {
		return o, "not one of jpeg, jpg, png, webp, avif, gif, auto"
	}
	o.Format = f
	return o, ""
}

func printFormat(o Options) value {
	switch {
	case o.FormatAuto:
		return word("auto")
	case o.Format != format.Unknown:
		return word(o.Format.String())
	}
	return value{}
}

// q_ is the encoders' quality scale, 1..100, or auto: lowered for
// Save-Data.
func parseQuality(_ *Parser, o Options, c component) (Options, string) {
	if c.value == "auto" {
		o.QualityAuto = true
		return o, ""
	}
	n, ok := parseUint(c.value)
	if !ok || n < 1 || n > 100 {
		return o, "not an integer in 1..100 or auto"
	}
	o.Quality = int(n)
	return o, ""
}

func printQuality(o Options) value {
	if o.QualityAuto {
		return word("auto")
	}
	return integer(int64(o.Quality))
}

func parseBackground(_ *Parser, o Options, c component) (Options, string) {
	if c.value == "blur" {
		o.BackgroundBlur = true
		return o, ""
	}
	v, ok := parseColor(c.value)
	if !ok {
		return o, "not six hex digits rrggbb, or blur"
	}
	o.Background, o.HasBackground = v, true
	return o, ""
}

func printBackground(o Options) value {
	if o.BackgroundBlur {
		return word("blur")
	}
	if !o.HasBackground {
		return value{}
	}
	return value{kind: colorValue, color: o.Background}
}

func parseEffectsOption(_ *Parser, o Options, c component) (Options, string) {
	reason := o.parseEffects(c.value)
	return o, reason
}

func printEffects(o Options) value {
	fx := o.effects()
	if fx == (effects{}) {
		return value{}
	}
	return value{kind: effectsValue, fx: fx}
}

// parseNestedPreset is only reached when a preset holds t_, which
// Config.Validate refuses: Parse expands a URL's t_ before parsing values.
func parseNestedPreset(_ *Parser, o Options, _ component) (Options, string) {
	return o, "presets do not nest"
}

func parseExpires(_ *Parser, o Options, c component) (Options, string) {
	n, ok := parseUint(c.value)
	if !ok || n < 1 {
		return o, "not a unix time in seconds > 0"
	}
	o.Expires = int64(n)
	return o, ""
}

func parseKeyID(_ *Parser, o Options, c component) (Options, string) {
	if !ValidKeyID(c.value) {
		return o, "not [A-Za-z0-9-]{1," + strconv.Itoa(maxNameLen) + "}"
	}
	o.KeyID = c.value
	return o, ""
}

func parseSignature(_ *Parser, o Options, c component) (Options, string) {
	if !validSignature(c.value) {
		return o, "not unpadded base64url of 1.." + strconv.Itoa(maxSignature) + " characters"
	}
	o.Signature = c.value
	return o, ""
}

// oneOfReason is the refusal of a value outside a list of names.
func oneOfReason(names []string) string {
	return "not one of " + strings.Join(names, ", ")
}

// maxPage bounds pg_: libvips' GIF loader reads at most 4096 frames, and
// the frame limit (transform.Config.MaxFrames) is at most that.
const maxPage = 4096

// pg_ picks one frame of an animation, counted from 1 (Cloudinary's pg_);
// whether the image has that frame is known only from its header.
func parsePage(_ *Parser, o Options, c component) (Options, string) {
	n, ok := parseUint(c.value)
	if !ok || n < 1 || n > maxPage {
		return o, "not an integer in 1..4096"
	}
	o.Page = int(n)
	return o, ""
}
