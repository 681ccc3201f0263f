package options

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// testPresets are the presets every parser in these tests knows.
var testPresets = map[string]Preset{
	"thumb": {Name: "thumb", Options: "w_200,h_200,c_fill,g_auto,f_auto,q_auto", Public: true},
	"hero":  {Name: "hero", Options: "w_1600,e_sharpen", Eager: true},
	"pad":   {Name: "pad", Options: "w_300,h_300,c_pad,b_ffffff"},
}

func testParser(t testing.TB) *Parser {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Presets = testPresets
	p, err := NewParser(cfg)
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	return p
}

var parseTests = []struct {
	in    string
	want  Options
	canon string // "" means in is already canonical
}{
	{"w_400", Options{Width: 400}, ""},
	{"h_1", Options{Height: 1}, ""},
	{"w_8192,h_8192", Options{Width: 8192, Height: 8192}, ""},
	{"f_webp,w_400", Options{Width: 400, Format: format.WebP}, "w_400,f_webp"},
	{"f_jpg", Options{Format: format.JPEG}, "f_jpeg"},
	{"f_jpeg", Options{Format: format.JPEG}, ""},
	{"f_png", Options{Format: format.PNG}, ""},
	{"f_gif", Options{Format: format.GIF}, ""},
	{"f_avif", Options{Format: format.AVIF}, ""},
	{"f_auto", Options{FormatAuto: true}, ""},
	{"pg_1", Options{Page: 1}, ""},
	{"pg_4096", Options{Page: 4096}, ""},
	{"pg_3,f_webp,w_10", Options{Width: 10, Format: format.WebP, Page: 3}, "w_10,f_webp,pg_3"},
	{"q_1", Options{Quality: 1}, ""},
	{"q_100", Options{Quality: 100}, ""},
	{"q_auto", Options{QualityAuto: true}, ""},
	{"w_10,c_fit", Options{Width: 10}, "w_10"},
	{"c_fit", Options{}, "-"}, // the default alone: zero Options, prints ""
	{"w_10,c_fill", Options{Width: 10, Crop: Fill}, ""},
	{"h_10,c_limit", Options{Height: 10, Crop: Limit}, ""},
	{"w_10,h_20,c_pad", Options{Width: 10, Height: 20, Crop: Pad}, ""},
	{"w_10,h_20,c_scale", Options{Width: 10, Height: 20, Crop: Scale}, ""},
	{"c_crop,w_10,h_20,x_5,y_0", Options{Width: 10, Height: 20, Crop: Region, X: 5}, "w_10,h_20,c_crop,x_5"},
	{"w_10,h_20,c_crop,x_8192,y_8192", Options{Width: 10, Height: 20, Crop: Region, X: 8192, Y: 8192}, ""},
	{"w_10,c_fill,g_center", Options{Width: 10, Crop: Fill}, "w_10,c_fill"},
	{"w_10,c_fill,g_north_east", Options{Width: 10, Crop: Fill, Gravity: NorthEast}, ""},
	{"w_10,c_pad,g_south_west", Options{Width: 10, Crop: Pad, Gravity: SouthWest}, ""},
	{"w_10,h_10,c_crop,g_auto", Options{Width: 10, Height: 10, Crop: Region, Gravity: Auto}, ""},
	{"w_10,c_fill,g_north", Options{Width: 10, Crop: Fill, Gravity: North}, ""},
	{"w_10,c_fill,g_south", Options{Width: 10, Crop: Fill, Gravity: South}, ""},
	{"w_10,c_fill,g_east", Options{Width: 10, Crop: Fill, Gravity: East}, ""},
	{"w_10,c_fill,g_west", Options{Width: 10, Crop: Fill, Gravity: West}, ""},
	{"w_10,c_fill,g_north_west", Options{Width: 10, Crop: Fill, Gravity: NorthWest}, ""},
	{"w_10,c_fill,g_south_east", Options{Width: 10, Crop: Fill, Gravity: SouthEast}, ""},
	{"w_100,dpr_1", Options{Width: 100}, "w_100"},
	{"w_100,dpr_1.5", Options{Width: 100, DPR: 1.5}, ""},
	{"w_100,dpr_2", Options{Width: 100, DPR: 2}, ""},
	{"w_100,dpr_4", Options{Width: 100, DPR: 4}, ""},
	{"w_auto", Options{WidthAuto: true}, ""},
	{"w_auto:400", Options{WidthAuto: true, WidthFallback: 400}, ""},
	{"dpr_auto,w_auto", Options{WidthAuto: true, DPRAuto: true}, "w_auto,dpr_auto"},
	{"w_100,dpr_auto", Options{Width: 100, DPRAuto: true}, ""},
	{"w_auto,h_200,c_fill,g_auto", Options{WidthAuto: true, Height: 200, Crop: Fill, Gravity: Auto}, ""},
	{"w_auto,c_limit", Options{WidthAuto: true, Crop: Limit}, ""},
	{"b_FFaa00", Options{Background: Color{0xff, 0xaa, 0}, HasBackground: true}, "b_ffaa00"},
	{"b_000000", Options{HasBackground: true}, ""},
	{"e_grayscale", Options{Grayscale: true}, ""},
	{"e_sharpen:grayscale", Options{Grayscale: true, Sharpen: true}, "e_grayscale:sharpen"},
	{"e_blur:2.5", Options{Blur: 2.5}, ""},
	{"e_blur:0.5", Options{Blur: 0.5}, ""},
	{"e_blur:100", Options{Blur: 100}, ""},
	{"e_grayscale:blur:3", Options{Blur: 3, Grayscale: true}, "e_blur:3:grayscale"},
	{"e_sharpen:blur:3:grayscale", Options{Blur: 3, Grayscale: true, Sharpen: true}, "e_blur:3:grayscale:sharpen"},
	{"exp_1700000000", Options{Expires: 1700000000}, ""},
	{"exp_9223372036854775807", Options{Expires: 1<<63 - 1}, ""},
	{"kid_k-2024", Options{KeyID: "k-2024"}, ""},
	{"s_ab_-Z9", Options{Signature: "ab_-Z9"}, ""},
	{"s_abc,kid_K1,exp_5,w_1", Options{Width: 1, Expires: 5, KeyID: "K1", Signature: "abc"}, "w_1,exp_5,kid_K1,s_abc"},
	{
		"s_sig,kid_a,exp_9,e_sharpen,b_010203,q_80,f_png,dpr_2,y_2,x_1,g_west,c_crop,h_20,w_10",
		Options{
			Width: 10, Height: 20, Crop: Region, Gravity: West, X: 1, Y: 2, DPR: 2,
			Format: format.PNG, Quality: 80, Background: Color{1, 2, 3}, HasBackground: true,
			Sharpen: true, Expires: 9, KeyID: "a", Signature: "sig",
		},
		"w_10,h_20,c_crop,g_west,x_1,y_2,dpr_2,f_png,q_80,b_010203,e_sharpen,exp_9,kid_a,s_sig",
	},
	// Presets expand in place; the URL's own components win.
	{"t_thumb", Options{Width: 200, Height: 200, Crop: Fill, Gravity: Auto, FormatAuto: true, QualityAuto: true}, "w_200,h_200,c_fill,g_auto,f_auto,q_auto"},
	{"t_thumb,w_300", Options{Width: 300, Height: 200, Crop: Fill, Gravity: Auto, FormatAuto: true, QualityAuto: true}, "w_300,h_200,c_fill,g_auto,f_auto,q_auto"},
	{"f_png,t_thumb,g_north", Options{Width: 200, Height: 200, Crop: Fill, Gravity: North, Format: format.PNG, QualityAuto: true}, "w_200,h_200,c_fill,g_north,f_png,q_auto"},
	{"t_hero,e_blur:1", Options{Width: 1600, Blur: 1}, "w_1600,e_blur:1"},
	{"t_pad,s_xyz", Options{Width: 300, Height: 300, Crop: Pad, Background: Color{255, 255, 255}, HasBackground: true, Signature: "xyz"}, "w_300,h_300,c_pad,b_ffffff,s_xyz"},
}

