// Operations on images: colour, geometry, effects.

#include "bridge.h"

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

// pictor_join_frames stacks n images of one size top to bottom: the
// frames of an animation back into one tall image.
int
pictor_join_frames(VipsImage **in, int n, VipsImage **out)
{
	return vips_arrayjoin(in, out, n, "across", 1, NULL);
}
