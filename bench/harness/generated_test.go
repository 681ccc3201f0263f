package harness

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pictorhq/pictor/internal/animtest"
	"github.com/pictorhq/pictor/transform/format"
	"github.com/pictorhq/pictor/transform/vips"
)

func TestGeneratedFile(t *testing.T) {
	f, err := generatedFile("generated/anim-12f-64x48.gif", "/corpus")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "anim-12f-64x48.gif" || f.Format != format.GIF || f.Width != 64 || f.Height != 48 {
		t.Errorf("generatedFile = %s %v %d×%d, want anim-12f-64x48.gif gif 64×48", f.Name, f.Format, f.Width, f.Height)
	}
	h, err := vips.Probe(f.Data)
	if err != nil || h.Pages != 12 || h.Width != 64 || h.Height != 48 {
		t.Errorf("the generated GIF probes as %+v, %v; want 12 frames of 64×48", h, err)
	}
	for _, bad := range []string{
		"generated/anim-0f-64x48.gif", "generated/anim-12f-64x48.png", "generated/anim-12f-4000x48.gif",
		"generated/anim-1001f-8x8.gif", "generated/movie.gif", "generated/anim-12f-64x48.gifx",
	} {
		if _, err := generatedFile(bad, "/corpus"); !errors.Is(err, ErrScenario) {
			t.Errorf("generatedFile(%q) = %v, want ErrScenario", bad, err)
		}
	}
}

// Copies of an animation differ in bytes and keep every frame.
func TestUniqueBytesGIF(t *testing.T) {
	f := &File{Name: "a.gif", Format: format.GIF, Data: animtest.GIF(5, 16, 8, []int{4}, 0)}
	if !canMakeUnique(f) {
		t.Fatal("an animated GIF cannot be made unique")
	}
	a, b := uniqueBytes(nil, f, 1), uniqueBytes(nil, f, 2)
	if bytes.Equal(a, b) || bytes.Equal(a, f.Data) {
		t.Error("copies 1 and 2 are not distinct from each other and the original")
	}
	for _, data := range [][]byte{a, b} {
		d, err := animtest.Decode(data)
		if err != nil || len(d.Frames) != 5 {
			t.Fatalf("a unique copy decodes to %d frames, %v; want 5", len(d.Frames), err)
		}
		if h, err := vips.Probe(data); err != nil || h.Pages != 5 {
			t.Errorf("libvips reads a unique copy as %+v, %v", h, err)
		}
	}
	if canMakeUnique(&File{Format: format.GIF, Data: []byte("GIF89a\x01\x00")}) {
		t.Error("a GIF without its trailer can be made unique")
	}
}
