package options

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// Keys of stored originals the layer tests name.
const (
	logoKey  = "1111111111111111111111111111111111111111111111111111111111111111.png"
	badgeKey = "22222222222222222222222222222222.webp"
	otherKey = "3333333333333333333333333333333333333333333333333333333333333333.jpg"
)

// fxParser is testParser with named overlays, a watermark and a preset
// marked +watermark: what the effect and layer tests and the fuzzer parse
// with.
func fxParser(t testing.TB) *Parser {
	t.Helper()
	p, err := NewParser(fxConfig())
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	return p
}

func fxConfig() Config {
	cfg := DefaultConfig()
	cfg.Presets = maps.Clone(testPresets)
	cfg.Presets["stamp"] = Preset{Name: "stamp", Options: "w_400,l_badge,lg_north_west", Watermark: true}
	cfg.Overlays = map[string]string{"logo": logoKey, "badge": badgeKey}
	cfg.Watermark = "l_logo,lw_15,lo_60"
	return cfg
}

var (
	logoLayer  = Layer{Key: logoKey, Name: "logo", Gravity: SouthEast, Opacity: 100}
	badgeLayer = Layer{Key: badgeKey, Name: "badge", Gravity: SouthEast, Opacity: 100}
	keyLayer   = Layer{Key: otherKey, Gravity: SouthEast, Opacity: 100}
	wmLayer    = Layer{Key: logoKey, Name: "logo", Gravity: SouthEast, Opacity: 60, Width: 15}
	textLayer  = Layer{Text: "SGVsbG8", Gravity: SouthEast, Opacity: 100, Size: DefaultTextSize}
)

func layers(ls ...Layer) (out [MaxLayers + 1]Layer) {
	copy(out[:], ls)
	return out
}

func with(l Layer, f func(*Layer)) Layer {
	f(&l)
	return l
}

var fxParseTests = []struct {
	in    string
	want  Options
	canon string // "" means in is already canonical
}{
	{"a_90", Options{Angle: Turn90}, ""},
	{"a_270,w_10", Options{Angle: Turn270, Width: 10}, "w_10,a_270"},
	{"a_hflip", Options{Angle: FlipH}, ""},
	{"a_vflip", Options{Angle: FlipV}, ""},
	{"r_12", Options{Radius: 12}, ""},
	{"r_max", Options{RadiusMax: true}, ""},
	{"bo_4_FF0000", Options{Border: 4, BorderColor: Color{255, 0, 0}}, "bo_4_ff0000"},
	{"e_trim", Options{Trim: true}, ""},
	{"e_pixelate:8", Options{Pixelate: 8}, ""},
	{"e_saturation:-100:brightness:20:contrast:-5", Options{Saturation: -100, Brightness: 20, Contrast: -5}, "e_brightness:20:contrast:-5:saturation:-100"},
	{"e_sharpen:trim:pixelate:2:grayscale:blur:1", Options{Sharpen: true, Trim: true, Pixelate: 2, Grayscale: true, Blur: 1}, "e_blur:1:grayscale:pixelate:2:sharpen:trim"},
	{"w_10,h_10,c_pad,b_blur", Options{Width: 10, Height: 10, Crop: Pad, BackgroundBlur: true}, ""},
	{"l_logo", Options{Layers: layers(logoLayer)}, ""},
	{"l_" + otherKey, Options{Layers: layers(keyLayer)}, ""},
	{"l_logo,lg_south_east,lo_100", Options{Layers: layers(logoLayer)}, "l_logo"},
	{
		"lo_50,l_logo", Options{}, "x", // placement before its l_: refused (fxErrorTests)
	},
	{
		"w_300,l_logo,lt_1,lo_30,lw_10,l_badge,lg_north,lx_5,ly_6",
		Options{Width: 300, Layers: layers(
			with(logoLayer, func(l *Layer) { l.Tile, l.Opacity, l.Width = true, 30, 10 }),
			with(badgeLayer, func(l *Layer) { l.Gravity, l.X, l.Y = North, 5, 6 }),
		)},
		"w_300,l_logo,lw_10,lo_30,lt_1,l_badge,lg_north,lx_5,ly_6",
	},
	{"l_text:SGVsbG8", Options{Layers: layers(textLayer)}, ""},
	{
		"l_text:5L2g5aW95LiW55WM,lf_cjk,ls_48,lc_ffffff,lg_center",
		Options{Layers: layers(Layer{Text: "5L2g5aW95LiW55WM", Gravity: Center, Opacity: 100, Size: 48, Color: Color{255, 255, 255}, Font: CJK})},
		"l_text:5L2g5aW95LiW55WM,lg_center,lc_ffffff,ls_48,lf_cjk",
	},
	{"l_text:SGVsbG8,ls_24,lf_sans,lc_000000", Options{Layers: layers(textLayer)}, "l_text:SGVsbG8"},
	{"l_logo,l_logo,l_logo,l_logo", Options{Layers: layers(logoLayer, logoLayer, logoLayer, logoLayer)}, ""},
	// The watermark goes after the URL's layers and prints as wm_1.
	{"wm_1", Options{Watermark: true, Layers: layers(wmLayer)}, ""},
	{"wm_1,l_badge", Options{Watermark: true, Layers: layers(badgeLayer, wmLayer)}, "l_badge,wm_1"},
	{"l_logo,l_logo,l_logo,l_logo,wm_1", Options{Watermark: true, Layers: layers(logoLayer, logoLayer, logoLayer, logoLayer, wmLayer)}, ""},
	// A +watermark preset: its layers under the URL's, and the watermark.
	{
		"t_stamp,l_logo",
		Options{Width: 400, Watermark: true, Layers: layers(with(badgeLayer, func(l *Layer) { l.Gravity = NorthWest }), logoLayer, wmLayer)},
		"w_400,l_badge,lg_north_west,l_logo,wm_1",
	},
}

