// Loading and headers: which loaders may read untrusted bytes, the checks
// made before any loader does, shrink- and scale-on-load, and probes.

#include <string.h>

#include "bridge.h"

// Loading.

enum {
	KIND_NONE,
	KIND_JPEG,
	KIND_PNG,
	KIND_WEBP,
	KIND_GIF,
	KIND_HEIF,
};

// pictor_sniff asks only the allowed loaders whether they recognise the
// source. vips_foreign_find_load_source would also run the is_a tests of
// blocked loaders (ImageMagick's among them) on untrusted bytes.
static int
pictor_sniff(VipsSource *source)
{
	static const struct {
		const char *loader;
		int kind;
	} order[] = {
		{ "jpegload_source", KIND_JPEG },
		{ "pngload_source", KIND_PNG },
		{ "webpload_source", KIND_WEBP },
		{ "gifload_source", KIND_GIF },
		{ "heifload_source", KIND_HEIF },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(order); i++) {
		if (vips_source_rewind(source))
			return KIND_NONE;
		if (vips_foreign_is_a_source(order[i].loader, source))
			return order[i].kind;
	}

	return KIND_NONE;
}

// pictor_stored_size reads the stored dimensions with a header-only load.
static int
pictor_stored_size(VipsSource *source, int kind, int *width, int *height)
{
	VipsImage *im;
	int result;

	if (vips_source_rewind(source))
		return -1;
	result = kind == KIND_JPEG ?
		vips_jpegload_source(source, &im,
			"fail_on", VIPS_FAIL_ON_ERROR, NULL) :
		vips_webpload_source(source, &im,
			"fail_on", VIPS_FAIL_ON_ERROR, NULL);
	if (result)
		return -1;
	*width = vips_image_get_width(im);
	*height = vips_image_get_height(im);
	g_object_unref(im);

	return 0;
}

// pictor_clamp_reduction keeps shrink- and scale-on-load from reducing a
// side below one pixel. libvips 8.14 makes a JPEG floor(size/shrink) wide,
// and a zero there trips a g_assert in vips_image_generate, which Debian's
// build keeps: the whole process aborts. WebP fails cleanly, but a caller
// asking for a tiny thumbnail should get one, not an error.
static int
pictor_clamp_reduction(VipsSource *source, int kind, int *shrink,
	double *scale)
{
	int width, height, shortest;

	if ((kind == KIND_JPEG && *shrink > 1) ||
		(kind == KIND_WEBP && *scale < 1.0)) {
		if (pictor_stored_size(source, kind, &width, &height))
			return -1;
		shortest = VIPS_MIN(width, height);
		while (*shrink > 1 && shortest / *shrink < 1)
			*shrink /= 2;
		if (shortest > 0 && *scale * shortest < 1.0)
			*scale = 1.0 / shortest;
	}

	return 0;
}

// pictor_read_at reads exactly n bytes of source at offset.
static int
pictor_read_at(VipsSource *source, gint64 offset, unsigned char *buf,
	size_t n)
{
	gint64 got;
	size_t done;

	if (vips_source_seek(source, offset, SEEK_SET) != offset)
		return -1;
	for (done = 0; done < n; done += got)
		if ((got = vips_source_read(source, buf + done, n - done)) <= 0)
			return -1;

	return 0;
}

