#include <string.h>

#include "raw.h"

// pictor_write_pixels evaluates in into buf, which holds exactly its
// pixels (width × height × bands samples, rows top to bottom, bands
// interleaved). It is vips_image_write_to_memory without the allocation,
// so the caller chooses the memory: a pooled buffer, or a pinned one a
// device copies from.
int
pictor_write_pixels(VipsImage *in, void *buf, size_t len)
{
	VipsImage *x;
	int result;

	if (len != VIPS_IMAGE_SIZEOF_IMAGE(in)) {
		vips_error("pictor", "buffer of %zu bytes for an image of %zu",
			len, (size_t) VIPS_IMAGE_SIZEOF_IMAGE(in));
		return -1;
	}
	if (!(x = vips_image_new_from_memory(buf, len,
		in->Xsize, in->Ysize, in->Bands, in->BandFmt)))
		return -1;
	result = vips_image_write(in, x);
	g_object_unref(x);

	return result;
}

// The header fields vips_image_map reports before the metadata: the
// struct members an image of another size must not take from like.
static const char *pictor_builtin_fields[] = {
	"width", "height", "bands", "format", "coding", "interpretation",
	"xoffset", "yoffset", "xres", "yres", "filename",
};

static void *
pictor_copy_meta(VipsImage *like, const char *name, GValue *value, void *a)
{
	VipsImage *out = (VipsImage *) a;
	size_t i;

	(void) like;
	for (i = 0; i < G_N_ELEMENTS(pictor_builtin_fields); i++)
		if (strcmp(name, pictor_builtin_fields[i]) == 0)
			return NULL;
	vips_image_set(out, name, value);

	return NULL;
}

void
pictor_take_meta(VipsImage *like, VipsImage *out)
{
	(void) vips_image_map(like, pictor_copy_meta, out);
}

// pictor_from_pixels copies buf (uchar samples, laid out as
// pictor_write_pixels writes them) into a new image. With like, the new
// image takes like's interpretation, resolution and metadata, as the
// output of an operation on like would; without, the interpretation
// follows the band count (grey for 1 and 2, sRGB for 3 and 4).
int
pictor_from_pixels(const void *buf, size_t len,
	int width, int height, int bands, VipsImage *like, VipsImage **out)
{
	VipsImage *x;

	if (!(x = vips_image_new_from_memory_copy(buf, len,
		width, height, bands, VIPS_FORMAT_UCHAR)))
		return -1;
	if (like) {
		x->Type = like->Type;
		x->Xres = like->Xres;
		x->Yres = like->Yres;
		pictor_take_meta(like, x);
	}
	else
		x->Type = bands < 3 ?
			VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
	*out = x;

	return 0;
}

// pictor_tile_size is the region size a sink (save, write to memory)
// computes in at a time: operations whose arithmetic depends on where a
// region starts (reducev, reduceh) give results that depend on it.
void
pictor_tile_size(VipsImage *in, int *width, int *height)
{
	int n_lines;

	vips_get_tile_size(in, width, height, &n_lines);
}

