package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/valyala/fasthttp"
	expslog "golang.org/x/exp/slog"
)

// Resumable uploads: tus 1.0 at /files/ (core, creation,
// creation-with-upload, termination, expiration, checksum with sha256).
//
// tusd (github.com/tus/tusd/v2) speaks the protocol; it is a net/http
// handler, mounted here inside the fasthttp server on the same listener as
// every other route, through a small bridge of our own rather than
// fasthttpadaptor: the adaptor reads the whole request body into memory
// (ctx.PostBody) before the handler runs, and a PATCH may carry the whole
// 50 MiB; the bridge hands tusd the streamed body and lets it set the
// connection's read deadline per read, as net/http would. One listener
// keeps one Nginx upstream, one drain, one request log and one set of
// metrics.
//
// Finishing an upload is an upload: tusd's PreFinishResponseCallback reads
// the assembled bytes through the same ingest as POST /upload (415, 422,
// content-addressed commit into whichever store is configured) and answers
// Pictor-Key; the parts are removed whatever the outcome.

// tusEdge is the /files/ route.
type tusEdge struct {
	s       *Server
	store   *tusStore
	handler http.Handler
	results *prometheus.CounterVec // result: stored, refused, expired
	stop    chan struct{}
	stopped sync.WaitGroup
}

// tusRequest is what the bridge found out before tusd runs, carried in the
// request context.
type tusRequest struct {
	authorized  bool
	check       *chunkCheck // Upload-Checksum, when sent and valid
	badChecksum error       // Upload-Checksum, when sent and not valid
}

type tusRequestKey struct{}

const tusBase = "/files/"

func newTusEdge(s *Server) (*tusEdge, error) {
	cfg := s.cfg
	st, err := newTusStore(cfg.TusDir, cfg.TusExpiry, cfg.TusBytes, s.Now)
	if err != nil {
		return nil, err
	}
	e := &tusEdge{s: s, store: st, stop: make(chan struct{}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pictor_tus_uploads_total",
			Help: "Resumable uploads ended: stored (finished and committed), refused (finished and judged 415/422/413), expired (abandoned and removed).",
		}, []string{"result"}),
	}
	held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pictor_tus_held_bytes",
		Help: "Bytes declared by unfinished resumable uploads, against PICTOR_TUS_BYTES.",
	}, func() float64 { return float64(st.heldBytes()) })
	if err := registerAll(s.Registry, e.results, held); err != nil {
		return nil, err
	}
	composer := tusd.NewStoreComposer()
	st.UseIn(composer)
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:             composer,
		BasePath:                  tusBase,
		MaxSize:                   cfg.MaxUploadBytes,
		DisableDownload:           true,
		DisableConcatenation:      true,
		Cors:                      corsConfig(cfg.CORSOrigins),
		PreFinishResponseCallback: e.finish,
		Logger:                    expslog.New(tusLog{s.Logger}),
	})
	if err != nil {
		return nil, err
	}
	e.handler = h.Middleware(e.route(h))
	e.stopped.Add(1)
	go e.janitor()
	return e, nil
}

// corsConfig allows browsers on the configured origins to use /files/ and
// read the tus headers and Pictor-Key. Without origins CORS is off: no
// CORS headers, and a request with an Origin header is served as any other
// (a same-origin page still works).
func corsConfig(origins []string) *tusd.CorsConfig {
	if len(origins) == 0 {
		return &tusd.CorsConfig{Disable: true}
	}
	alts := make([]string, len(origins))
	for i, o := range origins {
		if o == "*" {
			alts[i] = ".*"
		} else {
			alts[i] = regexp.QuoteMeta(o)
		}
	}
	c := tusd.DefaultCorsConfig
	c.AllowOrigin = regexp.MustCompile(`^(?:` + strings.Join(alts, "|") + `)$`)
	c.AllowMethods = "POST, HEAD, PATCH, DELETE, OPTIONS"
	c.AllowHeaders += ", Upload-Checksum"
	c.ExposeHeaders += ", Upload-Expires, Pictor-Key"
	return &c
}

// janitor removes expired uploads, often enough that one is gone within a
// quarter of the expiry after it (at most a minute).
func (e *tusEdge) janitor() {
	defer e.stopped.Done()
	every := min(max(e.store.expiry/4, 10*time.Millisecond), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n := e.store.sweep(); n > 0 {
			e.results.WithLabelValues("expired").Add(float64(n))
		}
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
	}
}

func (e *tusEdge) close() {
	close(e.stop)
	e.stopped.Wait()
}

