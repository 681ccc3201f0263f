package resample

import "fmt"

// Reference runs p on src (p.InBytes() uchar samples, rows top to bottom,
// bands interleaved) in Go and returns the output samples. It is written
// operation by operation from libvips' C, keeping its types, its order of
// operations and its roundings, so that its output equals vips_resize's
// byte for byte; the kernels are checked against it.
func Reference(p *Plan, src []byte) ([]byte, error) {
	if len(src) != p.InBytes() {
		return nil, fmt.Errorf("resample: %d bytes of input for a %d×%d×%d plan", len(src), p.Width, p.Height, p.Bands)
	}
	u8 := src
	nb := p.Bands
	for _, s := range p.Stages {
		switch s.Op {
		case OpPremultiply:
			u8 = premultiply(u8, nb)
		case OpShrinkV:
			u8 = shrinkV(u8, s.InW*nb, s.InH, s.OutH, p.V.Shrink)
		case OpReduceV:
			u8 = reduceV(u8, s.InW*nb, s.InH, &p.V)
		case OpShrinkH:
			u8 = shrinkH(u8, s.InW, s.OutW, s.InH, nb, p.H.Shrink)
		case OpReduceH:
			u8 = reduceH(u8, s.InW, s.InH, nb, &p.H)
		case OpUnpremultiply:
			u8 = unpremultiply(u8, nb)
		}
	}
	return u8, nil
}

func clampIndex(i, n int) int {
	return min(max(i, 0), n-1)
}

// premultiply is premultiply.c's PRE for uchar in, float out, max_alpha
// 255, then cast.c to uchar: the alpha factor is a float from a double
// division, the product a float product, truncated by the cast.
func premultiply(in []byte, nb int) []byte {
	out := make([]byte, len(in))
	for x := 0; x < len(in); x += nb {
		a := in[x+nb-1]
		na := float32(float64(float32(a)) / 255.0)
		for b := range nb - 1 {
			out[x+b] = castUchar(float32(float32(in[x+b]) * na))
		}
		out[x+nb-1] = a
	}
	return out
}

// unpremultiply is unpremultiply.c's UNPRE for uchar in, float out,
// max_alpha 255, then cast.c to uchar: the factor is a float from a
// double division (0 where alpha is 0), the product a float product,
// truncated by the cast. Alpha, clipped to 0..255, passes through.
func unpremultiply(in []byte, nb int) []byte {
	out := make([]byte, len(in))
	for x := 0; x < len(in); x += nb {
		a := in[x+nb-1]
		var factor float32
		if a != 0 {
			factor = float32(255.0 / float64(a))
		}
		for b := range nb - 1 {
			out[x+b] = castUchar(float32(factor * float32(in[x+b])))
		}
		out[x+nb-1] = a
	}
	return out
}

// clip is VIPS_CLIP(lo, v, hi): VIPS_MAX(lo, VIPS_MIN(hi, v)), with the
// macros' comparisons.
func clip(lo, v, hi float64) float64 {
	m := v
	if hi < v {
		m = hi
	}
	if lo > m {
		return lo
	}
	return m
}

// castUchar is CAST_FLOAT_INT to uchar: clip the double, truncate.
func castUchar(v float32) byte {
	return byte(int(clip(0, float64(v), 255)))
}

// shrinkV is shrinkv.c for uchar: int sums of k rows (the last row
// repeated past the edge), averaged with rounding.
func shrinkV(in []byte, rowlen, inH, outH, k int) []byte {
	out := make([]byte, rowlen*outH)
	for y := range outH {
		for e := range rowlen {
			sum := 0
			for j := range k {
				sum += int(in[clampIndex(y*k+j, inH)*rowlen+e])
			}
			out[y*rowlen+e] = byte((sum + k/2) / k)
		}
	}
	return out
}

// shrinkH is shrinkh.c's ISHRINK for uchar.
func shrinkH(in []byte, inW, outW, h, nb, k int) []byte {
	out := make([]byte, outW*h*nb)
	for y := range h {
		row := in[y*inW*nb:]
		for x := range outW {
			for b := range nb {
				sum := 0
				for j := range k {
					sum += int(row[clampIndex(x*k+j, inW)*nb+b])
				}
				out[(y*outW+x)*nb+b] = byte((sum + k/2) / k)
			}
		}
	}
	return out
}

// sat16 is orc's saturating signed 16-bit add (addssw).
func sat16(v int32) int32 {
	return min(max(v, -32768), 32767)
}

// reduceV is reducev.cpp's orc path: a 16-bit sum starting at 32
// (half of 2.6's one, for rounding), each tap's 16-bit product added with
// saturation, then an arithmetic shift by 6 and a saturating narrow to
// uchar.
func reduceV(in []byte, rowlen, inH int, a *Axis) []byte {
	n := a.Points
	out := make([]byte, rowlen*a.Out)
	for y := range a.Out {
		c := a.Fixed[int(a.Phase[y])*n:][:n]
		start := int(a.Start[y])
		for e := range rowlen {
			sum := int32(32)
			for i, w := range c {
				v := int32(in[clampIndex(start+i, inH)*rowlen+e])
				sum = sat16(sum + int32(int16(v*int32(w))))
			}
			out[y*rowlen+e] = byte(min(max(sum>>6, 0), 255))
		}
	}
	return out
}

// reduceH is reduceh.cpp's reduceh_unsigned_int_tab: int sum of
// 12-bit weights, rounded (unsigned_fixed_round) and clipped.
func reduceH(in []byte, inW, h, nb int, a *Axis) []byte {
	n := a.Points
	out := make([]byte, a.Out*h*nb)
	for y := range h {
		row := in[y*inW*nb:]
		for x := range a.Out {
			c := a.Int[int(a.Phase[x])*n:][:n]
			start := int(a.Start[x])
			for b := range nb {
				sum := int32(0)
				for i, w := range c {
					sum += w * int32(row[clampIndex(start+i, inW)*nb+b])
				}
				sum = (sum + 2048) >> 12
				out[(y*a.Out+x)*nb+b] = byte(min(max(sum, 0), 255))
			}
		}
	}
	return out
}
