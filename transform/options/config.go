package options

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DefaultMaxDimension is the default largest w_, h_, x_ and y_: 8192 px is
// the largest edge the common browsers and the AVIF/WebP encoders handle
// without tiling, and it bounds a request's pixel budget to 64 MP.
const DefaultMaxDimension = 8192

// Preset is a named set of options that a URL names with t_<name>.
type Preset struct {
	// Name is the t_ value: [a-z0-9-]{1,32}.
	Name string
	// Options is the preset's option string, e.g.
	// "w_200,h_200,c_fill,g_auto,f_auto,q_auto". It may not contain t_,
	// s_, exp_ or kid_, and must be valid on its own.
	Options string
	// Public presets may be served unsigned when the URL's options are
	// exactly "t_<name>".
	Public bool
	// Eager presets are generated at upload time.
	Eager bool
	// Watermark presets draw the configured watermark (Config.Watermark)
	// on top of their variants, as if the URL said wm_1.
	Watermark bool
}

// Config holds the parser's settings.
type Config struct {
	// MaxDimension is the largest w_, h_, x_ and y_ accepted, in pixels.
	// Default DefaultMaxDimension (8192).
	MaxDimension int
	// Presets are the t_ presets, keyed by their Name. Default none.
	Presets map[string]Preset
	// AllowedWidths, when not empty, are the only w_ values a URL may
	// give (PICTOR_ALLOWED_WIDTHS); any other is refused with an *Error
	// naming w_. The list holds the value as written in w_, in CSS pixels:
	// dpr_ (seven values) multiplies an allowed width, so the widths that
	// can be made stay bounded by seven times the list. A preset's own w_
	// is not checked, since presets are a fixed set the operator wrote;
	// a URL overriding it (t_hero,w_700) is. Each is 1..MaxDimension.
	// Default empty: any width 1..MaxDimension.
	AllowedWidths []int
	// AllowedHeights is AllowedWidths for h_ (PICTOR_ALLOWED_HEIGHTS).
	// Default empty: any height 1..MaxDimension.
	AllowedHeights []int
	// PresetsOnly serves only URLs whose options are t_<preset>, with
	// exp_, kid_ and s_ as needed (PICTOR_PRESETS_ONLY), like Cloudinary's
	// strict transformations: every other component, an override of a
	// preset's option included, is refused with an *Error naming it, so
	// the variants that can exist are the presets times the originals.
	// It needs at least one preset. Default off.
	PresetsOnly bool
	// Overlays are the names l_<name> accepts, each for the key of a
	// stored original (PICTOR_OVERLAYS, see ParseOverlays). Default none:
	// l_ takes keys and text only.
	Overlays map[string]string
	// Watermark is the default watermark, one layer written as in a URL,
	// e.g. "l_logo,lg_south_east,lw_15,lo_60" (PICTOR_WATERMARK): what
	// wm_1 and presets marked +watermark draw. Default none.
	Watermark string
	// WatermarkAll draws Watermark on every variant
	// (PICTOR_WATERMARK_ALL). Default off: only wm_1 and +watermark
	// presets. It needs Watermark.
	WatermarkAll bool
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{MaxDimension: DefaultMaxDimension}
}

// Validate reports a setting out of range or a preset that does not parse.
func (c Config) Validate() error {
	_, _, err := c.compile()
	return err
}

// maxNameLen bounds preset names and key ids: long enough for a
// descriptive name, short enough to keep URLs readable.
const maxNameLen = 32

// compile validates c and splits every preset into its components once, so
// that Parse only merges them. It returns a parser with c's settings but
// the presets, which it returns apart.
func (c Config) compile() (*Parser, map[string]compiledPreset, error) {
	bare, out, err := c.compilePresets()
	if err != nil {
		return nil, nil, err
	}
	bare.watermarkAll = c.WatermarkAll
	return bare, out, nil
}

