package resample

import (
	"errors"
	"fmt"
	"math"
)

var (
	// ErrUpscale: a scale above 1 on either axis. libvips enlarges with
	// vips_affine and a bicubic interpolator, which this package does not
	// restate; such a resize stays with libvips.
	ErrUpscale = errors.New("resample: enlarging is not supported")
	// ErrIdentity: both scales leave the image as it is; there is nothing
	// to plan.
	ErrIdentity = errors.New("resample: nothing to resize")
)

// gap is vips_resize's default reducing gap: the box pre-shrink takes the
// integer part of in/out/gap, leaving a Lanczos reduce of at least gap.
const gap = 2.0

// Op is one step of a plan, as one libvips operation.
type Op uint8

// The steps, in the order a plan runs them.
const (
	// OpPremultiply is vips_premultiply and the cast back to uchar.
	OpPremultiply Op = iota
	// OpShrinkV is vips_shrinkv with ceil: box average of Axis.Shrink rows.
	OpShrinkV
	// OpReduceV is vips_reducev's Lanczos3 pass.
	OpReduceV
	// OpShrinkH is vips_shrinkh with ceil.
	OpShrinkH
	// OpReduceH is vips_reduceh's Lanczos3 pass.
	OpReduceH
	// OpUnpremultiply is vips_unpremultiply and the cast back to uchar.
	OpUnpremultiply
)

func (o Op) String() string {
	switch o {
	case OpPremultiply:
		return "premultiply"
	case OpShrinkV:
		return "shrinkv"
	case OpReduceV:
		return "reducev"
	case OpShrinkH:
		return "shrinkh"
	case OpReduceH:
		return "reduceh"
	case OpUnpremultiply:
		return "unpremultiply"
	}
	return fmt.Sprintf("Op(%d)", o)
}

// Stage is one step with the size of its input and output; every stage
// reads and writes uchar samples.
type Stage struct {
	Op         Op
	InW, InH   int
	OutW, OutH int
}

// Axis is what libvips does along one axis.
type Axis struct {
	// In is the length before this axis' steps.
	In int
	// Shrink is the box pre-shrink factor; 1 means none.
	Shrink int
	// Shrunk is the length after the pre-shrink, ceil(In/Shrink).
	Shrunk int
	// Out is the final length.
	Out int
	// Points is the number of Lanczos taps; 0 means no reduce.
	Points int
	// Start is, per output index, the shrunk-image index of its first tap;
	// it may lie outside the image, whose edge pixel is then repeated
	// (libvips embeds with VIPS_EXTEND_COPY).
	Start []int32
	// Phase is, per output index, the weight table row, 0..64.
	Phase []int32
	// Fixed holds the weights in orc's 2.6 fixed point, [65][Points]: the
	// uchar vertical reduce.
	Fixed []int16
	// Int holds the weights as int(w·4096), [65][Points]: the uchar
	// horizontal reduce.
	Int []int32
	// Unsettled marks the output indices whose tap or phase libvips may
	// compute either way, depending on the region geometry it is pulled
	// in (see newAxis); Unsettle counts them. A plan with any is not
	// guaranteed to equal libvips there.
	Unsettled []bool
	Unsettle  int
}

// Plan is a resize of one image, step by step.
type Plan struct {
	Width, Height int // input size
	Bands         int // 1..4
	// Alpha premultiplies before the resize and unpremultiplies after;
	// the last band is alpha.
	Alpha  bool
	V, H   Axis
	Stages []Stage
}

// Settled reports whether every output pixel of the plan is independent
// of how libvips would be asked for it: then any correct implementation of
// the plan equals vips_resize byte for byte, whatever follows the resize in
// the pipeline.
func (p *Plan) Settled() bool { return p.V.Unsettle == 0 && p.H.Unsettle == 0 }

// OutWidth and OutHeight are the size of the result.
func (p *Plan) OutWidth() int  { return p.H.Out }
func (p *Plan) OutHeight() int { return p.V.Out }

