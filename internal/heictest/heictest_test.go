package heictest

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotate checks Rotate against libheif's own reader: heif-info reports
// the size after the transformations, so a quarter turn swaps it, and
// heif-convert still decodes every pixel.
func TestRotate(t *testing.T) {
	src := Encode(t, "../../testdata/corpus/pngsuite/basn2c08.png", 50) // 32×32
	var png64x32 bytes.Buffer
	if err := png.Encode(&png64x32, image.NewGray(image.Rect(0, 0, 64, 32))); err != nil {
		t.Fatal(err)
	}
	wide := EncodeBytes(t, png64x32.Bytes(), 10)
	for _, tt := range []struct {
		name  string
		in    []byte
		turns int
		want  string
	}{
		{"square", src, 1, "image: 32x32"},
		{"landscape", wide, 1, "image: 32x64"},
		{"landscape half", wide, 2, "image: 64x32"},
		{"landscape three", wide, 3, "image: 32x64"},
	} {
		out, err := Rotate(tt.in, tt.turns)
		if err != nil {
			t.Fatalf("%s: Rotate: %v", tt.name, err)
		}
		dir := t.TempDir()
		name := filepath.Join(dir, "in.heic")
		if err := os.WriteFile(name, out, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := exec.Command("heif-info", name).CombinedOutput()
		if err != nil || !strings.Contains(string(info), tt.want) {
			t.Errorf("%s: heif-info = %v\n%s\nwant %q", tt.name, err, info, tt.want)
		}
		if out, err := exec.Command("heif-convert", name, filepath.Join(dir, "out.png")).CombinedOutput(); err != nil {
			t.Errorf("%s: heif-convert: %v\n%s", tt.name, err, out)
		}
	}
	if _, err := Rotate(src, 4); err == nil {
		t.Error("Rotate(4 turns) succeeded")
	}
	if _, err := Rotate([]byte("not a heic file"), 1); err == nil {
		t.Error("Rotate(garbage) succeeded")
	}
}
