package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"
)

// metrics are Prometheus collectors from client_golang, registered on the
// registry main hands in and served on the admin listener.
type metrics struct {
	requests  *prometheus.CounterVec   // route, code
	duration  *prometheus.HistogramVec // route
	transform prometheus.Histogram     // pipeline seconds, cold only
	tiers     *prometheus.CounterVec   // tier: memory, disk, miss
	tier      [3]prometheus.Counter    // tiers by cache.Level, resolved once
	uploads   prometheus.Counter
	upBytes   prometheus.Counter

	// codes caches label values so the hot path does not format integers.
	codes [600]string
}

func newMetrics(reg *prometheus.Registry, s *Server) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pictor_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pictor_http_request_duration_seconds",
			Help: "Time from request to response by route.",
			// 100 µs (memory hit) to 10 s (the default deadline).
			Buckets: prometheus.ExponentialBucketsRange(0.0001, 10, 16),
		}, []string{"route"}),
		transform: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pictor_transform_duration_seconds",
			Help:    "Pipeline run time for variants not found in a cache.",
			Buckets: prometheus.ExponentialBucketsRange(0.001, 10, 14),
		}),
		tiers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pictor_variant_lookups_total",
			Help: "Variant lookups by the tier that answered (memory) or miss.",
		}, []string{"tier"}),
		uploads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pictor_uploads_total",
			Help: "Originals stored (new or already present).",
		}),
		upBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pictor_upload_bytes_total",
			Help: "Bytes of originals received.",
		}),
	}
	for i := range m.codes {
		m.codes[i] = strconv.Itoa(i)
	}
	for l := range m.tier {
		m.tier[l] = m.tiers.WithLabelValues(tierNames[l].(string))
	}
	cs := []prometheus.Collector{
		m.requests, m.duration, m.transform, m.tiers, m.uploads, m.upBytes,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_workers_running",
			Help: "Transforms holding a worker.",
		}, func() float64 { return float64(s.Workers.Running()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pictor_workers_waiting",
			Help: "Admitted transforms waiting for a worker.",
		}, func() float64 { return float64(s.Workers.Waiting()) }),
	}
	if s.Memory != nil {
		mem := s.Memory
		cs = append(cs,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_memory_cache_hits_total", Help: "Memory tier hits.",
			}, func() float64 { return float64(mem.Stats().Hits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_memory_cache_misses_total", Help: "Memory tier misses.",
			}, func() float64 { return float64(mem.Stats().Misses) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_memory_cache_evictions_total", Help: "Memory tier evictions.",
			}, func() float64 { return float64(mem.Stats().Evictions) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "pictor_memory_cache_hit_ratio", Help: "Memory tier hits / lookups since start.",
			}, func() float64 { return mem.Stats().Ratio }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "pictor_memory_cache_bytes", Help: "Memory tier bytes charged (bodies and overhead).",
			}, func() float64 { st := mem.Stats(); return float64(st.CostAdded - st.CostEvicted) }),
		)
	}
	if s.Cache != nil {
		tc := s.Cache
		cs = append(cs,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_cache_promotions_total", Help: "Disk tier hits copied into memory.",
			}, func() float64 { return float64(tc.Stats().Promoted) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_cache_dropped_writes_total", Help: "Disk writes and promotions dropped on a full queue.",
			}, func() float64 { return float64(tc.Stats().Dropped) }),
		)
	}
	if s.Disk != nil {
		d := s.Disk
		stat := func(f func(cache.DiskStats) float64) func() float64 {
			return func() float64 { return f(d.Stats()) }
		}
		cs = append(cs,
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_hits_total", Help: "Disk tier hits."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Hits) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_misses_total", Help: "Disk tier misses."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Misses) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_evictions_total", Help: "Disk tier evictions."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Evictions) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_corrupt_total", Help: "Disk tier files found corrupt and removed."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Corrupt) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_writes_total", Help: "Disk tier entries written."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Writes) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_write_errors_total", Help: "Disk tier writes that failed."},
				stat(func(st cache.DiskStats) float64 { return float64(st.WriteErrors) })),
			// Declined grows without a write being tried during a full-disk
			// cooldown: that is how a full disk shows it costs nothing.
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pictor_disk_cache_declined_total", Help: "Disk tier writes declined without trying (full-disk cooldown, unstorable type, larger than the budget)."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Declined) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pictor_disk_cache_bytes", Help: "Disk tier bytes charged (4 KiB blocks)."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Bytes) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pictor_disk_cache_entries", Help: "Disk tier entries."},
				stat(func(st cache.DiskStats) float64 { return float64(st.Entries) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pictor_disk_cache_hit_ratio", Help: "Disk tier hits / lookups since start."},
				stat(func(st cache.DiskStats) float64 {
					if st.Hits+st.Misses == 0 {
						return 0
					}
					return float64(st.Hits) / float64(st.Hits+st.Misses)
				})),
		)
	}
	if s.Device != nil {
		cs = append(cs, s.Device.Collectors()...)
	}
	if s.Decoded != nil {
		dc := s.Decoded
		cs = append(cs,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_decode_cache_hits_total", Help: "Variants made from a cached decode.",
			}, func() float64 { return float64(dc.Stats().Hits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pictor_decode_cache_misses_total", Help: "Decoded-original cache misses.",
			}, func() float64 { return float64(dc.Stats().Misses) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "pictor_decode_cache_bytes", Help: "Pixels held by the decoded-original cache.",
			}, func() float64 { return float64(dc.Stats().Bytes) }),
		)
	}
	cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "pictor_decodes_total", Help: "Originals decoded by the pipeline.",
	}, func() float64 { return float64(s.Processor.Decodes()) }))
	if err := registerAll(reg, cs...); err != nil {
		return nil, err
	}
	return m, nil
}

