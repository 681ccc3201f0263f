package options

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pictorhq/pictor/transform/format"
)

// Error is a rejected options component.
type Error struct {
	// Option is the component's name ("w", "e", …). It is empty when the
	// component has no name (no underscore, or nothing before it); Value
	// then holds the whole component.
	Option string
	// Value is the raw value as given in the URL.
	Value string
	// Reason says what is wrong, for a 400 body.
	Reason string
}

func (e *Error) Error() string {
	switch {
	case e.Option != "":
		return "options: " + e.Option + "_" + e.Value + ": " + e.Reason
	case e.Value != "":
		return "options: " + e.Value + ": " + e.Reason
	default:
		return "options: " + e.Reason
	}
}

// Parser parses options segments against a configuration (the dimension
// limit, the presets and the variant-explosion guards). It is safe for
// concurrent use.
type Parser struct {
	maxDim  int
	presets map[string]compiledPreset
	// widths and heights are the allow-lists, sorted; nil allows any
	// value. widthReason and heightReason are their refusals, written once.
	widths, heights           []int
	widthReason, heightReason string
	presetsOnly               bool
}

// NewParser validates cfg and returns a parser for it.
func NewParser(cfg Config) (*Parser, error) {
	presets, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	p := &Parser{maxDim: cfg.MaxDimension, presets: presets, presetsOnly: cfg.PresetsOnly}
	p.widths, p.widthReason = allowList(cfg.AllowedWidths, "width")
	p.heights, p.heightReason = allowList(cfg.AllowedHeights, "height")
	return p, nil
}

// allowList sorts a copy of list and writes the reason a value not on it
// is refused with; an empty list gives nil (no restriction).
func allowList(list []int, what string) ([]int, string) {
	if len(list) == 0 {
		return nil, ""
	}
	l := slices.Clone(list)
	slices.Sort(l)
	l = slices.Compact(l)
	var b strings.Builder
	b.WriteString("not an allowed " + what + " (")
	for i, v := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(v))
	}
	b.WriteString(")")
	return l, b.String()
}

// Presets lists the configured presets sorted by name.
func (p *Parser) Presets() []Preset { return sortedPresets(p.presets) }

// MaxDimension is the largest w_, h_, x_ and y_ the parser accepts.
func (p *Parser) MaxDimension() int { return p.maxDim }

// PresetsOnly reports whether only t_<preset> URLs are served (see
// Config.PresetsOnly).
func (p *Parser) PresetsOnly() bool { return p.presetsOnly }

// AllowedWidths returns the width allow-list, sorted; nil when any width
// 1..MaxDimension is allowed.
func (p *Parser) AllowedWidths() []int { return slices.Clone(p.widths) }

// CheckWidth refuses, with an *Error naming w_, a width outside
// 1..MaxDimension or off the allow-list. The srcset endpoint checks the
// widths of its ?w= list with it, as Parse checks w_.
func (p *Parser) CheckWidth(w int) error {
	if w < 1 || w > p.maxDim {
		return &Error{Option: "w", Value: strconv.Itoa(w), Reason: "not an integer in 1.." + strconv.Itoa(p.maxDim)}
	}
	if !allowed(p.widths, w) {
		return &Error{Option: "w", Value: strconv.Itoa(w), Reason: p.widthReason}
	}
	return nil
}

// allowed reports whether v is on the sorted list, or the list is empty.
func allowed(list []int, v int) bool {
	if list == nil {
		return true
	}
	_, ok := slices.BinarySearch(list, v)
	return ok
}

// PresetName reports whether the options string s asks for a preset and
// nothing else: t_<name> of a configured preset, with at most the signing
// fields exp_, kid_ and s_ beside it (what presets-only mode accepts). It
// returns the name, so that a URL handed out can keep the t_ form.
func (p *Parser) PresetName(s string) (string, bool) {
	comps, err := split(s)
	if err != nil || onlyPreset(comps) != nil {
		return "", false
	}
	for _, c := range comps {
		if c.name == "t" {
			if _, ok := p.presets[c.value]; ok {
				return c.value, true
			}
		}
	}
	return "", false
}

