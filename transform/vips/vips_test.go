package vips

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpus is the repository's testdata/corpus (PngSuite, EXIF orientation
// set, with their licences), reached from this package's directory.
var corpus = filepath.Join("..", "..", "testdata", "corpus")

func TestMain(m *testing.M) {
	if err := Startup(DefaultConfig()); err != nil {
		os.Stderr.WriteString("vips.Startup: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, name))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	return b
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		concurrency int
		ok          bool
	}{
		{1, true},
		{16, true},
		{1024, true},
		{0, false},
		{-1, false},
		{1025, false},
	}
	for _, tt := range tests {
		err := Config{Concurrency: tt.concurrency}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Config{Concurrency: %d}.Validate() = %v, want ok %v", tt.concurrency, err, tt.ok)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
	if got := DefaultConfig().Concurrency; got != 1 {
		t.Errorf("DefaultConfig().Concurrency = %d, want 1", got)
	}
}

func TestStartupOnce(t *testing.T) {
	// TestMain already started libvips; a later call with a different
	// (even invalid) config must not re-run anything.
	if err := Startup(Config{Concurrency: 0}); err != nil {
		t.Errorf("second Startup = %v, want the first result (nil)", err)
	}
}

func TestVersion(t *testing.T) {
	v := Version()
	if !strings.HasPrefix(v, "8.14.") {
		t.Errorf("Version() = %q, want 8.14.x", v)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"VipsJpeg: Premature end of JPEG file\n", "Premature end of JPEG file"},
		{"a: one\n\n  b: two  \n", "a: one; b: two"},
		{"", "failed without a message"},
		{"\n \n", "failed without a message"},
	}
	for _, tt := range tests {
		got := oneLine(tt.in)
		if !strings.Contains(got, tt.want) || strings.Contains(got, "\n") {
			t.Errorf("oneLine(%q) = %q, want one line containing %q", tt.in, got, tt.want)
		}
	}
	long := oneLine(strings.Repeat("é", 1000))
	if len(long) > maxErrorLen+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("oneLine(2000 bytes) has %d bytes, want at most %d ending in …", len(long), maxErrorLen+len("…"))
	}
	e := &Error{Op: "load", Msg: "bad"}
	if got, want := e.Error(), "vips: load: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorFromLibvips(t *testing.T) {
	im, err := Load(readCorpus(t, "pngsuite/basn2c08.png"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	_, err = im.ExtractArea(20, 20, 100, 100)
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("ExtractArea outside the image = %v, want *Error", err)
	}
	if ve.Op != "extract_area" || ve.Msg == "" || strings.Contains(ve.Msg, "\n") {
		t.Errorf("ExtractArea error = %+v, want Op extract_area and a one-line message", ve)
	}
}
