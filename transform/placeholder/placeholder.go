// Package placeholder computes what a page can paint before an image
// arrives: a BlurHash (a few dozen characters that decode to a blurred
// preview) and the image's dominant colour. Both read a small thumbnail,
// 8-bit sRGB pixels that the caller already has or makes cheaply.
//
// BlurHash is Wolt's public format (https://blurha.sh): the image is
// projected on a few cosine basis functions in linear light, and the
// coefficients are quantised into a base-83 string. This is an
// implementation from the published algorithm.
package placeholder

import (
	"errors"
	"math"
)

// Components of the BlurHash: 4 across and 3 down is the format's
// common choice for landscape photos, 28 characters in all.
const (
	ComponentsX = 4
	ComponentsY = 3
)

// ErrPixels is pixels that do not hold w×h×bands samples.
var ErrPixels = errors.New("placeholder: pixel buffer does not match its size")

// Image is 8-bit sRGB pixels, rows top to bottom, bands interleaved: 3
// bands, or 4 with alpha last (ignored: flatten first to choose the
// backdrop).
type Image struct {
	Pix           []byte
	Width, Height int
	Bands         int
}

func (im Image) check() error {
	if im.Width < 1 || im.Height < 1 || im.Bands < 3 || im.Bands > 4 ||
		len(im.Pix) != im.Width*im.Height*im.Bands {
		return ErrPixels
	}
	return nil
}

// BlurHash encodes im with ComponentsX × ComponentsY components.
func BlurHash(im Image) (string, error) {
	if err := im.check(); err != nil {
		return "", err
	}
	// Linear light of each sample, once: the basis sums read each pixel
	// ComponentsX × ComponentsY times.
	lin := make([]float64, 0, im.Width*im.Height*3)
	for i := 0; i < len(im.Pix); i += im.Bands {
		lin = append(lin, toLinear[im.Pix[i]], toLinear[im.Pix[i+1]], toLinear[im.Pix[i+2]])
	}
	cosX := basis(im.Width, ComponentsX)
	cosY := basis(im.Height, ComponentsY)

	var factors [ComponentsX * ComponentsY][3]float64
	for j := range ComponentsY {
		for i := range ComponentsX {
			var f [3]float64
			for y := range im.Height {
				cy := cosY[j*im.Height+y]
				row := lin[y*im.Width*3:]
				for x := range im.Width {
					b := cy * cosX[i*im.Width+x]
					f[0] += b * row[x*3]
					f[1] += b * row[x*3+1]
					f[2] += b * row[x*3+2]
				}
			}
			// The DC term is the mean; the others carry a factor of 2
			// from the cosine transform's normalisation.
			norm := 2.0
			if i == 0 && j == 0 {
				norm = 1
			}
			scale := norm / float64(im.Width*im.Height)
			factors[j*ComponentsX+i] = [3]float64{f[0] * scale, f[1] * scale, f[2] * scale}
		}
	}

	b := make([]byte, 0, 4+2*len(factors))
	b = base83(b, (ComponentsX-1)+(ComponentsY-1)*9, 1)
	var actualMax float64
	for _, f := range factors[1:] {
		actualMax = max(actualMax, math.Abs(f[0]), math.Abs(f[1]), math.Abs(f[2]))
	}
	quantMax := int(max(0, min(82, math.Floor(actualMax*166-0.5))))
	maxValue := float64(quantMax+1) / 166
	b = base83(b, quantMax, 1)
	dc := factors[0]
	b = base83(b, toSRGB(dc[0])<<16|toSRGB(dc[1])<<8|toSRGB(dc[2]), 4)
	for _, f := range factors[1:] {
		q := func(v float64) int {
			return int(max(0, min(18, math.Floor(signPow(v/maxValue, 0.5)*9+9.5))))
		}
		b = base83(b, q(f[0])*19*19+q(f[1])*19+q(f[2]), 2)
	}
	return string(b), nil
}

// basis is cos(π·k·p/n) for k < comps and p < n, row k at k·n.
func basis(n, comps int) []float64 {
	out := make([]float64, comps*n)
	for k := range comps {
		for p := range n {
			out[k*n+p] = math.Cos(math.Pi * float64(k) * float64(p) / float64(n))
		}
	}
	return out
}

const digits83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"

// base83 appends v as n base-83 digits, most significant first.
func base83(b []byte, v, n int) []byte {
	div := 1
	for range n - 1 {
		div *= 83
	}
	for range n {
		b = append(b, digits83[(v/div)%83])
		div /= 83
	}
	return b
}

func signPow(v, e float64) float64 {
	return math.Copysign(math.Pow(math.Abs(v), e), v)
}

// toLinear is the sRGB transfer function's inverse for each 8-bit value.
var toLinear = func() (t [256]float64) {
	for i := range t {
		v := float64(i) / 255
		if v <= 0.04045 {
			t[i] = v / 12.92
		} else {
			t[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return t
}()

// toSRGB is the sRGB transfer function, to 0..255.
func toSRGB(v float64) int {
	v = max(0, min(1, v))
	if v <= 0.0031308 {
		return int(v*12.92*255 + 0.5)
	}
	return int((1.055*math.Pow(v, 1/2.4)-0.055)*255 + 0.5)
}

// Dominant returns the most common colour of im: the mean of the largest
// cluster when each channel is cut to its top 4 bits (4096 cells), so
// that a photo's noise does not split one colour into many.
func Dominant(im Image) ([3]uint8, error) {
	if err := im.check(); err != nil {
		return [3]uint8{}, err
	}
	var count [4096]int
	var sum [4096][3]int
	for i := 0; i < len(im.Pix); i += im.Bands {
		r, g, b := int(im.Pix[i]), int(im.Pix[i+1]), int(im.Pix[i+2])
		c := r>>4<<8 | g>>4<<4 | b>>4
		count[c]++
		sum[c][0] += r
		sum[c][1] += g
		sum[c][2] += b
	}
	best := 0
	for c := range count {
		if count[c] > count[best] {
			best = c
		}
	}
	n := count[best]
	return [3]uint8{uint8(sum[best][0] / n), uint8(sum[best][1] / n), uint8(sum[best][2] / n)}, nil
}
