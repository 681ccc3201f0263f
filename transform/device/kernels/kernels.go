// Package kernels holds Pictor's CUDA resize kernels: resize.cu, the
// source, and resize.ptx, what Debian's clang-14 makes of it
// (scripts/ptx.sh regenerates it and fails when the committed file
// differs). The CUDA backend loads PTX, embedded here, with
// cuModuleLoadData; the driver compiles it for the GPU at hand, so nothing
// at build time needs CUDA.
package kernels

import _ "embed"

// PTX is resize.ptx, NUL-terminated as cuModuleLoadData requires.
//
//go:embed resize.ptx
var ptx string

// PTX returns the kernels' PTX with the terminating NUL.
func PTX() []byte { return append([]byte(ptx), 0) }

// Entries are the kernels in resize.cu, in the order of a plan's stages.
var Entries = []string{
	"pictor_premultiply",
	"pictor_shrinkv", "pictor_reducev",
	"pictor_shrinkh", "pictor_reduceh",
	"pictor_unpremultiply",
}
