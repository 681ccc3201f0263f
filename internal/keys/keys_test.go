package keys

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// keyRE is the SPEC's definition of an original's key.
var keyRE = regexp.MustCompile(`^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif|heic)$`)

var validTests = []struct {
	key string
	ok  bool
}{
	{strings.Repeat("a1", 16) + ".jpg", true},
	{strings.Repeat("a1", 32) + ".avif", true},
	{strings.Repeat("a1", 32) + ".heic", true},
	{strings.Repeat("a1", 32) + ".jxl", false},
	{strings.Repeat("a1", 32) + ".heif", false},
	{strings.Repeat("a1", 32) + "0.avif", false},
	{strings.Repeat("a1", 16)[:31] + ".png", false},
	{strings.Repeat("a1", 16) + ".jpeg", false},
	{strings.Repeat("a1", 16) + ".PNG", false},
	{strings.ToUpper(strings.Repeat("a1", 16)) + ".png", false},
	{strings.Repeat("a1", 16) + ".png/..", false},
	{"../" + strings.Repeat("a1", 16) + ".png", false},
	{strings.Repeat("a1", 16), false},
	{"", false},
}

func TestValid(t *testing.T) {
	for _, tt := range validTests {
		if got := Valid(tt.key); got != tt.ok {
			t.Errorf("Valid(%q) = %v, want %v", tt.key, got, tt.ok)
		}
		if oracle := keyRE.MatchString(tt.key); oracle != tt.ok {
			t.Errorf("table entry %q disagrees with the SPEC regexp (%v)", tt.key, oracle)
		}
	}
}

// TestValidExt ties the extensions to package format: every input format's
// Ext, and nothing else the SPEC regexp does not name.
func TestValidExt(t *testing.T) {
	for _, f := range format.All {
		if !f.Input() {
			if ValidExt(f.Ext()) {
				t.Errorf("ValidExt(%q) = true for %v, which is not an input format", f.Ext(), f)
			}
			continue
		}
		if !ValidExt(f.Ext()) {
			t.Errorf("ValidExt(%q) = false for %v's extension", f.Ext(), f)
		}
		if k := strings.Repeat("0", MinHexLen) + "." + f.Ext(); !keyRE.MatchString(k) {
			t.Errorf("format %v has extension %q, which the SPEC's key grammar does not allow", f, f.Ext())
		}
	}
	for _, ext := range []string{"", "jpeg", "JPG", "svg", "tiff", ".jpg"} {
		if ValidExt(ext) {
			t.Errorf("ValidExt(%q) = true", ext)
		}
	}
}

func TestValidVariant(t *testing.T) {
	for _, tt := range []struct {
		vkey string
		ok   bool
	}{
		{strings.Repeat("0f", 16), true},
		{strings.Repeat("0f", 16)[:31], false},
		{strings.Repeat("0f", 16) + "0", false},
		{strings.Repeat("0F", 16), false},
		{"g" + strings.Repeat("0f", 16)[1:], false},
		{"", false},
	} {
		if got := ValidVariant(tt.vkey); got != tt.ok {
			t.Errorf("ValidVariant(%q) = %v, want %v", tt.vkey, got, tt.ok)
		}
	}
}

// FuzzValid checks Valid against the SPEC regexp and that what it accepts
// is one path element.
func FuzzValid(f *testing.F) {
	for _, tt := range validTests {
		f.Add(tt.key)
	}
	f.Fuzz(func(t *testing.T, key string) {
		got := Valid(key)
		if want := keyRE.MatchString(key); got != want {
			t.Fatalf("Valid(%q) = %v, want %v (SPEC regexp)", key, got, want)
		}
		if got && (strings.ContainsAny(key, "/\\\x00") || strings.Contains(key, "..")) {
			t.Fatalf("Valid(%q) = true for a key with a path separator, NUL or ..", key)
		}
	})
}
