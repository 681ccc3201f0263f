package options

import (
	"math"
	"strconv"
)

// The one spelling of each kind of value: what the rows of the grammar
// parse with, and what Append prints.

// value is what an option prints after its name_, as an option's print
// says it; Append writes it (see option for why the rows do not write).
type value struct {
	kind  valueKind
	n     int64   // integer
	f     float64 // decimal; the blur sigma of effects
	s     string  // word
	color Color
	fx    effects // effectsValue
}

type valueKind uint8

const (
	unset        valueKind = iota // the default: left out of the canonical form
	intValue                      // plain decimal digits
	wordValue                     // printed as is
	decimalValue                  // see appendDecimal
	colorValue                    // rrggbb, lowercase
	effectsValue                  // see appendEffects
	layersValue                   // the URL's layers: see appendLayers
	borderValue                   // <n>_<color>
)

// integer is n in decimal, unset when 0.
func integer(n int64) value {
	if n == 0 {
		return value{}
	}
	return value{kind: intValue, n: n}
}

// word is s as is, unset when empty.
func word(s string) value {
	if s == "" {
		return value{}
	}
	return value{kind: wordValue, s: s}
}

// append appends v; an unset v appends nothing.
func (v value) append(b []byte) []byte {
	switch v.kind {
	case intValue:
		return strconv.AppendInt(b, v.n, 10)
	case wordValue:
		return append(b, v.s...)
	case decimalValue:
		return appendDecimal(b, v.f)
	case colorValue:
		return v.color.append(b)
	case effectsValue:
		return appendEffects(b, v.fx)
	case borderValue:
		b = strconv.AppendInt(b, v.n, 10)
		return v.color.append(append(b, '_'))
	}
	return b
}

// parseUint accepts plain decimal digits without sign or leading zero
// ("0" itself is fine), so that every number has one spelling.
func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 63) // 63 bits: the result fits int64
	return n, err == nil
}

// formatDecimal is the one spelling of a decimal value; parseDecimal
// accepts nothing else.
func formatDecimal(v float64) string { return string(appendDecimal(nil, v)) }

func appendDecimal(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }

// parseDecimal accepts a finite decimal only in the spelling formatDecimal
// gives it: no exponent, sign, leading or trailing zero, or bare point.
func parseDecimal(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || formatDecimal(v) != s {
		return 0, false
	}
	return v, true
}

// parseDPR accepts the ratios of dprNames; dpr_1 is the default and
// parses to 0 so that it drops out of the canonical form.
func parseDPR(s string) (float64, bool) {
	for i, n := range dprNames {
		if n != s {
			continue
		}
		if i == 0 {
			return 0, true
		}
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	return 0, false
}

func lookup[T ~uint8](names []string, s string) (T, bool) {
	for i, n := range names {
		if n == s {
			return T(i), true
		}
	}
	return 0, false
}

func parseColor(s string) (Color, bool) {
	if len(s) != 6 {
		return Color{}, false
	}
	var rgb [3]uint8
	for i := range 6 {
		d, ok := hexDigit(s[i])
		if !ok {
			return Color{}, false
		}
		rgb[i/2] = rgb[i/2]<<4 | d
	}
	return Color{rgb[0], rgb[1], rgb[2]}, true
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ValidKeyID reports whether s can be a kid_ value, [A-Za-z0-9-]{1,32}:
// no '_' or ',' so that a key id never reaches into the next component.
// Package sign checks configured key ids with it so that every configured
// key can be named in a URL.
func ValidKeyID(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// maxSignature bounds s_: 128 base64url characters hold 768 bits, far more
// than any HMAC a signer would truncate to.
const maxSignature = 128

func validSignature(s string) bool {
	if len(s) == 0 || len(s) > maxSignature {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' && s[i] != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
