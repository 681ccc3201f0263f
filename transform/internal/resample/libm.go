package resample

/*
#cgo LDFLAGS: -lm
#include <math.h>
*/
import "C"

// sin is the C library's sin, the one libvips' Lanczos weights call. Go's
// math.Sin differs from glibc's in the last bit for about a quarter of
// arguments, and a one-ulp change in a weight can move a 12-bit or 2.6
// fixed-point coefficient, or a float sum across a rounding boundary.
func sin(x float64) float64 { return float64(C.sin(C.double(x))) }