// PublicPreset reports whether s is exactly "t_<name>" for a public preset:
// such a URL may be served without a signature.
func (p *Parser) PublicPreset(s string) bool {
	name, ok := strings.CutPrefix(s, "t_")
	if !ok {
		return false
	}
	pr, ok := p.presets[name]
	return ok && pr.Public
}

// component is one name_value pair of an options string. from names the
// preset it came from, so that an error it causes can say so.
type component struct{ name, value, from string }

// known lists the option names; the bool is unused.
var known = map[string]bool{
	"w": true, "h": true, "c": true, "g": true, "x": true, "y": true,
	"dpr": true, "f": true, "q": true, "b": true, "e": true, "t": true,
	"exp": true, "kid": true, "s": true,
}

// split cuts s into components and checks the grammar that does not depend
// on values: no empty component, a known name before the first underscore,
// each name at most once.
func split(s string) ([]component, error) {
	if s == "" {
		return nil, ErrEmpty
	}
	comps := make([]component, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		if part == "" {
			return nil, &Error{Reason: "empty component"}
		}
		name, value, ok := strings.Cut(part, "_")
		if !ok {
			return nil, &Error{Value: part, Reason: "want name_value"}
		}
		if name == "" || !known[name] {
			if name == "" {
				return nil, &Error{Value: part, Reason: "want name_value"}
			}
			return nil, &Error{Option: name, Value: value, Reason: "unknown option"}
		}
		for _, c := range comps {
			if c.name == name {
				return nil, &Error{Option: name, Value: value, Reason: "given more than once"}
			}
		}
		comps = append(comps, component{name: name, value: value})
	}
	return comps, nil
}

// Parse parses an options segment. A t_ preset is expanded in place, and
// the URL's own components override the preset's for the same name
// (t_thumb,w_300). Errors are ErrEmpty or an *Error naming the component.
//
// In presets-only mode anything but t_<preset>, exp_, kid_ and s_ is
// refused. The canonical form of what such a URL parses to (the preset
// expanded) is then not itself accepted: it is still what is signed and
// what keys the cache, but it is never a URL.
func (p *Parser) Parse(s string) (Options, error) {
	comps, err := split(s)
	if err != nil {
		return Options{}, err
	}
	if p.presetsOnly {
		if err := onlyPreset(comps); err != nil {
			return Options{}, err
		}
	}
	for i, c := range comps {
		if c.name != "t" {
			continue
		}
		pr, ok := p.presets[c.value]
		if !ok {
			return Options{}, &Error{Option: "t", Value: c.value, Reason: "unknown preset"}
		}
		merged := make([]component, 0, len(pr.comps)+len(comps)-1)
	presetLoop:
		for _, pc := range pr.comps {
			for _, uc := range comps {
				if uc.name == pc.name {
					continue presetLoop
				}
			}
			pc.from = c.value
			merged = append(merged, pc)
		}
		merged = append(merged, comps[:i]...)
		comps = append(merged, comps[i+1:]...)
		break
	}
	return p.build(comps)
}

// presetsOnlyReason ends every refusal in presets-only mode.
const presetsOnlyReason = "only t_<preset> URLs are served here (presets-only mode)"

// onlyPreset refuses, in presets-only mode, a component other than t_ and
// the signing fields, and a URL without t_. An override of a preset's
// option is refused too: each one would be a new variant.
func onlyPreset(comps []component) error {
	hasPreset := false
	for _, c := range comps {
		switch c.name {
		case "t":
			hasPreset = true
		case "exp", "kid", "s":
		default:
			return &Error{Option: c.name, Value: c.value, Reason: "refused: " + presetsOnlyReason}
		}
	}
	if !hasPreset {
		return &Error{Option: "t", Reason: "missing: " + presetsOnlyReason}
	}
	return nil
}

