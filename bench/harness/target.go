package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
	"github.com/valyala/fasthttp"
)

// Target is one server that scenarios run against: Pictor (through Nginx
// or direct, at a base URL) or a peer (through a URL template).
type Target struct {
	Label string
	URL   string // the base URL, unix:/path or template, as given
	// Procs names the process groups (--pid) whose cost is this
	// target's; empty means every group.
	Procs []string

	tpl    *Template // a peer; nil for Pictor
	addr   string    // host:port; for a Unix socket, a name for Host
	unix   string    // the socket's path when dialling one
	tls    bool
	origin string            // what every request URI starts with
	keys   map[string]string // Pictor: file name → key, after Upload
}

// NewPictorTarget is Pictor at base: http://host:port (Nginx, or the
// sidecar on TCP) or unix:/path/to.sock (the sidecar's socket, as
// supervisord runs it behind Nginx).
func NewPictorTarget(label, base string) (*Target, error) {
	t := &Target{Label: label, URL: base, keys: map[string]string{}}
	if path, ok := strings.CutPrefix(base, "unix:"); ok {
		if path == "" {
			return nil, fmt.Errorf("%w: %s=%s: no socket path", ErrTarget, label, base)
		}
		// The sidecar ignores Host; any name does.
		t.unix, t.addr, t.origin = path, "pictor", "http://pictor"
		return t, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: %s=%s: want http://host:port[/prefix] or unix:/path.sock", ErrTarget, label, base)
	}
	t.tls = u.Scheme == "https"
	t.addr = u.Host
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		t.addr = u.Host + map[bool]string{true: ":443", false: ":80"}[t.tls]
	}
	t.origin = u.Scheme + "://" + u.Host + strings.TrimSuffix(u.Path, "/")
	return t, nil
}

// NewPeerTarget is another image server, reached through a URL template.
func NewPeerTarget(label, template string) (*Target, error) {
	tpl, err := ParseTemplate(template)
	if err != nil {
		return nil, err
	}
	return &Target{Label: label, URL: template, tpl: tpl, addr: tpl.addr, tls: tpl.tls, origin: tpl.origin}, nil
}

// IsPictor reports whether t speaks Pictor's API (signed /t/ and
// /srcset/ URLs, /upload) rather than a template's.
func (t *Target) IsPictor() bool { return t.tpl == nil }

// Client returns a fasthttp client for t with room for cfg.Connections
// connections and cfg.Timeout on every read, write and wait for a
// connection.
func (t *Target) Client(cfg Config) *fasthttp.HostClient {
	c := &fasthttp.HostClient{
		Addr:                t.addr,
		IsTLS:               t.tls,
		MaxConns:            cfg.Connections,
		MaxConnWaitTimeout:  cfg.Timeout,
		ReadTimeout:         cfg.Timeout,
		WriteTimeout:        cfg.Timeout,
		MaxIdleConnDuration: 10 * time.Second,
		// Bodies of up to a few MiB (uploads); the default 4 KiB would
		// cost a write per 4 KiB.
		WriteBufferSize: 64 << 10,
		ReadBufferSize:  16 << 10,
	}
	if t.unix != "" {
		path, timeout := t.unix, cfg.Timeout
		c.Dial = func(string) (net.Conn, error) { return net.DialTimeout("unix", path, timeout) }
	}
	return c
}

// Variant is one transform of one original.
type Variant struct {
	File    *File
	Width   int
	Quality int           // 0: the encoder's default
	Format  format.Format // Unknown: the original's
}

// Options is v as transform options, in canonical form.
func (v Variant) Options() options.Options {
	return options.Options{Width: v.Width, Quality: v.Quality, Format: v.Format}
}

// Pictor is what the harness needs to speak Pictor's API: the signing keys
// (as the server has them) and an upload token.
type Pictor struct {
	signer *sign.Signer // nil: the server has signing off
	token  string
}

