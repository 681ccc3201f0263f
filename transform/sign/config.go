package sign

import (
	"fmt"
	"strings"

	"github.com/pictorhq/pictor/transform/options"
)

// Key is one signing key. Its ID is what kid_ names in a URL.
type Key struct {
	// ID is [A-Za-z0-9-]{1,32}, unique among the configured keys.
	ID string
	// Secret is the HMAC key, at least MinSecret bytes.
	Secret []byte
}

// MinSecret is the shortest accepted secret, in bytes: 128 bits, the
// strength the 96-bit default signature is meant to be limited by.
const MinSecret = 16

// Signature lengths in base64url characters: 8 (48 bits) is the least that
// still resists online guessing at any plausible request rate; 43 carries
// the whole 256-bit HMAC.
const (
	DefaultLength = 16
	MinLength     = 8
	MaxLength     = 43
)

// Config holds the signing keys.
type Config struct {
	// Keys are the signing keys; the first is the default used for URLs
	// without kid_. Default none, which turns signing off.
	Keys []Key
	// Length is how many characters of the base64url HMAC make up s_,
	// MinLength..MaxLength. Default DefaultLength (16, 96 bits).
	Length int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return Config{Length: DefaultLength} }

// Validate reports a setting out of range. Its messages name key ids,
// never secrets.
func (c Config) Validate() error {
	if c.Length < MinLength || c.Length > MaxLength {
		return fmt.Errorf("sign: Length = %d, want %d..%d", c.Length, MinLength, MaxLength)
	}
	seen := make(map[string]bool, len(c.Keys))
	for i, k := range c.Keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("sign: key %d: %w", i+1, err)
		}
		if seen[k.ID] {
			return fmt.Errorf("sign: key id %q configured more than once", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}

func checkKey(k Key) error {
	if !options.ValidKeyID(k.ID) {
		return fmt.Errorf("id %q: want [A-Za-z0-9-]{1,32}", k.ID)
	}
	if len(k.Secret) < MinSecret {
		return fmt.Errorf("id %q: secret has %d bytes, want at least %d", k.ID, len(k.Secret), MinSecret)
	}
	return nil
}

// ParseKeys reads keys from a configuration string such as
// PICTOR_SIGNING_KEYS: "kid:secret,kid2:secret2". The secret is everything
// after the first ':' up to the next ',' and so may contain ':' but not
// ','. Ids must be unique and secrets at least MinSecret bytes. An empty
// string gives no keys. Errors name the entry by position and id only, so
// that a secret never reaches a log.
func ParseKeys(s string) ([]Key, error) {
	if s == "" {
		return nil, nil
	}
	var keys []Key
	seen := make(map[string]bool)
	for i, entry := range strings.Split(s, ",") {
		id, secret, ok := strings.Cut(entry, ":")
		if !ok {
			// Without a ':' the entry may be a bare secret: do not echo it.
			return nil, fmt.Errorf("sign: key %d: want kid:secret", i+1)
		}
		k := Key{ID: id, Secret: []byte(secret)}
		if !options.ValidKeyID(k.ID) {
			// The id failed its own check, so it might be part of a
			// secret pasted in the wrong place: do not echo it either.
			return nil, fmt.Errorf("sign: key %d: id is not [A-Za-z0-9-]{1,32}", i+1)
		}
		if err := checkKey(k); err != nil {
			return nil, fmt.Errorf("sign: key %d: %w", i+1, err)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("sign: key %d: id %q given more than once", i+1, k.ID)
		}
		seen[k.ID] = true
		keys = append(keys, k)
	}
	return keys, nil
}
