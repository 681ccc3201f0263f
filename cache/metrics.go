package cache

import "github.com/prometheus/client_golang/prometheus"

// Each cache registers its own Prometheus collectors, in the shape of
// device.Queue.Collectors: the composition root adds them to its registry,
// and the HTTP edge never spells out a tier's counters.

func counter(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
}

func gauge(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

// Collectors are the memory tier's metrics.
func (m *Memory) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		counter("pictor_memory_cache_hits_total", "Memory tier hits.",
			func() float64 { return float64(m.Stats().Hits) }),
		counter("pictor_memory_cache_misses_total", "Memory tier misses.",
			func() float64 { return float64(m.Stats().Misses) }),
		counter("pictor_memory_cache_evictions_total", "Memory tier evictions.",
			func() float64 { return float64(m.Stats().Evictions) }),
		gauge("pictor_memory_cache_hit_ratio", "Memory tier hits / lookups since start.",
			func() float64 { return m.Stats().Ratio }),
		gauge("pictor_memory_cache_bytes", "Memory tier bytes charged (bodies and overhead).",
			func() float64 { st := m.Stats(); return float64(st.CostAdded - st.CostEvicted) }),
	}
}

// Collectors are the tiered cache's own metrics; its tiers have theirs.
func (t *Tiered) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		counter("pictor_cache_promotions_total", "Disk tier hits copied into memory.",
			func() float64 { return float64(t.Stats().Promoted) }),
		counter("pictor_cache_dropped_writes_total", "Disk writes and promotions dropped on a full queue.",
			func() float64 { return float64(t.Stats().Dropped) }),
	}
}

// Collectors are the disk tier's metrics.
func (d *Disk) Collectors() []prometheus.Collector {
	stat := func(f func(DiskStats) float64) func() float64 {
		return func() float64 { return f(d.Stats()) }
	}
	return []prometheus.Collector{
		counter("pictor_disk_cache_hits_total", "Disk tier hits.",
			stat(func(st DiskStats) float64 { return float64(st.Hits) })),
		counter("pictor_disk_cache_misses_total", "Disk tier misses.",
			stat(func(st DiskStats) float64 { return float64(st.Misses) })),
		counter("pictor_disk_cache_evictions_total", "Disk tier evictions.",
			stat(func(st DiskStats) float64 { return float64(st.Evictions) })),
		counter("pictor_disk_cache_corrupt_total", "Disk tier files found corrupt and removed.",
			stat(func(st DiskStats) float64 { return float64(st.Corrupt) })),
		counter("pictor_disk_cache_writes_total", "Disk tier entries written.",
			stat(func(st DiskStats) float64 { return float64(st.Writes) })),
		counter("pictor_disk_cache_write_errors_total", "Disk tier writes that failed.",
			stat(func(st DiskStats) float64 { return float64(st.WriteErrors) })),
		// Declined grows without a write being tried during a full-disk
		// cooldown: that is how a full disk shows it costs nothing.
		counter("pictor_disk_cache_declined_total", "Disk tier writes declined without trying (full-disk cooldown, unstorable type, larger than the budget).",
			stat(func(st DiskStats) float64 { return float64(st.Declined) })),
		gauge("pictor_disk_cache_bytes", "Disk tier bytes charged (4 KiB blocks).",
			stat(func(st DiskStats) float64 { return float64(st.Bytes) })),
		gauge("pictor_disk_cache_entries", "Disk tier entries.",
			stat(func(st DiskStats) float64 { return float64(st.Entries) })),
		gauge("pictor_disk_cache_hit_ratio", "Disk tier hits / lookups since start.",
			stat(func(st DiskStats) float64 {
				if st.Hits+st.Misses == 0 {
					return 0
				}
				return float64(st.Hits) / float64(st.Hits+st.Misses)
			})),
	}
}

// Collectors are the decoded-original cache's metrics.
func (d *Decoded[V]) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		counter("pictor_decode_cache_hits_total", "Variants made from a cached decode.",
			func() float64 { return float64(d.Stats().Hits) }),
		counter("pictor_decode_cache_misses_total", "Decoded-original cache misses.",
			func() float64 { return float64(d.Stats().Misses) }),
		gauge("pictor_decode_cache_bytes", "Pixels held by the decoded-original cache.",
			func() float64 { return float64(d.Stats().Bytes) }),
	}
}
