package store

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keyRE is the documented definition of a key, used as the oracle for
// ValidKey.
var keyRE = regexp.MustCompile(`^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif|heic)$`)

var (
	hex32 = strings.Repeat("3f9a", 8)
	hex64 = strings.Repeat("3f9a", 16)
)

var validKeyTests = []struct {
	key  string
	want bool
}{
	{hex32 + ".jpg", true},
	{hex32 + ".png", true},
	{hex32 + ".webp", true},
	{hex32 + ".gif", true},
	{hex32 + ".avif", true},
	{hex64 + ".jpg", true},
	{hex32 + "0123.png", true},
	{"0123456789abcdef0123456789abcdef.jpg", true},

	{"", false},
	{".jpg", false},
	{hex32, false},
	{hex32 + ".", false},
	{hex32 + ".jpeg", false},
	{hex32 + ".JPG", false},
	{hex32 + ".svg", false},
	{hex32 + ".tiff", false},
	{hex32 + ".jpg.png", false},
	{hex32 + ".jpg ", false},
	{hex32 + ".jpgx", false},
	{hex32 + "..jpg", false},
	{hex32[:31] + ".jpg", false}, // 31 digits
	{hex64 + "a.jpg", false},     // 65 digits
	{strings.ToUpper(hex32) + ".jpg", false},
	{"3F" + hex32[2:] + ".jpg", false}, // one upper-case digit
	{"g" + hex32[1:] + ".jpg", false},
	{"../../etc/passwd", false},
	{"../" + hex32 + ".jpg", false},
	{"%2e%2e", false},
	{"%2e%2e%2f" + hex32 + ".jpg", false},
	{"aa/../..", false},
	{hex32[:2] + "/" + hex32[2:] + ".jpg", false},
	{hex32[:16] + "\x00" + hex32[16:] + ".jpg", false},
	{hex32 + ".jpg\x00", false},
	{hex32 + "\x00.jpg", false},
	{hex32[:16] + "\\" + hex32[16:] + ".jpg", false},
	{"..\\" + hex32 + ".jpg", false},
	{"/" + hex32 + ".jpg", false},
	{" " + hex32 + ".jpg", false},
	{hex32 + "/.jpg", false},
}

func TestValidKey(t *testing.T) {
	for _, tt := range validKeyTests {
		if got := ValidKey(tt.key); got != tt.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
		if oracle := keyRE.MatchString(tt.key); oracle != tt.want {
			t.Errorf("table entry %q disagrees with the key grammar %s (%v)", tt.key, keyRE, oracle)
		}
	}
}

func TestValidKeyAllocs(t *testing.T) {
	key := hex32 + ".webp"
	if n := testing.AllocsPerRun(1000, func() { validSink = ValidKey(key) }); n != 0 {
		t.Errorf("ValidKey allocates %v times per call, want 0", n)
	}
}

func TestMakeKey(t *testing.T) {
	data := []byte("pictor original bytes")
	sum := sha256.Sum256(data)
	for _, ext := range []string{"jpg", "png", "webp", "gif", "avif"} {
		got := makeKey(sum[:], ext)
		want := hex.EncodeToString(sum[:]) + "." + ext
		if got != want {
			t.Errorf("makeKey(%x, %q) = %q, want %q", sum, ext, got, want)
		}
		if !ValidKey(got) {
			t.Errorf("ValidKey(makeKey(…, %q)) = false, want true", ext)
		}
	}
}

// FuzzValidKey checks ValidKey against the key regexp and what the store
// builds on it:
//   - ValidKey(k) == keyRE.MatchString(k), and it never panics;
//   - an accepted key is one safe path element (no '/', '\\', NUL or
//     ".."), and its path is local, clean and sharded by its first four
//     digits: originals/<k[0:2]>/<k[2:4]>/<k>, found again by RelPath;
//   - the key the store makes for any bytes (the SHA-256 of the input)
//     is valid for every extension, and is its sum in lower-case hex.
func FuzzValidKey(f *testing.F) {
	for _, tt := range validKeyTests {
		f.Add(tt.key)
	}
	var s FS // RelPath needs no open store
	f.Fuzz(func(t *testing.T, key string) {
		got := ValidKey(key)
		if want := keyRE.MatchString(key); got != want {
			t.Fatalf("ValidKey(%q) = %v, want %v (key grammar %s)", key, got, want, keyRE)
		}
		rel, err := s.RelPath(key)
		if got != (err == nil) {
			t.Fatalf("RelPath(%q) = %q, %v, but ValidKey = %v", key, rel, err, got)
		}
		if got {
			if strings.ContainsAny(key, "/\\\x00") || strings.Contains(key, "..") {
				t.Fatalf("ValidKey(%q) = true for a key with a path separator, NUL or ..", key)
			}
			want := "originals/" + key[0:2] + "/" + key[2:4] + "/" + key
			if rel != want || !filepath.IsLocal(rel) || filepath.Clean(rel) != rel {
				t.Fatalf("RelPath(%q) = %q, want the clean local path %q", key, rel, want)
			}
		}

		sum := sha256.Sum256([]byte(key))
		for _, ext := range []string{"jpg", "png", "webp", "gif", "avif"} {
			k := makeKey(sum[:], ext)
			if !ValidKey(k) || k != hex.EncodeToString(sum[:])+"."+ext {
				t.Fatalf("makeKey(sha256(%q), %q) = %q, not a valid key of the sum", key, ext, k)
			}
		}
	})
}

func BenchmarkValidKey(b *testing.B) {
	key := hex32 + ".webp"
	b.ReportAllocs()
	for b.Loop() {
		if !ValidKey(key) {
			b.Fatal("valid key rejected")
		}
	}
}

// validSink keeps ValidKey's result live in the allocation test.
var validSink bool
