package server

import (
	"os"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/store"
)

// The interfaces the edge declares for what it is handed (Go proverb:
// interfaces belong to the consumer). package app wires the concrete types
// in and checks at compile time that they fit.

// Variants is the variant cache: cache.Tiered.
type Variants interface {
	// Lookup finds the variant vkey of the original orig; with locate a
	// disk hit answers with its path for Nginx instead of its bytes.
	Lookup(orig, vkey string, locate bool) (cache.Hit, bool)
	// Epoch is read before a render reads its original, and handed back
	// to SetSince.
	Epoch() uint64
	// SetSince stores a variant rendered from orig as it was at epoch;
	// it is dropped when orig was purged since.
	SetSince(orig, vkey string, e *cache.Entry, epoch uint64) bool
}

// Originals is the originals store: store.FS or store.S3.
type Originals interface {
	Map(key string) (*store.Mapping, error)
	Open(key string) (*os.File, error)
	Stat(key string) (size int64, modTime time.Time, err error)
	// RelPath is key's file relative to the data directory, for
	// X-Accel-Redirect.
	RelPath(key string) (string, error)
	Delete(key string) error
	NewUpload(maxBytes int64) (*store.Upload, error)
}

// Purger forgets what was derived from a deleted original.
type Purger interface {
	Purge(orig string)
}

// Readiness is one thing /readyz checks.
type Readiness interface {
	// Ready returns what /readyz shows for it when it can do its job ("ok",
	// or a state such as the device's "absent"), or why it cannot.
	Ready() (status string, err error)
}

// ReadinessFunc adapts a function to Readiness.
type ReadinessFunc func() (string, error)

// Ready implements Readiness.
func (f ReadinessFunc) Ready() (string, error) { return f() }

// Purgers purges each of its members in turn: one call for a DELETE.
type Purgers []Purger

// Purge implements Purger.
func (ps Purgers) Purge(orig string) {
	for _, p := range ps {
		p.Purge(orig)
	}
}
