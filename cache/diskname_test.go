package cache

import (
	"strings"
	"testing"

	"github.com/pictorhq/pictor/internal/keys"
)

func TestParseDiskName(t *testing.T) {
	sum := strings.Repeat("0a", 32)
	vkey := testVkey(0)
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{vkey + "." + sum + ".640x480.1234.webp", true},
		{vkey + "." + sum + ".0x0.0.jpg", true},
		{vkey + "." + sum + ".999999999x1.1073741824.avif", true},
		{vkey + "." + sum + ".1000000000x1.1.avif", false}, // width over nine digits
		{vkey + "." + sum + ".1x1.1073741825.avif", false}, // over maxDiskEntry
		{vkey + "." + sum + ".640x480.1234.jpeg", false},
		{vkey + "." + sum + ".640x480.1234", false},
		{vkey + "." + sum + ".640x480.1234.webp.tmp", false},
		{vkey + "." + sum + ".640X480.1234.webp", false},
		{vkey + "." + sum + ".640x480x1.1234.webp", false},
		{vkey + "." + sum + ".640x.1234.webp", false},
		{vkey + "." + sum + ".640x480.01234.webp", false},
		{vkey + "." + sum + ".640x480.-1.webp", false},
		{vkey + "." + sum[:62] + ".640x480.1234.webp", false},
		{vkey + "." + strings.ToUpper(sum) + ".640x480.1234.webp", false},
		{vkey[:31] + "." + sum + ".640x480.1234.webp", false},
		{"g" + vkey[1:] + "." + sum + ".640x480.1234.webp", false},
		{"", false},
		{".", false},
		{"....", false},
	} {
		it, gotVkey, ok := parseDiskName(tt.name)
		if ok != tt.ok {
			t.Errorf("parseDiskName(%q) ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if ok {
			it.orig = testOrig(0)
			if back := string(it.appendName(nil, gotVkey)); back != tt.name {
				t.Errorf("parseDiskName(%q) then appendName = %q", tt.name, back)
			}
		}
	}
}

// FuzzParseDiskName checks the names the start-up scan accepts from the
// disk tier's directory, which anything with write access to it may have
// put there:
//   - every accepted name is the one name appendName gives its entry, so
//     no two files can claim one entry;
//   - it is a single path element (no '/', '\\', NUL, or a "." or ".."
//     name), and its variant key is 32 lower-case hex digits;
//   - its width, height and size are within the tier's bounds, so that a
//     hostile name cannot make the budget accounting overflow.
func FuzzParseDiskName(f *testing.F) {
	sum := strings.Repeat("0a", 32)
	f.Add(testVkey(0) + "." + sum + ".640x480.1234.webp")
	f.Add(testVkey(0) + "." + sum + ".0x0.0.jpg")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, name string) {
		it, vkey, ok := parseDiskName(name)
		if !ok {
			return
		}
		if back := string(it.appendName(nil, vkey)); back != name {
			t.Errorf("parseDiskName(%q) then appendName = %q", name, back)
		}
		if strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." || !keys.ValidVariant(vkey) {
			t.Errorf("parseDiskName(%q) accepted a name that is not one path element, or variant key %q", name, vkey)
		}
		if it.w < 0 || it.w > maxDiskDim || it.h < 0 || it.h > maxDiskDim || it.size < 0 || it.size > maxDiskEntry {
			t.Errorf("parseDiskName(%q) = %d×%d, %d bytes: out of bounds", name, it.w, it.h, it.size)
		}
	})
}
