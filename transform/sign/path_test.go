package sign

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/options"
)

func TestParsePath(t *testing.T) {
	p, err := options.NewParser(options.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("ab", 32) + ".jpg"
	tests := []struct {
		in      string
		raw     string
		width   int
		wantErr error // nil: ok; ErrMalformedPath; or any options error (errOptions)
	}{
		{"w_400,f_webp/" + key, "w_400,f_webp", 400, nil},
		{"f_webp,w_400/" + key, "f_webp,w_400", 400, nil},
		{"w_400", "", 0, ErrMalformedPath},
		{"w_400/nokey", "", 0, ErrMalformedPath},
		{"w_400/" + strings.Repeat("AB", 32) + ".jpg", "", 0, ErrMalformedPath},
		{"w_abc/" + key, "", 0, errOptions},
	}
	for _, tt := range tests {
		got, err := ParsePath(p, tt.in)
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("ParsePath(%q) = %v, want ok", tt.in, err)
		case tt.wantErr == errOptions:
			var oe *options.Error
			if !errors.As(err, &oe) {
				t.Errorf("ParsePath(%q) = %v, want an *options.Error", tt.in, err)
			}
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("ParsePath(%q) = %v, want %v", tt.in, err, tt.wantErr)
		case tt.wantErr == nil && (got.Raw != tt.raw || got.Key != key || got.Options.Width != tt.width):
			t.Errorf("ParsePath(%q) = %+v, want raw %q, key %q, width %d", tt.in, got, tt.raw, key, tt.width)
		}
	}
}

var errOptions = errors.New("an options error")

// The paths handed out verify, and carry the canonical options (or the t_
// form of a preset); without keys they are unsigned.
func TestVariantAndSrcsetPath(t *testing.T) {
	oc := options.DefaultConfig()
	ps, err := options.ParsePresets("card:w_640,f_webp")
	if err != nil {
		t.Fatal(err)
	}
	oc.Presets = ps
	p, err := options.NewParser(oc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Keys: []Key{{ID: "k1", Secret: []byte("0123456789abcdef0123")}}, Length: DefaultLength})
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("cd", 32) + ".png"
	now := time.Now()
	for _, raw := range []string{"f_webp,w_400", "t_card", "t_card,kid_k1"} {
		o, err := p.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		path, err := s.VariantPath(p, raw, o, key)
		if err != nil {
			t.Fatal(err)
		}
		vp, err := ParsePath(p, strings.TrimPrefix(path, "/t/"))
		if err != nil {
			t.Fatalf("VariantPath(%q) = %q, which does not parse: %v", raw, path, err)
		}
		if err := s.Verify(vp.Options, vp.Key, now); err != nil {
			t.Errorf("VariantPath(%q) = %q, which does not verify: %v", raw, path, err)
		}
		if strings.HasPrefix(raw, "t_") != strings.HasPrefix(path, "/t/t_card,") {
			t.Errorf("VariantPath(%q) = %q: a preset keeps its t_ form, nothing else takes one", raw, path)
		}
	}
	o, _ := p.Parse("f_webp")
	path, err := s.SrcsetPath(o, key, "320,640")
	if err != nil {
		t.Fatal(err)
	}
	rest, widths, _ := strings.Cut(strings.TrimPrefix(path, "/srcset/"), "?w=")
	vp, err := ParsePath(p, rest)
	if err != nil || widths != "320,640" {
		t.Fatalf("SrcsetPath = %q: %v", path, err)
	}
	if err := s.VerifySrcset(vp.Options, vp.Key, widths, now); err != nil {
		t.Errorf("SrcsetPath = %q, which does not verify: %v", path, err)
	}

	o400, _ := p.Parse("w_400,f_webp")
	off, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := off.VariantPath(p, "w_400,f_webp", o400, key); got != "/t/w_400,f_webp/"+key {
		t.Errorf("VariantPath without keys = %q, want the unsigned canonical path", got)
	}
	if got, _ := off.SrcsetPath(o, key, "320"); got != "/srcset/f_webp/"+key+"?w=320" {
		t.Errorf("SrcsetPath without keys = %q", got)
	}
}
