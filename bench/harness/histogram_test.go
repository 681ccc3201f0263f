package harness

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	// Every value lies in its bucket, and the bucket is narrow: at most
	// 1/subBuckets of the value (exact below 2·subBuckets ns).
	r := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 127, 128, 255, 256, 257, 1000, 1 << 20, 123456789, 1<<38 - 1}
	for range 10000 {
		values = append(values, uint64(r.Int64N(1<<38)))
	}
	for _, v := range values {
		i := bucketOf(v)
		lo, w := bucketRange(i)
		if v < lo || v >= lo+w {
			t.Fatalf("bucketOf(%d) = %d, which holds [%d, %d)", v, i, lo, lo+w)
		}
		if v >= 2*subBuckets && float64(w)/float64(v) > 1.0/subBuckets {
			t.Fatalf("bucket of %d is %d wide: more than 1/%d of it", v, w, subBuckets)
		}
	}
	if i := bucketOf(math.MaxUint64); i != numBuckets-1 {
		t.Errorf("bucketOf(max) = %d, want the top bucket %d", i, numBuckets-1)
	}
}

func TestQuantiles(t *testing.T) {
	uniform := func(n int) []time.Duration { // 1 ms … n ms
		var ds []time.Duration
		for i := 1; i <= n; i++ {
			ds = append(ds, time.Duration(i)*time.Millisecond)
		}
		return ds
	}
	for _, c := range []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"median of 1..1000 ms", uniform(1000), 0.5, 500 * time.Millisecond},
		{"p90 of 1..1000 ms", uniform(1000), 0.9, 900 * time.Millisecond},
		{"p99 of 1..1000 ms", uniform(1000), 0.99, 990 * time.Millisecond},
		{"max of 1..1000 ms", uniform(1000), 1, 1000 * time.Millisecond},
		{"p0 is the smallest", uniform(1000), 0, time.Millisecond},
		{"one slow request in 100 is above p99", append(slices.Repeat([]time.Duration{time.Millisecond}, 99), time.Second), 0.99, time.Millisecond},
		{"two slow requests in 100 are p99's", append(slices.Repeat([]time.Duration{time.Millisecond}, 98), time.Second, time.Second), 0.99, time.Second},
		{"sub-microsecond values are exact", []time.Duration{5, 6, 7}, 0.5, 6},
	} {
		var h Histogram
		for _, d := range c.values {
			h.Record(d)
		}
		got := h.Quantile(c.q)
		if math.Abs(float64(got-c.want)) > float64(c.want)/subBuckets+1 {
			t.Errorf("%s: Quantile(%g) = %v, want %v within 1/%d", c.name, c.q, got, c.want, subBuckets)
		}
	}
}

func TestHistogramSummary(t *testing.T) {
	var a, b Histogram
	for i := 1; i <= 100; i++ {
		a.Record(time.Duration(i) * time.Millisecond)
		b.Record(time.Duration(i+100) * time.Millisecond)
	}
	a.Record(-time.Second) // clock went backwards: counted as 0
	a.Merge(&b)
	if a.Count() != 201 {
		t.Fatalf("Count = %d, want 201", a.Count())
	}
	if a.Max() != 200*time.Millisecond {
		t.Errorf("Max = %v, want 200ms", a.Max())
	}
	if want := 20100 * time.Millisecond / 201; a.Mean() != want {
		t.Errorf("Mean = %v, want %v", a.Mean(), want)
	}
	if n := a.CountAbove(150 * time.Millisecond); n < 50 || n > 52 {
		t.Errorf("CountAbove(150ms) = %d, want about 51", n)
	}
	cdf := a.CDF()
	if len(cdf) == 0 || len(cdf) > maxCDFPoints+100 {
		t.Fatalf("CDF has %d points", len(cdf))
	}
	for i := 1; i < len(cdf); i++ {
		if cdf[i].LatencyMs < cdf[i-1].LatencyMs || cdf[i].Fraction <= cdf[i-1].Fraction {
			t.Fatalf("CDF not increasing at %d: %+v then %+v", i, cdf[i-1], cdf[i])
		}
	}
	if last := cdf[len(cdf)-1]; last.Fraction != 1 || last.LatencyMs != 200 {
		t.Errorf("CDF ends at %+v, want fraction 1 at 200 ms", last)
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 || empty.CDF() != nil {
		t.Errorf("an empty histogram should report zeros")
	}
}

func TestHistogramConcurrent(t *testing.T) {
	var h Histogram
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	if h.Count() != 8000 || h.Max() != 7999*time.Microsecond {
		t.Errorf("Count = %d, Max = %v; want 8000 and 7.999ms", h.Count(), h.Max())
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(1)
		for pb.Next() {
			h.Record(d)
			d = (d*3 + 7) & (1<<30 - 1)
		}
	})
}