// registerAll registers cs and the Go runtime and process collectors,
// tolerating a registry that already has the latter.
func registerAll(reg *prometheus.Registry, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			if _, ok := err.(prometheus.AlreadyRegisteredError); !ok {
				return err
			}
		}
	}
	return nil
}

// observe wraps the router: one metrics sample and one log line per
// request (method, path, status, bytes, duration, cache tier).
func (s *Server) observe(route func(*fasthttp.RequestCtx) routeID) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		if s.draining.Load() {
			ctx.SetConnectionClose()
			s.fail(ctx, errDraining)
			s.logRequest(ctx, routeOther, start)
			return
		}
		r := route(ctx)
		drainBody(ctx)
		s.logRequest(ctx, r, start)
	}
}

// drainBody reads what a handler left of a streamed request body (the
// multipart reader stops at the end of the "file" part, before the closing
// delimiter and, for a chunked body, the last chunk), at most multipartSlack
// bytes within lingerTime; past either, or on a read error, the connection
// is closed instead. fasthttp v1.74.0 releases an unread stream as it is,
// and the rest would be parsed as the next request on the connection:
// request smuggling over Nginx's keep-alive upstream connections
// (valyala/fasthttp#2368).
func drainBody(ctx *fasthttp.RequestCtx) {
	body := ctx.RequestBodyStream()
	if body == nil || ctx.Response.ConnectionClose() {
		return
	}
	if c := ctx.Conn(); c != nil {
		c.SetReadDeadline(time.Now().Add(lingerTime))
		// fasthttp sets its own read deadline when it waits for the next
		// request; until then the connection has none, as before.
		defer c.SetReadDeadline(time.Time{})
	}
	n, err := io.Copy(io.Discard, io.LimitReader(body, multipartSlack+1))
	if err != nil || n > multipartSlack {
		ctx.SetConnectionClose()
	}
}

func (s *Server) logRequest(ctx *fasthttp.RequestCtx, r routeID, start time.Time) {
	d := time.Since(start)
	code := ctx.Response.StatusCode()
	codeLabel := "other"
	if code > 0 && code < len(s.metrics.codes) {
		codeLabel = s.metrics.codes[code]
	}
	s.metrics.requests.WithLabelValues(routeNames[r], codeLabel).Inc()
	s.metrics.duration.WithLabelValues(routeNames[r]).Observe(d.Seconds())
	if !s.Logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	tier, _ := ctx.UserValue(ctxTier).(string)
	attrs := []slog.Attr{
		slog.String("method", string(ctx.Method())),
		slog.String("path", string(ctx.Path())),
		slog.Int("status", code),
		slog.Int("bytes", bodyLen(&ctx.Response)),
		slog.Duration("dur", d),
	}
	if tier != "" {
		attrs = append(attrs, slog.String("tier", tier))
	}
	if err, ok := ctx.UserValue(ctxErr).(error); ok {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	s.Logger.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// bodyLen is the response size without reading a streamed body.
func bodyLen(r *fasthttp.Response) int {
	if r.IsBodyStream() {
		return r.Header.ContentLength()
	}
	return len(r.Body())
}
