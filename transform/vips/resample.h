// Pictor's own resize engine: the plan of transform/internal/resample
// (vips_resize's Lanczos3 downscale restated step by step, the steps the
// GPU kernels run) computed on the CPU in one pass over the source rows,
// as they are decoded. Same conventions as bridge.h: 0 on success, -1 with
// libvips' error buffer set.
#ifndef PICTOR_VIPS_RESAMPLE_H
#define PICTOR_VIPS_RESAMPLE_H

#include <stdint.h>
#include <stdlib.h>
#include <vips/vips.h>

// PictorAxis is resample.Axis: the box pre-shrink and the Lanczos reduce
// along one axis. The tables belong to the caller and must outlive the
// call that reads them.
typedef struct {
	int shrink;           // box pre-shrink factor, 1 for none
	int shrunk;           // length after it, ceil(in / shrink)
	int out;              // final length
	int points;           // Lanczos taps, 0 for no reduce
	const int32_t *start; // [out] first tap, in the shrunk length
	const int32_t *phase; // [out] weight row, 0..64
	const int16_t *fixed; // [65][points] 2.6 weights: the vertical reduce
	const int32_t *wint;  // [65][points] 12-bit weights: the horizontal one
} PictorAxis;

// PictorPlan is resample.Plan: a width × height uchar image of 1..4
// interleaved bands, the last one alpha when alpha is set.
typedef struct {
	int width, height, bands, alpha;
	PictorAxis v, h;
} PictorPlan;

// pictor_resample_image computes the plan over in's pixels, read top to
// bottom once in this thread (in may be decoded sequentially), into a new
// memory image that takes in's interpretation and metadata.
int pictor_resample_image(VipsImage *in, const PictorPlan *p, VipsImage **out);

// pictor_resample_png decodes the PNG in data (8-bit, not interlaced: the
// caller checks the header) and computes the plan over its rows as they
// are inflated; like gives the result its metadata.
int pictor_resample_png(const void *data, size_t len, const PictorPlan *p,
	VipsImage *like, VipsImage **out);

// pictor_resample_jpeg decodes the JPEG in data scaled by 1/shrink as
// libvips' jpegload does (3-band YCbCr or 1-band grey only: the caller
// checks) and computes the plan over its rows.
int pictor_resample_jpeg(const void *data, size_t len, int shrink,
	const PictorPlan *p, VipsImage *like, VipsImage **out);

// pictor_jpeg_eighth decodes data at 1/8 with jpegdc.c into buf, which
// holds exactly its rows of rowlen bytes: -1 where that decoder does not
// take the file (for tests and benchmarks).
int pictor_jpeg_eighth(const void *data, size_t len, void *buf, size_t buflen,
	int rowlen);

#endif
