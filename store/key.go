package store

import (
	"encoding/hex"
	"strings"

	"github.com/pictorhq/pictor/internal/keys"
)

// keyHexLen is how many hex digits of the SHA-256 the store writes: all
// of them, so that a response can carry the original's Content-Digest
// straight from its key, without reading the file. Keys of
// keys.MinHexLen digits and up are accepted, as SPEC allows.
const keyHexLen = keys.MaxHexLen

// ValidKey reports whether key matches ^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif)$.
// The grammar is package keys', which the disk cache shares; anything it
// accepts is safe as a single path element, and checking it allocates
// nothing.
func ValidKey(key string) bool { return keys.Valid(key) }

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

// digestMatches reports whether sum, a SHA-256, is the digest key names:
// the key's hex digits (32 to 64 of them) are the sum's first ones. key must
// be valid.
func digestMatches(key string, sum []byte) bool {
	digits := strings.IndexByte(key, '.')
	var b [keyHexLen]byte
	hex.Encode(b[:], sum[:keyHexLen/2])
	return string(b[:digits]) == key[:digits]
}