// InBytes and OutBytes are the sizes of the uchar input and output.
func (p *Plan) InBytes() int  { return p.Width * p.Height * p.Bands }
func (p *Plan) OutBytes() int { return p.H.Out * p.V.Out * p.Bands }

// ScratchBytes is the size of each of the two buffers the stages
// alternate between: the largest intermediate.
func (p *Plan) ScratchBytes() int {
	n := 0
	for _, s := range p.Stages {
		n = max(n, s.OutW*s.OutH*p.Bands)
	}
	return n
}

// Geometry is the size of the regions libvips computes the resize's output
// in (vips.Image.TileSize of the result): reduceh's regions, and reducev's
// when no horizontal shrink sits between them (shrinkh asks for one row at
// a time). 0 means one region across the whole axis.
type Geometry struct {
	TileWidth, TileHeight int
}

// NewPlan plans vips_resize(hscale, vscale) with Lanczos3 of a
// width × height uchar image with bands bands, premultiplied when alpha,
// computed in regions of geometry g.
func NewPlan(width, height, bands int, alpha bool, hscale, vscale float64, g Geometry) (*Plan, error) {
	switch {
	case width < 1 || height < 1:
		return nil, fmt.Errorf("resample: size %d×%d", width, height)
	case bands < 1 || bands > 4:
		return nil, fmt.Errorf("resample: %d bands, want 1..4", bands)
	case alpha && bands < 2:
		return nil, fmt.Errorf("resample: alpha needs at least 2 bands")
	case !(hscale > 0) || !(vscale > 0) || math.IsInf(hscale, 0) || math.IsInf(vscale, 0):
		return nil, fmt.Errorf("resample: scale %g×%g", hscale, vscale)
	}
	// resize.c: neither axis may drop below one pixel.
	hscale = max(hscale, 1.0/float64(width))
	vscale = max(vscale, 1.0/float64(height))
	if hscale > 1 || vscale > 1 {
		return nil, ErrUpscale
	}
	if hscale == 1 && vscale == 1 {
		return nil, ErrIdentity
	}
	p := &Plan{Width: width, Height: height, Bands: bands, Alpha: alpha}
	p.H = newAxis(width, hscale, false, g.TileWidth)
	run := g.TileHeight
	if p.H.Shrink > 1 {
		run = 1
	}
	p.V = newAxis(height, vscale, true, run)

	w, h := width, height
	add := func(op Op, ow, oh int) {
		p.Stages = append(p.Stages, Stage{Op: op, InW: w, InH: h, OutW: ow, OutH: oh})
		w, h = ow, oh
	}
	if alpha {
		add(OpPremultiply, w, h)
	}
	if p.V.Shrink > 1 {
		add(OpShrinkV, w, p.V.Shrunk)
	}
	if p.V.Points > 0 {
		add(OpReduceV, w, p.V.Out)
	}
	if p.H.Shrink > 1 {
		add(OpShrinkH, p.H.Shrunk, h)
	}
	if p.H.Points > 0 {
		add(OpReduceH, p.H.Out, h)
	}
	if alpha {
		add(OpUnpremultiply, w, h)
	}
	return p, nil
}

// tap is the first tap (in the shrunk image, edge padding removed) and the
// weight table row for a sampling centre x in the padded image: libvips
// truncates x for the pixel and x·128 for the half-phase, then rounds the
// half-phase to one of the 65 table rows.
func tap(x float64, pad int32) (start, phase int32) {
	ix := int32(x)
	sx := int32(x * phases * 2)
	return ix - pad, ((sx & (phases*2 - 1)) + 1) >> 1
}

