package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/valyala/fasthttp"
)

// Errors the server itself raises.
var (
	errNotFound     = errors.New("not found")
	errMethod       = errors.New("method not allowed")
	errUnauthorized = errors.New("missing or invalid bearer token")
	errTooLarge     = errors.New("upload over the size limit")
	errNoFile       = errors.New(`multipart upload has no "file" field`)
	errDraining     = errors.New("server is shutting down")
	errDeadline     = errors.New("request deadline passed")
	errBadRequest   = errors.New("malformed request")
	// Met by fasthttp before any handler runs (parseError).
	errHeaderTooLarge = errors.New("request headers too large")
	errReadTimeout    = errors.New("request timeout")
)

// httpError is an error with the status and the message a client sees.
type httpError struct {
	status int
	msg    string
}

// classify maps an error from any layer to a status and a client-safe
// message. Internals (paths, libvips text) never reach the client except
// for option errors, whose text names the client's own component.
func classify(err error) httpError {
	var oe *options.Error
	var de *transform.DecodeError
	var big *workers.TooLargeError
	var le *transform.OverlayError
	switch {
	case errors.As(err, &oe), errors.Is(err, options.ErrEmpty):
		return httpError{fasthttp.StatusBadRequest, err.Error()}
	// An image layer's original: the key is the client's own, from l_.
	case errors.As(err, &le) && (errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidKey)):
		return httpError{fasthttp.StatusNotFound, "overlay " + le.Key + " not found"}
	case errors.As(err, &le) && errors.As(err, &de):
		return httpError{fasthttp.StatusUnprocessableEntity, "overlay " + le.Key + " does not decode"}
	case errors.Is(err, transform.ErrNoOverlays), errors.Is(err, transform.ErrText):
		return httpError{fasthttp.StatusBadRequest, err.Error()}
	case errors.Is(err, errBadRequest), errors.Is(err, errNoFile),
		errors.Is(err, errSignBody), errors.Is(err, errSignKey), errors.Is(err, errCursor), errors.Is(err, errLimit):
		return httpError{fasthttp.StatusBadRequest, err.Error()}
	case errors.Is(err, transform.ErrOutputTooLarge), errors.Is(err, transform.ErrRegion):
		return httpError{fasthttp.StatusBadRequest, err.Error()}
	case errors.Is(err, errHeaderTooLarge):
		return httpError{fasthttp.StatusRequestHeaderFieldsTooLarge, err.Error()}
	case errors.Is(err, errReadTimeout):
		return httpError{fasthttp.StatusRequestTimeout, err.Error()}
	case errors.Is(err, errUnauthorized):
		return httpError{fasthttp.StatusUnauthorized, err.Error()}
	case errors.Is(err, sign.ErrMissing), errors.Is(err, sign.ErrInvalid),
		errors.Is(err, sign.ErrExpired), errors.Is(err, sign.ErrUnknownKey):
		return httpError{fasthttp.StatusForbidden, err.Error()}
	case errors.Is(err, errNotFound), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidKey):
		return httpError{fasthttp.StatusNotFound, "not found"}
	case errors.Is(err, errMethod):
		return httpError{fasthttp.StatusMethodNotAllowed, err.Error()}
	case errors.Is(err, errTooLarge), errors.Is(err, store.ErrTooLarge):
		return httpError{fasthttp.StatusRequestEntityTooLarge, errTooLarge.Error()}
	case errors.Is(err, format.ErrUnsupported), errors.Is(err, format.ErrShort):
		return httpError{fasthttp.StatusUnsupportedMediaType, "not an allowed image type (JPEG, PNG, WebP, GIF, AVIF, HEIC)"}
	case errors.Is(err, transform.ErrTooManyPixels), errors.As(err, &big):
		return httpError{fasthttp.StatusUnprocessableEntity, err.Error()}
	case errors.Is(err, transform.ErrTooManyFrames):
		return httpError{fasthttp.StatusUnprocessableEntity, err.Error()}
	case errors.Is(err, transform.ErrPage):
		return httpError{fasthttp.StatusBadRequest, err.Error()}
	case errors.As(err, &de), errors.Is(err, transform.ErrFormatMismatch):
		return httpError{fasthttp.StatusUnprocessableEntity, "image does not decode"}
	case errors.Is(err, workers.ErrQueueFull):
		return httpError{fasthttp.StatusTooManyRequests, "server busy, retry later"}
	case errors.Is(err, errDeadline), errors.Is(err, context.DeadlineExceeded):
		return httpError{fasthttp.StatusServiceUnavailable, errDeadline.Error()}
	case errors.Is(err, errDraining):
		return httpError{fasthttp.StatusServiceUnavailable, err.Error()}
	// The store's own condition, not the request's: the process stays up,
	// transforms of stored originals keep working, and the upload left
	// nothing behind (its temporary file is aborted).
	case errors.Is(err, store.ErrReadOnly):
		return httpError{fasthttp.StatusServiceUnavailable, "originals store is not writable"}
	case errors.Is(err, store.ErrNoSpace):
		return httpError{fasthttp.StatusServiceUnavailable, "originals store is full"}
	case errors.Is(err, store.ErrUnavailable):
		return httpError{fasthttp.StatusServiceUnavailable, "originals store is unreachable"}
	case errors.Is(err, store.ErrCorrupt):
		return httpError{fasthttp.StatusServiceUnavailable, "originals store returned damaged bytes"}
	}
	return httpError{fasthttp.StatusInternalServerError, "internal error"}
}

// parseError answers what fasthttp could not read as a request (its
// ErrorHandler): the same statuses as its default handler, 431 for a header
// block over the read buffer, 408 for a read that timed out, 400 for the
// rest, but with the JSON error body every other error gets
// ({"error": ..., "status": N}) instead of fasthttp's plain text.
func (s *Server) parseError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne *net.OpError
	switch {
	case errors.As(err, &small):
		s.fail(ctx, errHeaderTooLarge)
	case errors.As(err, &ne) && ne.Timeout():
		s.fail(ctx, errReadTimeout)
	default:
		s.fail(ctx, errBadRequest)
	}
}

type errorBody struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// fail answers with a JSON error body. Headers a success would carry
// (caching, digests) are cleared so an error is never cached as immutable.
func (s *Server) fail(ctx *fasthttp.RequestCtx, err error) {
	he := classify(err)
	resp := &ctx.Response
	resp.Header.Del(fasthttp.HeaderCacheControl)
	resp.Header.Del(fasthttp.HeaderETag)
	resp.Header.Del("Content-Digest")
	resp.Header.Del("X-Accel-Redirect")
	resp.SetStatusCode(he.status)
	resp.Header.SetContentType("application/json")
	resp.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	switch he.status {
	case fasthttp.StatusTooManyRequests:
		resp.Header.Set(fasthttp.HeaderRetryAfter, s.retryAfter)
	case fasthttp.StatusUnauthorized:
		resp.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="pictor"`)
	}
	body, _ := json.Marshal(errorBody{Error: he.msg, Status: he.status})
	resp.SetBody(append(body, '\n'))
	if he.status >= 500 && he.status != fasthttp.StatusServiceUnavailable {
		ctx.SetUserValue(ctxErr, err) // for the log line, never the body
	}
}