func TestParse(t *testing.T) {
	p := testParser(t)
	for _, tt := range parseTests {
		got, err := p.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		canon := tt.canon
		switch canon {
		case "":
			canon = tt.in
		case "-":
			canon = ""
		}
		if s := got.String(); s != canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, canon)
		}
		if canon == "" {
			continue
		}
		again, err := p.Parse(canon)
		if err != nil || again != got {
			t.Errorf("Parse(%q) = %+v, %v, want %+v (round trip of %q)", canon, again, err, got, tt.in)
		}
	}
}

// TestParseOrder checks that the order of components never matters: every
// permutation of a set of components prints the same canonical form.
func TestParseOrder(t *testing.T) {
	p := testParser(t)
	comps := []string{"w_400", "h_300", "c_fill", "g_auto", "f_webp", "q_80", "e_blur:2:sharpen"}
	want := "w_400,h_300,c_fill,g_auto,f_webp,q_80,e_blur:2:sharpen"
	var permute func(k int)
	permute = func(k int) {
		if k == len(comps) {
			in := strings.Join(comps, ",")
			o, err := p.Parse(in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", in, err)
			}
			if s := o.String(); s != want {
				t.Fatalf("Parse(%q).String() = %q, want %q", in, s, want)
			}
			return
		}
		for i := k; i < len(comps); i++ {
			comps[k], comps[i] = comps[i], comps[k]
			permute(k + 1)
			comps[k], comps[i] = comps[i], comps[k]
		}
	}
	permute(0)
}

