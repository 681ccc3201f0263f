package harness

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/pictorhq/pictor/bench/report"
)

// Histogram is a log-linear latency histogram in the manner of HdrHistogram:
// every power of two of nanoseconds is split into subBuckets equal buckets,
// so any recorded value is known to within 1/subBuckets (0.8%) of itself,
// from 1 ns up to maxTrackable; larger values land in the top bucket. Record
// is safe for concurrent use and allocates nothing (atomic counters), so
// every connection of a run records into one histogram.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Uint64 // nanoseconds; 2^64 ns is 584 years
	max    atomic.Uint64
}

const (
	// subBits gives 128 buckets per power of two: a relative error of at
	// most 1/128 ≈ 0.8%, finer than run-to-run noise on a shared machine.
	subBits    = 7
	subBuckets = 1 << subBits
	// maxShift bounds the tracked range: values below 2^(maxShift+subBits+1)
	// ns, about 275 s, longer than any request timeout the harness allows.
	maxShift   = 30
	numBuckets = (maxShift + 2) * subBuckets
)

// bucketOf is the index of v's bucket: values below subBuckets have a
// bucket each; above, the top subBits+1 bits of v select it.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // v>>shift is in [subBuckets, 2·subBuckets)
	if shift > maxShift {
		return numBuckets - 1
	}
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange is the smallest value of bucket i and its width.
func bucketRange(i int) (lo, width uint64) {
	if i < 2*subBuckets {
		return uint64(i), 1
	}
	shift := uint(i/subBuckets - 1)
	return uint64(i%subBuckets+subBuckets) << shift, 1 << shift
}

// Record adds one latency. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Merge adds o's counts into h. o must not be recorded into meanwhile.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max is the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean is the exact mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile is the value below which a fraction q of the recorded values
// lie, the midpoint of its bucket, never above Max. Quantile(1) is Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	if q >= 1 {
		return h.Max()
	}
	// The rank of the value asked for, 1-based: q = 0.5 of 10 values is
	// the 5th.
	rank := max(uint64(math.Ceil(q*float64(n))), 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, w := bucketRange(i)
			return min(time.Duration(lo+w/2), h.Max())
		}
	}
	return h.Max()
}

// CountAbove is how many values were recorded at or above d, to within
// the width of d's bucket.
func (h *Histogram) CountAbove(d time.Duration) uint64 {
	var n uint64
	for i := bucketOf(uint64(max(d, 0))); i < numBuckets; i++ {
		n += h.counts[i].Load()
	}
	return n
}

// ms converts a duration to fractional milliseconds, the unit of the
// results file.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Percentiles summarises h in milliseconds.
func (h *Histogram) Percentiles() report.Percentiles {
	return report.Percentiles{
		Mean: ms(h.Mean()),
		P50:  ms(h.Quantile(0.50)),
		P90:  ms(h.Quantile(0.90)),
		P99:  ms(h.Quantile(0.99)),
		Max:  ms(h.Max()),
	}
}

// maxCDFPoints bounds the CDF kept in the results file; a chart needs no
// more, and a wide distribution can fill thousands of buckets.
const maxCDFPoints = 400

// CDF is the cumulative distribution: one point per occupied bucket (at its
// upper edge, the last at Max), thinned to at most about maxCDFPoints by
// dropping points that add little, while every point of the top 1% is
// kept as long as it adds at least 0.01%: the tail is what a latency CDF
// is read for.
func (h *Histogram) CDF() []report.CDFPoint {
	n := h.total.Load()
	if n == 0 {
		return nil
	}
	var pts []report.CDFPoint
	var seen uint64
	last := -1.0
	maxMs := ms(h.Max())
	for i := range h.counts {
		c := h.counts[i].Load()
		if c == 0 {
			continue
		}
		seen += c
		f := float64(seen) / float64(n)
		lo, w := bucketRange(i)
		x := min(ms(time.Duration(lo+w)), maxMs)
		step := 1.0 / maxCDFPoints
		if last >= 0.99 {
			step = 0.0001
		}
		if f-last >= step || seen == n {
			pts = append(pts, report.CDFPoint{LatencyMs: x, Fraction: f})
			last = f
		}
	}
	return pts
}