// route runs inside tusd's middleware (CORS, OPTIONS, Tus-Resumable), so
// that every answer, a refusal included, carries the CORS headers a
// browser needs to read it.
func (e *tusEdge) route(h *tusd.UnroutedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr, _ := r.Context().Value(tusRequestKey{}).(*tusRequest)
		if tr == nil || !tr.authorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pictor"`)
			writeTusError(w, r, http.StatusUnauthorized, errUnauthorized.Error())
			return
		}
		if tr.badChecksum != nil {
			writeTusError(w, r, http.StatusBadRequest, tr.badChecksum.Error())
			return
		}
		id := strings.Trim(r.URL.Path, "/")
		if id == "" {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", "POST, OPTIONS")
				writeTusError(w, r, http.StatusMethodNotAllowed, errMethod.Error())
				return
			}
			h.PostFile(w, r)
			return
		}
		if !tusIDPattern.MatchString(id) {
			writeTusError(w, r, http.StatusNotFound, "upload not found")
			return
		}
		if rec, ok := e.store.readDone(id); ok {
			e.serveDone(w, r, id, rec)
			return
		}
		switch r.Method {
		case http.MethodHead:
			h.HeadFile(w, r)
		case http.MethodPatch:
			h.PatchFile(w, r)
		case http.MethodDelete:
			h.DelFile(w, r)
		default:
			w.Header().Set("Allow", "HEAD, PATCH, DELETE, OPTIONS")
			writeTusError(w, r, http.StatusMethodNotAllowed, errMethod.Error())
		}
	})
}

// serveDone answers for an upload that has finished and been stored: a
// client that lost the last response learns the key from HEAD, and a
// repeated last PATCH is answered as tusd answers one for a complete
// upload.
func (e *tusEdge) serveDone(w http.ResponseWriter, r *http.Request, id string, rec doneRecord) {
	h := w.Header()
	switch r.Method {
	case http.MethodHead:
		h.Set("Upload-Offset", strconv.FormatInt(rec.Size, 10))
		h.Set("Upload-Length", strconv.FormatInt(rec.Size, 10))
		h.Set("Pictor-Key", rec.Key)
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		if r.Header.Get("Upload-Offset") != strconv.FormatInt(rec.Size, 10) {
			writeTusError(w, r, http.StatusConflict, "mismatched offset: the upload is complete")
			return
		}
		h.Set("Upload-Offset", strconv.FormatInt(rec.Size, 10))
		h.Set("Pictor-Key", rec.Key)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		e.store.removeDone(id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "HEAD, PATCH, DELETE, OPTIONS")
		writeTusError(w, r, http.StatusMethodNotAllowed, errMethod.Error())
	}
}

// finish is tusd's PreFinishResponseCallback: the last byte is in, under
// the upload's lock. The bytes go through ingest exactly as a POST /upload
// body does; the parts are removed whatever the outcome.
func (e *tusEdge) finish(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
	id := ev.Upload.ID
	defer e.store.remove(id)
	f, err := os.Open(ev.Upload.Storage[filestore.StorageKeyPath])
	if err != nil {
		return tusd.HTTPResponse{}, e.refuse(id, err)
	}
	obj, _, err := e.s.ingest(f)
	f.Close()
	if err != nil {
		return tusd.HTTPResponse{}, e.refuse(id, err)
	}
	e.results.WithLabelValues("stored").Inc()
	if err := e.store.writeDone(id, doneRecord{Key: obj.Key, Size: obj.Size}); err != nil {
		// The original is stored and this response carries its key; only
		// a later HEAD cannot tell it.
		e.s.Logger.Warn("tus: recording a finished upload", "id", id, "err", err)
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{"Pictor-Key": obj.Key}}, nil
}

// refuse turns an ingest error into the answer to the last PATCH, with the
// status and message POST /upload would give.
func (e *tusEdge) refuse(id string, err error) error {
	he := classify(err)
	if he.status >= 500 {
		e.s.Logger.Warn("tus: storing a finished upload", "id", id, "err", err)
	} else {
		e.results.WithLabelValues("refused").Inc()
	}
	return tusError(he.status, "ERR_PICTOR_REFUSED", he.msg)
}

// writeTusError writes Pictor's JSON error body from inside the tusd chain.
func writeTusError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		body, _ := json.Marshal(errorBody{Error: msg, Status: status})
		w.Write(append(body, '\n'))
	}
}

// parseChecksum reads Upload-Checksum: "sha256 <base64 digest>", the only
// algorithm offered (Tus-Checksum-Algorithm).
func parseChecksum(v string) ([]byte, error) {
	alg, b64, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || alg != "sha256" {
		return nil, errors.New("Upload-Checksum: the only algorithm is sha256")
	}
	sum, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(sum) != 32 {
		return nil, errors.New("Upload-Checksum: not a base64 sha256 digest")
	}
	return sum, nil
}