var parseErrorTests = []struct {
	in            string
	option, value string // of the *Error
}{
	{"w_400,,f_webp", "", ""},
	{",w_400", "", ""},
	{"w_400,", "", ""},
	{",", "", ""},
	{"w400", "", "w400"},
	{"_400", "", "_400"},
	{"zoom_2", "zoom", "2"},
	{"W_400", "W", "400"},
	{"w_400,w_500", "w", "500"},
	{"t_thumb,t_hero", "t", "hero"},
	{"w_", "w", ""},
	{"w_abc", "w", "abc"},
	{"w_0", "w", "0"},
	{"w_8193", "w", "8193"},
	{"w_01", "w", "01"},
	{"w_+1", "w", "+1"},
	{"w_-1", "w", "-1"},
	{"w_1.0", "w", "1.0"},
	{"w_ 1", "w", " 1"},
	{"w_99999999999999999999999", "w", "99999999999999999999999"},
	{"h_0", "h", "0"},
	{"c_cover", "c", "cover"},
	{"c_Fill,w_1", "c", "Fill"},
	{"c_fill", "c", "fill"},
	{"c_crop,w_10", "c", "crop"},
	{"c_crop,h_10", "c", "crop"},
	{"g_north", "g", "north"},
	{"g_center", "g", "center"},
	{"w_10,g_auto", "g", "auto"},
	{"w_10,c_fit,g_north", "g", "north"},
	{"w_10,c_scale,g_north", "g", "north"},
	{"w_10,c_limit,g_north", "g", "north"},
	{"w_10,c_fill,g_northeast", "g", "northeast"},
	{"w_10,c_fill,g_north_", "g", "north_"},
	{"x_10", "x", "10"},
	{"w_10,c_fill,x_0", "x", "0"},
	{"w_10,c_pad,y_1", "y", "1"},
	{"w_1,h_1,c_crop,x_-1", "x", "-1"},
	{"w_1,h_1,c_crop,x_8193", "x", "8193"},
	{"w_1,h_1,c_crop,y_00", "y", "00"},
	{"dpr_1.25", "dpr", "1.25"},
	{"dpr_Auto", "dpr", "Auto"},
	{"w_auto:", "w", "auto:"},
	{"w_auto:0", "w", "auto:0"},
	{"w_auto:8193", "w", "auto:8193"},
	{"w_auto:0400", "w", "auto:0400"},
	{"w_auto400", "w", "auto400"},
	{"w_autox", "w", "autox"},
	{"w_auto,h_10,c_crop", "w", "auto"},
	{"dpr_5", "dpr", "5"},
	{"dpr_0", "dpr", "0"},
	{"dpr_0.5", "dpr", "0.5"},
	{"dpr_2.0", "dpr", "2.0"},
	{"dpr_1.50", "dpr", "1.50"},
	{"dpr_02", "dpr", "02"},
	{"dpr_", "dpr", ""},
	{"f_tiff", "f", "tiff"},
	{"f_JPEG", "f", "JPEG"},
	{"f_", "f", ""},
	{"pg_0", "pg", "0"},
	{"pg_4097", "pg", "4097"},
	{"pg_01", "pg", "01"},
	{"pg_-1", "pg", "-1"},
	{"pg_", "pg", ""},
	{"pg_first", "pg", "first"},
	{"q_0", "q", "0"},
	{"q_101", "q", "101"},
	{"q_050", "q", "050"},
	{"q_Auto", "q", "Auto"},
	{"b_fff", "b", "fff"},
	{"b_gggggg", "b", "gggggg"},
	{"b_#ffffff", "b", "#ffffff"},
	{"b_fffffff", "b", "fffffff"},
	{"e_blur", "e", "blur"},
	{"e_blur:", "e", "blur:"},
	{"e_blur:0", "e", "blur:0"},
	{"e_blur:0.0", "e", "blur:0.0"},
	{"e_blur:-1", "e", "blur:-1"},
	{"e_blur:abc", "e", "blur:abc"},
	{"e_blur:100.5", "e", "blur:100.5"},
	{"e_blur:2.50", "e", "blur:2.50"},
	{"e_blur:02", "e", "blur:02"},
	{"e_blur:.5", "e", "blur:.5"},
	{"e_blur:1e3", "e", "blur:1e3"},
	{"e_blur:1e1", "e", "blur:1e1"},
	{"e_blur:+2", "e", "blur:+2"},
	{"e_blur:NaN", "e", "blur:NaN"},
	{"e_blur:Inf", "e", "blur:Inf"},
	{"e_blur:0x1p1", "e", "blur:0x1p1"},
	{"e_blur:2:blur:3", "e", "blur:2:blur:3"},
	{"e_blur:grayscale", "e", "blur:grayscale"},
	{"e_unknown", "e", "unknown"},
	{"e_sharpen:sharpen", "e", "sharpen:sharpen"},
	{"e_grayscale:grayscale", "e", "grayscale:grayscale"},
	{"e_sharpen:", "e", "sharpen:"},
	{"e_:sharpen", "e", ":sharpen"},
	{"e_", "e", ""},
	{"e_2", "e", "2"},
	{"kid_a_b", "kid", "a_b"},
	{"kid_a.b", "kid", "a.b"},
	{"kid_", "kid", ""},
	{"kid_" + strings.Repeat("k", 33), "kid", strings.Repeat("k", 33)},
	{"s_", "s", ""},
	{"s_a=", "s", "a="},
	{"s_a+b", "s", "a+b"},
	{"s_" + strings.Repeat("s", 129), "s", strings.Repeat("s", 129)},
	{"t_missing", "t", "missing"},
	{"t_", "t", ""},
	{"t_Thumb", "t", "Thumb"},
	{"exp_0", "exp", "0"},
	{"exp_-1", "exp", "-1"},
	{"exp_01", "exp", "01"},
	{"exp_9223372036854775808", "exp", "9223372036854775808"},
	// A preset's components are checked together with the URL's.
	{"t_thumb,c_fit", "g", "auto"},
	{"t_hero,x_1", "x", "1"},
}

