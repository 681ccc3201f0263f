#ifndef PICTOR_VIPSREF_H
#define PICTOR_VIPSREF_H

#include <stdlib.h>
#include <vips/vips.h>

enum { VIPSREF_STRAIGHT, VIPSREF_FLOAT };

int vipsref_resize(const void *buf, size_t len, int width, int height,
	int bands, int path, double hscale, double vscale, VipsImage **out);
int vipsref_write(VipsImage *in, void *buf, size_t len, int *tile_w, int *tile_h);

#endif
