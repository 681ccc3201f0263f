package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/pictorhq/pictor/transform/options"
)

var (
	// ErrMissing is returned by Verify for options without s_.
	ErrMissing = errors.New("sign: signature missing")
	// ErrInvalid is returned by Verify when s_ does not match.
	ErrInvalid = errors.New("sign: signature invalid")
	// ErrExpired is returned by Verify for a valid signature past exp_.
	ErrExpired = errors.New("sign: url expired")
	// ErrUnknownKey is returned when kid_ names no configured key, or when
	// no key is configured at all.
	ErrUnknownKey = errors.New("sign: unknown key id")
)

// Signer signs and verifies URLs with a fixed set of keys. It is safe for
// concurrent use.
type Signer struct {
	keys   map[string][]byte
	def    string // id of the default key; "" when there are no keys
	length int
}

// New validates cfg and returns a signer. It copies the secrets, so later
// changes to cfg do not reach it.
func New(cfg Config) (*Signer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Signer{keys: make(map[string][]byte, len(cfg.Keys)), length: cfg.Length}
	for _, k := range cfg.Keys {
		s.keys[k.ID] = append([]byte(nil), k.Secret...)
	}
	if len(cfg.Keys) > 0 {
		s.def = cfg.Keys[0].ID
	}
	return s, nil
}

// Enabled reports whether at least one key is configured, that is whether
// unsigned URLs must be refused.
func (s *Signer) Enabled() bool { return len(s.keys) > 0 }

// Sign returns the s_ value for o and key, with o.KeyID's key or the
// default key when o.KeyID is empty. o.Signature is ignored.
func (s *Signer) Sign(o options.Options, key string) (string, error) {
	mac, err := s.compute(o, key, "")
	if err != nil {
		return "", err
	}
	return string(mac), nil
}

// SignPath returns "/t/<canonical options with s_>/<key>", the URL path to
// hand out.
func (s *Signer) SignPath(o options.Options, key string) (string, error) {
	sig, err := s.Sign(o, key)
	if err != nil {
		return "", err
	}
	o.Signature = sig
	return "/t/" + o.String() + "/" + key, nil
}

// Verify checks o.Signature against o and key, then o.Expires against now.
// It returns nil, ErrMissing, ErrUnknownKey, ErrInvalid or ErrExpired.
func (s *Signer) Verify(o options.Options, key string, now time.Time) error {
	return s.verify(o, key, "", now)
}

// SignSrcset returns the s_ value of a srcset URL,
// /srcset/<o>/<key>?w=<widths>. widths is the canonical width list (see
// server): it is signed too, so a srcset URL cannot be turned into signed
// variant URLs of other widths.
func (s *Signer) SignSrcset(o options.Options, key, widths string) (string, error) {
	mac, err := s.compute(o, key, "?w="+widths)
	if err != nil {
		return "", err
	}
	return string(mac), nil
}

// VerifySrcset is Verify for a srcset URL with the canonical width list
// widths.
func (s *Signer) VerifySrcset(o options.Options, key, widths string, now time.Time) error {
	return s.verify(o, key, "?w="+widths, now)
}

func (s *Signer) verify(o options.Options, key, extra string, now time.Time) error {
	if o.Signature == "" {
		return ErrMissing
	}
	want, err := s.compute(o, key, extra)
	if err != nil {
		return err
	}
	// hmac.Equal is constant time only for equal lengths; a signature of
	// another length is simply wrong, and the length is public anyway.
	if len(o.Signature) != len(want) || !hmac.Equal(want, []byte(o.Signature)) {
		return ErrInvalid
	}
	if o.Expires != 0 && now.Unix() > o.Expires {
		return ErrExpired
	}
	return nil
}

// compute returns the base64url signature of o (without its s_), key and
// extra, truncated to the configured length. extra is empty for /t/ URLs
// and starts with "?" otherwise; keys never contain "?", so the two kinds
// of message cannot collide.
func (s *Signer) compute(o options.Options, key, extra string) ([]byte, error) {
	id := o.KeyID
	if id == "" {
		id = s.def
	}
	secret, ok := s.keys[id]
	if !ok {
		return nil, ErrUnknownKey
	}
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(o.Unsigned().String()))
	h.Write([]byte{'/'})
	h.Write([]byte(key))
	h.Write([]byte(extra))
	var sum [sha256.Size]byte
	var enc [43]byte // base64.RawURLEncoding.EncodedLen(sha256.Size)
	base64.RawURLEncoding.Encode(enc[:], h.Sum(sum[:0]))
	return enc[:s.length], nil
}
