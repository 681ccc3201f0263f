package options

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// canonicalOrder is the fixed order of names in the canonical form
// (docs/options.md); t_ never appears, presets are expanded.
var canonicalOrder = []string{
	"w", "h", "c", "g", "x", "y", "dpr", "f", "pg", "q", "b", "e", "a", "r", "bo",
	"l", "lg", "lx", "ly", "lw", "lo", "lt", "lc", "ls", "lf", "wm",
	"exp", "kid", "s",
}

// isLayer reports whether a component is a layer option, whose order
// matters and which repeats once per layer.
func isLayer(comp string) bool {
	name, _, _ := strings.Cut(comp, "_")
	opt := optionNamed(name)
	return opt != nil && opt.role == layer
}

// FuzzParse checks the option grammar on arbitrary input:
//   - errors are ErrEmpty or an *Error with a reason, naming a known
//     option unless the name is what is wrong, and come with the zero
//     Options;
//   - the canonical form round-trips: Parse(o.String()) == o, and printing
//     is stable;
//   - the canonical form lists each name once, in the fixed order, with
//     no t_ and no default value (c_fit, g_center, dpr_1);
//   - the order of components never matters: the reversed list parses to
//     the same Options, or fails too (unless it has layers, whose options
//     follow their l_);
//   - each name at most once: repeating any accepted component fails
//     (a layer option repeats once per layer);
//   - Append, Unsigned and Variant agree with String.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in)
	}
	for _, tt := range fxParseTests {
		f.Add(tt.in)
	}
	for _, tt := range fxErrorTests {
		f.Add(tt.in)
	}
	p := fxParser(f)
	f.Fuzz(func(t *testing.T, in string) {
		o, err := p.Parse(in)
		comps := strings.Split(in, ",")
		if !slices.ContainsFunc(comps, isLayer) {
			reversed := slices.Clone(comps)
			slices.Reverse(reversed)
			ro, rerr := p.Parse(strings.Join(reversed, ","))
			if (err == nil) != (rerr == nil) || ro != o {
				t.Fatalf("Parse(%q) = %+v, %v, but its components reversed give %+v, %v", in, o, err, ro, rerr)
			}
		}
		if err != nil {
			var e *Error
			switch {
			case errors.Is(err, ErrEmpty):
				if in != "" {
					t.Fatalf("Parse(%q) = ErrEmpty for a non-empty string", in)
				}
			case errors.As(err, &e):
				if e.Option != "" && !known[e.Option] && e.Reason != "unknown option" {
					t.Fatalf("Parse(%q) error %v blames %q, which is no option", in, err, e.Option)
				}
				if e.Reason == "" || !strings.HasPrefix(err.Error(), "options: ") {
					t.Fatalf("Parse(%q) error %q has no reason or prefix", in, err)
				}
			default:
				t.Fatalf("Parse(%q) error %v (%T) is neither ErrEmpty nor *Error", in, err, err)
			}
			if o != (Options{}) {
				t.Fatalf("Parse(%q) = %+v with error %v, want the zero Options", in, o, err)
			}
			return
		}

		// Any accepted component given twice is refused.
		for _, c := range []string{comps[0], comps[len(comps)-1]} {
			if isLayer(c) {
				// A layer option other than l_ can only be the last
				// component, and given again it is twice in one layer.
				// An l_ given again is one more layer.
				if twice := in + "," + c; !strings.HasPrefix(c, "l_") && !isErr(p.Parse(twice)) {
					t.Fatalf("Parse(%q) accepted %q twice in one layer", twice, c)
				}
				continue
			}
			if twice := in + "," + c; !isErr(p.Parse(twice)) {
				t.Fatalf("Parse(%q) accepted %q twice", twice, c)
			}
		}

		s := o.String()
		if got := string(o.Append([]byte("prefix/"))); got != "prefix/"+s {
			t.Fatalf("Append = %q, want %q", got, "prefix/"+s)
		}
		if o.IsZero() {
			if s != "" {
				t.Fatalf("Parse(%q) is zero but prints %q", in, s)
			}
			return
		}
		checkCanonical(t, in, s)
		o2, err := p.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v prints %q, which does not parse: %v", in, o, s, err)
		}
		if o2 != o {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v", in, o, s, o2)
		}
		if s2 := o2.String(); s2 != s {
			t.Fatalf("String() not stable for %q: %q then %q", in, s, s2)
		}
		// s_ is last in the canonical form, so what is signed is a prefix.
		unsigned := s
		if o.Signature != "" {
			unsigned = strings.TrimSuffix(strings.TrimSuffix(s, "s_"+o.Signature), ",")
		}
		if u := o.Unsigned().String(); u != unsigned {
			t.Fatalf("Parse(%q).Unsigned() prints %q, want %q", in, u, unsigned)
		}
		if v := o.Variant(); v.Signature != "" || v.KeyID != "" || v.Expires != 0 {
			t.Fatalf("Parse(%q).Variant() = %+v keeps a signing field", in, v)
		}
		if p.PublicPreset(in) && o.Signature != "" {
			t.Fatalf("PublicPreset(%q) is true for a signed URL", in)
		}
	})
}

func isErr(_ Options, err error) bool { return err != nil }

// checkCanonical fails unless s is in canonical form: known names in
// canonicalOrder, each once, no t_, and no value that is the default.
func checkCanonical(t *testing.T, in, s string) {
	t.Helper()
	next := 0
	first, last := slices.Index(canonicalOrder, "l"), slices.Index(canonicalOrder, "lf")
	for c := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(c, "_")
		if name == "l" && next > first && next <= last+1 {
			next = first // the next layer starts its group again
		}
		i := slices.Index(canonicalOrder[next:], name)
		if !ok || i < 0 {
			t.Fatalf("Parse(%q) prints %q: component %q out of the canonical order", in, s, c)
		}
		next += i + 1
		switch c {
		case "c_fit", "g_center", "dpr_1", "f_jpg":
			t.Fatalf("Parse(%q) prints %q with the default or alias %q", in, s, c)
		}
		if value == "" {
			t.Fatalf("Parse(%q) prints %q with an empty %s_", in, s, name)
		}
	}
}