// pictor_check_png refuses a PNG whose chunks before the first IDAT claim
// more bytes than the file holds. Reading the header of a PNG whose tEXt
// or zTXt chunk claims N bytes raises RSS by about N even when the chunk
// is not there (libvips 8.14 with libpng 1.6.39, Debian 12): 41 bytes
// claiming an 800 MB tEXt cost 800 MB and 2 s before failing, found by
// FuzzProbe. A real chunk is in the file, so its length is bounded by the
// upload size. IDAT and what follows are streamed, not allocated whole,
// and are left to libpng: a PNG truncated in its pixels still probes, and
// fails when decoded.
static int
pictor_check_png(VipsSource *source)
{
	unsigned char chunk[8];
	guint32 length;
	gint64 total, offset;

	if ((total = vips_source_length(source)) < 0)
		return 0; // a pipe: nothing to compare with
	for (offset = 8; offset + 8 <= total; offset += 12 + (gint64) length) {
		if (pictor_read_at(source, offset, chunk, sizeof(chunk)))
			return -1;
		if (memcmp(chunk + 4, "IDAT", 4) == 0)
			return 0;
		length = (guint32) chunk[0] << 24 | (guint32) chunk[1] << 16 |
			(guint32) chunk[2] << 8 | chunk[3];
		if ((gint64) length > total - offset - 12) {
			vips_error("pictor", "png: %.4s chunk of %u bytes "
				"runs past the end of the file",
				(const char *) chunk + 4, length);
			return -1;
		}
	}

	return 0;
}

// pictor_load_source opens the header of source with the matching loader.
// Pixels are decoded on first access: all at once for random access, as
// they are read for sequential.
static int
pictor_load_source(VipsSource *source, int kind, int shrink, double scale,
	int page, int n, VipsAccess access, VipsImage **out)
{
	// A random-access decode goes into memory, never to a temporary file
	// on disk (which libvips would pick above 100 MB). A sequential one
	// must not ask for memory: libvips 8.14 then decodes the whole image
	// into a buffer before the first line is read, which cost a 3700×2400
	// PNG 120 ms more CPU than streaming it.
	gboolean memory = access != VIPS_ACCESS_SEQUENTIAL;

	// A kind given by the caller comes from a probe of the same bytes,
	// which sniffed, checked and measured them: the caller has clamped
	// shrink and scale with the size it read (vips.LoadOptions.Probed).
	if (kind == KIND_NONE) {
		if ((kind = pictor_sniff(source)) == KIND_NONE)
			return PICTOR_UNSUPPORTED;
		if (kind == KIND_PNG && pictor_check_png(source))
			return -1;
		if (pictor_clamp_reduction(source, kind, &shrink, &scale))
			return -1;
	}
	if (vips_source_rewind(source))
		return -1;

	switch (kind) {
	case KIND_JPEG:
		return vips_jpegload_source(source, out,
			"access", access,
			"shrink", shrink,
			"fail_on", VIPS_FAIL_ON_ERROR,
			"memory", memory,
			NULL);
	case KIND_PNG:
		return vips_pngload_source(source, out,
			"access", access,
			"fail_on", VIPS_FAIL_ON_ERROR,
			"memory", memory,
			NULL);
	case KIND_WEBP:
		return vips_webpload_source(source, out,
			"access", access,
			"scale", scale,
			"page", page,
			"n", n,
			"fail_on", VIPS_FAIL_ON_ERROR,
			"memory", memory,
			NULL);
	case KIND_GIF:
		return vips_gifload_source(source, out,
			"access", access,
			"page", page,
			"n", n,
			"fail_on", VIPS_FAIL_ON_ERROR,
			"memory", memory,
			NULL);
	case KIND_HEIF:
		return vips_heifload_source(source, out,
			"access", access,
			"fail_on", VIPS_FAIL_ON_ERROR,
			"memory", memory,
			NULL);
	}

	return PICTOR_UNSUPPORTED;
}

static int
pictor_free_cb(void *data, void *area)
{
	(void) area;
	g_free(data);
	return 0;
}

