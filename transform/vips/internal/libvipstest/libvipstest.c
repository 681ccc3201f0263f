#include <malloc.h>

#include "libvipstest.h"

size_t
libvipstest_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	// Bytes handed out by malloc: small chunks in the arenas plus
	// mmap-ed large blocks.
	return mi.uordblks + mi.hblkhd;
}

// libvipstest_load_any opens data through libvips' own loader search, the
// way vips_image_new_from_buffer does, and decodes it.
int
libvipstest_load_any(const void *data, size_t len)
{
	VipsImage *im;
	double avg;
	int result;

	if (!(im = vips_image_new_from_buffer(data, len, "", NULL)))
		return -1;
	result = vips_avg(im, &avg, NULL);
	g_object_unref(im);

	return result;
}
