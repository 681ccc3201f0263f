package transform

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/pictorhq/pictor/transform/format"
)

// halfTransparent is a 64×32 RGBA PNG: the left half fully transparent
// over red, which must never show, the right half opaque blue.
func halfTransparent(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			c := color.NRGBA{R: 255, A: 0}
			if x >= 32 {
				c = color.NRGBA{B: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFlattenBackground: a JPEG made from an image with alpha shows b_
// where the source is transparent, white without b_; a PNG keeps the
// alpha whatever b_ says. Process and Variants (which shares the steps
// after the resize between variants) must agree.
func TestFlattenBackground(t *testing.T) {
	p := newProcessor(t)
	src := halfTransparent(t)
	tests := []struct {
		opts        string
		transparent [4]uint8 // the left half, as decoded
		opaque      [4]uint8 // the right half
	}{
		{"f_jpeg", [4]uint8{255, 255, 255, 255}, [4]uint8{0, 0, 255, 255}},
		{"f_jpeg,b_00ff00", [4]uint8{0, 255, 0, 255}, [4]uint8{0, 0, 255, 255}},
		{"w_32,f_jpeg,b_102030", [4]uint8{16, 32, 48, 255}, [4]uint8{0, 0, 255, 255}},
		{"f_png,b_00ff00", [4]uint8{0, 0, 0, 0}, [4]uint8{0, 0, 255, 255}},
	}
	for _, tt := range tests {
		o := parse(t, tt.opts)
		req := Request{Options: o, Output: Negotiate(o, format.PNG, nil, false)}
		res, err := p.Process(context.Background(), src, req)
		if err != nil {
			t.Fatalf("Process(%q): %v", tt.opts, err)
		}
		vs, err := p.Variants(context.Background(), "", src, []Request{req})
		if err != nil {
			t.Fatalf("Variants(%q): %v", tt.opts, err)
		}
		for how, body := range map[string][]byte{"Process": res.Body, "Variants": vs[0].Body} {
			img := toImage(t, body)
			w, h := img.Bounds().Dx(), img.Bounds().Dy()
			for _, at := range []struct {
				x    int
				want [4]uint8
			}{{w / 8, tt.transparent}, {w - 1 - w/8, tt.opaque}} {
				got := nrgba(img.At(at.x, h/2))
				if at.want[3] == 0 {
					if got[3] != 0 {
						t.Errorf("%s(%q) pixel %d,%d = %v, want alpha 0", how, tt.opts, at.x, h/2, got)
					}
					continue
				}
				for i := range got {
					if d := int(got[i]) - int(at.want[i]); d < -4 || d > 4 {
						t.Errorf("%s(%q) pixel %d,%d = %v, want %v", how, tt.opts, at.x, h/2, got, at.want)
						break
					}
				}
			}
		}
	}
}

func nrgba(c color.Color) [4]uint8 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [4]uint8{n.R, n.G, n.B, n.A}
}
