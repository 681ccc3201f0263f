package options

import (
	"strconv"
	"testing"
)

// TestDescribeCoversGrammar: every row of the grammar has a description,
// and what a description offers is what the parser accepts: every choice
// and word parses, an int parses at its bounds and not past them.
func TestDescribeCoversGrammar(t *testing.T) {
	p, err := NewParser(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	fields := p.Describe()
	if len(fields) != len(grammar) {
		t.Fatalf("Describe() has %d fields, the grammar %d rows", len(fields), len(grammar))
	}
	for i, f := range fields {
		if _, ok := p.describe(grammar[i].name); !ok || f.Name != grammar[i].name || f.Kind == "" || f.Label == "" {
			t.Errorf("field %d = %+v: the grammar's row %q has no description", i, f, grammar[i].name)
		}
	}
	// A layer option needs an l_ before it; others stand alone.
	opts := func(f Field, v string) string {
		if f.Role == "layer" && f.Name != "l" {
			return "l_text:SGk," + f.Name + "_" + v
		}
		return f.Name + "_" + v
	}
	for _, f := range fields {
		var good, bad []string
		switch f.Kind {
		case "enum":
			good = f.Choices
			bad = []string{"nope"}
		case "int":
			good = append(good, strconv.Itoa(f.Min))
			if f.Max > 0 {
				good = append(good, strconv.Itoa(f.Max))
				bad = append(bad, strconv.Itoa(f.Max+1))
			}
			if f.Min > 0 {
				bad = append(bad, strconv.Itoa(f.Min-1))
			}
			good = append(good, f.Words...)
		case "color":
			good = append([]string{"0a0b0c"}, f.Words...)
			bad = []string{"12345"}
		case "border":
			good = []string{strconv.Itoa(f.Min) + "_ff0000", strconv.Itoa(f.Max) + "_000000"}
			bad = []string{strconv.Itoa(f.Max+1) + "_000000"}
		case "flag":
			if !f.Off {
				good = []string{"1"}
			}
			bad = []string{"2"}
		case "effects":
			for _, e := range f.Effects {
				if !e.Arg {
					good = append(good, e.Name)
					continue
				}
				lo, hi := strconv.FormatFloat(e.Min, 'f', -1, 64), strconv.FormatFloat(e.Max, 'f', -1, 64)
				good = append(good, e.Name+":"+lo, e.Name+":"+hi)
				bad = append(bad, e.Name+":"+strconv.FormatFloat(e.Max+1, 'f', -1, 64))
			}
		}
		for _, v := range good {
			s := opts(f, v)
			// The cross-option rules want a context for some options.
			switch f.Name {
			case "x", "y":
				s = "w_10,h_10,c_crop," + s
			case "g":
				s = "w_10,h_10,c_fill," + s
			case "b":
				s = "w_10,h_10,c_pad," + s
			case "c":
				s = "w_10,h_10," + s
			}
			if _, err := p.Parse(s); err != nil {
				t.Errorf("%s offers %q: Parse(%q) = %v", f.Name, v, s, err)
			}
		}
		for _, v := range bad {
			if _, err := p.Parse(opts(f, v)); err == nil {
				t.Errorf("%s: Parse(%q) accepted a value outside the description", f.Name, opts(f, v))
			}
		}
	}
}

// TestDescribeWatermark: wm_ is offered only where a watermark is
// configured, and then parses.
func TestDescribeWatermark(t *testing.T) {
	for _, mark := range []string{"", "l_text:SGk,lg_south_east"} {
		cfg := DefaultConfig()
		cfg.Watermark = mark
		p, err := NewParser(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := p.describe("wm")
		_, perr := p.Parse("wm_1")
		if f.Off != (mark == "") || (perr == nil) == f.Off {
			t.Errorf("watermark %q: wm described %+v, Parse(wm_1) = %v", mark, f, perr)
		}
	}
}
