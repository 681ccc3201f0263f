package options

import (
	"slices"
	"strconv"
	"strings"
)

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
	// overlays are the l_<name> names; watermark is the layer wm_1 draws,
	// when hasWatermark; watermarkAll draws it on every variant.
	overlays                   map[string]string
	watermark                  Layer
	hasWatermark, watermarkAll bool
}

// NewParser validates cfg and returns a parser for it.
func NewParser(cfg Config) (*Parser, error) {
	bare, presets, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	p := bare
	p.presets, p.presetsOnly = presets, cfg.PresetsOnly
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
	var reason string
	switch {
	case w < 1 || w > p.maxDim:
		reason = p.dimensionReason(1)
	case !allowed(p.widths, w):
		reason = p.widthReason
	default:
		return nil
	}
	return &Error{Option: "w", Value: strconv.Itoa(w), Reason: reason}
}

// dimension parses a size or offset in lo..MaxDimension.
func (p *Parser) dimension(s string, lo int) (int, bool) {
	n, ok := parseUint(s)
	if !ok || n < uint64(lo) || n > uint64(p.maxDim) {
		return 0, false
	}
	return int(n), true
}

// dimensionReason is the refusal of a value dimension(s, lo) refused.
func (p *Parser) dimensionReason(lo int) string {
	return "not an integer in " + strconv.Itoa(lo) + ".." + strconv.Itoa(p.maxDim)
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
		if c.opt.role == preset {
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
	if comps, err = p.expandPreset(comps); err != nil {
		return Options{}, err
	}
	return p.build(comps)
}

// component is one name_value pair of an options string, with its row of
// the grammar. from names the preset it came from, so that an error it
// causes can say so.
type component struct {
	opt               *option
	name, value, from string
}

// split cuts s into components and checks the grammar that does not depend
// on values: no empty component, a known name before the first underscore,
// each name at most once, but for layer options: once per layer, after
// the l_ that starts it.
func split(s string) ([]component, error) {
	if s == "" {
		return nil, ErrEmpty
	}
	comps := make([]component, 0, strings.Count(s, ",")+1)
	layerStart := -1 // the current layer's l_, -1 before the first
	for part := range strings.SplitSeq(s, ",") {
		if part == "" {
			return nil, &Error{Reason: "empty component"}
		}
		name, value, ok := strings.Cut(part, "_")
		if !ok || name == "" {
			return nil, &Error{Value: part, Reason: "want name_value"}
		}
		opt := optionNamed(name)
		if opt == nil {
			return nil, &Error{Option: name, Value: value, Reason: "unknown option"}
		}
		scope := comps
		if opt.role == layer && name != "l" {
			if layerStart < 0 {
				return nil, &Error{Option: name, Value: value, Reason: "needs an l_ before it"}
			}
			scope = comps[layerStart:]
		}
		for _, c := range scope {
			if c.opt == opt && name != "l" {
				return nil, &Error{Option: name, Value: value, Reason: "given more than once"}
			}
		}
		if name == "l" {
			layerStart = len(comps)
		}
		comps = append(comps, component{opt: opt, name: name, value: value})
	}
	return comps, nil
}

// presetsOnlyReason ends every refusal in presets-only mode.
const presetsOnlyReason = "only t_<preset> URLs are served here (presets-only mode)"

// onlyPreset refuses, in presets-only mode, a component other than t_ and
// the signing fields, and a URL without t_. An override of a preset's
// option is refused too: each one would be a new variant.
func onlyPreset(comps []component) error {
	hasPreset := false
	for _, c := range comps {
		switch c.opt.role {
		case preset:
			hasPreset = true
		case signing:
		default:
			return &Error{Option: c.name, Value: c.value, Reason: "refused: " + presetsOnlyReason}
		}
	}
	if !hasPreset {
		return &Error{Option: "t", Reason: "missing: " + presetsOnlyReason}
	}
	return nil
}

// expandPreset replaces a t_ component by its preset's components, less
// those the URL gives itself, each marked with the preset it came from.
func (p *Parser) expandPreset(comps []component) ([]component, error) {
	for i, c := range comps {
		if c.opt.role != preset {
			continue
		}
		pr, ok := p.presets[c.value]
		if !ok {
			return nil, c.refuse("unknown preset")
		}
		merged := make([]component, 0, len(pr.comps)+len(comps))
	presetLoop:
		for _, pc := range pr.comps {
			for _, uc := range comps {
				// Layers stack: the preset's are drawn under the URL's.
				if uc.opt == pc.opt && pc.opt.role != layer {
					continue presetLoop
				}
			}
			pc.from = c.value
			merged = append(merged, pc)
		}
		if pr.Watermark && !slices.ContainsFunc(comps, func(uc component) bool { return uc.opt == wmOption }) {
			merged = append(merged, component{opt: wmOption, name: "wm", value: "1", from: c.value})
		}
		merged = append(merged, comps[:i]...)
		return append(merged, comps[i+1:]...), nil
	}
	return comps, nil
}

// build turns checked components into Options: each value by its row, then
// the rules that tie options together.
func (p *Parser) build(comps []component) (Options, error) {
	o, err := p.parseValues(comps)
	if err != nil {
		return Options{}, err
	}
	if err := checkRules(o, comps); err != nil {
		return Options{}, err
	}
	if err := checkLayers(comps); err != nil {
		return Options{}, err
	}
	if p.watermarkAll {
		o.Watermark = true
	}
	if o.Watermark {
		o.Layers[o.layerCount()] = p.watermark
	}
	return o, nil
}

// parseValues reads each component's value into Options, in the order
// given, and refuses the first bad one.
func (p *Parser) parseValues(comps []component) (Options, error) {
	var o Options
	for _, c := range comps {
		var reason string
		if o, reason = c.opt.parse(p, o, c); reason != "" {
			return Options{}, c.refuse(reason)
		}
	}
	return o, nil
}

// checkRules checks, in the grammar's order, the cross-option rule of each
// option given.
func checkRules(o Options, comps []component) error {
	for i := range grammar {
		opt := &grammar[i]
		if opt.rule == nil {
			continue
		}
		for j := range comps {
			if comps[j].opt != opt {
				continue
			}
			if reason := opt.rule(o); reason != "" {
				return comps[j].blame(reason)
			}
		}
	}
	return nil
}

// refuse rejects c's value.
func (c *component) refuse(reason string) *Error {
	return &Error{Option: c.name, Value: c.value, Reason: reason}
}

// blame blames c for a rule across options, naming its preset if it came
// from one: the URL's author may never have written it.
func (c *component) blame(reason string) *Error {
	if c.from != "" {
		reason += " (from t_" + c.from + ")"
	}
	return c.refuse(reason)
}
