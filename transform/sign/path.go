package sign

import (
	"errors"
	"strconv"
	"strings"

	"github.com/pictorhq/pictor/store"
	"github.com/pictorhq/pictor/transform/options"
)

// ErrMalformedPath is returned by ParsePath for a path that is not
// <options>/<key> with a well-formed key: the server answers it with 404
// before any file system access.
var ErrMalformedPath = errors.New("sign: not <options>/<key>")

// Path is a variant URL's path after its route prefix (/t/ or /srcset/).
type Path struct {
	Raw     string          // the options as written in the URL
	Options options.Options // Raw parsed
	Key     string          // the original's key
}

// ParsePath parses "<options>/<key>", the rest of a /t/ or /srcset/ path,
// the one way both the server and `pictor sign` read it: the options with
// p (so every guard of p applies), the key by the store's grammar. It
// returns ErrMalformedPath without a slash or with a malformed key, or the
// options' *options.Error.
func ParsePath(p *options.Parser, rest string) (Path, error) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return Path{}, ErrMalformedPath
	}
	raw, key := rest[:i], rest[i+1:]
	o, err := p.Parse(raw)
	if err != nil {
		return Path{}, err
	}
	if !store.ValidKey(key) {
		return Path{}, ErrMalformedPath
	}
	return Path{Raw: raw, Options: o, Key: key}, nil
}

// VariantPath is the /t/ URL path to hand out for the variant o of the
// original key, where o was parsed from the options string raw (empty for
// options built in code): signed when signing is on. When raw asks for a
// preset and nothing else (t_<name>, perhaps with exp_ and kid_), the path
// keeps the t_ form, the only one presets-only mode serves; its s_ covers
// the expanded options, like that of any t_ URL. Otherwise it is the
// canonical form.
func (s *Signer) VariantPath(p *options.Parser, raw string, o options.Options, key string) (string, error) {
	name, ok := p.PresetName(raw)
	if !ok {
		if !s.Enabled() {
			o.Signature = ""
			return "/t/" + o.String() + "/" + key, nil
		}
		return s.SignPath(o, key)
	}
	opts := "t_" + name
	if o.Expires != 0 {
		opts += ",exp_" + strconv.FormatInt(o.Expires, 10)
	}
	if o.KeyID != "" {
		opts += ",kid_" + o.KeyID
	}
	if s.Enabled() {
		sig, err := s.Sign(o, key)
		if err != nil {
			return "", err
		}
		opts += ",s_" + sig
	}
	return "/t/" + opts + "/" + key, nil
}

// SrcsetPath is the /srcset/ URL path for the variants of key with the
// options o at the canonical width list widths, signed when signing is on.
func (s *Signer) SrcsetPath(o options.Options, key, widths string) (string, error) {
	o.Signature = ""
	if s.Enabled() {
		sig, err := s.SignSrcset(o, key, widths)
		if err != nil {
			return "", err
		}
		o.Signature = sig
	}
	return "/srcset/" + o.String() + "/" + key + "?w=" + widths, nil
}
