package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/app"
	"github.com/pictorhq/pictor/internal/heictest"
	"github.com/pictorhq/pictor/server"
	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
	"github.com/pictorhq/pictor/transform/workers"
	"github.com/valyala/fasthttp"
)

// headerBuffer is fasthttp's default read buffer: a request whose header
// block does not fit gets 431 from fasthttp itself, before any handler.
const headerBuffer = 4096

// Limits of the fuzzed server: small, so that every refusal is reachable
// by inputs of a few kilobytes and one iteration stays in the milliseconds.
const (
	fuzzMaxUpload = 8 << 10
	fuzzMaxPixels = 1 << 16
)

// The bits of FuzzUpload's mode argument: how the request is put together.
const (
	modeRaw         = 1 << iota // the content is the whole body, Content-Type from the fuzzed string
	modeLF                      // multipart lines end in LF, not CRLF
	modeTruncated               // no closing delimiter, the body ends inside the part
	modeFieldFirst              // a text field precedes the file part
	modeChunked                 // chunked transfer encoding, no Content-Length
	modeNoToken                 // no bearer token
	modeQuoted                  // the boundary parameter is quoted
	modePartType                // the part carries its own Content-Type
	modeDisposition             // the fuzzed string is the whole Content-Disposition value
	modeTwice                   // the same request is sent again after it is accepted
	modeEpilogue                // a request hides after the closing delimiter, past fasthttp's 8 KiB prefetch
)

// smuggled is what modeEpilogue hides in the body: were the server to take
// the rest of a body for the next request on the connection, it would
// answer this one too.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: pictor\r\n\r\n"

// uploadFuzz is the whole server with a real store in a temporary
// directory and a real pipeline, on an in-memory listener, and a fasthttp
// client for it.
type uploadFuzz struct {
	srv    *server.Server
	store  *store.FS
	dir    string
	client *fasthttp.Client
}

func newUploadFuzz(tb testing.TB) *uploadFuzz {
	tb.Helper()
	h := newHarness(tb, func(c *app.Config) {
		c.Server.MaxUploadBytes = fuzzMaxUpload
		c.Transform.MaxPixels = fuzzMaxPixels
		c.Workers = workers.Config{Workers: 1, Queue: 2}
	})
	// No silent retry on a fresh connection: a GET that fails on a
	// connection the server dropped is what checkConnection is for.
	h.client.MaxIdemponentCallAttempts = 1
	return &uploadFuzz{srv: h.srv, store: h.store, dir: h.dir, client: h.client}
}

// uploadRequest is one fuzzed upload, as sent.
type uploadRequest struct {
	contentType string // "" sends none
	body        []byte
	chunked     bool
	token       bool
	// clean means the multipart envelope is well formed and the content
	// cannot be mistaken for a delimiter, so the file part must be
	// exactly the content, byte for byte.
	clean bool
}

// headerValue makes s sendable as one header value: a real client cannot
// put control characters in a header, and the HTTP layer is not what this
// fuzzes.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.Trim(s, " \t")
}

// validBoundary reports whether b is a boundary RFC 2046 allows: 1 to 70
// characters from bchars, not ending in a space.
func validBoundary(b string) bool {
	if b == "" || len(b) > 70 || strings.HasSuffix(b, " ") {
		return false
	}
	for _, c := range []byte(b) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("'()+_,-./:=? ", c) >= 0) {
			return false
		}
	}
	return true
}

