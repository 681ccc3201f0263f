package cache

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkMemoryZipf replays a Zipf(1.1) request trace over 10,000
// variants against a memory tier with room for 10% of them, filling on
// each miss as the server does, and reports the hit ratio over the second
// half of the trace (after warm-up). For scale it also reports what a
// perfect cache of the same size would get: the share of requests for the
// 1,000 most popular variants.
func BenchmarkMemoryZipf(b *testing.B) {
	const (
		variants = 10_000
		size     = 16 << 10
		requests = 400_000
	)
	budget := int64(variants/10) * (size + entryOverhead)
	keys := make([]string, variants)
	for i := range keys {
		keys[i] = "v" + strconv.Itoa(i)
	}
	trace := make([]int, requests)
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, variants-1)
	for i := range trace {
		trace[i] = int(z.Uint64())
	}
	var ideal int
	for _, v := range trace[requests/2:] {
		if v < variants/10 {
			ideal++
		}
	}
	body := make([]byte, size)
	var ratio float64
	for b.Loop() {
		m, err := NewMemory(MemoryConfig{MaxBytes: budget})
		if err != nil {
			b.Fatal(err)
		}
		var hits, lookups int
		for i, v := range trace {
			_, ok := m.Get(keys[v])
			if i >= requests/2 {
				lookups++
				if ok {
					hits++
				}
			}
			if !ok {
				m.Set("o", keys[v], NewEntry(body, "image/webp", 1, 1))
			}
		}
		ratio = float64(hits) / float64(lookups)
		m.Close()
	}
	b.ReportMetric(ratio, "hit-ratio")
	b.ReportMetric(float64(ideal)/float64(requests/2), "ideal-ratio")
}
