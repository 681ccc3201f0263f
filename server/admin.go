package server

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// AdminHandler returns the admin routes: /healthz (the process answers),
// /readyz (it can do its job: not draining, store writable, libvips and the
// device fine) and /metrics (Prometheus text format).
func (s *Server) AdminHandler() fasthttp.RequestHandler {
	prom := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
		switch string(ctx.Path()) {
		case "/healthz":
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString("ok\n")
		case "/readyz":
			s.readyz(ctx)
		case "/metrics":
			prom(ctx)
		default:
			s.fail(ctx, errNotFound)
		}
	}
}

type readiness struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	r := readiness{Ready: true, Checks: map[string]string{}}
	check := func(name string, err error) {
		if err != nil {
			r.Ready = false
			r.Checks[name] = err.Error()
			return
		}
		r.Checks[name] = "ok"
	}
	if s.draining.Load() {
		check("draining", errDraining)
	}
	check("store", s.Store.Writable())
	if s.Ready != nil {
		check("pipeline", s.Ready())
	}
	if s.Device != nil {
		// The state (off, absent, ready, dead) is shown either way; only a
		// required GPU that is missing or dead makes the server unready.
		if err := s.Device.Ready(); err != nil {
			check("device", err)
		} else {
			r.Checks["device"] = string(s.Device.State())
		}
	}
	body, _ := json.Marshal(r)
	ctx.SetContentType("application/json")
	if !r.Ready {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	ctx.SetBody(append(body, '\n'))
}
