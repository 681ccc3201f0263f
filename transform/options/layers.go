package options

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pictorhq/pictor/internal/keys"
)

// Layers: l_ starts an overlay, image or text, and the l*_ options after
// it place and style that overlay until the next l_. They are the one
// part of the grammar where order matters and names repeat: once per
// layer, never twice in one.

// MaxLayers bounds the overlays of one URL, its preset's included: each
// is a decode or a text render and a composite over the whole output.
// The configured watermark comes on top of them.
const MaxLayers = 4

// Font is a text layer's typeface, chosen with lf_ from the fonts the
// deployment installs (scripts/deps.sh: Debian's fonts-dejavu-core and
// fonts-wqy-microhei).
type Font uint8

const (
	Sans  Font = iota // lf_sans (default): DejaVu Sans
	Serif             // lf_serif: DejaVu Serif
	Mono              // lf_mono: DejaVu Sans Mono
	CJK               // lf_cjk: WenQuanYi Micro Hei
)

var fontNames = [...]string{Sans: "sans", Serif: "serif", Mono: "mono", CJK: "cjk"}

// String is the lf_ value.
func (f Font) String() string {
	if int(f) >= len(fontNames) {
		return ""
	}
	return fontNames[f]
}

// Family is the fontconfig family name of f, what the text renderer is
// given.
func (f Font) Family() string {
	switch f {
	case Serif:
		return "DejaVu Serif"
	case Mono:
		return "DejaVu Sans Mono"
	case CJK:
		return "WenQuanYi Micro Hei"
	}
	return "DejaVu Sans"
}

// Layer is one overlay: an image (Key) or a text (Text), and where and
// how it goes on the output.
type Layer struct {
	// Key is the original drawn by an image layer: given as l_<key>, or
	// the key the configured overlay l_<name> stands for.
	Key string
	// Name is the configured overlay name as given; "" for l_<key>.
	Name string
	// Text is a text layer's text as given after l_text:, unpadded
	// base64url of UTF-8 (see Layer.String for the text itself).
	Text string
	// Gravity (lg_) is the edge or corner the layer is placed against;
	// SouthEast is the default. Not Auto.
	Gravity Gravity
	// X and Y (lx_, ly_) move the layer in from its gravity's edges, in
	// CSS pixels (dpr_ multiplies them), 0..MaxDimension.
	X, Y int
	// Width (lw_) scales the layer to this percentage of the output
	// width, 1..100; 0 keeps its own size (times dpr_).
	Width int
	// Opacity (lo_) is 1..100 percent; 100 is the default.
	Opacity int
	// Tile (lt_1) repeats the layer over the whole output.
	Tile bool
	// Color (lc_), Size (ls_, CSS pixels) and Font (lf_) style a text
	// layer: black, DefaultTextSize and Sans by default.
	Color Color
	Size  int
	Font  Font
}

// DefaultTextSize is ls_ unset, in CSS pixels.
const DefaultTextSize = 24

// Bounds of a text layer: the text is rendered into an image the size of
// what it says, so its length and size bound the work and the memory.
const (
	maxTextBytes = 256
	minTextSize  = 4
	maxTextSize  = 200
)

// IsText reports whether l is a text layer.
func (l Layer) IsText() bool { return l.Text != "" }

// String is a text layer's text, decoded; "" for an image layer. Parse
// checked that it decodes.
func (l Layer) String() string {
	b, _ := base64.RawURLEncoding.DecodeString(l.Text)
	return string(b)
}

// layerCount is how many layers o holds, the watermark included.
func (o Options) layerCount() int {
	n := 0
	for n < len(o.Layers) && (o.Layers[n].Key != "" || o.Layers[n].Text != "") {
		n++
	}
	return n
}

// LayerList is o's layers in the order they are drawn, the watermark last.
func (o Options) LayerList() []Layer { return o.Layers[:o.layerCount()] }

func parseLayer(p *Parser, o Options, c component) (Options, string) {
	n := o.layerCount()
	if n >= MaxLayers {
		return o, "more than " + strconv.Itoa(MaxLayers) + " layers"
	}
	l := Layer{Gravity: SouthEast, Opacity: 100}
	if t, ok := strings.CutPrefix(c.value, "text:"); ok {
		if reason := checkText(t); reason != "" {
			return o, reason
		}
		l.Text, l.Size = t, DefaultTextSize
	} else if key, ok := p.overlays[c.value]; ok {
		l.Name, l.Key = c.value, key
	} else if keys.Valid(c.value) {
		l.Key = c.value
	} else {
		return o, "unknown overlay: not a configured overlay name, an original key or text:<base64url>"
	}
	o.Layers[n] = l
	return o, ""
}

