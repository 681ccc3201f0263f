package transform

import (
	"testing"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
)

const chromeAccept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name     string
		o        options.Options
		src      format.Format
		accept   string
		saveData bool
		want     Output
	}{
		{"source format by default", options.Options{}, format.PNG, chromeAccept, false, Output{Format: format.PNG}},
		{"a source Pictor does not write", options.Options{}, format.HEIC, chromeAccept, false, Output{Format: format.Unknown}},
		{"explicit format", options.Options{Format: format.WebP}, format.JPEG, "", false, Output{Format: format.WebP}},
		{"auto prefers avif", options.Options{FormatAuto: true}, format.JPEG, chromeAccept, false, Output{Format: format.AVIF, Vary: "Accept", auto: true, webp: true}},
		{"auto takes jxl after avif", options.Options{FormatAuto: true}, format.JPEG, "image/jxl,image/webp,*/*", false, Output{Format: format.JXL, Vary: "Accept", auto: true, webp: true}},
		{"auto prefers avif to jxl", options.Options{FormatAuto: true}, format.JPEG, "image/jxl,image/avif,image/webp", false, Output{Format: format.AVIF, Vary: "Accept", auto: true, webp: true}},
		{"auto ignores jxl;q=0", options.Options{FormatAuto: true}, format.JPEG, "image/jxl;q=0,image/webp", false, Output{Format: format.WebP, Vary: "Accept", auto: true, webp: true}},
		{"q_auto for jxl", options.Options{Format: format.JXL, QualityAuto: true}, format.JPEG, "", false, Output{Format: format.JXL, Quality: 75, Vary: "Save-Data, ECT"}},
		{"auto takes webp", options.Options{FormatAuto: true}, format.JPEG, "image/webp,*/*", false, Output{Format: format.WebP, Vary: "Accept", auto: true, webp: true}},
		{"auto ignores q=0", options.Options{FormatAuto: true}, format.JPEG, "image/avif;q=0, image/webp", false, Output{Format: format.WebP, Vary: "Accept", auto: true, webp: true}},
		{"auto with q params", options.Options{FormatAuto: true}, format.JPEG, "image/avif; q=0.9", false, Output{Format: format.AVIF, Vary: "Accept", auto: true}},
		{"wildcards do not count", options.Options{FormatAuto: true}, format.JPEG, "*/*", false, Output{Format: format.Unknown, Vary: "Accept", auto: true}},
		{"explicit quality", options.Options{Format: format.JPEG, Quality: 70}, format.JPEG, "", true, Output{Format: format.JPEG, Quality: 70}},
		{"q_auto", options.Options{Format: format.JPEG, QualityAuto: true}, format.JPEG, "", false, Output{Format: format.JPEG, Quality: 80, Vary: "Save-Data, ECT"}},
		{"q_auto with Save-Data", options.Options{Format: format.WebP, QualityAuto: true}, format.JPEG, "", true, Output{Format: format.WebP, Quality: 55, Vary: "Save-Data, ECT", saveData: true}},
		{"f_auto and q_auto", options.Options{FormatAuto: true, QualityAuto: true}, format.JPEG, chromeAccept, true, Output{Format: format.AVIF, Quality: 40, Vary: "Accept, Save-Data, ECT", saveData: true, auto: true, webp: true}},
	}
	for _, tt := range tests {
		got := Negotiate(tt.o, tt.src, []byte(tt.accept), tt.saveData)
		if got != tt.want {
			t.Errorf("%s: Negotiate(%v, %v, %q, %v) = %+v, want %+v", tt.name, tt.o, tt.src, tt.accept, tt.saveData, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	o := Output{Format: format.Unknown, saveData: true}
	if got := o.resolve(true, true); got.Format != format.PNG {
		t.Errorf("resolve(alpha) = %v, want png", got.Format)
	}
	if got := o.resolve(false, true); got.Format != format.JPEG || got.Quality != 55 {
		t.Errorf("resolve(no alpha, q_auto, Save-Data) = %+v, want jpeg q55", got)
	}
	if got := (Output{Format: format.WebP}).resolve(true, false); got.Format != format.WebP {
		t.Errorf("resolve keeps a chosen format: got %v", got.Format)
	}
}

func TestVariantKey(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef.jpg"
	base := options.Options{Width: 400, Format: format.WebP}
	k := VariantKey(base, key, Output{Format: format.WebP})
	if len(k) != 32 {
		t.Fatalf("VariantKey length = %d, want 32", len(k))
	}
	signed := base
	signed.Signature, signed.Expires, signed.KeyID = "abc", 99, "k2"
	if got := VariantKey(signed, key, Output{Format: format.WebP}); got != k {
		t.Errorf("signature, expiry and key id changed the variant key: %s vs %s", got, k)
	}
	differ := map[string]string{
		"options":   VariantKey(options.Options{Width: 401, Format: format.WebP}, key, Output{Format: format.WebP}),
		"original":  VariantKey(base, "1123456789abcdef0123456789abcdef.jpg", Output{Format: format.WebP}),
		"format":    VariantKey(base, key, Output{Format: format.AVIF}),
		"quality":   VariantKey(base, key, Output{Format: format.WebP, Quality: 55}),
		"save-data": VariantKey(base, key, Output{Format: format.WebP, saveData: true}),
	}
	for what, got := range differ {
		if got == k {
			t.Errorf("a different %s gave the same variant key %s", what, k)
		}
	}
}

func TestAnimate(t *testing.T) {
	tests := []struct {
		name   string
		o      options.Options
		accept string
		frames int
		want   format.Format
		q      int
	}{
		{"webp accepted", options.Options{FormatAuto: true}, chromeAccept, 10, format.WebP, 0},
		{"avif only", options.Options{FormatAuto: true}, "image/avif", 10, format.GIF, 0},
		{"nothing named", options.Options{FormatAuto: true}, "*/*", 10, format.GIF, 0},
		{"a still keeps avif", options.Options{FormatAuto: true}, chromeAccept, 1, format.AVIF, 0},
		{"explicit jpeg stays", options.Options{Format: format.JPEG}, chromeAccept, 10, format.JPEG, 0},
		{"q_auto follows the format", options.Options{FormatAuto: true, QualityAuto: true}, chromeAccept, 10, format.WebP, 80},
	}
	for _, tt := range tests {
		got := Negotiate(tt.o, format.GIF, []byte(tt.accept), false).animate(tt.frames, tt.o.QualityAuto)
		if got.Format != tt.want || got.Quality != tt.q {
			t.Errorf("%s: animate(%d) = %v q%d, want %v q%d", tt.name, tt.frames, got.Format, got.Quality, tt.want, tt.q)
		}
	}
	// One still format, two clients: the animation differs, so must the key.
	o := options.Options{FormatAuto: true}
	a, b := Negotiate(o, format.GIF, []byte(chromeAccept), false), Negotiate(o, format.GIF, []byte("image/avif"), false)
	if a.Format != b.Format || VariantKey(o, "k.gif", a) == VariantKey(o, "k.gif", b) {
		t.Errorf("f_auto for AVIF with and without WebP: formats %v, %v and keys equal", a.Format, b.Format)
	}
}
