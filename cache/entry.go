package cache

import (
	"crypto/sha256"
	"encoding/base64"
)

// Entry is a finished variant: the encoded bytes and the headers computed
// once at insert time. It is immutable once built.
type Entry struct {
	Body        []byte
	ContentType string
	// ETag is a strong entity tag, quotes included: "\"<base64url of the
	// first 16 bytes of SHA-256(Body)>\"". 128 bits is plenty to tell
	// versions of one URL apart and keeps the header short.
	ETag string
	// Digest is the Content-Digest field value (RFC 9530):
	// "sha-256=:<standard base64 of SHA-256(Body)>:".
	Digest        string
	Width, Height int
}

// NewEntry builds an Entry for body, computing ETag and Digest from one
// SHA-256 pass. body is kept, not copied: the caller hands it over.
func NewEntry(body []byte, contentType string, width, height int) *Entry {
	return newEntrySum(body, contentType, width, height, sha256.Sum256(body))
}

// newEntrySum builds the Entry that NewEntry would build for a body whose
// SHA-256 is sum, without hashing: the disk tier knows the digest from a
// file's name (Locate, where body is nil) or has just hashed the file to
// check it (Get).
func newEntrySum(body []byte, contentType string, width, height int, sum [sha256.Size]byte) *Entry {
	// Each header is built in one allocation.
	var etag [2 + 22]byte // quotes around unpadded base64url of 16 bytes
	etag[0] = '"'
	base64.RawURLEncoding.Encode(etag[1:23], sum[:16])
	etag[23] = '"'

	const prefix = "sha-256=:"
	var digest [len(prefix) + 44 + 1]byte // 44 = padded base64 of 32 bytes
	copy(digest[:], prefix)
	base64.StdEncoding.Encode(digest[len(prefix):], sum[:])
	digest[len(digest)-1] = ':'

	return &Entry{
		Body:        body,
		ContentType: contentType,
		ETag:        string(etag[:]),
		Digest:      string(digest[:]),
		Width:       width,
		Height:      height,
	}
}