func buildUpload(mode uint16, boundary, text string, content []byte) uploadRequest {
	r := uploadRequest{token: mode&modeNoToken == 0, chunked: mode&modeChunked != 0}
	if mode&modeRaw != 0 {
		r.contentType = headerValue(text)
		r.body = content
		return r
	}
	boundary = headerValue(boundary)
	if mode&modeQuoted != 0 {
		r.contentType = `multipart/form-data; boundary="` + boundary + `"`
	} else {
		r.contentType = "multipart/form-data; boundary=" + boundary
	}
	nl := "\r\n"
	if mode&modeLF != 0 {
		nl = "\n"
	}
	var b bytes.Buffer
	if mode&modeFieldFirst != 0 {
		b.WriteString("--" + boundary + nl + `Content-Disposition: form-data; name="note"` + nl + nl + "a field before the file" + nl)
	}
	disposition := `form-data; name="file"; filename="` + text + `"`
	if mode&modeDisposition != 0 {
		disposition = text
	}
	b.WriteString("--" + boundary + nl + "Content-Disposition: " + disposition + nl)
	if mode&modePartType != 0 {
		b.WriteString("Content-Type: image/jpeg" + nl)
	}
	b.WriteString(nl)
	b.Write(content)
	if mode&modeTruncated == 0 {
		b.WriteString(nl + "--" + boundary + "--" + nl)
	}
	if mode&modeEpilogue != 0 {
		b.WriteString(strings.Repeat(nl, 9<<10/len(nl)) + smuggled)
	}
	r.body = b.Bytes()
	// An unquoted boundary with a space or a tspecial in it makes the
	// Content-Type a different one (or none): not the envelope meant.
	_, params, err := mime.ParseMediaType(r.contentType)
	r.clean = mode&(modeTruncated|modeDisposition) == 0 && validBoundary(boundary) &&
		err == nil && params["boundary"] == boundary &&
		!strings.ContainsAny(text, "\"\\\r\n") &&
		!bytes.Contains(content, []byte("--"+boundary)) &&
		!(mode&modeLF != 0 && bytes.HasSuffix(content, []byte("\r")))
	return r
}

// Why expectedPart could not read the file part. The prediction only asks
// whether it could, so these are the oracle's own, not the handler's.
var (
	errNoFile     = errors.New(`multipart upload has no "file" field`)
	errBadRequest = errors.New("malformed request")
)

// expectedPart reads the request as the upload route is documented
// (README, Routes), independently of the handler's streaming: the "file"
// part of a multipart/form-data body, or the raw body. It returns the
// part's bytes as far as they could be read, and the error that stopped it
// (errNoFile or errBadRequest).
func expectedPart(contentType string, body []byte) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		return body, nil
	}
	if params["boundary"] == "" {
		return nil, errBadRequest
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errNoFile
		}
		if err != nil {
			return nil, errBadRequest
		}
		data, err := io.ReadAll(p)
		if p.FormName() == "file" {
			if err != nil {
				return data, errBadRequest
			}
			return data, nil
		}
		if err != nil {
			return nil, errBadRequest
		}
	}
}

// expectedStatuses predicts the answers allowed for an upload of part
// (read as far as perr let it be): 401 without a token; 413 over the
// limit; 415 for a type the magic bytes refuse; 400 for a malformed
// request; 422 for a header libvips cannot read, that disagrees with the
// magic bytes, or that is over the pixel limit; else 200 or 201. Where the
// handler's streaming order decides between two refusals (the type is
// judged after SniffLen bytes, the size as bytes arrive), both are allowed.
func expectedStatuses(r uploadRequest, part []byte, perr error) []int {
	switch {
	case len(r.contentType) > headerBuffer:
		return []int{fasthttp.StatusRequestHeaderFieldsTooLarge}
	case len(r.contentType) > headerBuffer-1<<10:
		// Near the limit it depends on the other headers; either is right.
		return append(expectedStatuses(uploadRequest{body: r.body, chunked: r.chunked, token: r.token}, part, perr), fasthttp.StatusRequestHeaderFieldsTooLarge)
	case !r.token:
		return []int{fasthttp.StatusUnauthorized}
	case !r.chunked && len(r.body) > fuzzMaxUpload+server.MultipartSlack:
		return []int{fasthttp.StatusRequestEntityTooLarge}
	}
	var sniffErr error
	if len(part) >= format.SniffLen {
		_, sniffErr = format.Sniff(part)
	}
	switch {
	case len(part) > fuzzMaxUpload:
		if sniffErr != nil {
			return []int{fasthttp.StatusRequestEntityTooLarge, fasthttp.StatusUnsupportedMediaType}
		}
		return []int{fasthttp.StatusRequestEntityTooLarge}
	case sniffErr != nil:
		return []int{fasthttp.StatusUnsupportedMediaType}
	case perr != nil:
		return []int{fasthttp.StatusBadRequest}
	}
	f, err := format.Sniff(part)
	if err != nil {
		return []int{fasthttp.StatusUnsupportedMediaType}
	}
	h, err := vips.Probe(part)
	// An animation's frames all count, and there may be only so many.
	frames := int64(1)
	if h.Format == format.GIF || h.Format == format.WebP {
		frames = int64(max(h.Pages, 1))
	}
	if err != nil || h.Width < 1 || h.Height < 1 || h.Format != f ||
		frames > int64(transform.DefaultConfig().MaxFrames) || int64(h.Width)*int64(h.Height)*frames > fuzzMaxPixels {
		return []int{fasthttp.StatusUnprocessableEntity}
	}
	return []int{fasthttp.StatusCreated, fasthttp.StatusOK}
}

