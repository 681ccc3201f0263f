// Package keys is the grammar of the names Pictor keeps images under: the
// key of an original, which package store makes and checks, and the
// variant key, which transform.VariantKey makes. Package cache names its
// files after both, so the grammar lives here, below store and cache,
// rather than in one of them: neither imports the other.
//
// Keys come from URLs and from directory listings, so they are untrusted.
// Everything Valid and ValidVariant accept is safe as a single path
// element: no '/', '\\', NUL, "..", or upper case that could alias another
// file on a case-insensitive file system. The checks are hand-written
// rather than regexps because they run on every request: they allocate
// nothing and look at each byte once.
package keys

import "github.com/pictorhq/pictor/transform/format"

// Lengths in hex digits. An original key carries 32 to 64 digits of the
// SHA-256 of its bytes (the store writes all 64); a variant key is 32.
const (
	MinHexLen  = 32
	MaxHexLen  = 64
	VariantLen = 32
)

// Valid reports whether key is an original's key:
// ^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif|heic)$, the extension being the
// Ext of one of package format's input formats.
func Valid(key string) bool {
	if len(key) < MinHexLen+1+3 || len(key) > MaxHexLen+1+4 {
		return false
	}
	i := 0
	for i < len(key) && isLowerHex(key[i]) {
		i++
	}
	if i < MinHexLen || i > MaxHexLen || i >= len(key) || key[i] != '.' {
		return false
	}
	return ValidExt(key[i+1:])
}

// ValidExt reports whether ext (without the dot) is an extension keys may
// carry: the Ext of an input format (JPEG XL is only ever a variant).
func ValidExt(ext string) bool {
	f, ok := format.FromExt(ext)
	return ok && f.Input()
}

// ValidVariant reports whether vkey is a variant key: VariantLen lowercase
// hex digits.
func ValidVariant(vkey string) bool {
	return len(vkey) == VariantLen && IsLowerHex(vkey)
}

// IsLowerHex reports whether s holds only lowercase hex digits, the
// alphabet of every key.
func IsLowerHex(s string) bool {
	for i := range len(s) {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}
