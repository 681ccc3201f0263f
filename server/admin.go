package server

import (
	"encoding/json"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// AdminHandler returns the admin routes: /healthz (the process answers),
// /readyz (it can do its job: not draining, store writable, libvips and the
// device fine), /metrics (Prometheus text format) and the playground
// (/playground, playground.go).
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
			if rest, ok := strings.CutPrefix(string(ctx.Path()), "/playground"); ok && (rest == "" || rest[0] == '/') {
				s.playground(ctx, rest)
				return
			}
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
	if s.draining.Load() {
		r.Ready = false
		r.Checks["draining"] = errDraining.Error()
	}
	for name, c := range s.Ready {
		status, err := c.Ready()
		if err != nil {
			r.Ready = false
			status = err.Error()
		}
		r.Checks[name] = status
	}
	body, _ := json.Marshal(r)
	ctx.SetContentType("application/json")
	if !r.Ready {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	ctx.SetBody(append(body, '\n'))
}
