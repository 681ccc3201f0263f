package harness

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/pictorhq/pictor/transform/format"
)

// Template is another image server's URL for one variant, with
// placeholders that the harness fills in per request:
//
//	{w}    the width asked for, in pixels
//	{h}    the height that keeps the original's aspect ratio at that width
//	{file} the original's file name in the corpus (the peer's root is the
//	       corpus directory), or its path under it, each segment escaped
//	{fmt}  the output format's extension: the one asked for, else the
//	       original's (jpg, png, webp, …)
//	{q}    the quality asked for, or 80 (Pictor's and the image_filter
//	       peer's JPEG and WebP default) when none is
//	{key}  the original's Pictor key: hex SHA-256 of its bytes, a dot and
//	       the extension
//
// for example 'http://127.0.0.1:8082/resize/{w}/{file}' or
// 'http://127.0.0.1:8081/insecure/rs:fit:{w}:0/plain/local:///{file}@{fmt}'.
// Placeholders may appear in the path and the query, not in the scheme or
// host.
type Template struct {
	raw    string
	origin string // scheme://host[:port], without a placeholder
	addr   string // host:port to dial
	tls    bool
	parts  []part // the rest: literals and placeholders in order
}

type part struct {
	lit string
	ph  string // placeholder name without braces; "" for a literal
}

// placeholders are the names a template may use.
var placeholders = map[string]bool{"w": true, "h": true, "file": true, "fmt": true, "q": true, "key": true}

// defaultQuality stands in for {q} when a variant asks for no quality.
const defaultQuality = 80

// ParseTemplate checks s and splits it into its parts.
func ParseTemplate(s string) (*Template, error) {
	bad := func(reason string) error { return fmt.Errorf("%w %q: %s", ErrTemplate, s, reason) }
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return nil, bad("want http:// or https://")
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(host, "{}") {
		return nil, bad("the host must be given and hold no placeholder")
	}
	t := &Template{raw: s, origin: scheme + "://" + host, tls: scheme == "https", addr: host}
	if _, _, err := net.SplitHostPort(host); err != nil { // no port given
		if t.tls {
			t.addr = host + ":443"
		} else {
			t.addr = host + ":80"
		}
	}
	path = "/" + path
	for len(path) > 0 {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			if strings.IndexByte(path, '}') >= 0 {
				return nil, bad("unmatched }")
			}
			t.parts = append(t.parts, part{lit: path})
			break
		}
		if i > 0 {
			if strings.IndexByte(path[:i], '}') >= 0 {
				return nil, bad("unmatched }")
			}
			t.parts = append(t.parts, part{lit: path[:i]})
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			return nil, bad("unclosed {")
		}
		name := path[i+1 : i+j]
		if !placeholders[name] {
			return nil, bad("unknown placeholder {" + name + "}; want {w} {h} {file} {fmt} {q} {key}")
		}
		t.parts = append(t.parts, part{ph: name})
		path = path[i+j+1:]
	}
	return t, nil
}

// String is the template as given.
func (t *Template) String() string { return t.raw }

// heightFor is the height of f scaled to width w, at least 1.
func heightFor(f *File, w int) int {
	if f.Width == 0 {
		return 0
	}
	return max(1, int(math.Round(float64(w)*float64(f.Height)/float64(f.Width))))
}

// Expand fills the template in for variant v.
func (t *Template) Expand(v Variant) string {
	var b strings.Builder
	b.WriteString(t.origin)
	for _, p := range t.parts {
		switch p.ph {
		case "":
			b.WriteString(p.lit)
		case "w":
			b.WriteString(strconv.Itoa(v.Width))
		case "h":
			b.WriteString(strconv.Itoa(heightFor(v.File, v.Width)))
		case "file":
			for i, seg := range strings.Split(v.File.Name, "/") {
				if i > 0 {
					b.WriteByte('/')
				}
				b.WriteString(url.PathEscape(seg))
			}
		case "fmt":
			f := v.Format
			if f == format.Unknown {
				f = v.File.Format
			}
			if f == format.Unknown {
				f = format.JPEG
			}
			b.WriteString(f.Ext())
		case "q":
			q := v.Quality
			if q == 0 {
				q = defaultQuality
			}
			b.WriteString(strconv.Itoa(q))
		case "key":
			b.WriteString(v.File.Key)
		}
	}
	return b.String()
}
