package store

import "encoding/hex"

// Key lengths in hex digits. The store writes the full SHA-256 (64 digits)
// so that a response can carry the original's Content-Digest straight from
// its key, without reading the file; keys of 32 to 64 digits are valid in
// URLs, and each names only the file of exactly its spelling.
const (
	keyHexLen    = 64
	minKeyHexLen = 32
	maxKeyHexLen = 64
)

// ValidKey reports whether key matches ^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif)$.
//
// It is hand-written rather than a regexp because it runs on every request
// before anything else: it allocates nothing and looks at each byte once.
// Anything it accepts is safe as a single path element: no '/', '\\', NUL,
// "..", or upper case that could alias another file on a case-insensitive
// file system.
func ValidKey(key string) bool {
	if len(key) < minKeyHexLen+1+3 || len(key) > maxKeyHexLen+1+4 {
		return false
	}
	i := 0
	for i < len(key) && isLowerHex(key[i]) {
		i++
	}
	if i < minKeyHexLen || i > maxKeyHexLen || i >= len(key) || key[i] != '.' {
		return false
	}
	return validExt(key[i+1:])
}

func isLowerHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

// validExt reports whether ext (without the dot) is one of the extensions
// keys may carry. They are the Ext values of transform/format; the store does
// not import it to stay a leaf package.
func validExt(ext string) bool {
	switch ext {
	case "jpg", "png", "webp", "gif", "avif":
		return true
	}
	return false
}

// makeKey builds the key for the SHA-256 sum of an original and its
// extension.
func makeKey(sum []byte, ext string) string {
	var b [keyHexLen + 1 + 4]byte
	hex.Encode(b[:keyHexLen], sum[:keyHexLen/2])
	b[keyHexLen] = '.'
	n := copy(b[keyHexLen+1:], ext)
	return string(b[:keyHexLen+1+n])
}

// relPath is the key's path inside the data directory. key must be valid.
// Two levels of two hex digits give 65536 directories, so even hundreds of
// millions of originals leave a few thousand entries per directory.
func relPath(key string) string {
	return originalsDir + "/" + key[0:2] + "/" + key[2:4] + "/" + key
}

// shardDir is the directory relPath(key) lives in.
func shardDir(key string) string {
	return originalsDir + "/" + key[0:2] + "/" + key[2:4]
}
