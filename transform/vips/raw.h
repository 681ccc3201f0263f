// Raw pixel access for package vips: what the GPU resize backend and its
// bit-exactness tests need beyond the pipeline's operations. Same
// conventions as bridge.h: 0 on success, -1 with libvips' error buffer set.
#ifndef PICTOR_VIPS_RAW_H
#define PICTOR_VIPS_RAW_H

#include <stdlib.h>
#include <vips/vips.h>

int pictor_write_pixels(VipsImage *in, void *buf, size_t len);
int pictor_from_pixels(const void *buf, size_t len,
	int width, int height, int bands, VipsImage *like, VipsImage **out);
// pictor_take_meta copies like's metadata, not its size or format, to out.
void pictor_take_meta(VipsImage *like, VipsImage *out);
void pictor_tile_size(VipsImage *in, int *width, int *height);

#endif