func (u *uploadFuzz) send(t *testing.T, r uploadRequest) response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://pictor/upload")
	req.Header.SetMethod(fasthttp.MethodPost)
	if r.token {
		req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+testToken)
	}
	if r.contentType != "" {
		req.Header.SetContentType(r.contentType)
	}
	if r.chunked {
		req.SetBodyStream(bytes.NewReader(r.body), -1)
	} else {
		req.SetBody(r.body)
	}
	if err := u.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		if len(r.contentType) > headerBuffer-1<<10 {
			// fasthttp answers an over-long header block with 431 and
			// closes at once; when the close wins the race with the
			// client's write of the body, the client sees only the close.
			return response{status: fasthttp.StatusRequestHeaderFieldsTooLarge, header: map[string]string{}}
		}
		t.Fatalf("POST /upload: %v", err)
	}
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: bytes.Clone(resp.Body())}
	for k, v := range resp.Header.All() {
		out.header[string(k)] = string(v)
	}
	return out
}

// checkConnection sends a request that must get 404 right after an
// upload, on the same keep-alive connection when the server kept it open:
// any other answer means the server read the rest of the upload's body as
// a request of its own (request smuggling).
func (u *uploadFuzz) checkConnection(t *testing.T) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://pictor/o/not-a-key")
	if err := u.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("GET after the upload, on its connection: %v (the server took the rest of the upload's body for a request)", err)
	}
	if resp.StatusCode() != fasthttp.StatusNotFound {
		t.Fatalf("GET /o/not-a-key after the upload = %d %q, want 404 (the server took the rest of the upload's body for a request)", resp.StatusCode(), resp.Body())
	}
}

// tmpFiles lists what is left in the store's temporary directory.
func (u *uploadFuzz) tmpFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(u.dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// FuzzUpload sends fuzzed uploads through the real handler over HTTP: a
// fuzzed boundary, Content-Disposition or filename, part layout, transfer
// encoding and content. Properties, for every request:
//   - the answer is one of 200, 201, 400, 401, 413, 415, 422 (or 431 from
//     fasthttp for a header over its buffer), never 5xx, and exactly what
//     expectedStatuses predicts from the documented rules;
//   - a refusal has the JSON error body with its status and is not
//     cacheable, and stores nothing;
//   - an accepted original is stored byte for byte as the uploaded part
//     (the content itself, when the envelope is clean), under the key
//     the SHA-256 of those bytes and the sniffed format's
//     extension; the answer's fields agree; uploading it again answers
//     200 with the same key;
//   - nothing is left in the store's temporary directory;
//   - the connection stays in step: the next request on it gets its own
//     answer, whatever the upload's body held after the file part.
func FuzzUpload(f *testing.F) {
	sample, err := os.ReadFile("../testdata/sample.jpg")
	if err != nil {
		f.Fatal(err)
	}
	tiny, err := os.ReadFile("../testdata/alpha.png") // 300×200, within fuzzMaxPixels
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint16(0), "b0undary", "tiny.png", tiny)
	f.Add(uint16(modeFieldFirst|modePartType|modeTwice), "----WebKitFormBoundary7MA4YWxkTrZu0gW", "a.png", tiny)
	f.Add(uint16(modeRaw|modeTwice), "", "image/png", tiny)
	f.Add(uint16(modeRaw), "", "", sample[:4096])
	f.Add(uint16(modeLF|modeQuoted), "a b:c", "x.png", tiny)
	f.Add(uint16(modeTruncated), "b", "x.png", tiny)
	f.Add(uint16(modeChunked|modeNoToken), "b", "x.png", tiny)
	f.Add(uint16(modeDisposition), "b", `form-data; name="nofile"`, tiny)
	f.Add(uint16(0), "b", "x.jpg", sample)
	heic := heictest.Encode(f, "../testdata/corpus/pngsuite/basn2c08.png", 50) // 32×32, about 1 KiB
	f.Add(uint16(modeRaw|modeTwice), "", "image/heic", heic)
	f.Add(uint16(modeTruncated), "b", "x.heic", heic)
	f.Add(uint16(modeRaw), "", "image/heic", heic[:len(heic)/2])
	u := newUploadFuzz(f)
	f.Fuzz(func(t *testing.T, mode uint16, boundary, text string, content []byte) {
		r := buildUpload(mode, boundary, text, content)
		part, perr := expectedPart(r.contentType, r.body)
		if r.clean && perr == nil && !bytes.Equal(part, content) {
			t.Fatalf("a clean envelope read back %d bytes, not the %d of the content", len(part), len(content))
		}
		want := expectedStatuses(r, part, perr)

		// The key the part would get, and whether it is stored already.
		var key string
		if sniffed, err := format.Sniff(part); err == nil {
			sum := sha256.Sum256(part)
			key = hex.EncodeToString(sum[:]) + "." + sniffed.Ext()
		}
		existed := key != "" && stored(u.store, key)

		got := u.send(t, r)
		if !slices.Contains(want, got.status) {
			t.Fatalf("upload (mode %#x, %d-byte body, part %d bytes, %v) = %v, want one of %v", mode, len(r.body), len(part), perr, got, want)
		}
		u.checkConnection(t)
		if left := u.tmpFiles(t); len(left) > 0 {
			t.Fatalf("upload answered %d and left %v in tmp/", got.status, left)
		}
		if got.status == fasthttp.StatusRequestHeaderFieldsTooLarge {
			return // answered before any handler ran (parseError); the close may race the body
		}
		if got.status >= 300 {
			checkErrorBody(t, got)
			if key != "" && !existed && stored(u.store, key) {
				t.Fatalf("upload answered %d but stored %s", got.status, key)
			}
			return
		}

		checkAccepted(t, u, got, part, key, !existed)
		if mode&modeTwice != 0 {
			again := u.send(t, r)
			if again.status != fasthttp.StatusOK {
				t.Fatalf("the same upload again = %v, want 200", again)
			}
			checkAccepted(t, u, again, part, key, false)
		}
		// Start the next input from an empty store, so that Created is
		// predictable and the store stays small over a long run.
		if err := u.store.Delete(key); err != nil {
			t.Fatal(err)
		}
	})
}

