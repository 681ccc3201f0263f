package store

import (
	"os"
	"time"
)

// Store is what both backends offer: FS, the originals on the local file
// system, and S3, the originals in an S3-compatible bucket read through a
// bounded local copy. Every read of an original ends at a local file, so
// that decode maps it and Nginx can send it; Map, Open and Stat on S3 fetch
// and verify that copy first when it is missing.
//
// The conformance suite in store_test.go runs against both.
type Store interface {
	// Map maps key's original read-only.
	Map(key string) (*Mapping, error)
	// Open opens key's original for reading.
	Open(key string) (*os.File, error)
	// Stat returns the size and modification time of key's original.
	Stat(key string) (size int64, modTime time.Time, err error)
	// RelPath is key's local file relative to the data directory, with
	// forward slashes, for X-Accel-Redirect.
	RelPath(key string) (string, error)
	// Delete removes key's original.
	Delete(key string) error
	// NewUpload starts a streaming upload of at most maxBytes bytes.
	NewUpload(maxBytes int64) (*Upload, error)
	// Exists reports whether key's original is stored, without fetching
	// it: pictor import asks before it reads a file at all.
	Exists(key string) (bool, error)
	// Ready reports whether the store can take writes and, for S3,
	// whether the bucket answers; it is what /readyz shows.
	Ready() error
	// Close releases the store.
	Close() error
}

var (
	_ Store = (*FS)(nil)
	_ Store = (*S3)(nil)
)
