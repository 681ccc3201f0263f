// Package resample is libvips 8.14's vips_resize (Lanczos3, the default
// gap of 2, downscaling only) restated as a plan and a Go reference.
//
// NewPlan turns an image's size and the two scale factors into exactly the
// steps libvips takes: per axis, vertical first, an optional box pre-shrink
// by an integer factor (shrinkv/shrinkh with "ceil") and an optional
// Lanczos3 reduce by the residual factor (reducev/reduceh), with the
// weight tables, sampling origins and edge handling of reducev.cpp,
// reduceh.cpp, shrinkv.c and shrinkh.c. Every step is libvips' uchar
// path: integer box averages, the vertical reduce in orc's 2.6 fixed
// point, the horizontal one in 12-bit fixed point. Images with alpha take
// the path the pipeline takes (transform/vips pictor_resize), imgproxy's:
// premultiply (a float product) truncated back to uchar, the uchar resize,
// then unpremultiply (a float product) truncated to uchar again.
//
// The plan is shared by three implementations of its arithmetic: the Go
// reference here (Reference), the CUDA kernels in ../../kernels/resize.cu
// run on a GPU, and the same file compiled as C++ on the host
// (../hostkernel). All three must equal vips_resize byte for byte; the
// tests compare each with libvips, the oracle.
package resample