func stored(st *store.FS, key string) bool {
	_, _, err := st.Stat(key)
	return err == nil
}

// checkErrorBody checks a refusal's body and caching headers, as
// wantError does.
func checkErrorBody(t *testing.T, r response) {
	t.Helper()
	var e server.ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil || e.Status != r.status || e.Error == "" {
		t.Fatalf("error body %q is not {error, status: %d}: %v", r.body, r.status, err)
	}
	if r.header["Content-Type"] != "application/json" || strings.Contains(r.header["Cache-Control"], "immutable") {
		t.Fatalf("error answer has Content-Type %q, Cache-Control %q", r.header["Content-Type"], r.header["Cache-Control"])
	}
}

// checkAccepted checks an accepted upload of part: the answer, the key and
// the stored bytes.
func checkAccepted(t *testing.T, u *uploadFuzz, r response, part []byte, key string, created bool) {
	t.Helper()
	var up server.UploadResponse
	if err := json.Unmarshal(r.body, &up); err != nil {
		t.Fatalf("upload answer %q: %v", r.body, err)
	}
	if up.Key != key || up.URL != "/o/"+key || r.header["Location"] != "/o/"+key {
		t.Fatalf("upload answered key %q (url %q, Location %q), want %q", up.Key, up.URL, r.header["Location"], key)
	}
	if up.Bytes != int64(len(part)) || up.Created != created || (r.status == fasthttp.StatusCreated) != created {
		t.Fatalf("upload answered %d %+v for %d bytes, want created %v", r.status, up, len(part), created)
	}
	if f, _ := format.Sniff(part); up.Format != f.String() || up.Width < 1 || up.Height < 1 || up.Width*up.Height > fuzzMaxPixels {
		t.Fatalf("upload answered %+v for a %v original", up, f)
	}
	got, err := u.store.ReadFile(key)
	if err != nil {
		t.Fatalf("accepted %s, but the store has no original: %v", key, err)
	}
	if !bytes.Equal(got, part) {
		t.Fatalf("stored original %s is %d bytes that differ from the %d uploaded", key, len(got), len(part))
	}
	if sum := sha256.Sum256(got); !strings.HasPrefix(key, hex.EncodeToString(sum[:])+".") {
		t.Fatalf("key %s is not the SHA-256 of the stored bytes", key)
	}
	if !store.ValidKey(key) {
		t.Fatalf("accepted key %q is not valid", key)
	}
}
