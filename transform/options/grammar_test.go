package options

import (
	"slices"
	"testing"
)

// known holds the option names, for the fuzz test's check that an error
// blames a real option.
var known = func() map[string]bool {
	m := make(map[string]bool, len(grammar))
	for _, opt := range grammar {
		m[opt.name] = true
	}
	return m
}()

// TestGrammar checks the table against what the rest of the package and
// the SPEC rely on: the printed rows are the canonical order, names are
// unique and safe in a component, every row parses, only t_ does not print,
// and the roles are the ones presets and presets-only mode were written
// for.
func TestGrammar(t *testing.T) {
	var printed []string
	seen := map[string]bool{}
	for _, opt := range grammar {
		if opt.name == "" || seen[opt.name] {
			t.Errorf("grammar row %q: empty or repeated name", opt.name)
		}
		seen[opt.name] = true
		for i := 0; i < len(opt.name); i++ {
			if c := opt.name[i]; c < 'a' || c > 'z' {
				t.Errorf("grammar row %q: name not [a-z]+, so it could not be cut at its underscore", opt.name)
			}
		}
		if opt.parse == nil {
			t.Errorf("grammar row %q has no parse", opt.name)
		}
		if (opt.print == nil) != (opt.role == preset) {
			t.Errorf("grammar row %q: print %v with role %d; only t_ does not print", opt.name, opt.print != nil, opt.role)
		}
		if opt.print != nil {
			printed = append(printed, opt.name)
		}
		if opt.print != nil && opt.print(Options{}).kind != unset {
			t.Errorf("grammar row %q prints a value for the zero Options", opt.name)
		}
	}
	if !slices.Equal(printed, canonicalOrder) {
		t.Errorf("grammar prints %q, want the canonical order %q", printed, canonicalOrder)
	}
	roles := map[string]role{"t": preset, "exp": signing, "kid": signing, "s": signing}
	for _, n := range []string{"l", "lg", "lx", "ly", "lw", "lo", "lt", "lc", "ls", "lf"} {
		roles[n] = layer
	}
	for _, opt := range grammar {
		if opt.role != roles[opt.name] {
			t.Errorf("grammar row %q has role %d, want %d", opt.name, opt.role, roles[opt.name])
		}
	}
}

// TestAppendAllocs checks that Append writes into the caller's buffer
// without allocating, which the signature check and the variant key rely
// on: the table's funcs see neither the buffer nor a pointer to o.
func TestAppendAllocs(t *testing.T) {
	p := testParser(t)
	o, err := p.Parse("w_10,h_20,c_crop,g_west,x_1,y_2,dpr_2,f_png,q_80,b_010203,e_blur:2:sharpen,exp_9,kid_a,s_sig")
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		var buf [256]byte // on the stack unless Append lets it escape
		appendSink = len(o.Append(buf[:0]))
	})
	if n != 0 {
		t.Errorf("Append into a large enough buffer allocates %v times, want 0", n)
	}
}

// appendSink keeps Append's result live in the allocation test.
var appendSink int
