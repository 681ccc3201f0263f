package cache

import (
	"github.com/dgraph-io/ristretto/v2"
)

const (
	// entryOverhead is charged per entry on top of its body, so that the
	// budget bounds real memory even for many small variants: the Entry
	// struct (96 B), its ETag and Digest strings (24 + 64 B), ristretto's
	// stored item in its hash map and the policy's cost-map slot, both with
	// the maps' spare capacity. TestEntryOverhead measures 345–430 B on
	// amd64 depending on where the maps are in their growth; rounded up,
	// since under-charging is what lets a cache overrun its budget.
	entryOverhead = 448

	// typicalVariant is the size assumed when sizing the admission
	// counters: a web thumbnail or a mid-size WebP.
	typicalVariant = 32 << 10
	// minEntries floors the counter sizing for small budgets, where
	// variants smaller than typical would otherwise outnumber the counters.
	minEntries = 1000
	// countersPerEntry follows ristretto's advice: about 10 counters per
	// entry the cache holds when full (roughly 3 bytes each).
	countersPerEntry = 10
	// bufferItems is ristretto's recommended Get-buffer stripe length.
	bufferItems = 64
)

// Memory is the in-memory tier: a ristretto cache of Entries bounded by a
// byte budget, keyed by the variant key. It is safe for concurrent use.
// Set is asynchronous: an entry becomes visible shortly after, and may be
// refused by the admission policy when it is less likely to be asked for
// than what it would displace.
type Memory struct {
	c *ristretto.Cache[string, *Entry] // nil when the tier is disabled
}

// NewMemory builds the memory tier. With cfg.MaxBytes == 0 it returns a
// disabled tier that holds nothing.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		return &Memory{}, nil
	}
	entries := max(cfg.MaxBytes/typicalVariant, minEntries)
	c, err := ristretto.NewCache(&ristretto.Config[string, *Entry]{
		NumCounters: entries * countersPerEntry,
		MaxCost:     cfg.MaxBytes,
		BufferItems: bufferItems,
		Metrics:     true,
		// entryOverhead already covers ristretto's own per-item memory.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	return &Memory{c: c}, nil
}

// entryCost is what an entry is charged against the budget: the body's capacity
// (equal to its length for a right-sized slice, and the truth when it was
// grown by append) plus the fixed per-entry overhead.
func entryCost(e *Entry) int64 {
	return int64(cap(e.Body)) + entryOverhead
}

// Get returns the entry for key. A hit allocates nothing.
func (m *Memory) Get(key string) (*Entry, bool) {
	if m.c == nil {
		return nil, false
	}
	return m.c.Get(key)
}

// Set offers e under key and reports whether it was accepted for admission;
// false means it was dropped (tier disabled, nil entry, or the insert
// buffer full under contention). Even when true, the policy may still
// decline it, and it is not visible to Get until processed (see Wait).
func (m *Memory) Set(key string, e *Entry) bool {
	if m.c == nil || e == nil {
		return false
	}
	return m.c.Set(key, e, entryCost(e))
}

// Wait blocks until every Set so far has been applied. For tests.
func (m *Memory) Wait() {
	if m.c != nil {
		m.c.Wait()
	}
}

// Del removes key, for purging the variants of a deleted original.
func (m *Memory) Del(key string) {
	if m.c != nil {
		m.c.Del(key)
	}
}

// MemoryStats are the tier's counters since it was built.
type MemoryStats struct {
	Hits, Misses uint64
	Evictions    uint64  // entries evicted to stay within the budget
	CostAdded    uint64  // bytes (as entryCost) admitted in total
	CostEvicted  uint64  // bytes (as entryCost) evicted in total
	Ratio        float64 // Hits / (Hits + Misses), 0 before any Get
}

// Stats returns the tier's counters; all zero for a disabled tier.
func (m *Memory) Stats() MemoryStats {
	if m.c == nil {
		return MemoryStats{}
	}
	mt := m.c.Metrics
	return MemoryStats{
		Hits:        mt.Hits(),
		Misses:      mt.Misses(),
		Evictions:   mt.KeysEvicted(),
		CostAdded:   mt.CostAdded(),
		CostEvicted: mt.CostEvicted(),
		Ratio:       mt.Ratio(),
	}
}

// Close stops the tier's background goroutine and drops its entries. Get
// misses and Set drops afterwards.
func (m *Memory) Close() {
	if m.c != nil {
		m.c.Close()
	}
}
