package vips

import (
	"os"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

func TestRefCopyMemory(t *testing.T) {
	src, err := os.ReadFile("../../testdata/alpha.png") // 300×200 RGBA
	if err != nil {
		t.Fatal(err)
	}
	lazy := mustLoad(t, src, LoadOptions{})
	mem, err := lazy.CopyMemory()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mem.MemoryBytes(), int64(300*200*4); got != want {
		t.Errorf("MemoryBytes = %d, want %d", got, want)
	}
	want := mustSave(t, lazy, SaveOptions{Format: format.PNG})
	lazy.Close()

	// A second handle keeps the pixels alive after the first is closed.
	ref := mem.Ref()
	mem.Close()
	if ref.Width() != 300 || ref.Height() != 200 || ref.Bands() != 4 {
		t.Fatalf("Ref after closing the original: %dx%dx%d", ref.Width(), ref.Height(), ref.Bands())
	}
	if got := mustSave(t, ref, SaveOptions{Format: format.PNG}); string(got) != string(want) {
		t.Error("the memory copy encodes differently from the lazy image it was made from")
	}
	ref.Close()
	if (*Image)(nil).Ref() != nil || (&Image{}).MemoryBytes() != 0 {
		t.Error("Ref or MemoryBytes of a closed image is not nil / 0")
	}
	if _, err := (&Image{}).CopyMemory(); err == nil {
		t.Error("CopyMemory of a closed image = nil error")
	}
}