func TestParseEffectsAndLayers(t *testing.T) {
	p := fxParser(t)
	for _, tt := range fxParseTests {
		if tt.canon == "x" {
			continue
		}
		got, err := p.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if s := got.String(); s != canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, canon)
		}
		again, err := p.Parse(canon)
		if err != nil || again != got {
			t.Errorf("Parse(%q) = %+v, %v, want %+v (round trip of %q)", canon, again, err, got, tt.in)
		}
	}
}

var fxErrorTests = []struct {
	in            string
	option, value string
}{
	{"a_0", "a", "0"},
	{"a_45", "a", "45"},
	{"a_HFLIP", "a", "HFLIP"},
	{"r_0", "r", "0"},
	{"r_1001", "r", "1001"},
	{"r_Max", "r", "Max"},
	{"bo_0_ffffff", "bo", "0_ffffff"},
	{"bo_101_ffffff", "bo", "101_ffffff"},
	{"bo_4", "bo", "4"},
	{"bo_4_fff", "bo", "4_fff"},
	{"bo_04_ffffff", "bo", "04_ffffff"},
	{"e_trim:trim", "e", "trim:trim"},
	{"e_pixelate", "e", "pixelate"},
	{"e_pixelate:1", "e", "pixelate:1"},
	{"e_pixelate:201", "e", "pixelate:201"},
	{"e_brightness:0", "e", "brightness:0"},
	{"e_brightness:-0", "e", "brightness:-0"},
	{"e_brightness:101", "e", "brightness:101"},
	{"e_brightness:+5", "e", "brightness:+5"},
	{"e_contrast:--5", "e", "contrast:--5"},
	{"e_saturation:5:saturation:6", "e", "saturation:5:saturation:6"},
	{"w_10,h_10,c_crop,e_trim", "e", "trim"},
	{"b_blur", "b", "blur"},
	{"w_10,c_pad,b_blur", "b", "blur"},
	{"w_10,h_10,c_fill,b_blur", "b", "blur"},
	// Layers.
	{"l_nope", "l", "nope"},
	{"l_text", "l", "text"},
	{"l_", "l", ""},
	{"l_" + strings.ToUpper(otherKey), "l", strings.ToUpper(otherKey)},
	{"l_text:", "l", "text:"},
	{"l_text:SGVsbG8=", "l", "text:SGVsbG8="},
	{"l_text:SGVsbG9", "l", "text:SGVsbG9"}, // stray bits: a second spelling
	{"l_text:SGVs+G8", "l", "text:SGVs+G8"},
	{"l_text:_w", "l", "text:_w"}, // not UTF-8
	{"l_text:Cw", "l", "text:Cw"}, // a control character
	{"l_text:" + strings.Repeat("QUFB", 86), "l", "text:" + strings.Repeat("QUFB", 86)},
	{"lo_50,l_logo", "lo", "50"},
	{"lo_50", "lo", "50"},
	{"l_logo,lo_50,lo_60", "lo", "60"},
	{"l_logo,lo_0", "lo", "0"},
	{"l_logo,lo_101", "lo", "101"},
	{"l_logo,lw_0", "lw", "0"},
	{"l_logo,lw_101", "lw", "101"},
	{"l_logo,lg_auto", "lg", "auto"},
	{"l_logo,lx_-1", "lx", "-1"},
	{"l_logo,ly_8193", "ly", "8193"},
	{"l_logo,lt_0", "lt", "0"},
	{"l_logo,lt_1,lx_5", "lx", "5"},
	{"l_logo,lg_north,lt_1", "lg", "north"},
	{"l_logo,lc_ffffff", "lc", "ffffff"},
	{"l_logo,ls_20", "ls", "20"},
	{"l_logo,lf_mono", "lf", "mono"},
	{"l_text:SGVsbG8,ls_3", "ls", "3"},
	{"l_text:SGVsbG8,ls_201", "ls", "201"},
	{"l_text:SGVsbG8,lf_comic", "lf", "comic"},
	{"l_logo,l_logo,l_logo,l_logo,l_logo", "l", "logo"},
	{"t_stamp,l_logo,l_logo,l_logo,l_logo", "l", "logo"},
	{"wm_0", "wm", "0"},
	{"wm_1,wm_1", "wm", "1"},
}

