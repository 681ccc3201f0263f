package server

import (
	"strconv"

	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
)

// VariantPath is the URL path to hand out for the variant o of the
// original key, where o was parsed from the options string raw: signed
// when signing is on. When raw asks for a preset and nothing else
// (t_<name>, perhaps with exp_ and kid_), the path keeps the t_ form,
// the only one presets-only mode serves; its s_ covers the expanded
// options, like that of any t_ URL. Otherwise it is the canonical form.
func VariantPath(signer *sign.Signer, parser *options.Parser, raw string, o options.Options, key string) (string, error) {
	name, ok := parser.PresetName(raw)
	if !ok {
		if !signer.Enabled() {
			o.Signature = ""
			return "/t/" + o.String() + "/" + key, nil
		}
		return signer.SignPath(o, key)
	}
	opts := "t_" + name
	if o.Expires != 0 {
		opts += ",exp_" + strconv.FormatInt(o.Expires, 10)
	}
	if o.KeyID != "" {
		opts += ",kid_" + o.KeyID
	}
	if signer.Enabled() {
		sig, err := signer.Sign(o, key)
		if err != nil {
			return "", err
		}
		opts += ",s_" + sig
	}
	return "/t/" + opts + "/" + key, nil
}
