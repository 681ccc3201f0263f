// The CUDA kernels compiled as C++ for the host: each kernel becomes a
// plain loop over every sample with the same arithmetic. The pragma keeps
// the compiler from fusing multiplies and adds that libvips does not fuse
// (cgo does not accept -ffp-contract=off as a flag; x86-64 without -mfma
// has no FMA to fuse into either way).
#pragma GCC optimize("fp-contract=off")
#include "../../kernels/resize.cu"
