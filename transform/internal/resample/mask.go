package resample

import "math"

// phases is VIPS_TRANSFORM_SCALE: libvips tabulates the kernel at 64
// sub-pixel positions, plus one for x = 1.0 (65 rows), and rounds each
// sampling position to the nearest of them.
const phases = 64

// lanczosA is the Lanczos3 kernel's lobe count.
const lanczosA = 3

// points is vips_reduce_get_points for Lanczos3: 2·rint(3·shrink) + 1.
func points(shrink float64) int {
	return int(2*math.RoundToEven(lanczosA*shrink) + 1)
}

// lanczos fills c (points(shrink) long) with libvips' normalised Lanczos3
// weights at sub-pixel offset x (templates.h
// calculate_coefficients_lanczos). Every product is converted explicitly
// so that no compiler fuses it into an FMA, and π·π is a float64 product,
// not Go's exact constant, to round as C does.
func lanczos(c []float64, shrink, x float64) {
	pi := float64(math.Pi)
	a := float64(lanczosA)
	n := len(c)
	half := float64(x+float64(n)/2.0) - 1
	sum := 0.0
	for i := range c {
		xp := float64(float64(i)-half) / shrink
		var l float64
		switch {
		case xp == 0:
			l = 1
		case xp < -a, xp > a:
			l = 0
		default:
			num := float64(float64(a*sin(float64(pi*xp))) * sin(float64(pi*xp)/a))
			den := float64(float64(float64(pi*pi)*xp) * xp)
			l = num / den
		}
		c[i] = l
		sum += l
	}
	for i := range c {
		c[i] /= sum
	}
}

// toFixedPoint is vips_vector_to_fixed_point (iofuncs/vector.c): scale the
// weights so that their rounded values sum to rint(Σw · scale), searching
// for the multiplier and spreading any remainder over the first elements.
// It gives orc's reducev its 2.6 coefficients (scale 64).
func toFixedPoint(in []float64, out []int32, scale int) {
	n := len(in)
	fsum := 0.0
	for _, v := range in {
		fsum += v
	}
	target := int(math.RoundToEven(float64(fsum * float64(scale))))
	high := float64(scale + (n+1)/2)
	low := float64(scale - (n+1)/2)
	var sum int
	for {
		guess := (high + low) / 2.0
		sum = 0
		for i, v := range in {
			out[i] = int32(math.RoundToEven(float64(v * guess)))
			sum += int(out[i])
		}
		if sum == target {
			break
		}
		if sum < target {
			low = guess
		}
		if sum > target {
			high = guess
		}
		if !(high-low > 0.01) {
			break
		}
	}
	if sum != target {
		each := (target - sum) / n
		extra := (target - sum) % n
		dir := int32(1)
		if extra < 0 {
			dir = -1
			extra = -extra
		}
		for i := range out {
			out[i] += int32(each)
		}
		for i := range extra {
			out[i] += dir
		}
	}
}