func (c Config) compilePresets() (*Parser, map[string]compiledPreset, error) {
	if c.MaxDimension < 1 {
		return nil, nil, fmt.Errorf("options: MaxDimension = %d, want >= 1", c.MaxDimension)
	}
	for _, l := range []struct {
		name string
		list []int
	}{{"AllowedWidths", c.AllowedWidths}, {"AllowedHeights", c.AllowedHeights}} {
		for _, v := range l.list {
			if v < 1 || v > c.MaxDimension {
				return nil, nil, fmt.Errorf("options: %s holds %d, want 1..%d (MaxDimension)", l.name, v, c.MaxDimension)
			}
		}
	}
	if c.PresetsOnly && len(c.Presets) == 0 {
		return nil, nil, errors.New("options: PresetsOnly with no presets would refuse every URL")
	}
	if err := checkOverlays(c.Overlays); err != nil {
		return nil, nil, err
	}
	bare := &Parser{maxDim: c.MaxDimension, overlays: c.Overlays}
	if c.Watermark != "" {
		l, err := bare.compileWatermark(c.Watermark)
		if err != nil {
			return nil, nil, fmt.Errorf("options: watermark %q: %w", c.Watermark, err)
		}
		bare.watermark, bare.hasWatermark = l, true
	} else if c.WatermarkAll {
		return nil, nil, errors.New("options: WatermarkAll with no Watermark")
	}
	out := make(map[string]compiledPreset, len(c.Presets))
	for key, p := range c.Presets {
		if key != p.Name {
			return nil, nil, fmt.Errorf("options: preset %q is stored under name %q", p.Name, key)
		}
		if !validPresetName(p.Name) {
			return nil, nil, fmt.Errorf("options: preset name %q: want [a-z0-9-]{1,%d}", p.Name, maxNameLen)
		}
		comps, err := split(p.Options)
		if err != nil {
			return nil, nil, fmt.Errorf("options: preset %q: %w", p.Name, err)
		}
		for _, cp := range comps {
			// t_ would nest presets; s_, exp_ and kid_ belong to one
			// signed URL, not to a reusable set of options.
			if cp.opt.role != pixels && cp.opt.role != layer {
				return nil, nil, fmt.Errorf("options: preset %q: %s_ is not allowed in a preset", p.Name, cp.name)
			}
		}
		// A preset must stand on its own so that a bare t_<name> URL is
		// always valid.
		if _, err := bare.build(comps); err != nil {
			return nil, nil, fmt.Errorf("options: preset %q: %w", p.Name, err)
		}
		if p.Watermark && !bare.hasWatermark {
			return nil, nil, fmt.Errorf("options: preset %q is marked +watermark but no watermark is configured", p.Name)
		}
		out[key] = compiledPreset{Preset: p, comps: comps}
	}
	return bare, out, nil
}

type compiledPreset struct {
	Preset
	comps []component
}

func validPresetName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ParsePresets reads presets from a configuration string such as the
// PICTOR_PRESETS variable: entries separated by ';', each "name:options",
// where the name may carry the flags "+public", "+eager" and "+watermark":
//
//	thumb+public:w_200,h_200,c_fill;hero+eager:w_1600
//
// Whitespace around entries is ignored so that the list may span lines. It
// checks names and flags; whether the options parse is Config.Validate's
// job, since that depends on MaxDimension. An empty string gives no presets.
func ParsePresets(s string) (map[string]Preset, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := make(map[string]Preset)
	for i, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("options: presets: entry %d is empty", i+1)
		}
		head, opts, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("options: presets: entry %q: want name:options", entry)
		}
		flags := strings.Split(head, "+")
		p := Preset{Name: flags[0], Options: opts}
		if !validPresetName(p.Name) {
			return nil, fmt.Errorf("options: preset name %q: want [a-z0-9-]{1,%d}", p.Name, maxNameLen)
		}
		for _, f := range flags[1:] {
			switch {
			case f == "public" && !p.Public:
				p.Public = true
			case f == "eager" && !p.Eager:
				p.Eager = true
			case f == "watermark" && !p.Watermark:
				p.Watermark = true
			default:
				return nil, fmt.Errorf("options: preset %q: flag %q: want +public, +eager or +watermark, each at most once", p.Name, f)
			}
		}
		if opts == "" {
			return nil, fmt.Errorf("options: preset %q: %w", p.Name, ErrEmpty)
		}
		if _, dup := out[p.Name]; dup {
			return nil, fmt.Errorf("options: preset %q defined more than once", p.Name)
		}
		out[p.Name] = p
	}
	return out, nil
}

// ParseDimensions reads an allow-list of widths or heights such as the
// PICTOR_ALLOWED_WIDTHS variable: positive integers separated by commas,
// with optional spaces, e.g. "320,640,960,1280,1920". It returns them
// sorted, each once; whether they are within MaxDimension is
// Config.Validate's job. An empty or blank string gives nil: no list.
func ParseDimensions(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || f != strconv.Itoa(n) {
			return nil, fmt.Errorf("options: %q in %q: want positive integers separated by commas", f, s)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// sortedPresets lists presets by name.
func sortedPresets(m map[string]compiledPreset) []Preset {
	out := make([]Preset, 0, len(m))
	for _, p := range m {
		out = append(out, p.Preset)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
