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

	vips_concurrency_set(concurrency);

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
	VipsAccess access, VipsImage **out)
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
			"fail_on", VIPS_FAIL_ON_ERROR,
			"memory", memory,
			NULL);
	case KIND_GIF:
		return vips_gifload_source(source, out,
			"access", access,
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
	int sequential, int borrow, VipsImage **out)
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
		result = pictor_load_source(source, kind, shrink, scale, access, out);
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

	result = pictor_load_source(source, kind, shrink, scale, access, out);
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
	if ((result = pictor_load_source(source, KIND_NONE, 1, 1.0,
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

// Operations. The multi-step ones collect intermediates in a local array
// on a throwaway base object, so one unref of base frees them all whatever
// step failed; the result gets its own reference first.

static int
pictor_finish(VipsImage *base, VipsImage *result, VipsImage **out)
{
	g_object_ref(result);
	*out = result;
	g_object_unref(base);
	return 0;
}

static int
pictor_fail(VipsImage *base)
{
	g_object_unref(base);
	return -1;
}

// pictor_max_alpha is the value of an opaque alpha for im's band format.
static double
pictor_max_alpha(VipsImage *im)
{
	switch (vips_image_get_format(im)) {
	case VIPS_FORMAT_USHORT:
	case VIPS_FORMAT_SHORT:
		return 65535.0;
	default:
		return 255.0;
	}
}

// pictor_background makes one value per band of im (per colour band only
// when colour_only) from an 8-bit RGB colour: grey images get its Rec.709
// luma, alpha bands get opaque.
static VipsArrayDouble *
pictor_background(VipsImage *im, int r, int g, int b, gboolean colour_only)
{
	double scale = pictor_max_alpha(im) / 255.0;
	int bands = vips_image_get_bands(im);
	int colour = vips_image_hasalpha(im) ? bands - 1 : bands;
	int n = colour_only ? colour : bands;
	double v[64];
	int i;

	n = VIPS_CLIP(1, n, (int) G_N_ELEMENTS(v));
	for (i = 0; i < n; i++) {
		if (i >= colour)
			v[i] = pictor_max_alpha(im);
		else if (colour < 3)
			v[i] = (0.2126 * r + 0.7152 * g + 0.0722 * b) * scale;
		else if (i < 3)
			v[i] = (i == 0 ? r : i == 1 ? g : b) * scale;
		else
			v[i] = 0.0;
	}

	return vips_array_double_new(v, n);
}

int
pictor_autorot(VipsImage *in, VipsImage **out)
{
	return vips_autorot(in, out, NULL);
}

int
pictor_to_srgb(VipsImage *in, VipsImage **out)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 5);
	gboolean had_alpha = vips_image_hasalpha(in);
	VipsImage *x = in;
	int bands;

	if (vips_image_get_typeof(x, VIPS_META_ICC_NAME)) {
		// A profile that does not fit the pixels (a grey profile on
		// RGB, a corrupt one) is ignored, as browsers do.
		if (!vips_icc_transform(x, &t[0], "srgb",
			"intent", VIPS_INTENT_PERCEPTUAL,
			"embedded", TRUE,
			NULL))
			x = t[0];
		else
			vips_error_clear();
	}

	// A no-op copy after a successful icc_transform; otherwise the
	// built-in route for CMYK (libvips' default CMYK profile), LAB,
	// grey, 16-bit and float spaces. 16-bit input comes out as uchar
	// with alpha shifted to 0..255 in 8.14.
	if (vips_colourspace(x, &t[1], VIPS_INTERPRETATION_sRGB, NULL))
		return pictor_fail(base);
	x = t[1];

	if (vips_image_get_format(x) != VIPS_FORMAT_UCHAR) {
		// "shift" maps 16-bit to 8-bit by >> 8 instead of clipping.
		gboolean shift = vips_image_get_format(x) == VIPS_FORMAT_USHORT;

		if (vips_cast(x, &t[2], VIPS_FORMAT_UCHAR,
			"shift", shift,
			NULL))
			return pictor_fail(base);
		x = t[2];
	}

	bands = vips_image_get_bands(x);
	if (bands > 4 || (bands == 4 && !had_alpha)) {
		if (vips_extract_band(x, &t[3], 0,
			"n", had_alpha ? 4 : 3,
			NULL))
			return pictor_fail(base);
		x = t[3];
	}

	if (vips_image_get_interpretation(x) != VIPS_INTERPRETATION_sRGB) {
		if (vips_copy(x, &t[4],
			"interpretation", VIPS_INTERPRETATION_sRGB,
			NULL))
			return pictor_fail(base);
		x = t[4];
	}

	return pictor_finish(base, x, out);
}

int
pictor_resize(VipsImage *in, VipsImage **out, double hscale, double vscale)
{
	VipsImage *base;
	VipsImage **t;
	VipsBandFormat format;
	double max_alpha;

	if (!vips_image_hasalpha(in))
		return vips_resize(in, out, hscale,
			"vscale", vscale,
			"kernel", VIPS_KERNEL_LANCZOS3,
			NULL);

	// Resampling straight alpha drags the colour of transparent pixels
	// (often black) into the visible edge; premultiplied it cannot.
	// vips_premultiply makes float; casting it back to the input format
	// (truncating) keeps vips_resize on its integer path, about 3× cheaper
	// for uchar than resampling float, for at most about one level of
	// premultiplied colour (the device's resample package measures it).
	// The pipeline casts to uchar before resizing (pictor_to_srgb), so
	// 16-bit images only come here from direct callers, and lose 1/65535.
	base = vips_image_new();
	t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 5);
	format = vips_image_get_format(in);
	max_alpha = pictor_max_alpha(in);
	if (vips_premultiply(in, &t[0], "max_alpha", max_alpha, NULL) ||
		vips_cast(t[0], &t[1], format, NULL) ||
		vips_resize(t[1], &t[2], hscale,
			"vscale", vscale,
			"kernel", VIPS_KERNEL_LANCZOS3,
			NULL) ||
		vips_unpremultiply(t[2], &t[3], "max_alpha", max_alpha, NULL) ||
		vips_cast(t[3], &t[4], format, NULL))
		return pictor_fail(base);

	return pictor_finish(base, t[4], out);
}

