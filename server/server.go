package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pictorhq/pictor/cache"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Deps are the parts the composition root (package app) wires in. The
// caches, the store and the readiness checks are seen through the small
// interfaces declared in deps.go, so the edge knows none of their concrete
// types.
type Deps struct {
	Originals Originals // required
	Processor *transform.Processor
	Parser    *options.Parser
	Signer    *sign.Signer
	// Variants is the variant cache; nil caches nothing.
	Variants Variants
	// Purger forgets everything derived from a deleted original (its
	// variants in every tier, its decode); nil: nothing to forget.
	Purger   Purger
	Workers  *workers.Pool
	Logger   *slog.Logger
	Registry *prometheus.Registry // the edge's own metrics are registered here
	Now      func() time.Time     // clock for exp_; default time.Now
	// Ready are what /readyz checks besides draining, by the name it shows
	// for each (store, libvips, device).
	Ready map[string]Readiness
}

// Server is Pictor's HTTP edge. Create it with New, run it with Serve.
type Server struct {
	cfg Config
	Deps
	tokens     [][]byte
	retryAfter string
	metrics    *metrics
	public     *fasthttp.Server
	admin      *fasthttp.Server
	draining   atomic.Bool
	inflight   sync.WaitGroup // transforms still running in libvips
	tus        *tusEdge       // /files/; nil when off
	recent     recent         // the playground's recent originals

	// inflightVariants collapses identical concurrent variant requests
	// into one pipeline run.
	inflightVariants cache.Group[string, *cache.Entry]

	// allowedWidths is the parser's width allow-list, which w_auto snaps
	// to; nil for none.
	allowedWidths []int
}

// New validates cfg and returns a Server.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Originals == nil || d.Processor == nil || d.Parser == nil || d.Signer == nil || d.Workers == nil {
		return nil, errors.New("server: Originals, Processor, Parser, Signer and Workers are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{
		cfg:        cfg,
		Deps:       d,
		retryAfter: strconv.Itoa(int(cfg.RetryAfter / time.Second)),
	}
	for _, t := range cfg.UploadTokens {
		s.tokens = append(s.tokens, []byte(t))
	}
	s.allowedWidths = d.Parser.AllowedWidths()
	var err error
	if s.metrics, err = newMetrics(d.Registry); err != nil {
		return nil, err
	}
	s.public = &fasthttp.Server{
		Handler:                      s.Handler(),
		Name:                         "pictor",
		ReadTimeout:                  cfg.ReadTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		WriteTimeout:                 cfg.Timeout + 5*time.Second,
		StreamRequestBody:            true,
		MaxRequestBodySize:           64 << 10, // larger bodies stream
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{d.Logger},
	}
	if cfg.TusDir != "" {
		if s.tus, err = newTusEdge(s); err != nil {
			return nil, err
		}
	}
	s.public.ErrorHandler = s.parseError
	// The admin listener carries the playground's uploads and transforms
	// (playground.go), so it reads bodies and times out as the public one.
	s.admin = &fasthttp.Server{
		Handler:                      s.AdminHandler(),
		Name:                         "pictor-admin",
		ReadTimeout:                  cfg.ReadTimeout,
		IdleTimeout:                  30 * time.Second,
		WriteTimeout:                 cfg.Timeout + 5*time.Second,
		StreamRequestBody:            true,
		MaxRequestBodySize:           64 << 10, // larger bodies stream
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		Logger:                       fasthttpLogger{d.Logger},
	}
	return s, nil
}

// Close stops the background work that outlives requests (the resumable
// uploads' janitor). Call it after Shutdown, or when the server never
// served.
func (s *Server) Close() {
	if s.tus != nil {
		s.tus.close()
	}
}

// Serve serves the public routes on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.public.Serve(ln) }

// ServeAdmin serves the admin routes on ln until Shutdown.
func (s *Server) ServeAdmin(ln net.Listener) error { return s.admin.Serve(ln) }

