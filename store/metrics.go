package store

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the S3 store's metrics: what the bucket was asked for and
// what the local copies hold.
func (s *S3) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pictor_store_fetches_total", Help: "Originals fetched from the object store into a local copy.",
		}, func() float64 { return float64(s.fetches.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pictor_store_fetched_bytes_total", Help: "Bytes of originals fetched from the object store.",
		}, func() float64 { return float64(s.fetched.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_store_local_bytes", Help: "Bytes of local copies of originals (PICTOR_ORIGINALS_CACHE_BYTES bounds them).",
		}, func() float64 { return float64(s.copies.bytes()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "pictor_store_tombstones_purged_total", Help: "Originals purged because a tombstone in the bucket said another sidecar deleted them.",
		}, func() float64 { return float64(s.purged.Load()) }),
	}
}
