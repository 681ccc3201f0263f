package options

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// guardParser is testParser with the variant-explosion guards of cfg on
// top: the test presets, plus whatever mutate sets.
func guardParser(t testing.TB, mutate func(*Config)) *Parser {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Presets = testPresets
	mutate(&cfg)
	p, err := NewParser(cfg)
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	return p
}

// wantOptionError checks that err is an *Error blaming option, with a
// reason containing reason.
func wantOptionError(t *testing.T, in string, err error, option, reason string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("Parse(%q) error = %v, want an *Error naming %s_", in, err, option)
		return
	}
	if e.Option != option || !strings.Contains(e.Reason, reason) {
		t.Errorf("Parse(%q) error = %+v, want option %q and a reason containing %q", in, e, option, reason)
	}
}

func TestAllowedWidths(t *testing.T) {
	p := guardParser(t, func(c *Config) { c.AllowedWidths = []int{1280, 320, 640, 960, 1920} })
	tests := []struct {
		in   string
		want Options // the zero Options: refused, naming w_
	}{
		{"w_320", Options{Width: 320}},
		{"w_1920,f_webp", Options{Width: 1920, Format: format.WebP}},
		// dpr_ multiplies an allowed width: the list is of CSS pixels.
		{"w_640,dpr_2", Options{Width: 640, DPR: 2}},
		{"w_640,dpr_4", Options{Width: 640, DPR: 4}},
		// No w_ at all is not a width, so it is not refused.
		{"h_123", Options{Height: 123}},
		{"f_avif", Options{Format: format.AVIF}},
		// A preset's own width is the operator's: hero is w_1600.
		{"t_hero", Options{Width: 1600, Sharpen: true}},
		{"t_thumb", Options{Width: 200, Height: 200, Crop: Fill, Gravity: Auto, FormatAuto: true, QualityAuto: true}},
		// A URL's override of it is not.
		{"t_hero,w_960", Options{Width: 960, Sharpen: true}},
		{"t_hero,w_961", Options{}},
		{"w_321", Options{}},
		{"w_1", Options{}},
		{"w_8192", Options{}},
		{"w_319,dpr_2", Options{}},
		{"w_10,h_20,c_crop", Options{}},
	}
	for _, tt := range tests {
		got, err := p.Parse(tt.in)
		if tt.want.IsZero() {
			wantOptionError(t, tt.in, err, "w", "not an allowed width (320, 640, 960, 1280, 1920)")
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	// The grammar still comes first: a malformed width says so.
	_, err := p.Parse("w_abc")
	wantOptionError(t, "w_abc", err, "w", "not an integer")
	// Without a list any width is fine.
	if o, err := testParser(t).Parse("w_321"); err != nil || o.Width != 321 {
		t.Errorf("Parse(w_321) without a list = %+v, %v", o, err)
	}
}

func TestAllowedHeights(t *testing.T) {
	p := guardParser(t, func(c *Config) { c.AllowedHeights = []int{200, 400} })
	for _, in := range []string{"h_200", "h_400,dpr_1.5", "w_333,h_200", "t_pad", "t_thumb,h_400"} {
		if _, err := p.Parse(in); err != nil {
			t.Errorf("Parse(%q) = %v, want it allowed", in, err)
		}
	}
	for _, in := range []string{"h_201", "w_10,h_300,c_fill", "t_thumb,h_300"} {
		_, err := p.Parse(in)
		wantOptionError(t, in, err, "h", "not an allowed height (200, 400)")
	}
}

func TestCheckWidth(t *testing.T) {
	p, err := NewParser(Config{MaxDimension: 1000, AllowedWidths: []int{640, 320}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		w      int
		reason string // "" means allowed
	}{
		{320, ""}, {640, ""},
		{321, "not an allowed width (320, 640)"},
		{0, "not an integer in 1..1000"},
		{1001, "not an integer in 1..1000"},
	} {
		err := p.CheckWidth(tt.w)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("CheckWidth(%d) = %v, want nil", tt.w, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Option != "w" || e.Reason != tt.reason {
			t.Errorf("CheckWidth(%d) = %v, want w_ refused with %q", tt.w, err, tt.reason)
		}
	}
	if got := p.AllowedWidths(); !reflect.DeepEqual(got, []int{320, 640}) {
		t.Errorf("AllowedWidths() = %v", got)
	}
	if got := testParser(t).AllowedWidths(); got != nil {
		t.Errorf("AllowedWidths() without a list = %v, want nil", got)
	}
	if err := testParser(t).CheckWidth(8192); err != nil {
		t.Errorf("CheckWidth(8192) without a list = %v", err)
	}
}

func TestPresetsOnly(t *testing.T) {
	p := guardParser(t, func(c *Config) { c.PresetsOnly = true })
	if !p.PresetsOnly() || testParser(t).PresetsOnly() {
		t.Fatal("PresetsOnly() does not report the configuration")
	}
	allowed := []struct {
		in   string
		want Options
	}{
		{"t_hero", Options{Width: 1600, Sharpen: true}},
		{"t_pad", Options{Width: 300, Height: 300, Crop: Pad, HasBackground: true, Background: Color{255, 255, 255}}},
		{"t_hero,s_abcdefghijklmnop", Options{Width: 1600, Sharpen: true, Signature: "abcdefghijklmnop"}},
		{"exp_1700000000,kid_k2,t_hero,s_abc", Options{Width: 1600, Sharpen: true, Expires: 1700000000, KeyID: "k2", Signature: "abc"}},
	}
	for _, tt := range allowed {
		if got, err := p.Parse(tt.in); err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	refused := []struct {
		in, option string
	}{
		{"w_400", "w"},
		{"w_400,s_abc", "w"},
		{"f_auto", "f"},
		{"t_hero,f_auto", "f"}, // an override is a new variant
		{"t_hero,w_1600", "w"}, // even one that changes nothing
		{"q_auto,t_thumb", "q"},
		{"e_grayscale,t_pad", "e"},
		{"s_abc", "t"}, // signing fields alone: no preset
		{"exp_1700000000,s_abc", "t"},
		{"dpr_1,t_hero", "dpr"}, // a default is still a component
	}
	for _, tt := range refused {
		_, err := p.Parse(tt.in)
		wantOptionError(t, tt.in, err, tt.option, "presets-only mode")
	}
	// The grammar and the preset names are still checked as before.
	_, err := p.Parse("t_nope")
	wantOptionError(t, "t_nope", err, "t", "unknown preset")
	_, err = p.Parse("t_hero,t_pad")
	wantOptionError(t, "t_hero,t_pad", err, "t", "given more than once")
	if _, err := p.Parse(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("Parse(\"\") = %v, want ErrEmpty", err)
	}
}

func TestPresetName(t *testing.T) {
	p := testParser(t)
	for _, tt := range []struct {
		in   string
		name string
		ok   bool
	}{
		{"t_hero", "hero", true},
		{"t_thumb", "thumb", true},
		{"t_hero,s_abc", "hero", true},
		{"exp_1700000000,t_pad,kid_k2", "pad", true},
		{"t_nope", "", false},
		{"t_hero,w_100", "", false},
		{"t_hero,t_pad", "", false},
		{"s_abc", "", false},
		{"hero", "", false},
		{"w_1", "", false},
		{"", "", false},
	} {
		if name, ok := p.PresetName(tt.in); name != tt.name || ok != tt.ok {
			t.Errorf("PresetName(%q) = %q, %v; want %q, %v", tt.in, name, ok, tt.name, tt.ok)
		}
	}
}

func TestParseDimensions(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"  ", nil, false},
		{"320", []int{320}, false},
		{"1920,320, 640 ,960,1280", []int{320, 640, 960, 1280, 1920}, false},
		{"640,640,320", []int{320, 640}, false},
		{"0", nil, true},
		{"-320", nil, true},
		{"+320", nil, true},
		{"0320", nil, true},
		{"320,", nil, true},
		{",320", nil, true},
		{"320;640", nil, true},
		{"3e2", nil, true},
		{"99999999999999999999", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseDimensions(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDimensions(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseDimensions(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestGuardConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"widths", Config{MaxDimension: 8192, AllowedWidths: []int{1, 8192}}, true},
		{"width 0", Config{MaxDimension: 8192, AllowedWidths: []int{0, 320}}, false},
		{"width over max", Config{MaxDimension: 1000, AllowedWidths: []int{320, 1280}}, false},
		{"height over max", Config{MaxDimension: 1000, AllowedHeights: []int{1001}}, false},
		{"presets only", Config{MaxDimension: 8192, Presets: testPresets, PresetsOnly: true}, true},
		{"presets only, no presets", Config{MaxDimension: 8192, PresetsOnly: true}, false},
		// A preset's own width need not be on the list.
		{"preset off the list", Config{MaxDimension: 8192, Presets: testPresets, AllowedWidths: []int{320}}, true},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
		if _, err := NewParser(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: NewParser() error = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// The guards cost nothing on the accepted path: a width on the list is a
// binary search, not an allocation.
func TestGuardAllocs(t *testing.T) {
	p := guardParser(t, func(c *Config) { c.AllowedWidths = []int{320, 640, 960, 1280, 1920} })
	plain := testParser(t)
	const in = "w_640,h_300,c_fill,g_auto,f_webp,q_80,s_abcdefghijklmnop"
	base := testing.AllocsPerRun(100, func() { plain.Parse(in) })
	guarded := testing.AllocsPerRun(100, func() { p.Parse(in) })
	if guarded != base {
		t.Errorf("Parse with an allow-list: %v allocs, without: %v; want the same", guarded, base)
	}
}

func BenchmarkParseAllowedWidths(b *testing.B) {
	p := guardParser(b, func(c *Config) { c.AllowedWidths = []int{320, 640, 960, 1280, 1920} })
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse("w_640,h_300,c_fill,g_auto,f_webp,q_80,s_abcdefghijklmnop"); err != nil {
			b.Fatal(err)
		}
	}
}