// build turns checked components into Options, validating each value and
// then the rules that tie options together.
func (p *Parser) build(comps []component) (Options, error) {
	var o Options
	// The components that rules across options may blame, if given.
	var cc, gc, xc, yc *component
	for i := range comps {
		c := &comps[i]
		v := c.value
		bad := func(reason string) (Options, error) {
			return Options{}, &Error{Option: c.name, Value: v, Reason: reason}
		}
		var ok bool
		switch c.name {
		case "w":
			if o.Width, ok = p.dimension(v, 1); !ok {
				return bad("not an integer in 1.." + strconv.Itoa(p.maxDim))
			}
			if c.from == "" && !allowed(p.widths, o.Width) {
				return bad(p.widthReason)
			}
		case "h":
			if o.Height, ok = p.dimension(v, 1); !ok {
				return bad("not an integer in 1.." + strconv.Itoa(p.maxDim))
			}
			if c.from == "" && !allowed(p.heights, o.Height) {
				return bad(p.heightReason)
			}
		case "x":
			if o.X, ok = p.dimension(v, 0); !ok {
				return bad("not an integer in 0.." + strconv.Itoa(p.maxDim))
			}
			xc = c
		case "y":
			if o.Y, ok = p.dimension(v, 0); !ok {
				return bad("not an integer in 0.." + strconv.Itoa(p.maxDim))
			}
			yc = c
		case "c":
			if o.Crop, ok = lookup[Crop](cropNames[:], v); !ok {
				return bad("not one of fit, fill, limit, pad, scale, crop")
			}
			cc = c
		case "g":
			if o.Gravity, ok = lookup[Gravity](gravityNames[:], v); !ok {
				return bad("not one of center, north, south, east, west, north_east, north_west, south_east, south_west, auto")
			}
			gc = c
		case "dpr":
			if o.DPR, ok = parseDPR(v); !ok {
				return bad("not one of 1, 1.5, 2, 2.5, 3, 3.5, 4")
			}
		case "f":
			if v == "auto" {
				o.FormatAuto = true
			} else if o.Format, ok = format.Parse(v); !ok {
				return bad("not one of jpeg, jpg, png, webp, avif, gif, auto")
			}
		case "q":
			if v == "auto" {
				o.QualityAuto = true
			} else if n, ok := parseUint(v); ok && n >= 1 && n <= 100 {
				o.Quality = int(n)
			} else {
				return bad("not an integer in 1..100 or auto")
			}
		case "b":
			if o.Background, ok = parseColor(v); !ok {
				return bad("not six hex digits rrggbb")
			}
			o.HasBackground = true
		case "e":
			if reason := o.parseEffects(v); reason != "" {
				return bad(reason)
			}
		case "exp":
			n, ok := parseUint(v)
			if !ok || n < 1 {
				return bad("not a unix time in seconds > 0")
			}
			o.Expires = int64(n)
		case "kid":
			if !ValidKeyID(v) {
				return bad("not [A-Za-z0-9-]{1,32}")
			}
			o.KeyID = v
		case "s":
			if !validSignature(v) {
				return bad("not unpadded base64url of 1..128 characters")
			}
			o.Signature = v
		case "t":
			// Only reachable when build parses a preset, and presets may
			// not hold t_; Parse expands t_ before calling build.
			return bad("presets do not nest")
		}
	}

	// Rules across options. Each refuses a combination that would change
	// nothing but the cache key, or that the pipeline cannot honour.
	switch {
	case cc != nil && o.Crop != Fit && o.Width == 0 && o.Height == 0:
		return Options{}, cc.err("needs w_ or h_")
	case o.Crop == Region && (o.Width == 0 || o.Height == 0):
		return Options{}, cc.err("needs both w_ and h_")
	case gc != nil && o.Crop != Fill && o.Crop != Pad && o.Crop != Region:
		return Options{}, gc.err("only applies with c_fill, c_pad or c_crop")
	case xc != nil && o.Crop != Region:
		return Options{}, xc.err("only applies with c_crop")
	case yc != nil && o.Crop != Region:
		return Options{}, yc.err("only applies with c_crop")
	}
	return o, nil
}