int
pictor_shrink(VipsImage *in, VipsImage **out, int factor)
{
	return vips_shrink(in, out, (double) factor, (double) factor, NULL);
}

int
pictor_extract_area(VipsImage *in, VipsImage **out,
	int left, int top, int width, int height)
{
	return vips_extract_area(in, out, left, top, width, height, NULL);
}

int
pictor_smartcrop(VipsImage *in, VipsImage **out, int width, int height)
{
	return vips_smartcrop(in, out, width, height,
		"interesting", VIPS_INTERESTING_ATTENTION,
		NULL);
}

int
pictor_embed(VipsImage *in, VipsImage **out,
	int left, int top, int width, int height, int r, int g, int b)
{
	VipsArrayDouble *background = pictor_background(in, r, g, b, FALSE);
	int result;

	result = vips_embed(in, out, left, top, width, height,
		"extend", VIPS_EXTEND_BACKGROUND,
		"background", background,
		NULL);
	vips_area_unref(VIPS_AREA(background));

	return result;
}

int
pictor_flatten(VipsImage *in, VipsImage **out, int r, int g, int b)
{
	VipsArrayDouble *background;
	int result;

	if (!vips_image_hasalpha(in))
		return vips_copy(in, out, NULL);

	background = pictor_background(in, r, g, b, TRUE);
	result = vips_flatten(in, out,
		"background", background,
		"max_alpha", pictor_max_alpha(in),
		NULL);
	vips_area_unref(VIPS_AREA(background));

	return result;
}

int
pictor_gaussblur(VipsImage *in, VipsImage **out, double sigma)
{
	VipsImage *base;
	VipsImage **t;
	double max_alpha;

	if (!vips_image_hasalpha(in))
		return vips_gaussblur(in, out, sigma, NULL);

	// Premultiplied for the same reason as in pictor_resize.
	base = vips_image_new();
	t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 4);
	max_alpha = pictor_max_alpha(in);
	if (vips_premultiply(in, &t[0], "max_alpha", max_alpha, NULL) ||
		vips_gaussblur(t[0], &t[1], sigma, NULL) ||
		vips_unpremultiply(t[1], &t[2], "max_alpha", max_alpha, NULL) ||
		vips_cast(t[2], &t[3], vips_image_get_format(in), NULL))
		return pictor_fail(base);

	return pictor_finish(base, t[3], out);
}

int
pictor_sharpen(VipsImage *in, VipsImage **out)
{
	return vips_sharpen(in, out, NULL);
}

int
pictor_grayscale(VipsImage *in, VipsImage **out)
{
	return vips_colourspace(in, out, VIPS_INTERPRETATION_B_W, NULL);
}

// Saving. pictor_save strips all metadata (EXIF, XMP, IPTC and ICC) and
// encodes with one of libvips' savers.
//
// The "strip" option alone is not enough in 8.14.1: webpsave still writes
// the EXIF chunk (orientation included) when it is set. So the saver works
// on a private copy from which every metadata field is removed; vips_copy
// shares the pixels, only the header is new. Even then webpsave writes an
// EXIF chunk it builds afresh from the header (resolution, pixel
// dimensions); Save removes it from the bytes (webp.go).
//
// JPEG has no alpha band: libvips would drop it and show whatever colour
// transparent pixels happen to hold, so Save flattens first.

static int
pictor_strip(VipsImage *in, VipsImage **out)
{
	gchar **fields;
	int i;

	if (vips_copy(in, out, NULL))
		return -1;

	// Built-in header fields ("width", "bands", …) are listed too;
	// vips_image_remove leaves those alone.
	fields = vips_image_get_fields(*out);
	for (i = 0; fields[i]; i++)
		(void) vips_image_remove(*out, fields[i]);
	g_strfreev(fields);

	return 0;
}

int
pictor_save(VipsImage *in, const PictorSave *o, void **buf, size_t *len)
{
	VipsImage *bare;
	int result;

	if (pictor_strip(in, &bare))
		return -1;

	switch (o->saver) {
	case PICTOR_SAVE_JPEG:
		result = vips_jpegsave_buffer(bare, buf, len,
			"Q", o->q,
			"optimize_coding", TRUE,
			"interlace", o->interlace,
			"strip", TRUE,
			NULL);
		break;
	case PICTOR_SAVE_PNG:
		// zlib level 6: libvips' and zlib's default balance of size
		// and time.
		result = vips_pngsave_buffer(bare, buf, len,
			"compression", 6,
			"interlace", o->interlace,
			"strip", TRUE,
			NULL);
		break;
	case PICTOR_SAVE_WEBP:
		result = vips_webpsave_buffer(bare, buf, len,
			"Q", o->q,
			"effort", o->effort,
			"strip", TRUE,
			NULL);
		break;
	case PICTOR_SAVE_AVIF:
		result = vips_heifsave_buffer(bare, buf, len,
			"compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
			"Q", o->q,
			"effort", o->effort,
			"strip", TRUE,
			NULL);
		break;
	case PICTOR_SAVE_GIF:
		result = vips_gifsave_buffer(bare, buf, len,
			"strip", TRUE,
			NULL);
		break;
	default:
		vips_error("pictor", "no saver %d", o->saver);
		result = -1;
	}
	g_object_unref(bare);

	return result;
}