// Shutdown drains: readiness fails at once, new requests get 503, open
// requests finish, then both listeners close. It returns when everything
// has finished or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	err := s.public.ShutdownWithContext(ctx)
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	if aerr := s.admin.ShutdownWithContext(ctx); err == nil {
		err = aerr
	}
	return err
}

// Handler returns the public routes.
func (s *Server) Handler() fasthttp.RequestHandler {
	return s.observe(s.route)
}

type routeID int

const (
	routeOther routeID = iota
	routeTransform
	routeOriginal
	routeUpload
	routeInfo
	routeSrcset
	routeFiles
	routeCount
)

var routeNames = [routeCount]string{"other", "transform", "original", "upload", "info", "srcset", "files"}

// Context keys for per-request values read by the log line.
const (
	ctxRoute = "pictor.route"
	ctxTier  = "pictor.tier"
	ctxErr   = "pictor.err"
)

var (
	prefixT      = []byte("/t/")
	prefixO      = []byte("/o/")
	prefixInfo   = []byte("/info/")
	prefixSrcset = []byte("/srcset/")
	pathUpload   = []byte("/upload")
	pathFiles    = []byte("/files")
	methodGet    = []byte(fasthttp.MethodGet)
	methodHead   = []byte(fasthttp.MethodHead)
	methodPost   = []byte(fasthttp.MethodPost)
	methodDelete = []byte(fasthttp.MethodDelete)
)

func (s *Server) route(ctx *fasthttp.RequestCtx) routeID {
	path := ctx.Path()
	m := ctx.Method()
	getOrHead := bytes.Equal(m, methodGet) || bytes.Equal(m, methodHead)
	switch {
	case bytes.HasPrefix(path, prefixT):
		if !getOrHead {
			s.methodNotAllowed(ctx, "GET, HEAD")
			return routeTransform
		}
		s.handleTransform(ctx, path[len(prefixT):])
		return routeTransform
	case bytes.HasPrefix(path, prefixO):
		key := path[len(prefixO):]
		switch {
		case getOrHead:
			s.handleOriginal(ctx, key)
		case bytes.Equal(m, methodDelete):
			s.handleDelete(ctx, key)
		default:
			s.methodNotAllowed(ctx, "GET, HEAD, DELETE")
		}
		return routeOriginal
	case bytes.Equal(path, pathUpload):
		if !bytes.Equal(m, methodPost) {
			s.methodNotAllowed(ctx, "POST")
			return routeUpload
		}
		s.handleUpload(ctx)
		return routeUpload
	case bytes.HasPrefix(path, prefixInfo):
		if !getOrHead {
			s.methodNotAllowed(ctx, "GET, HEAD")
			return routeInfo
		}
		s.handleInfo(ctx, path[len(prefixInfo):])
		return routeInfo
	case bytes.HasPrefix(path, prefixSrcset):
		if !getOrHead {
			s.methodNotAllowed(ctx, "GET, HEAD")
			return routeSrcset
		}
		s.handleSrcset(ctx, path[len(prefixSrcset):])
		return routeSrcset
	case s.tus != nil && bytes.HasPrefix(path, pathFiles) &&
		(len(path) == len(pathFiles) || path[len(pathFiles)] == '/'):
		s.tus.serve(ctx, path[len(pathFiles):])
		return routeFiles
	}
	s.fail(ctx, errNotFound)
	return routeOther
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
	s.fail(ctx, errMethod)
}

// authorized checks the bearer token in constant time against every
// configured token, so timing says nothing about which one nearly matched.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	const scheme = "Bearer "
	if len(h) <= len(scheme) || !bytes.EqualFold(h[:len(scheme)], []byte(scheme)) {
		return false
	}
	tok := bytes.TrimSpace(h[len(scheme):])
	ok := 0
	for _, t := range s.tokens {
		ok |= subtle.ConstantTimeCompare(tok, t)
	}
	return ok == 1
}

// fasthttpLogger sends fasthttp's own messages (connection errors) to slog.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn("fasthttp", "msg", fmt.Sprintf(format, args...))
}
