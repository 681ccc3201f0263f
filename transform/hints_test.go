package transform

import (
	"math"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
)

func TestResolveHints(t *testing.T) {
	p := newProcessor(t) // AutoWidthStep 100, MaxDimension 8192
	const (
		vw = "Sec-CH-Width, Width, Sec-CH-Viewport-Width, Viewport-Width"
		vd = "Sec-CH-DPR, DPR"
	)
	tests := []struct {
		name    string
		opts    string
		h       Hints
		allowed []int
		want    string // the resolved options' canonical form
		vary    string
	}{
		{"no auto option", "w_300,dpr_2", Hints{Width: 999, DPR: 3}, nil, "w_300,dpr_2", ""},
		{"width hint rounded up", "w_auto", Hints{Width: 301}, nil, "w_400", vw},
		{"width hint on a step", "w_auto", Hints{Width: 400}, nil, "w_400", vw},
		{"width hint over the largest side", "w_auto", Hints{Width: 9000}, nil, "w_8192", vw},
		{"width hint wins over the viewport", "w_auto", Hints{Width: 250, ViewportWidth: 1000}, nil, "w_300", vw},
		{"viewport in CSS pixels", "w_auto", Hints{ViewportWidth: 375}, nil, "w_400", vw},
		{"viewport times dpr_auto", "w_auto,dpr_auto", Hints{ViewportWidth: 375, DPR: 3}, nil, "w_1200", vw + ", " + vd},
		{"viewport times an explicit dpr_", "w_auto,dpr_2", Hints{ViewportWidth: 375, DPR: 3}, nil, "w_800", vw},
		{"width hint is in device pixels already", "w_auto,dpr_auto", Hints{Width: 750, DPR: 2}, nil, "w_800", vw + ", " + vd},
		{"h_ turned into device pixels", "w_auto,h_200,c_fill,dpr_auto", Hints{Width: 700, DPR: 2.625}, nil, "w_700,h_600,c_fill", vw + ", " + vd},
		{"no hint, no fallback", "w_auto,h_100", Hints{}, nil, "h_100", vw},
		{"no hint, the fallback", "w_auto:640", Hints{}, nil, "w_640", vw},
		{"no width hint, fallback times dpr_auto", "w_auto:640,dpr_auto", Hints{DPR: 2}, nil, "w_640,dpr_2", vw + ", " + vd},
		{"allow-list: the next allowed width", "w_auto", Hints{Width: 700}, []int{320, 640, 960, 1280}, "w_960", vw},
		{"allow-list: the largest", "w_auto", Hints{Width: 2000}, []int{320, 640, 960, 1280}, "w_1280", vw},
		{"dpr rounded up to a half", "w_100,dpr_auto", Hints{DPR: 2.625}, nil, "w_100,dpr_3", vd},
		{"dpr 1.25", "w_100,dpr_auto", Hints{DPR: 1.25}, nil, "w_100,dpr_1.5", vd},
		{"dpr capped at 4", "w_100,dpr_auto", Hints{DPR: 7}, nil, "w_100,dpr_4", vd},
		{"dpr below 1", "w_100,dpr_auto", Hints{DPR: 0.75}, nil, "w_100", vd},
		{"no dpr hint", "w_100,dpr_auto", Hints{}, nil, "w_100", vd},
		{"dpr NaN", "w_100,dpr_auto", Hints{DPR: math.NaN()}, nil, "w_100", vd},
		{"the other options stay", "w_auto,f_webp,q_auto,e_sharpen", Hints{Width: 1}, nil, "w_100,f_webp,q_auto,e_sharpen", vw},
	}
	parser, err := options.NewParser(options.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		o := parse(t, tt.opts)
		got, vary := p.ResolveHints(o, tt.h, tt.allowed)
		if got.String() != tt.want || vary != tt.vary {
			t.Errorf("%s: ResolveHints(%s, %+v) = %q, Vary %q; want %q, Vary %q", tt.name, tt.opts, tt.h, got, vary, tt.want, tt.vary)
		}
		// What it resolves to is a URL one could write: it parses back to
		// itself, so the variant is shared with that URL's.
		if tt.want != "" {
			back, err := parser.Parse(tt.want)
			if err != nil || back != got {
				t.Errorf("%s: resolved to %+v, which %q parses to %+v, %v", tt.name, got, tt.want, back, err)
			}
		}
	}
}

// TestResolveHintsKey shows the cache key holds resolved values: requests
// whose hints resolve alike share a variant with the URL that spells the
// result out, and different results do not.
func TestResolveHintsKey(t *testing.T) {
	p := newProcessor(t)
	const key = "0123456789abcdef0123456789abcdef.jpg"
	o := parse(t, "w_auto,dpr_auto,f_webp")
	out := Negotiate(o, format.JPEG, nil, false)
	keyOf := func(h Hints) string {
		r, _ := p.ResolveHints(o, h, nil)
		return VariantKey(r, key, out)
	}
	a, b := keyOf(Hints{Width: 301, DPR: 2}), keyOf(Hints{Width: 400, DPR: 1.6})
	if a != b {
		t.Errorf("Width 301 and 400 both resolve to w_400 but have keys %s and %s", a, b)
	}
	if spelled := VariantKey(parse(t, "w_400,f_webp"), key, out); a != spelled {
		t.Errorf("w_auto resolved to w_400 has key %s, w_400 %s", a, spelled)
	}
	if c := keyOf(Hints{Width: 401}); c == a {
		t.Errorf("Width 401 (w_500) has the key of Width 400 (w_400)")
	}
	if unresolved := VariantKey(o, key, out); unresolved == a {
		t.Errorf("the unresolved options have the resolved key")
	}
}

func TestAutoWidthStepConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AutoWidthStep = 0
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("New with AutoWidthStep 0 succeeded")
	}
	cfg.AutoWidthStep = 64
	p, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.ResolveHints(parse(t, "w_auto"), Hints{Width: 65}, nil); got.Width != 128 {
		t.Errorf("step 64, Width 65: w_%d, want w_128", got.Width)
	}
}