// checkText accepts the one spelling of a text: unpadded base64url with
// no stray bits, of 1..256 bytes of UTF-8 with no control character but
// the newline.
func checkText(t string) string {
	const reason = "text not unpadded base64url of 1..256 bytes of UTF-8 without control characters, not all spaces"
	if t == "" || len(t) > base64.RawURLEncoding.EncodedLen(maxTextBytes) {
		return reason
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(t)
	if err != nil || !utf8.Valid(b) {
		return reason
	}
	// Only spaces would render nothing, which the renderer refuses.
	blank := true
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return reason
		}
		blank = blank && unicode.IsSpace(r)
	}
	if blank {
		return reason
	}
	return ""
}

// inLayer applies set to the layer the last l_ started. split has made
// sure there is one.
func inLayer(o Options, set func(l *Layer) string) (Options, string) {
	n := o.layerCount()
	if n == 0 {
		return o, "needs an l_ before it"
	}
	reason := set(&o.Layers[n-1])
	return o, reason
}

func parseLayerGravity(_ *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		g, ok := lookup[Gravity](gravityNames[:], c.value)
		if !ok || g == Auto {
			return "not one of center, north, south, east, west, north_east, north_west, south_east, south_west"
		}
		l.Gravity = g
		return ""
	})
}

func parseLayerX(p *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		n, ok := p.dimension(c.value, 0)
		if !ok {
			return p.dimensionReason(0)
		}
		l.X = n
		return ""
	})
}

func parseLayerY(p *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		n, ok := p.dimension(c.value, 0)
		if !ok {
			return p.dimensionReason(0)
		}
		l.Y = n
		return ""
	})
}

func parsePercent(s string) (int, bool) {
	n, ok := parseUint(s)
	return int(n), ok && n >= 1 && n <= 100
}

var (
	parseLayerWidth   = layerPercent("not a percentage of the output width in 1..100", func(l *Layer) *int { return &l.Width })
	parseLayerOpacity = layerPercent("not an opacity in 1..100", func(l *Layer) *int { return &l.Opacity })
)

// layerPercent parses a percentage 1..100 into the field of the current
// layer that field names, refusing anything else with reason.
func layerPercent(reason string, field func(*Layer) *int) func(*Parser, Options, component) (Options, string) {
	return func(_ *Parser, o Options, c component) (Options, string) {
		return inLayer(o, func(l *Layer) string {
			n, ok := parsePercent(c.value)
			if !ok {
				return reason
			}
			*field(l) = n
			return ""
		})
	}
}

func parseLayerTile(_ *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		if c.value != "1" {
			return "not 1"
		}
		l.Tile = true
		return ""
	})
}

func parseLayerColor(_ *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		v, ok := parseColor(c.value)
		if !ok {
			return "not six hex digits rrggbb"
		}
		l.Color = v
		return ""
	})
}

func parseLayerSize(_ *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		n, ok := parseUint(c.value)
		if !ok || n < minTextSize || n > maxTextSize {
			return "not a text size in " + strconv.Itoa(minTextSize) + ".." + strconv.Itoa(maxTextSize)
		}
		l.Size = int(n)
		return ""
	})
}

func parseLayerFont(_ *Parser, o Options, c component) (Options, string) {
	return inLayer(o, func(l *Layer) string {
		f, ok := lookup[Font](fontNames[:], c.value)
		if !ok {
			return oneOfReason(fontNames[:])
		}
		l.Font = f
		return ""
	})
}

// printLayers marks where the layers go in the canonical form; Append
// writes them (appendLayers), since one value cannot hold them all.
func printLayers(o Options) value {
	if o.urlLayers() == 0 {
		return value{}
	}
	return value{kind: layersValue}
}

// printInLayer: the placement options print with their layer.
func printInLayer(Options) value { return value{} }

// urlLayers is how many of o's layers come from the URL or its preset:
// all but the watermark.
func (o Options) urlLayers() int {
	n := o.layerCount()
	if o.Watermark && n > 0 {
		n--
	}
	return n
}

