package cache

import (
	"sync"

	"github.com/dgraph-io/ristretto/v2"
)

const (
	// entryOverhead is charged per entry on top of its body, so that the
	// budget bounds real memory even for many small variants: the Entry
	// struct (96 B), its ETag and Digest strings (24 + 64 B), the memItem
	// wrapper (48 B), ristretto's stored item in its hash map, the
	// policy's cost-map slot and the by-original index slot, all with the
	// maps' spare capacity. TestEntryOverhead measures 495–543 B on amd64
	// depending on where the maps are in their growth; rounded up, since
	// under-charging is what lets a cache overrun its budget.
	entryOverhead = 576

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
	c *ristretto.Cache[string, *memItem] // nil when the tier is disabled

	// byOrig lists the variant keys held for each original, so that Purge
	// can remove every variant of a deleted original: ristretto itself
	// cannot be enumerated. Set adds; eviction, rejection and Purge remove.
	mu     sync.Mutex
	byOrig map[string]map[string]struct{}
}

// memItem is what the tier stores: the entry and the names it was stored
// under, which ristretto's eviction callbacks need to keep byOrig exact
// (they see the value, not the key string).
type memItem struct {
	e          *Entry
	orig, vkey string
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
	m := &Memory{byOrig: make(map[string]map[string]struct{})}
	forget := func(it *ristretto.Item[*memItem]) {
		if it.Value != nil {
			m.unindex(it.Value.orig, it.Value.vkey)
		}
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *memItem]{
		NumCounters: entries * countersPerEntry,
		MaxCost:     cfg.MaxBytes,
		BufferItems: bufferItems,
		Metrics:     true,
		// entryOverhead already covers ristretto's own per-item memory.
		IgnoreInternalCost: true,
		OnEvict:            forget,
		OnReject:           forget,
	})
	if err != nil {
		return nil, err
	}
	m.c = c
	return m, nil
}

// entryCost is what an entry is charged against the budget: the body's capacity
// (equal to its length for a right-sized slice, and the truth when it was
// grown by append) plus the fixed per-entry overhead.
func entryCost(e *Entry) int64 {
	return int64(cap(e.Body)) + entryOverhead
}

// Enabled reports whether the tier holds anything (MaxBytes > 0).
func (m *Memory) Enabled() bool { return m.c != nil }

// Get returns the entry for the variant key vkey. A hit allocates nothing.
func (m *Memory) Get(vkey string) (*Entry, bool) {
	if m.c == nil {
		return nil, false
	}
	it, ok := m.c.Get(vkey)
	if !ok {
		return nil, false
	}
	return it.e, true
}

// Set offers e under the variant key vkey, made from the original orig,
// and reports whether it was accepted for admission; false means it was
// dropped (tier disabled, nil entry, or the insert buffer full under
// contention). Even when true, the policy may still decline it, and it is
// not visible to Get until ristretto has applied it, shortly after.
func (m *Memory) Set(orig, vkey string, e *Entry) bool {
	if m.c == nil || e == nil {
		return false
	}
	m.mu.Lock()
	vs := m.byOrig[orig]
	if vs == nil {
		vs = make(map[string]struct{})
		m.byOrig[orig] = vs
	}
	vs[vkey] = struct{}{}
	m.mu.Unlock()
	if !m.c.Set(vkey, &memItem{e: e, orig: orig, vkey: vkey}, entryCost(e)) {
		m.unindex(orig, vkey)
		return false
	}
	return true
}

func (m *Memory) unindex(orig, vkey string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.byOrig[orig]
	delete(vs, vkey)
	if len(vs) == 0 {
		delete(m.byOrig, orig)
	}
}

// Purge removes every variant of the original orig.
func (m *Memory) Purge(orig string) {
	if m.c == nil {
		return
	}
	m.mu.Lock()
	vs := m.byOrig[orig]
	delete(m.byOrig, orig)
	m.mu.Unlock()
	for vkey := range vs {
		m.c.Del(vkey)
	}
}

// Del removes the variant key vkey.
func (m *Memory) Del(vkey string) {
	if m.c != nil {
		m.c.Del(vkey)
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