// NewPictor parses keys in PICTOR_SIGNING_KEYS form ("kid:secret,…"; empty
// for a server with signing off) with signatures of sigLength characters.
func NewPictor(keys string, sigLength int, token string) (*Pictor, error) {
	p := &Pictor{token: token}
	if keys == "" {
		return p, nil
	}
	ks, err := sign.ParseKeys(keys)
	if err != nil {
		return nil, err
	}
	cfg := sign.DefaultConfig()
	cfg.Keys, cfg.Length = ks, sigLength
	if p.signer, err = sign.New(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// variantPath is /t/<options, signed>/<key>.
func (p *Pictor) variantPath(o options.Options, key string) string {
	if p.signer == nil {
		return "/t/" + o.String() + "/" + key
	}
	path, err := p.signer.SignPath(o, key)
	if err != nil {
		panic(err) // only an unknown kid_, which the harness never sets
	}
	return path
}

// srcsetPath is /srcset/<options, signed>/<key>?w=<widths>. The widths
// are sorted and distinct, the canonical list the signature covers. o must
// not be empty: the server reads <options>/<key> and needs both.
func (p *Pictor) srcsetPath(o options.Options, key string, widths []int) string {
	ws := slices.Clone(widths)
	slices.Sort(ws)
	ws = slices.Compact(ws)
	list := make([]string, len(ws))
	for i, w := range ws {
		list[i] = strconv.Itoa(w)
	}
	canon := strings.Join(list, ",")
	if p.signer != nil {
		sig, err := p.signer.SignSrcset(o, key, canon)
		if err != nil {
			panic(err) // only an unknown kid_, which the harness never sets
		}
		o.Signature = sig
	}
	return "/srcset/" + o.String() + "/" + key + "?w=" + canon
}

// key is file's key on t: the one its upload returned.
func (t *Target) key(f *File) string {
	if k, ok := t.keys[f.Name]; ok {
		return k
	}
	return f.Key
}

// VariantURL is the URL that asks t for v.
func (t *Target) VariantURL(p *Pictor, v Variant) string {
	if t.tpl != nil {
		return t.tpl.Expand(v)
	}
	return t.origin + p.variantPath(v.Options(), t.key(v.File))
}

// SrcsetURL is the Pictor URL that asks for f at every width in widths
// from one decode, with quality q.
func (t *Target) SrcsetURL(p *Pictor, f *File, q int, widths []int) string {
	return t.origin + p.srcsetPath(options.Options{Quality: q}, t.key(f), widths)
}

// boundary separates the parts of the harness's multipart bodies; it
// cannot occur in a file name the harness sends, and image bytes are
// not searched for it by a length-delimited reader like fasthttp's.
const boundary = "pictor-bench-7c1f3a9e0b"

// multipartHead and multipartTail surround a file's bytes in a
// multipart/form-data body with one "file" field.
func multipartHead(name, contentType string) string {
	return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name +
		"\"\r\nContent-Type: " + contentType + "\r\n\r\n"
}

const multipartTail = "\r\n--" + boundary + "--\r\n"

// setUpload makes req a multipart upload of body to t.
func (t *Target) setUpload(req *fasthttp.Request, p *Pictor, body []byte) {
	req.SetRequestURI(t.origin + "/upload")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("multipart/form-data; boundary=" + boundary)
	if p.token != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+p.token)
	}
	req.SetBodyRaw(body)
}

// Upload stores every file on t through POST /upload and keeps the keys
// it answers with.
func (t *Target) Upload(ctx context.Context, c *fasthttp.HostClient, p *Pictor, files []*File) error {
	var body []byte
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if body, err = t.uploadOne(c, p, f, f.Data, body); err != nil {
			return err
		}
	}
	return nil
}

// uploadOne stores data on t as f's bytes, keeps the key t answers with
// under f.Name, and returns the body buffer for reuse.
func (t *Target) uploadOne(c *fasthttp.HostClient, p *Pictor, f *File, data, body []byte) ([]byte, error) {
	if p.token == "" {
		return body, fmt.Errorf("%w (target %s)", ErrNoToken, t.Label)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	body = append(append(append(body[:0], multipartHead(path.Base(f.Name), f.Format.ContentType())...), data...), multipartTail...)
	t.setUpload(req, p, body)
	if err := c.Do(req, resp); err != nil {
		return body, fmt.Errorf("harness: upload %s to %s: %w", f.Name, t.Label, err)
	}
	if sc := resp.StatusCode(); sc != fasthttp.StatusOK && sc != fasthttp.StatusCreated {
		return body, fmt.Errorf("harness: upload %s to %s: status %d: %s", f.Name, t.Label, sc, resp.Body())
	}
	var u struct{ Key string }
	if err := json.Unmarshal(resp.Body(), &u); err != nil || u.Key == "" {
		return body, fmt.Errorf("harness: upload %s to %s: no key in %q", f.Name, t.Label, resp.Body())
	}
	t.keys[f.Name] = u.Key
	return body, nil
}
