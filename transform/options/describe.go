package options

import (
	"strconv"

	"github.com/pictorhq/pictor/transform/format"
)

// Field describes one option of the grammar for a form that composes URLs
// (the playground): what kind of control it needs and what it accepts.
// Describe lists the grammar's rows in canonical order, so a form built
// from it follows the table and never names an option the table lacks.
type Field struct {
	Name string `json:"name"`
	// Role is "pixels" (decides the variant), "layer" (repeats once per
	// l_), "preset" (t_) or "signing" (exp_, kid_; s_ is the server's).
	Role string `json:"role"`
	// Kind is the control: "int" (Min..Max, or one of Words), "enum" (one
	// of Choices), "color" (rrggbb, or one of Words), "border"
	// (<px>_<rrggbb>), "effects" (Effects joined by ':'), "layer" (an
	// original key, an overlay name or text), "flag" (the value 1), "word"
	// (free text the server checks) or "signature" (made by the server).
	Kind    string   `json:"kind"`
	Min     int      `json:"min,omitempty"`
	Max     int      `json:"max,omitempty"`
	Words   []string `json:"words,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Effects []Effect `json:"effects,omitempty"`
	// Label is a short human name for the control; Help says what it does.
	Label string `json:"label"`
	Help  string `json:"help"`
	// Off says this server's configuration refuses every value (wm_ with
	// no watermark configured); Help says why.
	Off bool `json:"off,omitempty"`
}

// Effect is one e_ effect: a flag, or one that takes a value in Min..Max
// (Decimal: a decimal, else an integer).
type Effect struct {
	Name    string  `json:"name"`
	Arg     bool    `json:"arg"`
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
	Decimal bool    `json:"decimal,omitempty"`
}

// effectFields are the e_ effects in the order parseEffects accepts them.
var effectFields = []Effect{
	{Name: "grayscale"}, {Name: "sharpen"}, {Name: "trim"},
	{Name: "blur", Arg: true, Min: 0.1, Max: maxBlur, Decimal: true},
	{Name: "pixelate", Arg: true, Min: 2, Max: maxPixelate},
	{Name: "brightness", Arg: true, Min: -100, Max: 100},
	{Name: "contrast", Arg: true, Min: -100, Max: 100},
	{Name: "saturation", Arg: true, Min: -100, Max: 100},
}

// describe is the form's side of each row, by name. TestDescribeCoversGrammar
// fails when a row is added to the grammar without one here.
func (p *Parser) describe(name string) (Field, bool) {
	dim := strconv.Itoa(p.maxDim)
	switch name {
	case "w":
		return Field{Kind: "int", Min: 1, Max: p.maxDim, Words: []string{"auto"}, Label: "Width",
			Help: "target width in CSS pixels (1.." + dim + "), or auto / auto:<fallback> from client hints"}, true
	case "h":
		return Field{Kind: "int", Min: 1, Max: p.maxDim, Label: "Height", Help: "target height in CSS pixels"}, true
	case "c":
		return Field{Kind: "enum", Choices: cropNames[:], Label: "Crop mode", Help: "how the image fits the w×h box"}, true
	case "g":
		return Field{Kind: "enum", Choices: gravityNames[:], Label: "Gravity", Help: "anchor for c_fill, c_pad and c_crop"}, true
	case "x":
		return Field{Kind: "int", Min: 0, Max: p.maxDim, Label: "Crop x", Help: "left edge of the c_crop region"}, true
	case "y":
		return Field{Kind: "int", Min: 0, Max: p.maxDim, Label: "Crop y", Help: "top edge of the c_crop region"}, true
	case "dpr":
		return Field{Kind: "enum", Choices: append(append([]string(nil), dprNames...), "auto"), Label: "Device pixel ratio", Help: "multiplies w_ and h_"}, true
	case "f":
		var names []string
		for _, f := range format.All {
			if f.Output() {
				names = append(names, f.String())
			}
		}
		return Field{Kind: "enum", Choices: append(names, "auto"), Label: "Format", Help: "output format; auto negotiates from Accept"}, true
	case "pg":
		return Field{Kind: "int", Min: 1, Max: maxPage, Label: "Frame", Help: "one frame of an animation, from 1"}, true
	case "q":
		return Field{Kind: "int", Min: 1, Max: 100, Words: []string{"auto"}, Label: "Quality", Help: "encoder quality 1..100, or auto"}, true
	case "b":
		return Field{Kind: "color", Words: []string{"blur"}, Label: "Background", Help: "rrggbb for c_pad and alpha, or blur"}, true
	case "e":
		return Field{Kind: "effects", Effects: effectFields, Label: "Effects", Help: "each at most once"}, true
	case "a":
		return Field{Kind: "enum", Choices: angleNames[1:], Label: "Rotate or flip", Help: "turn by 90, 180, 270 degrees, or flip"}, true
	case "r":
		return Field{Kind: "int", Min: 1, Max: maxRadius, Words: []string{"max"}, Label: "Corner radius", Help: "rounded corners in CSS pixels, or max"}, true
	case "bo":
		return Field{Kind: "border", Min: 1, Max: maxBorder, Label: "Border", Help: "a frame inside the edge: width in CSS pixels and colour"}, true
	case "l":
		return Field{Kind: "layer", Label: "Layer", Help: "an original key, a configured overlay name, or a text"}, true
	case "lg":
		return Field{Kind: "enum", Choices: gravityNames[:Auto], Label: "Layer gravity", Help: "edge or corner the layer sits against (default south_east)"}, true
	case "lx":
		return Field{Kind: "int", Min: 0, Max: p.maxDim, Label: "Layer x", Help: "inset from the gravity's edge"}, true
	case "ly":
		return Field{Kind: "int", Min: 0, Max: p.maxDim, Label: "Layer y", Help: "inset from the gravity's edge"}, true
	case "lw":
		return Field{Kind: "int", Min: 1, Max: 100, Label: "Layer width %", Help: "percentage of the output width"}, true
	case "lo":
		return Field{Kind: "int", Min: 1, Max: 100, Label: "Layer opacity %", Help: "1..100 (default 100)"}, true
	case "lt":
		return Field{Kind: "flag", Label: "Tile layer", Help: "repeat the layer over the whole output"}, true
	case "lc":
		return Field{Kind: "color", Label: "Text colour", Help: "rrggbb (default black)"}, true
	case "ls":
		return Field{Kind: "int", Min: minTextSize, Max: maxTextSize, Label: "Text size", Help: "CSS pixels (default " + strconv.Itoa(DefaultTextSize) + ")"}, true
	case "lf":
		return Field{Kind: "enum", Choices: fontNames[:], Label: "Text font"}, true
	case "wm":
		f := Field{Kind: "flag", Label: "Watermark", Help: "draw the configured watermark"}
		if !p.hasWatermark {
			f.Help, f.Off = "no watermark is configured (PICTOR_WATERMARK)", true
		}
		return f, true
	case "t":
		var names []string
		for _, pr := range p.Presets() {
			names = append(names, pr.Name)
		}
		return Field{Kind: "enum", Choices: names, Label: "Preset", Help: "expands to the preset's options"}, true
	case "exp":
		return Field{Kind: "int", Min: 1, Label: "Expires", Help: "unix time in seconds after which the URL is refused"}, true
	case "kid":
		return Field{Kind: "word", Label: "Signing key id", Help: "which signing key signs (default the first)"}, true
	case "s":
		return Field{Kind: "signature", Label: "Signature", Help: "made by the server"}, true
	}
	return Field{}, false
}

var roleNames = [...]string{pixels: "pixels", preset: "preset", signing: "signing", layer: "layer"}

// Describe lists every option of the grammar in canonical order, with
// the bounds and names this parser's configuration gives them.
func (p *Parser) Describe() []Field {
	fields := make([]Field, 0, len(grammar))
	for i := range grammar {
		f, _ := p.describe(grammar[i].name)
		f.Name, f.Role = grammar[i].name, roleNames[grammar[i].role]
		fields = append(fields, f)
	}
	return fields
}
