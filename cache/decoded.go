package cache

import (
	"errors"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Shared is a value the decoded-original cache can hold: something with a
// size and a reference count of its own, such as a decoded image. The
// cache keeps one reference; Retain hands out another, and each holder
// calls Release once.
type Shared[V any] interface {
	Bytes() int64
	Retain() V
	Release()
}

// DecodedConfig holds the settings of the decoded-original cache.
type DecodedConfig struct {
	// MaxBytes bounds the pixels held (PICTOR_DECODE_CACHE_BYTES): the sum
	// of the values' Bytes. 0 disables the cache. Default 64 MiB, room for
	// a few dozen shrink-on-load decodes of web photos or one or two full
	// 12 MP decodes; kept small because decoded pixels are ten to fifty
	// times the size of the encoded variants the memory tier holds.
	MaxBytes int64
}

// DefaultDecodedConfig returns the defaults listed on DecodedConfig.
func DefaultDecodedConfig() DecodedConfig {
	return DecodedConfig{MaxBytes: 64 << 20}
}

// Validate reports whether c can be used by NewDecoded.
func (c DecodedConfig) Validate() error {
	if c.MaxBytes < 0 {
		return errors.New("cache: DecodedConfig.MaxBytes is negative")
	}
	return nil
}

// Decoded is a byte-bounded LRU (golang-lru/v2) of decoded originals, keyed
// by original key, so that later variants of one original skip its decode.
// It holds one value per original, the largest decode seen: a smaller
// variant can be made from a larger decode, not the reverse. It is generic
// so that cache does not depend on the pipeline's image type. Safe for
// concurrent use.
type Decoded[V Shared[V]] struct {
	max int64

	mu     sync.Mutex
	lru    *simplelru.LRU[string, V]
	bytes  int64
	hits   uint64
	misses uint64
	evicts uint64
}

// NewDecoded returns an empty cache.
func NewDecoded[V Shared[V]](cfg DecodedConfig) (*Decoded[V], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Decoded[V]{max: cfg.MaxBytes}
	// The entry count is bounded by bytes, not by the LRU's size, which is
	// set out of reach; the eviction callback releases what falls out.
	lru, err := simplelru.NewLRU(1<<30, func(_ string, v V) {
		d.bytes -= v.Bytes()
		v.Release()
	})
	if err != nil {
		return nil, err
	}
	d.lru = lru
	return d, nil
}

// Get returns a retained handle on the decode of key; the caller releases
// it. A hit moves key to the front.
func (d *Decoded[V]) Get(key string) (V, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.lru.Get(key)
	if !ok {
		d.misses++
		var zero V
		return zero, false
	}
	d.hits++
	return v.Retain(), true
}

// Put offers v, of which the cache takes one reference (the caller keeps
// none of its own for this call: pass a Retain()ed handle to keep using
// it). The cache keeps v when it is larger than the decode it holds for
// key, evicting the least recently used decodes to stay within budget; a
// value that would take more than a quarter of the budget is refused, so
// one huge original cannot flush everything. It reports whether v was
// kept; when not, v has been released.
func (d *Decoded[V]) Put(key string, v V) bool {
	n := v.Bytes()
	if d.max == 0 || n > d.max/4 {
		v.Release()
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.lru.Peek(key); ok {
		if old.Bytes() >= n {
			v.Release()
			return false
		}
		d.lru.Remove(key) // releases old
	}
	for d.bytes+n > d.max {
		if _, _, ok := d.lru.RemoveOldest(); !ok {
			break
		}
		d.evicts++
	}
	d.lru.Add(key, v)
	d.bytes += n
	return true
}

// Purge drops the decode of key, for a deleted original.
func (d *Decoded[V]) Purge(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lru.Remove(key)
}

// DecodedStats are the cache's counters.
type DecodedStats struct {
	Hits, Misses, Evictions uint64
	Bytes                   int64 // held now
	Entries                 int
}

// Stats returns the counters.
func (d *Decoded[V]) Stats() DecodedStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DecodedStats{Hits: d.hits, Misses: d.misses, Evictions: d.evicts, Bytes: d.bytes, Entries: d.lru.Len()}
}

// Close releases everything held.
func (d *Decoded[V]) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lru.Purge()
}

// Admits reports whether a value of n bytes could be kept at all (see Put),
// so that a caller can skip preparing one that would be refused.
func (d *Decoded[V]) Admits(n int64) bool {
	return d.max > 0 && n <= d.max/4
}
