// The library: start-up, versions and memory, and image accessors. Loading
// and headers are in load.c, operations in ops.c, saving in save.c.

#include <malloc.h>
#include <string.h>

#include "bridge.h"

// The loader families Pictor accepts, as GType names of their abstract base
// classes. Blocking or unblocking a base class applies to every subclass
// (file, buffer and source variants). In 8.14 the libspng and the libpng
// loaders both register as VipsForeignLoadPng*, so one name covers the PNG
// loader whichever library the build chose.
static const char *pictor_allowed_loaders[] = {
	"VipsForeignLoadJpeg",
	"VipsForeignLoadPng",
	"VipsForeignLoadWebp",
	"VipsForeignLoadNsgif",
	"VipsForeignLoadHeif",
};

int
pictor_startup(int concurrency)
{
	size_t i;

	if (vips_init("pictor"))
		return -1;

	// The operation cache would keep decoded images (and the buffers
	// they were read from) alive after Close; Pictor has its own caches.
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);

	// Untrusted loaders (magick, svg, pdf, matlab, …) first, then every
	// loader, then back on only the ones we fuzz and ship. TIFF, for one,
	// is "trusted" in libvips but not accepted by Pictor.
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (i = 0; i < G_N_ELEMENTS(pictor_allowed_loaders); i++)
		vips_operation_block_set(pictor_allowed_loaders[i], FALSE);
	// libvips 8.14 flags all of libjxl untrusted, its saver too. A saver
	// only encodes pixels Pictor has already decoded, so JPEG XL output is
	// let through; its loader stays blocked with the rest.
	vips_operation_block_set("VipsForeignSaveJxl", FALSE);

	vips_concurrency_set(concurrency);

	// glibc gives freed memory at the top of a heap back to the system
	// once 128 KiB of it is free: every transform's output and encoder
	// buffers (a few hundred KiB each) were then faulted in afresh, page
	// by page, about a tenth of a 600 px variant's CPU on these machines.
	// Kept up to 32 MiB instead; the sidecar hands it all back once idle
	// (vips.ReleaseMemory, malloc_trim). Setting it fixes glibc's mmap
	// threshold too, at 128 KiB unless given: 1 MiB, what the deployment
	// sets (supervisord.conf.tmpl), so that a sidecar started by hand
	// allocates as the deployed one does. Either variable in the
	// environment wins.
	if (!g_getenv("MALLOC_MMAP_THRESHOLD_"))
		(void) mallopt(M_MMAP_THRESHOLD, 1 << 20);
	if (!g_getenv("MALLOC_TRIM_THRESHOLD_"))
		(void) mallopt(M_TRIM_THRESHOLD, 32 << 20);

	return 0;
}

int
pictor_version(int field)
{
	return vips_version(field);
}

void
pictor_release_memory(void)
{
	malloc_trim(0);
}

// Accessors.

void
pictor_unref(VipsImage *im)
{
	g_object_unref(im);
}

int
pictor_width(VipsImage *im)
{
	return vips_image_get_width(im);
}

int
pictor_height(VipsImage *im)
{
	return vips_image_get_height(im);
}

int
pictor_bands(VipsImage *im)
{
	return vips_image_get_bands(im);
}

int
pictor_has_alpha(VipsImage *im)
{
	return vips_image_hasalpha(im);
}

const char *
pictor_format_nick(VipsImage *im)
{
	return vips_enum_nick(VIPS_TYPE_BAND_FORMAT,
		vips_image_get_format(im));
}

const char *
pictor_interpretation_nick(VipsImage *im)
{
	return vips_enum_nick(VIPS_TYPE_INTERPRETATION,
		vips_image_get_interpretation(im));
}

// pictor_orientation is the EXIF orientation, 1 when absent or outside
// the 1..8 the tag defines.
int
pictor_orientation(VipsImage *im)
{
	int orientation;

	if (!vips_image_get_typeof(im, VIPS_META_ORIENTATION) ||
		vips_image_get_int(im, VIPS_META_ORIENTATION, &orientation) ||
		orientation < 1 || orientation > 8)
		return 1;

	return orientation;
}

// Animation metadata, as the GIF and WebP loaders set it.

// pictor_page_height is the height of one frame: the image height for a
// still image or an invalid "page-height".
int
pictor_page_height(VipsImage *im)
{
	return vips_image_get_page_height(im);
}

// pictor_loop is how many times an animation plays, 0 for forever (also
// when the loader set nothing).
int
pictor_loop(VipsImage *im)
{
	int loop;

	if (!vips_image_get_typeof(im, "loop") ||
		vips_image_get_int(im, "loop", &loop))
		return 0;

	return loop;
}

// pictor_delays copies up to max frame delays (milliseconds) into delays
// and returns how many the image has, 0 when it has none; max 0 only
// counts them.
int
pictor_delays(VipsImage *im, int *delays, int max)
{
	int *array;
	int n;

	if (!vips_image_get_typeof(im, "delay") ||
		vips_image_get_array_int(im, "delay", &array, &n))
		return 0;
	if (max > 0)
		memcpy(delays, array, sizeof(int) * VIPS_MIN(n, max));

	return n;
}