// err blames c for a rule across options, naming its preset if it came
// from one: the URL's author may never have written it.
func (c *component) err(reason string) *Error {
	if c.from != "" {
		reason += " (from t_" + c.from + ")"
	}
	return &Error{Option: c.name, Value: c.value, Reason: reason}
}

// parseUint accepts plain decimal digits without sign or leading zero
// ("0" itself is fine), so that every number has one spelling.
func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 63) // 63 bits: the result fits int64
	return n, err == nil
}

func (p *Parser) dimension(s string, lo int) (int, bool) {
	n, ok := parseUint(s)
	if !ok || n < uint64(lo) || n > uint64(p.maxDim) {
		return 0, false
	}
	return int(n), true
}

func lookup[T ~uint8](names []string, s string) (T, bool) {
	for i, n := range names {
		if n == s {
			return T(i), true
		}
	}
	return 0, false
}

// parseDPR accepts the seven allowed ratios in their one spelling; dpr_1
// is the default and parses to 0 so that it drops out of the canonical
// form.
func parseDPR(s string) (float64, bool) {
	switch s {
	case "1":
		return 0, true
	case "1.5", "2", "2.5", "3", "3.5", "4":
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	return 0, false
}

// parseDecimal accepts a finite decimal only in the spelling formatDecimal
// gives it: no exponent, sign, leading or trailing zero, or bare point.
func parseDecimal(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || formatDecimal(v) != s {
		return 0, false
	}
	return v, true
}

func parseColor(s string) (Color, bool) {
	if len(s) != 6 {
		return Color{}, false
	}
	var rgb [3]uint8
	for i := range 6 {
		d, ok := hexDigit(s[i])
		if !ok {
			return Color{}, false
		}
		rgb[i/2] = rgb[i/2]<<4 | d
	}
	return Color{rgb[0], rgb[1], rgb[2]}, true
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// maxBlur bounds the blur sigma: past 100 the Gaussian mask is larger than
// most images and the cost grows with its area for no visible change.
const maxBlur = 100

// parseEffects reads the e_ value into o and returns a reason when it is
// malformed: ':'-separated effects, each at most once, blur followed by
// its sigma.
func (o *Options) parseEffects(v string) string {
	tokens := strings.Split(v, ":")
	var blur, gray, sharp bool
	for i := 0; i < len(tokens); i++ {
		switch tok := tokens[i]; tok {
		case "grayscale":
			if gray {
				return "grayscale given more than once"
			}
			gray, o.Grayscale = true, true
		case "sharpen":
			if sharp {
				return "sharpen given more than once"
			}
			sharp, o.Sharpen = true, true
		case "blur":
			if blur {
				return "blur given more than once"
			}
			if i+1 >= len(tokens) {
				return "blur needs a sigma: blur:<sigma>"
			}
			i++
			sigma, ok := parseDecimal(tokens[i])
			if !ok || sigma <= 0 || sigma > maxBlur {
				return "blur sigma not a decimal in (0, 100] such as 0.5 or 2"
			}
			blur, o.Blur = true, sigma
		case "":
			return "empty effect"
		default:
			return "unknown effect " + strconv.Quote(tok) + ", want blur:<sigma>, sharpen or grayscale"
		}
	}
	return ""
}

// ValidKeyID reports whether s can be a kid_ value, [A-Za-z0-9-]{1,32}:
// no '_' or ',' so that a key id never reaches into the next component.
// Package sign checks configured key ids with it so that every configured
// key can be named in a URL.
func ValidKeyID(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// maxSignature bounds s_: 128 base64url characters hold 768 bits, far more
// than any HMAC a signer would truncate to.
const maxSignature = 128

func validSignature(s string) bool {
	if len(s) == 0 || len(s) > maxSignature {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' && s[i] != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