// newAxis is vips_reducev_build / vips_reduceh_build with gap 2 for a
// reduce by 1/scale of length in, computed in regions of run outputs (0:
// one region). scale == 1 leaves the axis alone.
func newAxis(in int, scale float64, vertical bool, run int) Axis {
	a := Axis{In: in, Shrink: 1, Shrunk: in, Out: in}
	if scale >= 1 {
		return a
	}
	shrink := 1.0 / scale
	// "round(), not rint()": VIPS_ROUND_UINT.
	out := int(float64(in)/shrink + 0.5)
	extra := float64(float64(out)*shrink) - float64(in)
	k := max(1, int(math.Floor(float64(in)/float64(out)/gap)))
	a.Out = out
	if k > 1 {
		a.Shrink = k
		a.Shrunk = int(math.Ceil(float64(in) / float64(k)))
		shrink /= float64(k)
		extra /= float64(k)
	}
	if shrink == 1.0 {
		a.Out = a.Shrunk
		return a
	}
	n := points(shrink)
	a.Points = n
	offset := (1+extra)/2.0 - 1
	// The embed that lets taps run off either edge puts ceil(n/2) - 1
	// copies of the edge before it.
	pad := int32(math.Ceil(float64(n)/2.0)) - 1

	a.Int = make([]int32, (phases+1)*n)
	row := make([]float64, n)
	fixed := make([]int32, n)
	if vertical {
		a.Fixed = make([]int16, (phases+1)*n)
	}
	for t := 0; t <= phases; t++ {
		lanczos(row, shrink, float64(float32(t)/phases))
		for i, w := range row {
			a.Int[t*n+i] = int32(w * 4096)
		}
		if vertical {
			toFixedPoint(row, fixed, 64)
			for i, f := range fixed {
				a.Fixed[t*n+i] = int16(f)
			}
		}
	}

	a.Start = make([]int32, out)
	a.Phase = make([]int32, out)
	a.Unsettled = make([]bool, out)
	if run <= 0 {
		run = out
	}
	// centre is the sampling position of output i in the padded input as
	// vips_reducev_gen / vips_reduceh_gen compute it for a region that
	// starts at i: one multiply; the next ones in the region add shrink.
	centre := func(i int) float64 {
		return float64(float64(float64(float64(i)+0.5)*shrink)-0.5) - offset
	}
	// Those additions round, so the last bits of a centre depend on where
	// its region starts. bound carries half an ulp of the largest centre
	// over the longest possible run, with a margin: an output whose tap or
	// phase changes within it is unsettled. When the arithmetic is exact
	// (shrink and offset short binary fractions, as for 1/2 or 1/4) no
	// addition rounds and nothing is unsettled.
	exact := exactSteps(shrink, offset, centre(out))
	ulp := math.Abs(centre(out)) * 0x1p-52
	var x float64
	for i := range out {
		if i%run == 0 {
			x = centre(i)
		} else {
			x += shrink
		}
		a.Start[i], a.Phase[i] = tap(x, pad)
		if exact {
			continue
		}
		bound := float64(i+8) * ulp
		s0, p0 := tap(x-bound, pad)
		s1, p1 := tap(x+bound, pad)
		if s0 != a.Start[i] || s1 != a.Start[i] || p0 != a.Phase[i] || p1 != a.Phase[i] {
			a.Unsettled[i] = true
			a.Unsettle++
		}
	}
	return a
}

// exactSteps reports whether every centre up to top, and every sum of
// shrink steps towards it, is exact in float64: true when shrink, offset and
// the half-pixel terms are multiples of one power of two 2^-q and top·2^q
// stays below 2^52.
func exactSteps(shrink, offset, top float64) bool {
	q := max(fracBits(shrink), fracBits(offset), 2)
	return math.Abs(top)*math.Ldexp(1, q)+math.Ldexp(1, q) < 0x1p52 &&
		math.Abs(shrink)*math.Ldexp(1, q+1) < 0x1p52
}

// fracBits is the number of binary digits after the point of v.
func fracBits(v float64) int {
	if v == 0 {
		return 0
	}
	frac, exp := math.Frexp(math.Abs(v)) // v = frac · 2^exp, frac in [0.5, 1)
	m := uint64(math.Ldexp(frac, 53))    // 53-bit integer mantissa
	tz := 0
	for m&1 == 0 {
		m >>= 1
		tz++
	}
	return max(0, 53-tz-exp)
}