func TestParseErrors(t *testing.T) {
	p := testParser(t)
	for _, tt := range parseErrorTests {
		got, err := p.Parse(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %+v, %v, want *Error", tt.in, got, err)
			continue
		}
		if e.Option != tt.option || e.Value != tt.value {
			t.Errorf("Parse(%q) error %q names %q=%q, want %q=%q", tt.in, err, e.Option, e.Value, tt.option, tt.value)
		}
		if e.Reason == "" {
			t.Errorf("Parse(%q) error %+v has no reason", tt.in, e)
		}
		if got != (Options{}) {
			t.Errorf("Parse(%q) = %+v with an error, want the zero Options", tt.in, got)
		}
	}
	if got, err := p.Parse(""); err != ErrEmpty {
		t.Errorf("Parse(%q) = %+v, %v, want %v", "", got, err, ErrEmpty)
	}
}

func TestErrorMessage(t *testing.T) {
	p := testParser(t)
	tests := []struct{ in, want string }{
		{"w_abc", "options: w_abc: not an integer in 1..8192"},
		{"w_1,w_2", "options: w_2: given more than once"},
		{"zoom_2", "options: zoom_2: unknown option"},
		{"w400", "options: w400: want name_value"},
		{"w_1,,h_1", "options: empty component"},
		{"g_north", "options: g_north: only applies with c_fill, c_pad or c_crop"},
		{"c_crop,w_1", "options: c_crop: needs both w_ and h_"},
		{"t_missing", "options: t_missing: unknown preset"},
		{"t_thumb,c_fit", "options: g_auto: only applies with c_fill, c_pad or c_crop (from t_thumb)"},
		{"t_thumb,c_fit,g_north", "options: g_north: only applies with c_fill, c_pad or c_crop"},
	}
	for _, tt := range tests {
		_, err := p.Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestMaxDimension(t *testing.T) {
	p, err := NewParser(Config{MaxDimension: 100})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := p.Parse("w_100,h_100,c_crop,x_100"); err != nil || o.Width != 100 || o.X != 100 {
		t.Errorf("Parse(%q) = %+v, %v, want width and x 100", "w_100,h_100,c_crop,x_100", o, err)
	}
	_, err = p.Parse("w_101")
	if err == nil || err.Error() != "options: w_101: not an integer in 1..100" {
		t.Errorf("Parse(%q) error = %v, want the 1..100 range", "w_101", err)
	}
}

func TestVariantUnsigned(t *testing.T) {
	o := Options{Width: 5, Format: format.WebP, Expires: 7, KeyID: "k", Signature: "sig"}
	if got, want := o.Unsigned().String(), "w_5,f_webp,exp_7,kid_k"; got != want {
		t.Errorf("Unsigned().String() = %q, want %q", got, want)
	}
	if got, want := o.Variant().String(), "w_5,f_webp"; got != want {
		t.Errorf("Variant().String() = %q, want %q", got, want)
	}
	if o.Signature != "sig" {
		t.Errorf("Unsigned changed its receiver: %+v", o)
	}
	if !(Options{}).IsZero() || o.IsZero() || !(Options{Signature: "x"}).Variant().IsZero() {
		t.Error("IsZero disagrees with the zero Options")
	}
}

func TestEnumStrings(t *testing.T) {
	for c := Fit; c <= Region; c++ {
		if got, ok := lookup[Crop](cropNames[:], c.String()); !ok || got != c {
			t.Errorf("Crop(%d).String() = %q does not parse back", c, c.String())
		}
	}
	if Region.String() != "crop" || Crop(99).String() != "" || Gravity(99).String() != "" {
		t.Errorf("Region.String() = %q, Crop(99) = %q, Gravity(99) = %q", Region, Crop(99), Gravity(99))
	}
	if got := (Color{0x0a, 0xbc, 0xff}).String(); got != "0abcff" {
		t.Errorf("Color.String() = %q, want %q", got, "0abcff")
	}
}

func TestPublicPreset(t *testing.T) {
	p := testParser(t)
	tests := []struct {
		in   string
		want bool
	}{
		{"t_thumb", true},
		{"t_hero", false}, // exists, not public
		{"t_nope", false}, // unknown
		{"t_thumb,w_300", false},
		{"w_300,t_thumb", false},
		{"thumb", false},
		{"t_thumb,s_x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.PublicPreset(tt.in); got != tt.want {
			t.Errorf("PublicPreset(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPresets(t *testing.T) {
	p := testParser(t)
	got := p.Presets()
	want := []Preset{testPresets["hero"], testPresets["pad"], testPresets["thumb"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Presets() = %+v, want %+v", got, want)
	}
}

func TestParsePresets(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]Preset
		wantErr bool
	}{
		{"", nil, false},
		{"  ", nil, false},
		{"thumb:w_200", map[string]Preset{"thumb": {Name: "thumb", Options: "w_200"}}, false},
		{
			"thumb+public:w_200,h_200,c_fill;hero+eager:w_1600",
			map[string]Preset{
				"thumb": {Name: "thumb", Options: "w_200,h_200,c_fill", Public: true},
				"hero":  {Name: "hero", Options: "w_1600", Eager: true},
			},
			false,
		},
		{
			"a+eager+public:w_1;\n  b-2:e_blur:2\n",
			map[string]Preset{
				"a":   {Name: "a", Options: "w_1", Public: true, Eager: true},
				"b-2": {Name: "b-2", Options: "e_blur:2"},
			},
			false,
		},
		{"thumb", nil, true},               // no options
		{"thumb:", nil, true},              // empty options
		{"a:w_1;;b:w_2", nil, true},        // empty entry
		{"a:w_1;", nil, true},              // trailing empty entry
		{"a:w_1;a:w_2", nil, true},         // duplicate
		{"Thumb:w_1", nil, true},           // uppercase
		{"th_umb:w_1", nil, true},          // underscore
		{":w_1", nil, true},                // no name
		{"a+private:w_1", nil, true},       // unknown flag
		{"a+public+public:w_1", nil, true}, // repeated flag
		{"a+:w_1", nil, true},              // empty flag
		{strings.Repeat("a", 33) + ":w_1", nil, true},
	}
	for _, tt := range tests {
		got, err := ParsePresets(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePresets(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePresets(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	// What ParsePresets returns is what Config takes.
	m, err := ParsePresets("thumb+public:w_200,h_200,c_fill,g_auto")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewParser(Config{MaxDimension: 8192, Presets: m})
	if err != nil {
		t.Fatalf("NewParser with ParsePresets output: %v", err)
	}
	if !p.PublicPreset("t_thumb") {
		t.Error(`PublicPreset("t_thumb") = false after ParsePresets("thumb+public:…")`)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	if DefaultConfig().MaxDimension != 8192 {
		t.Errorf("DefaultConfig().MaxDimension = %d, want 8192", DefaultConfig().MaxDimension)
	}
	one := func(name, opts string) map[string]Preset {
		return map[string]Preset{name: {Name: name, Options: opts}}
	}
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"presets", Config{MaxDimension: 8192, Presets: testPresets}, true},
		{"max 1", Config{MaxDimension: 1}, true},
		{"max 0", Config{MaxDimension: 0}, false},
		{"max -1", Config{MaxDimension: -1}, false},
		{"preset over max", Config{MaxDimension: 100, Presets: one("a", "w_200")}, false},
		{"name mismatch", Config{MaxDimension: 8192, Presets: map[string]Preset{"a": {Name: "b", Options: "w_1"}}}, false},
		{"bad name", Config{MaxDimension: 8192, Presets: one("A", "w_1")}, false},
		{"empty name", Config{MaxDimension: 8192, Presets: one("", "w_1")}, false},
		{"empty options", Config{MaxDimension: 8192, Presets: one("a", "")}, false},
		{"nested t_", Config{MaxDimension: 8192, Presets: one("a", "t_a")}, false},
		{"s_", Config{MaxDimension: 8192, Presets: one("a", "w_1,s_abc")}, false},
		{"exp_", Config{MaxDimension: 8192, Presets: one("a", "w_1,exp_5")}, false},
		{"kid_", Config{MaxDimension: 8192, Presets: one("a", "w_1,kid_k")}, false},
		{"bad value", Config{MaxDimension: 8192, Presets: one("a", "w_x")}, false},
		{"not standalone", Config{MaxDimension: 8192, Presets: one("a", "g_auto")}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
		if _, nerr := NewParser(tt.cfg); (nerr == nil) != tt.ok {
			t.Errorf("%s: NewParser() error = %v, want ok %v", tt.name, nerr, tt.ok)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	p := testParser(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse("w_400,h_300,c_fill,g_auto,f_webp,q_80,s_abcdefghijklmnop"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	o := Options{Width: 400, Height: 300, Crop: Fill, Gravity: Auto, Format: format.WebP, Quality: 80, Signature: "abcdefghijklmnop"}
	b.ReportAllocs()
	for b.Loop() {
		_ = o.String()
	}
}
