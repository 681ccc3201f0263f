package device

import "github.com/prometheus/client_golang/prometheus"

// Fallback reasons, the label values of pictor_device_fallbacks_total.
const (
	reasonOff    = "off"    // no device (off, absent)
	reasonDead   = "dead"   // the device died earlier
	reasonFormat = "format" // not uchar 1–4 bands, or enlarging
	reasonSmall  = "small"  // under MinPixels
	reasonFull   = "full"   // Capacity jobs already on the device
	reasonInput  = "input"  // the input did not decode into the buffer
	reasonError  = "error"  // the device failed this job
)

// metrics are the queue's Prometheus collectors.
type metrics struct {
	depth     prometheus.GaugeFunc
	wait      prometheus.Histogram
	run       prometheus.Histogram
	jobs      *prometheus.CounterVec // backend
	fallbacks *prometheus.CounterVec // reason
	errors    prometheus.Counter
	dropped   prometheus.Counter
	state     *prometheus.GaugeVec // state: 1 for the current one
}

func newMetrics(q *Queue) *metrics {
	m := &metrics{
		depth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_device_queue_depth",
			Help: "Resize jobs on the device queue, waiting or running.",
		}, func() float64 { return float64(len(q.slots)) }),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pictor_device_queue_wait_seconds",
			Help: "Time a device job waited for a stream.",
			// 10 µs (a stream was free) to 1 s (a deep queue of large jobs).
			Buckets: prometheus.ExponentialBucketsRange(0.00001, 1, 11),
		}),
		run: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pictor_device_run_seconds",
			Help:    "Time a device job held its stream: copies and kernels.",
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 1, 9),
		}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pictor_device_jobs_total",
			Help: "Resizes by the backend that ran them (cpu or the device's name).",
		}, []string{"backend"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pictor_device_fallbacks_total",
			Help: "Resizes run on the CPU instead of the device, by reason.",
		}, []string{"reason"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pictor_device_errors_total",
			Help: "Device errors; the first takes the device out of service.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pictor_device_dropped_total",
			Help: "Device jobs dropped unrun because their request was cancelled.",
		}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pictor_device_state",
			Help: "1 for the device's current state (off, absent, ready, dead), 0 for the others.",
		}, []string{"state"}),
	}
	for _, r := range []string{reasonOff, reasonDead, reasonFormat, reasonSmall, reasonFull, reasonInput, reasonError} {
		m.fallbacks.WithLabelValues(r)
	}
	return m
}

func (m *metrics) setState(s State) {
	for _, x := range []State{StateOff, StateAbsent, StateReady, StateDead} {
		v := 0.0
		if x == s {
			v = 1
		}
		m.state.WithLabelValues(string(x)).Set(v)
	}
}

// Collectors returns the queue's metrics for registration on a Prometheus
// registry: queue depth, wait and run time, jobs per backend, fallbacks by
// reason, device errors, dropped jobs and the device state.
func (q *Queue) Collectors() []prometheus.Collector {
	m := q.m
	return []prometheus.Collector{m.depth, m.wait, m.run, m.jobs, m.fallbacks, m.errors, m.dropped, m.state}
}
