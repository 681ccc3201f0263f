package placeholder

import (
	"math"
	"strings"
	"testing"
)

func solid(w, h, bands int, c [3]uint8) Image {
	pix := make([]byte, 0, w*h*bands)
	for range w * h {
		pix = append(pix, c[0], c[1], c[2])
		if bands == 4 {
			pix = append(pix, 255)
		}
	}
	return Image{Pix: pix, Width: w, Height: h, Bands: bands}
}

// decode83 reads base-83 digits back.
func decode83(s string) int {
	v := 0
	for i := range len(s) {
		v = v*83 + strings.IndexByte(digits83, s[i])
	}
	return v
}

// components decodes a hash into its factors in linear light: the
// format's decoder, for checking the encoder against what it meant.
func components(t *testing.T, h string) [][3]float64 {
	t.Helper()
	size := decode83(h[:1])
	nx, ny := size%9+1, size/9+1
	if len(h) != 4+2*nx*ny {
		t.Fatalf("hash %q: length %d for %d×%d components", h, len(h), nx, ny)
	}
	maxValue := float64(decode83(h[1:2])+1) / 166
	dc := decode83(h[2:6])
	lin := func(v int) float64 { return toLinear[v] }
	out := [][3]float64{{lin(dc >> 16), lin(dc >> 8 & 255), lin(dc & 255)}}
	for i := 1; i < nx*ny; i++ {
		v := decode83(h[4+2*i : 6+2*i])
		q := func(n int) float64 { return signPow((float64(n)-9)/9, 2) * maxValue }
		out = append(out, [3]float64{q(v / 361), q(v / 19 % 19), q(v % 19)})
	}
	return out
}

func TestBlurHashSolid(t *testing.T) {
	// A uniform image has no AC energy: every AC pair is the zero
	// code "fQ", and the DC term is the colour itself.
	h, err := BlurHash(solid(16, 9, 3, [3]uint8{0, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "L00000" + strings.Repeat("fQ", 11); h != want {
		t.Errorf("BlurHash(black) = %q, want %q", h, want)
	}
	h, err = BlurHash(solid(7, 5, 4, [3]uint8{200, 100, 50}))
	if err != nil {
		t.Fatal(err)
	}
	if dc := decode83(h[2:6]); dc != 200<<16|100<<8|50 {
		t.Errorf("DC of solid (200,100,50) = %06x", dc)
	}
}

// TestBlurHashGradient checks the AC terms against the projection they
// quantise: a left-to-right ramp puts its energy in the first horizontal
// component, with the sign of the ramp.
func TestBlurHashGradient(t *testing.T) {
	const w, h = 32, 24
	im := Image{Width: w, Height: h, Bands: 3}
	for range h {
		for x := range w {
			v := uint8(255 - x*255/(w-1)) // white left, black right
			im.Pix = append(im.Pix, v, v, v)
		}
	}
	hash, err := BlurHash(im)
	if err != nil {
		t.Fatal(err)
	}
	if len(hash) != 28 {
		t.Fatalf("BlurHash = %q, %d characters, want 28", hash, len(hash))
	}
	c := components(t, hash)
	if c[1][0] <= 0 {
		t.Errorf("first horizontal component %v, want positive (bright on the left)", c[1])
	}
	for i := ComponentsX; i < len(c); i += ComponentsX { // vertical-only terms
		// The format samples the basis at pixel corners, which leaves a
		// term of about 2/h; quantising to 19 levels adds its own step.
		if math.Abs(c[i][0]) > 0.05 {
			t.Errorf("vertical component %d = %v, want about 0 for a horizontal ramp", i, c[i])
		}
	}
	// Flipped, the ramp's first component changes sign and nothing else.
	flip := Image{Width: w, Height: h, Bands: 3}
	for y := range h {
		for x := range w {
			o := (y*w + (w - 1 - x)) * 3
			flip.Pix = append(flip.Pix, im.Pix[o:o+3]...)
		}
	}
	fh, _ := BlurHash(flip)
	fc := components(t, fh)
	if fc[1][0] >= 0 || math.Abs(fc[1][0]+c[1][0]) > 0.05 {
		t.Errorf("flipped first component %v, want %v negated", fc[1], c[1])
	}
}

func TestDominant(t *testing.T) {
	im := solid(10, 10, 3, [3]uint8{250, 10, 10})
	// A third of the pixels another colour: red still dominates.
	for i := 0; i < 33*3; i += 3 {
		im.Pix[i], im.Pix[i+1], im.Pix[i+2] = 10, 10, 250
	}
	// Noise within one cell keeps it one cluster.
	im.Pix[99*3] = 245
	c, err := Dominant(im)
	if err != nil || c[0] < 240 || c[1] > 20 || c[2] > 20 {
		t.Errorf("Dominant = %v, %v; want red", c, err)
	}
}

func TestBadImage(t *testing.T) {
	for _, im := range []Image{
		{},
		{Pix: make([]byte, 11), Width: 2, Height: 2, Bands: 3},
		{Pix: make([]byte, 8), Width: 2, Height: 2, Bands: 2},
	} {
		if _, err := BlurHash(im); err != ErrPixels {
			t.Errorf("BlurHash(%dx%dx%d, %d bytes) = %v", im.Width, im.Height, im.Bands, len(im.Pix), err)
		}
		if _, err := Dominant(im); err != ErrPixels {
			t.Errorf("Dominant(%dx%dx%d) = %v", im.Width, im.Height, im.Bands, err)
		}
	}
}