func TestParseEffectsAndLayersErrors(t *testing.T) {
	p := fxParser(t)
	for _, tt := range fxErrorTests {
		got, err := p.Parse(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %+v, %v, want *Error", tt.in, got, err)
			continue
		}
		if e.Option != tt.option || e.Value != tt.value {
			t.Errorf("Parse(%q) error %q names %q=%q, want %q=%q", tt.in, err, e.Option, e.Value, tt.option, tt.value)
		}
		if got != (Options{}) {
			t.Errorf("Parse(%q) = %+v with an error, want the zero Options", tt.in, got)
		}
	}
	// More than MaxLayers is refused by name and count.
	_, err := p.Parse("l_logo,l_logo,l_logo,l_logo,l_badge")
	if err == nil || !strings.Contains(err.Error(), "more than 4 layers") {
		t.Errorf("five layers: error %v, want one saying more than 4 layers", err)
	}
}

// TestWatermarkConfig checks the settings the layers depend on: wm_ needs
// a watermark, WatermarkAll puts it on every variant, and what refers to
// something that is not there is refused at start.
func TestWatermarkConfig(t *testing.T) {
	bare := testParser(t)
	if _, err := bare.Parse("wm_1"); err == nil {
		t.Error("Parse(wm_1) without a watermark configured: no error")
	}
	if _, err := bare.Parse("l_logo"); err == nil {
		t.Error("Parse(l_logo) without overlay names: no error")
	}

	cfg := fxConfig()
	cfg.WatermarkAll = true
	all, err := NewParser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, err := all.Parse("w_100")
	if err != nil || !o.Watermark || o.String() != "w_100,wm_1" {
		t.Errorf("WatermarkAll: Parse(w_100) = %q, %v, want w_100,wm_1", o.String(), err)
	}
	if o.LayerList()[0] != wmLayer {
		t.Errorf("WatermarkAll: layers %+v, want the watermark", o.LayerList())
	}
	// The variant key spells the watermark and names out.
	if v := o.Variant().String(); v != "w_100,l_"+logoKey+",lw_15,lo_60" {
		t.Errorf("Variant() prints %q, want the watermark's layer with its key", v)
	}

	bad := func(name string, f func(*Config)) {
		c := fxConfig()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", name)
		}
	}
	bad("all without watermark", func(c *Config) { c.Watermark, c.WatermarkAll = "", true })
	bad("+watermark without watermark", func(c *Config) { c.Watermark = "" })
	bad("watermark unknown name", func(c *Config) { c.Watermark = "l_nope" })
	bad("watermark two layers", func(c *Config) { c.Watermark = "l_logo,l_badge" })
	bad("watermark not a layer", func(c *Config) { c.Watermark = "l_logo,w_100" })
	bad("watermark placement first", func(c *Config) { c.Watermark = "lo_5,l_logo" })
	bad("overlay bad key", func(c *Config) { c.Overlays = map[string]string{"x": "nope"} })
	bad("overlay named text", func(c *Config) { c.Overlays = map[string]string{"text": logoKey} })
}

func TestParseOverlays(t *testing.T) {
	m, err := ParseOverlays(" logo:" + logoKey + ", badge:" + badgeKey)
	if err != nil || len(m) != 2 || m["logo"] != logoKey || m["badge"] != badgeKey {
		t.Errorf("ParseOverlays = %v, %v", m, err)
	}
	for _, in := range []string{"logo", "logo:nope", "Logo:" + logoKey, "text:" + logoKey, "a:" + logoKey + ",a:" + badgeKey} {
		if _, err := ParseOverlays(in); err == nil {
			t.Errorf("ParseOverlays(%q) = nil error", in)
		}
	}
	if m, err := ParseOverlays(""); m != nil || err != nil {
		t.Errorf("ParseOverlays(\"\") = %v, %v", m, err)
	}
	p, err := ParsePresets("s+watermark+public:w_10")
	if err != nil || !p["s"].Watermark || !p["s"].Public {
		t.Errorf("ParsePresets(+watermark) = %+v, %v", p, err)
	}
}

// TestLayerText checks that the text a layer carries comes back decoded.
func TestLayerText(t *testing.T) {
	o, err := fxParser(t).Parse("l_text:5L2g5aW95LiW55WM")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.LayerList()[0].String(); got != "你好世界" {
		t.Errorf("text = %q", got)
	}
}
