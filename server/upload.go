package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"time"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/valyala/fasthttp"
)

// uploadResponse is the JSON answer to a successful upload.
type uploadResponse struct {
	Key     string `json:"key"`
	URL     string `json:"url"`
	Format  string `json:"format"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bytes   int64  `json:"bytes"`
	Created bool   `json:"created"`
	// Eager lists the URL paths of the variants being made in the
	// background (eager= and the eager presets).
	Eager []string `json:"eager,omitempty"`
}

// handleUpload serves POST /upload: a multipart form with a "file" field,
// or a raw image body. The body is streamed into the store while hashed;
// it is never held whole in memory.
func (s *Server) handleUpload(ctx *fasthttp.RequestCtx) {
	if !s.authorized(ctx) {
		s.refuseUpload(ctx, errUnauthorized)
		return
	}
	if cl := ctx.Request.Header.ContentLength(); cl > 0 && int64(cl) > s.cfg.MaxUploadBytes+multipartSlack {
		s.refuseUpload(ctx, errTooLarge)
		return
	}
	eager, err := s.eagerList(ctx.QueryArgs().PeekMulti("eager"))
	if err != nil {
		s.refuseUpload(ctx, err)
		return
	}
	obj, hdr, err := s.receive(ctx)
	if err != nil {
		s.refuseUpload(ctx, err)
		return
	}
	body, _ := json.Marshal(uploadResponse{
		Key: obj.Key, URL: "/o/" + obj.Key, Format: hdr.Format.String(),
		Width: hdr.Width, Height: hdr.Height, Bytes: obj.Size, Created: obj.Created,
		Eager: s.startEager(obj.Key, eager),
	})
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Location", "/o/"+obj.Key)
	if obj.Created {
		ctx.SetStatusCode(fasthttp.StatusCreated)
	} else {
		ctx.SetStatusCode(fasthttp.StatusOK)
	}
	ctx.SetBody(append(body, '\n'))
}

// refuseUpload answers an upload whose body may be partly unread. Closing
// a socket with unread data makes the kernel send a reset, which can
// destroy the error response before the client reads it; so, like Nginx's
// lingering close, a bounded amount of the rest is read and dropped first.
func (s *Server) refuseUpload(ctx *fasthttp.RequestCtx, err error) {
	s.fail(ctx, err)
	linger(ctx)
}

// linger reads and drops a bounded amount of a refused request's unread
// body, and closes the connection after the answer (see refuseUpload).
func linger(ctx *fasthttp.RequestCtx) {
	ctx.SetConnectionClose()
	body := ctx.RequestBodyStream()
	if body == nil {
		return
	}
	if c := ctx.Conn(); c != nil {
		c.SetReadDeadline(time.Now().Add(lingerTime))
	}
	io.Copy(io.Discard, io.LimitReader(body, lingerBytes))
}

// Lingering bounds: enough for a client that sent a whole over-limit file
// at loopback or LAN speed, small enough that a hostile one costs little.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

// multipartSlack is what a multipart envelope may add to the file's own
// size before a Content-Length alone proves the upload too large.
const multipartSlack = 64 << 10

type header struct {
	Format        format.Format
	Width, Height int
}

// receive reads the request's image (the multipart "file" part or the raw
// body) and ingests it.
func (s *Server) receive(ctx *fasthttp.RequestCtx) (store.Object, header, error) {
	body := ctx.RequestBodyStream()
	if body == nil {
		body = bytes.NewReader(ctx.Request.Body())
	}
	r, err := s.uploadReader(ctx, body)
	if err != nil {
		return store.Object{}, header{}, err
	}
	return s.ingest(r)
}

// ingest is what storing an original means, whichever way its bytes came
// (POST /upload, or a finished resumable upload under /files/): stream r
// into the store while hashing it, refuse a disallowed type by its magic
// bytes as soon as they are in (415), judge the header and the pixel limit
// before any pixel is decoded (422), and commit it under its content
// address. On any error nothing is left in the store.
func (s *Server) ingest(r io.Reader) (store.Object, header, error) {
	var none header
	up, err := s.Originals.NewUpload(s.cfg.MaxUploadBytes)
	if err != nil {
		return store.Object{}, none, err
	}
	defer up.Abort()

	// Refuse a disallowed type as soon as its first bytes arrive, before
	// the rest of a possibly large body is written.
	sniffed := format.Unknown
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := up.Write(buf[:n]); err != nil {
				return store.Object{}, none, err
			}
			if sniffed == format.Unknown && up.Size() >= format.SniffLen {
				if sniffed, err = format.Sniff(up.Head()); err != nil {
					return store.Object{}, none, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if errors.Is(rerr, fasthttp.ErrBodyTooLarge) {
				return store.Object{}, none, errTooLarge
			}
			return store.Object{}, none, errBadRequest
		}
	}
	if sniffed == format.Unknown {
		if sniffed, err = format.Sniff(up.Head()); err != nil {
			if errors.Is(err, format.ErrShort) {
				err = format.ErrUnsupported
			}
			return store.Object{}, none, err
		}
	}
	// The pixel limit is judged from the header alone, before any decode.
	h, err := s.Processor.ProbeFile(up.TempPath())
	if err != nil {
		return store.Object{}, none, err
	}
	if h.Format != sniffed {
		return store.Object{}, none, transform.ErrFormatMismatch
	}
	obj, err := up.Commit(sniffed.Ext())
	if err != nil {
		return store.Object{}, none, err
	}
	s.metrics.uploads.Inc()
	s.metrics.upBytes.Add(float64(obj.Size))
	s.recent.add(recentItem{Key: obj.Key, Format: h.Format.String(), Width: h.Width, Height: h.Height, Bytes: obj.Size, Created: time.Now().UTC()})
	return obj, header{Format: h.Format, Width: h.Width, Height: h.Height}, nil
}

// uploadReader returns the image bytes of the request: the "file" part of
// a multipart form, read as a stream, or the raw body.
func (s *Server) uploadReader(ctx *fasthttp.RequestCtx, body io.Reader) (io.Reader, error) {
	ct := string(ctx.Request.Header.ContentType())
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" {
		return body, nil // a raw body; its magic bytes decide what it is
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errBadRequest
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errNoFile
		}
		if err != nil {
			return nil, errBadRequest
		}
		if p.FormName() == "file" {
			return p, nil
		}
		// Skip other fields, but never buffer more than the limit of them.
		if _, err := io.Copy(io.Discard, io.LimitReader(p, s.cfg.MaxUploadBytes)); err != nil {
			return nil, errBadRequest
		}
	}
}
