package options

import (
	"errors"
	"testing"
)

// FuzzParse checks the canonical-form invariants on arbitrary input: when
// Parse accepts x, Parse(String()) gives the same struct back, and printing
// is stable (parse∘print∘parse prints what print∘parse printed).
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in)
	}
	p := testParser(f)
	f.Fuzz(func(t *testing.T, in string) {
		o, err := p.Parse(in)
		if err != nil {
			var e *Error
			if !errors.Is(err, ErrEmpty) && !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %v (%T) is neither ErrEmpty nor *Error", in, err, err)
			}
			if o != (Options{}) {
				t.Fatalf("Parse(%q) = %+v with error %v, want the zero Options", in, o, err)
			}
			return
		}
		s := o.String()
		if o.IsZero() {
			if s != "" {
				t.Fatalf("Parse(%q) is zero but prints %q", in, s)
			}
			return
		}
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
		if p.PublicPreset(in) && o.Signature != "" {
			t.Fatalf("PublicPreset(%q) is true for a signed URL", in)
		}
	})
}