// serve is the bridge: it turns the fasthttp request into a net/http one
// whose body is the streamed request body, runs tusd, and copies the
// buffered answer back (tus answers are headers and at most a short
// error). rest is the path after "/files".
func (e *tusEdge) serve(ctx *fasthttp.RequestCtx, rest []byte) {
	u := &url.URL{Path: string(rest), RawQuery: string(ctx.URI().QueryString())}
	header := make(http.Header)
	for k, v := range ctx.Request.Header.All() {
		header.Add(string(k), string(v))
	}
	body := ctx.RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(ctx.Request.Body())
	}
	cl := int64(ctx.Request.Header.ContentLength())
	if cl < -1 {
		cl = 0
	}
	tr := &tusRequest{authorized: e.s.authorized(ctx)}
	if v := header.Get("Upload-Checksum"); v != "" {
		if sum, err := parseChecksum(v); err != nil {
			tr.badChecksum = err
		} else {
			tr.check = &chunkCheck{sum: sum, length: cl}
		}
	}
	rctx, cancel := context.WithCancel(context.WithValue(context.Background(), tusRequestKey{}, tr))
	defer cancel()
	r := (&http.Request{
		Method:        string(ctx.Method()),
		URL:           u,
		RequestURI:    string(ctx.RequestURI()),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(body),
		ContentLength: cl,
		Host:          string(ctx.Host()),
		RemoteAddr:    ctx.RemoteAddr().String(),
	}).WithContext(rctx)
	w := &tusWriter{header: make(http.Header), conn: ctx.Conn()}
	e.handler.ServeHTTP(w, r)
	// Like net/http, the request's context ends with the handler: tusd
	// waits on it to end its own goroutines.
	cancel()
	if w.conn != nil {
		// tusd moved the deadlines while it read the body; fasthttp sets
		// its own when it reads the next request.
		w.conn.SetReadDeadline(time.Time{})
		w.conn.SetWriteDeadline(time.Time{})
	}
	e.respond(ctx, r, w)
}

// respond copies tusd's answer to ctx, with what Pictor adds: JSON error
// bodies, a relative Location (Nginx passes Host without its port), the
// expiration and checksum extensions, and no caching.
func (e *tusEdge) respond(ctx *fasthttp.RequestCtx, r *http.Request, w *tusWriter) {
	h := w.header
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	if status >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		// tusd's own refusals ("ERR_MISMATCHED_OFFSET: mismatched offset").
		msg := strings.TrimSpace(string(body))
		if _, m, ok := strings.Cut(msg, ": "); ok {
			msg = m
		}
		b, _ := json.Marshal(errorBody{Error: msg, Status: status})
		body = append(b, '\n')
		h.Set("Content-Type", "application/json")
	}
	if loc := h.Get("Location"); loc != "" {
		if i := strings.LastIndex(loc, tusBase); i >= 0 {
			h.Set("Location", loc[i:])
		}
	}
	switch {
	case r.Method == http.MethodOptions:
		h.Set("Tus-Extension", h.Get("Tus-Extension")+",checksum,expiration")
		h.Set("Tus-Checksum-Algorithm", "sha256")
	case status < 300 && (h.Get("Upload-Offset") != "" || status == http.StatusCreated) && h.Get("Pictor-Key") == "":
		id := strings.Trim(r.URL.Path, "/")
		if loc := h.Get("Location"); id == "" && loc != "" {
			id = strings.TrimPrefix(loc, tusBase)
		}
		if tusIDPattern.MatchString(id) {
			if at, ok := e.store.expiresAt(filepath.Join(e.store.dir, id)); ok {
				h.Set("Upload-Expires", at.UTC().Format(http.TimeFormat))
			}
		}
	}
	h.Set("Cache-Control", "no-store")
	resp := &ctx.Response
	for k, vs := range h {
		if k == "Content-Length" {
			continue // fasthttp sets it from the body
		}
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	resp.SetStatusCode(status)
	if r.Method != http.MethodHead && len(body) > 0 {
		resp.SetBody(body)
	}
	if status >= 400 && ctx.Request.Header.ContentLength() != 0 {
		// A refused chunk (409, 460, 413) may be mostly unsent: read on
		// for a while, as for a refused POST /upload, so that closing the
		// connection does not reset it before Nginx has the answer.
		linger(ctx)
	}
}

// tusWriter is the bridge's http.ResponseWriter: it buffers the answer and
// lets tusd move the connection's deadlines (http.ResponseController finds
// SetReadDeadline and SetWriteDeadline on it).
type tusWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	conn   net.Conn
}

func (w *tusWriter) Header() http.Header { return w.header }

func (w *tusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *tusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *tusWriter) SetReadDeadline(t time.Time) error {
	if w.conn == nil {
		return nil
	}
	return w.conn.SetReadDeadline(t)
}

func (w *tusWriter) SetWriteDeadline(t time.Time) error {
	if w.conn == nil {
		return nil
	}
	return w.conn.SetWriteDeadline(t)
}

// tusLog passes tusd's warnings and errors to the server's log; its
// per-request info lines would repeat the request log.
type tusLog struct{ l *slog.Logger }

func (t tusLog) Enabled(_ context.Context, l expslog.Level) bool { return l >= expslog.LevelWarn }

func (t tusLog) Handle(ctx context.Context, r expslog.Record) error {
	attrs := make([]any, 0, 2*r.NumAttrs())
	r.Attrs(func(a expslog.Attr) bool {
		attrs = append(attrs, a.Key, a.Value.String())
		return true
	})
	t.l.Log(ctx, slog.Level(r.Level), "tus: "+r.Message, attrs...)
	return nil
}

func (t tusLog) WithAttrs(as []expslog.Attr) expslog.Handler {
	args := make([]any, 0, 2*len(as))
	for _, a := range as {
		args = append(args, a.Key, a.Value.String())
	}
	return tusLog{t.l.With(args...)}
}

func (t tusLog) WithGroup(name string) expslog.Handler { return tusLog{t.l.WithGroup(name)} }
