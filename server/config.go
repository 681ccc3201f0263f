package server

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config holds the HTTP edge's settings.
type Config struct {
	// Listen is the public listener: "host:port" or "unix:/path/to.sock".
	// Default "127.0.0.1:8081".
	Listen string
	// AdminListen serves /healthz, /readyz and /metrics. Default
	// "127.0.0.1:9091".
	AdminListen string
	// UploadTokens are the bearer tokens allowed to upload, delete and read
	// /info. Empty refuses all of them.
	UploadTokens []string
	// AccelRedirect answers originals with X-Accel-Redirect for Nginx to
	// send from disk, instead of sending the bytes. Default off.
	AccelRedirect bool
	// AccelPrefix is the Nginx internal location that aliases the data
	// directory; a file's path relative to the data directory is appended.
	// Default "/_pictor/".
	AccelPrefix string
	// MaxUploadBytes is the largest original accepted. Default 50 MiB.
	MaxUploadBytes int64
	// Timeout is each request's deadline; past it the answer is 503.
	// Default 10 s.
	Timeout time.Duration
	// DrainTimeout bounds the graceful drain on shutdown. Default 15 s,
	// below Supervisor's stopwaitsecs of 20.
	DrainTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default 60 s.
	IdleTimeout time.Duration
	// ReadTimeout bounds reading a request's headers (and a non-upload
	// body). Default 10 s: a client that trickles headers is cut off.
	ReadTimeout time.Duration
	// RetryAfter is the Retry-After value sent with 429. Default 1 s.
	RetryAfter time.Duration
	// TusDir holds the parts of resumable uploads (tus, /files/) until
	// they finish; package app puts it under the data directory
	// (<data>/tus). Empty turns /files/ off (404).
	TusDir string
	// TusExpiry is how long an unfinished resumable upload may go without
	// a byte before it is removed, and how long a finished one's key stays
	// readable with HEAD. Default 24 h.
	TusExpiry time.Duration
	// TusBytes is the budget of bytes that unfinished resumable uploads may
	// declare (Upload-Length) all together; creation past it is refused
	// with 507. Default 10 GiB.
	TusBytes int64
	// CORSOrigins are the browser origins ("https://app.example.com", or
	// "*" for any) that may use /files/; empty sends no CORS headers.
	CORSOrigins []string
	// AcceptCH sends Accept-CH with every variant, asking browsers for
	// the client hints w_auto, dpr_auto and q_auto read. Default off: a
	// browser takes Accept-CH from the page's own response, so it belongs
	// there, and an image on another origin also needs the page's
	// Permissions-Policy to receive hints; on helps when Pictor serves the
	// page's origin.
	AcceptCH bool
	// PublicURL is the origin clients reach the public listener at
	// (Nginx), e.g. "https://img.example.com": the playground prefixes the
	// URLs it copies with it. Empty: the page asks.
	PublicURL string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8081",
		AdminListen:    "127.0.0.1:9091",
		AccelPrefix:    "/_pictor/",
		MaxUploadBytes: 50 << 20,
		Timeout:        10 * time.Second,
		DrainTimeout:   15 * time.Second,
		IdleTimeout:    60 * time.Second,
		ReadTimeout:    10 * time.Second,
		RetryAfter:     time.Second,
		TusExpiry:      24 * time.Hour,
		TusBytes:       10 << 30,
	}
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	switch {
	case c.Listen == "":
		return errors.New("server: Listen is empty")
	case c.MaxUploadBytes < 1:
		return fmt.Errorf("server: MaxUploadBytes = %d, want >= 1", c.MaxUploadBytes)
	case c.Timeout <= 0:
		return fmt.Errorf("server: Timeout = %v, want > 0", c.Timeout)
	case c.DrainTimeout <= 0:
		return fmt.Errorf("server: DrainTimeout = %v, want > 0", c.DrainTimeout)
	case c.AccelRedirect && (!strings.HasPrefix(c.AccelPrefix, "/") || !strings.HasSuffix(c.AccelPrefix, "/")):
		return fmt.Errorf("server: AccelPrefix = %q, want a path that starts and ends with /", c.AccelPrefix)
	case c.RetryAfter < time.Second:
		return fmt.Errorf("server: RetryAfter = %v, want >= 1s", c.RetryAfter)
	}
	if c.TusDir != "" {
		switch {
		case c.TusExpiry <= 0:
			return fmt.Errorf("server: TusExpiry = %v, want > 0", c.TusExpiry)
		case c.TusBytes < 1:
			return fmt.Errorf("server: TusBytes = %d, want >= 1", c.TusBytes)
		}
	}
	for _, o := range c.CORSOrigins {
		if err := ValidOrigin(o); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	if c.PublicURL != "" {
		if err := ValidOrigin(c.PublicURL); err != nil || c.PublicURL == "*" {
			return fmt.Errorf("server: PublicURL = %q, want scheme://host[:port]", c.PublicURL)
		}
	}
	for _, t := range c.UploadTokens {
		if len(t) < 16 {
			return errors.New("server: an upload token is shorter than 16 characters")
		}
	}
	return nil
}

// ValidOrigin accepts "*" or an origin as browsers send it: scheme, host
// and port, nothing more.
func ValidOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("CORS origin %q: want scheme://host[:port] or *", o)
	}
	return nil
}
