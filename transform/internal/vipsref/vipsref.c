#include "vipsref.h"

// vipsref_resize runs one of the reference resizes on a uchar image made
// from buf, lazily: *out is the unevaluated result.
int
vipsref_resize(const void *buf, size_t len, int width, int height, int bands,
	int path, double hscale, double vscale, VipsImage **out)
{
	VipsImage *base;
	VipsImage **t;
	int result;

	base = vips_image_new();
	t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 4);
	if (!(t[0] = vips_image_new_from_memory_copy(buf, len,
		width, height, bands, VIPS_FORMAT_UCHAR))) {
		g_object_unref(base);
		return -1;
	}
	t[0]->Type = bands < 3 ?
		VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;

	if (path == VIPSREF_STRAIGHT || !vips_image_hasalpha(t[0]))
		result = vips_resize(t[0], out, hscale,
			"vscale", vscale,
			"kernel", VIPS_KERNEL_LANCZOS3,
			NULL);
	else
		// pictor_resize's alpha path before it cast to uchar.
		result = vips_premultiply(t[0], &t[1], "max_alpha", 255.0, NULL) ||
			vips_resize(t[1], &t[2], hscale,
				"vscale", vscale,
				"kernel", VIPS_KERNEL_LANCZOS3,
				NULL) ||
			vips_unpremultiply(t[2], &t[3], "max_alpha", 255.0, NULL) ||
			vips_cast(t[3], out, VIPS_FORMAT_UCHAR, NULL);
	g_object_unref(base);

	return result ? -1 : 0;
}

// vipsref_write evaluates in into buf (exactly its size) and reports the
// region size the sink computed it in.
int
vipsref_write(VipsImage *in, void *buf, size_t len, int *tile_w, int *tile_h)
{
	VipsImage *x;
	int n_lines;
	int result;

	if (len != VIPS_IMAGE_SIZEOF_IMAGE(in)) {
		vips_error("vipsref", "buffer of %zu bytes for an image of %zu",
			len, (size_t) VIPS_IMAGE_SIZEOF_IMAGE(in));
		return -1;
	}
	vips_get_tile_size(in, tile_w, tile_h, &n_lines);
	if (!(x = vips_image_new_from_memory(buf, len,
		in->Xsize, in->Ysize, in->Bands, in->BandFmt)))
		return -1;
	result = vips_image_write(in, x);
	g_object_unref(x);

	return result;
}
