package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valyala/fasthttp"
)

// metrics are Prometheus collectors from client_golang, registered on the
// registry app hands in and served on the admin listener.
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

// newMetrics registers the edge's own metrics: requests, the pipeline's
// time, lookups by tier, uploads. The caches, the device and the worker
// pool register theirs (their Collectors, added by package app).
func newMetrics(reg *prometheus.Registry) (*metrics, error) {
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
	cs := []prometheus.Collector{m.requests, m.duration, m.transform, m.tiers, m.uploads, m.upBytes}
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