int
pictor_load(const void *data, size_t len, int kind, int shrink, double scale,
	int page, int n, int sequential, int borrow, VipsImage **out)
{
	VipsAccess access = sequential ?
		VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM;
	void *copy;
	VipsBlob *blob;
	VipsSource *source;
	int result;

	if (borrow) {
		// The caller keeps data mapped until every image made from it is
		// closed (vips.LoadOptions.Borrow): no copy, no fresh pages.
		if (!(source = vips_source_new_from_memory(data, len)))
			return -1;
		result = pictor_load_source(source, kind, shrink, scale, page, n,
			access, out);
		g_object_unref(source);
		return result;
	}

	if (!(copy = g_try_malloc(len))) {
		vips_error("pictor", "out of memory copying %zu bytes", len);
		return -1;
	}
	memcpy(copy, data, len);

	// The blob owns the copy and frees it when its last reference goes.
	// The source refs the blob, the load operation refs the source, and
	// every image made from it refs the operation: the bytes live
	// exactly as long as the last image that may still read them.
	blob = vips_blob_new(pictor_free_cb, copy, len);
	source = vips_source_new_from_blob(blob);
	vips_area_unref(VIPS_AREA(blob));
	if (!source)
		return -1;

	result = pictor_load_source(source, kind, shrink, scale, page, n, access,
		out);
	g_object_unref(source);

	return result;
}

// Headers.

static const char *pictor_exif_fields[PICTOR_EXIF_N] = {
	"exif-ifd0-Make",
	"exif-ifd0-Model",
	"exif-ifd2-DateTimeOriginal",
	"exif-ifd0-Software",
	"exif-ifd2-LensModel",
};

static void
pictor_fill_header(VipsImage *im, PictorHeader *h)
{
	const char *s;
	int i;

	memset(h, 0, sizeof(*h));
	h->width = vips_image_get_width(im);
	h->height = vips_image_get_height(im);
	h->bands = vips_image_get_bands(im);
	h->has_alpha = vips_image_hasalpha(im);
	h->orientation = pictor_orientation(im);
	h->has_icc = vips_image_get_typeof(im, VIPS_META_ICC_NAME) != 0;
	h->pages = vips_image_get_n_pages(im);
	h->interlaced = vips_image_get_typeof(im, "interlaced") &&
		!vips_image_get_int(im, "interlaced", &i) && i;
	h->band_bytes = vips_format_sizeof(vips_image_get_format(im));

	if (vips_image_get_typeof(im, VIPS_META_LOADER) &&
		!vips_image_get_string(im, VIPS_META_LOADER, &s))
		g_strlcpy(h->loader, s, sizeof(h->loader));

	s = vips_enum_nick(VIPS_TYPE_INTERPRETATION,
		vips_image_get_interpretation(im));
	if (s)
		g_strlcpy(h->interpretation, s, sizeof(h->interpretation));

	for (i = 0; i < PICTOR_EXIF_N; i++)
		if (vips_image_get_typeof(im, pictor_exif_fields[i]) &&
			!vips_image_get_string(im, pictor_exif_fields[i], &s))
			g_strlcpy(h->exif[i], s, PICTOR_EXIF_LEN);
}

static int
pictor_probe_source(VipsSource *source, PictorHeader *h)
{
	VipsImage *im;
	int result;

	// Building a load operation reads the header only; pixels would be
	// decoded by the first region request, which never comes.
	if ((result = pictor_load_source(source, KIND_NONE, 1, 1.0, 0, 1,
		VIPS_ACCESS_RANDOM, &im)))
		return result;
	pictor_fill_header(im, h);
	g_object_unref(im);

	return 0;
}

// pictor_probe_memory reads data in place, without a copy: nothing made
// from it survives the call (the operation cache is off and every object
// is unreffed before return), so the caller's memory is only borrowed.
int
pictor_probe_memory(const void *data, size_t len, PictorHeader *h)
{
	VipsSource *source;
	int result;

	if (!(source = vips_source_new_from_memory(data, len)))
		return -1;
	result = pictor_probe_source(source, h);
	g_object_unref(source);

	return result;
}

int
pictor_probe_file(const char *path, PictorHeader *h)
{
	VipsSource *source;
	int result;

	if (!(source = vips_source_new_from_file(path)))
		return -1;
	result = pictor_probe_source(source, h);
	g_object_unref(source);

	return result;
}
