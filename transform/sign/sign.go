package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"sync"
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
	keys   map[string]*signingKey
	def    string // id of the default key; "" when there are no keys
	length int
}

// signingKey is one signing key with a pool of HMAC states for it, so that
// checking a signature on the hot path allocates nothing.
type signingKey struct {
	secret []byte
	pool   sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	msg []byte
	sum [sha256.Size]byte
}

func (k *signingKey) state() *macState {
	if st, ok := k.pool.Get().(*macState); ok {
		st.h.Reset()
		return st
	}
	return &macState{h: hmac.New(sha256.New, k.secret), msg: make([]byte, 0, 256)}
}

// New validates cfg and returns a signer. It copies the secrets, so later
// changes to cfg do not reach it.
func New(cfg Config) (*Signer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Signer{keys: make(map[string]*signingKey, len(cfg.Keys)), length: cfg.Length}
	for _, k := range cfg.Keys {
		s.keys[k.ID] = &signingKey{secret: append([]byte(nil), k.Secret...)}
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
	var mac [macLen]byte
	n, err := s.compute(&mac, o, key, "")
	if err != nil {
		return "", err
	}
	return string(mac[:n]), nil
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
	var mac [macLen]byte
	n, err := s.compute(&mac, o, key, "?w="+widths)
	if err != nil {
		return "", err
	}
	return string(mac[:n]), nil
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
	var mac [macLen]byte
	n, err := s.compute(&mac, o, key, extra)
	if err != nil {
		return err
	}
	want := mac[:n]
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

// macLen is the length of an untruncated signature: unpadded base64url
// of a SHA-256 sum.
const macLen = 43

// compute writes the base64url signature of o (without its s_), key and
// extra into dst and returns its length, the configured one. extra is
// empty for /t/ URLs and starts with "?" otherwise; keys never contain
// "?", so the two kinds of message cannot collide.
func (s *Signer) compute(dst *[macLen]byte, o options.Options, key, extra string) (int, error) {
	id := o.KeyID
	if id == "" {
		id = s.def
	}
	k, ok := s.keys[id]
	if !ok {
		return 0, ErrUnknownKey
	}
	st := k.state()
	defer k.pool.Put(st)
	st.msg = o.Unsigned().Append(st.msg[:0])
	st.msg = append(st.msg, '/')
	st.msg = append(st.msg, key...)
	st.msg = append(st.msg, extra...)
	st.h.Write(st.msg)
	base64.RawURLEncoding.Encode(dst[:], st.h.Sum(st.sum[:0]))
	return s.length, nil
}