// appendLayers appends each layer as l_ and its options that are not the
// default, in the grammar's order, each after a comma unless it is the
// first thing after start.
func appendLayers(b []byte, o *Options, start int) []byte {
	comp := func(name string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, name...)
		b = append(b, '_')
	}
	for i := range o.urlLayers() {
		l := &o.Layers[i]
		comp("l")
		switch {
		case l.Text != "":
			b = append(b, "text:"...)
			b = append(b, l.Text...)
		case l.Name != "":
			b = append(b, l.Name...)
		default:
			b = append(b, l.Key...)
		}
		if l.Gravity != SouthEast {
			comp("lg")
			b = append(b, l.Gravity.String()...)
		}
		if l.X != 0 {
			comp("lx")
			b = strconv.AppendInt(b, int64(l.X), 10)
		}
		if l.Y != 0 {
			comp("ly")
			b = strconv.AppendInt(b, int64(l.Y), 10)
		}
		if l.Width != 0 {
			comp("lw")
			b = strconv.AppendInt(b, int64(l.Width), 10)
		}
		if l.Opacity != 100 {
			comp("lo")
			b = strconv.AppendInt(b, int64(l.Opacity), 10)
		}
		if l.Tile {
			comp("lt")
			b = append(b, '1')
		}
		if l.Color != (Color{}) {
			comp("lc")
			b = l.Color.append(b)
		}
		if l.Text != "" && l.Size != DefaultTextSize {
			comp("ls")
			b = strconv.AppendInt(b, int64(l.Size), 10)
		}
		if l.Font != Sans {
			comp("lf")
			b = append(b, l.Font.String()...)
		}
	}
	return b
}

// checkLayers refuses, per layer, what would change nothing but the
// cache key: text styling on an image layer, and placement on a tiled
// one. It runs over the components, which say what was given; the values
// alone cannot tell lg_south_east from nothing.
func checkLayers(comps []component) error {
	var tile, text bool
	var placed *component
	end := func() error {
		if tile && placed != nil {
			return placed.blame("does not apply with lt_1 (the layer covers the output)")
		}
		return nil
	}
	for i := range comps {
		c := &comps[i]
		if c.opt.role != layer {
			continue
		}
		switch c.name {
		case "l":
			if err := end(); err != nil {
				return err
			}
			tile, placed = false, nil
			text = strings.HasPrefix(c.value, "text:")
		case "lt":
			tile = true
		case "lg", "lx", "ly":
			placed = c
		case "lc", "ls", "lf":
			if !text {
				return c.blame("only applies to a text layer (l_text:)")
			}
		}
	}
	return end()
}

// Watermark: wm_1 draws the configured default watermark on top of the
// URL's layers (Config.Watermark). Parse sets it itself for a preset
// marked +watermark, or for every URL with Config.WatermarkAll; it
// prints, so a signature covers it and a URL without it is a different
// variant, not a way around it.

func parseWatermark(p *Parser, o Options, c component) (Options, string) {
	if c.value != "1" {
		return o, "not 1"
	}
	if !p.hasWatermark {
		return o, "no watermark is configured (PICTOR_WATERMARK)"
	}
	o.Watermark = true
	return o, ""
}

func printWatermark(o Options) value {
	if !o.Watermark {
		return value{}
	}
	return integer(1)
}

// Overlays: the names l_<name> stands for.

// ParseOverlays reads named overlays such as the PICTOR_OVERLAYS
// variable: entries "name:key" separated by commas, e.g.
// "logo:<key>,badge:<key>". Names are [a-z0-9-]{1,32} and not "text";
// keys are original keys. An empty string gives none.
func ParseOverlays(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := make(map[string]string)
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		name, key, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, &ConfigError{What: "overlays", Value: entry, Reason: "want name:key"}
		}
		if _, dup := out[name]; dup {
			return nil, &ConfigError{What: "overlays", Value: entry, Reason: "name given more than once"}
		}
		out[name] = key
	}
	return out, checkOverlays(out)
}

func checkOverlays(m map[string]string) error {
	for name, key := range m {
		if !validPresetName(name) || name == "text" {
			return &ConfigError{What: "overlay name", Value: name, Reason: "want [a-z0-9-]{1,32}, not text"}
		}
		if !keys.Valid(key) {
			return &ConfigError{What: "overlay " + name, Value: key, Reason: "not an original key"}
		}
	}
	return nil
}

// ConfigError is a setting of the option grammar that does not hold.
type ConfigError struct{ What, Value, Reason string }

func (e *ConfigError) Error() string {
	return "options: " + e.What + " " + strconv.Quote(e.Value) + ": " + e.Reason
}

// compileWatermark parses the watermark spec with p (which knows the
// overlay names): l*_ components making exactly one layer.
func (p *Parser) compileWatermark(spec string) (Layer, error) {
	comps, err := split(spec)
	if err != nil {
		return Layer{}, err
	}
	for i, c := range comps {
		if c.opt.role != layer || (c.name == "l") != (i == 0) {
			return Layer{}, &ConfigError{What: "watermark", Value: spec, Reason: "want one layer: l_ first, then only its lg_, lx_, ly_, lw_, lo_, lt_, lc_, ls_, lf_"}
		}
	}
	o, err := p.build(comps)
	if err != nil {
		return Layer{}, err
	}
	return o.Layers[0], nil
}
