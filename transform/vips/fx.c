// Effects and layers: turns, trim, pixelate, tone, rounded corners,
// border, blurred padding, compositing and text.

#include <math.h>
#include <string.h>

#include "bridge.h"

// As in ops.c: intermediates live on a throwaway base object.
static int
fx_finish(VipsImage *base, VipsImage *result, VipsImage **out)
{
	g_object_ref(result);
	*out = result;
	g_object_unref(base);
	return 0;
}

static int
fx_fail(VipsImage *base)
{
	g_object_unref(base);
	return -1;
}

int
pictor_rot(VipsImage *in, VipsImage **out, int degrees)
{
	VipsAngle a = degrees == 90 ? VIPS_ANGLE_D90 :
		degrees == 180 ? VIPS_ANGLE_D180 : VIPS_ANGLE_D270;

	return vips_rot(in, out, a, NULL);
}

int
pictor_flip(VipsImage *in, VipsImage **out, int horizontal)
{
	return vips_flip(in, out,
		horizontal ? VIPS_DIRECTION_HORIZONTAL : VIPS_DIRECTION_VERTICAL,
		NULL);
}

// pictor_find_trim finds the box of what differs from the top-left pixel
// by more than libvips' default threshold (10 of 255): the uniform border
// e_trim removes. Alpha is flattened first by vips_find_trim against the
// same colour, so a transparent border trims too.
int
pictor_find_trim(VipsImage *in, int *left, int *top, int *width, int *height)
{
	double *px;
	int n, colour, result;
	VipsArrayDouble *bg;

	if (vips_getpoint(in, &px, &n, 0, 0, NULL))
		return -1;
	colour = vips_image_hasalpha(in) ? n - 1 : n;
	bg = vips_array_double_new(px, VIPS_MAX(colour, 1));
	g_free(px);
	result = vips_find_trim(in, left, top, width, height,
		"background", bg,
		NULL);
	vips_area_unref(VIPS_AREA(bg));

	return result;
}

// pictor_pixelate averages block×block squares and blows each back up,
// then repeats the last row and column of blocks over the remainder so
// the size does not change.
int
pictor_pixelate(VipsImage *in, VipsImage **out, int block)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 3);
	int w = vips_image_get_width(in), h = vips_image_get_height(in);

	block = VIPS_CLIP(1, block, VIPS_MIN(w, h));
	if (block < 2)
		return fx_finish(base, in, out);
	if (vips_shrink(in, &t[0], block, block, NULL) ||
		vips_zoom(t[0], &t[1], block, block, NULL) ||
		vips_embed(t[1], &t[2], 0, 0, w, h,
			"extend", VIPS_EXTEND_COPY,
			NULL))
		return fx_fail(base);

	return fx_finish(base, t[2], out);
}

// pictor_tone changes brightness, contrast and saturation of the colour
// bands, each -100..100 with 0 for none; alpha passes through.
// Saturation mixes each pixel with its Rec.709 luma (a recombination
// matrix); brightness adds up to ±128 levels; contrast scales about mid
// grey with the usual (259(c+255))/(255(259-c)) curve on c = 2.55 level.
int
pictor_tone(VipsImage *in, VipsImage **out,
	int brightness, int contrast, int saturation)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 7);
	int bands = vips_image_get_bands(in);
	gboolean alpha = vips_image_hasalpha(in);
	int colour = alpha ? bands - 1 : bands;
	VipsImage *x;

	if (vips_extract_band(in, &t[0], 0, "n", colour, NULL))
		return fx_fail(base);
	x = t[0];

	if (saturation != 0 && colour == 3) {
		double s = 1.0 + saturation / 100.0;
		double l[3] = { 0.2126, 0.7152, 0.0722 };
		double m[9];
		int i, j;

		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++)
				m[i * 3 + j] = (1.0 - s) * l[j] + (i == j ? s : 0.0);
		if (!(t[1] = vips_image_new_matrix_from_array(3, 3, m, 9)) ||
			vips_recomb(x, &t[2], t[1], NULL))
			return fx_fail(base);
		x = t[2];
	}

	if (brightness != 0 || contrast != 0) {
		double c = contrast * 2.55;
		double f = (259.0 * (c + 255.0)) / (255.0 * (259.0 - c));
		double a = f;
		double b = 128.0 * (1.0 - f) + brightness * 1.28;

		if (vips_linear1(x, &t[3], a, b, NULL))
			return fx_fail(base);
		x = t[3];
	}

	if (vips_cast(x, &t[4], VIPS_FORMAT_UCHAR, NULL))
		return fx_fail(base);
	x = t[4];
	if (alpha) {
		if (vips_extract_band(in, &t[5], colour, NULL) ||
			vips_bandjoin2(x, t[5], &t[6], NULL))
			return fx_fail(base);
		x = t[6];
	}

	return fx_finish(base, x, out);
}

// fx_corner makes the top-left corner of a rounded-rectangle mask, rx×ry:
// 255 inside the ellipse quadrant, 0 outside, the edge pixel's coverage
// in between (the distance to the ellipse in pixels, clipped to ±0.5).
static VipsImage *
fx_corner(int rx, int ry)
{
	VipsImage *im;
	unsigned char *m = g_malloc((size_t) rx * ry);
	int x, y;

	for (y = 0; y < ry; y++)
		for (x = 0; x < rx; x++) {
			double dx = (rx - x - 0.5) / rx;
			double dy = (ry - y - 0.5) / ry;
			double d = sqrt(dx * dx + dy * dy);
			double cover = (1.0 - d) * VIPS_MIN(rx, ry) + 0.5;

			m[y * rx + x] = (unsigned char)
				(VIPS_CLIP(0.0, cover, 1.0) * 255.0 + 0.5);
		}
	im = vips_image_new_from_memory_copy(m, (size_t) rx * ry,
		rx, ry, 1, VIPS_FORMAT_UCHAR);
	g_free(m);

	return im;
}

// pictor_round makes the corners transparent outside quarter ellipses of
// radii rx, ry (rx = w/2, ry = h/2 give the largest ellipse). The mask is
// a constant image with four small corner patches inserted, so only the
// corners take memory.
int
pictor_round(VipsImage *in, VipsImage **out, int rx, int ry)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 16);
	int w = vips_image_get_width(in), h = vips_image_get_height(in);
	int bands = vips_image_get_bands(in);
	VipsImage *mask;

	rx = VIPS_CLIP(1, rx, w / 2);
	ry = VIPS_CLIP(1, ry, h / 2);
	if (w < 2 || h < 2)
		return fx_finish(base, in, out);
	if (!(t[0] = fx_corner(rx, ry)) ||
		vips_flip(t[0], &t[1], VIPS_DIRECTION_HORIZONTAL, NULL) ||
		vips_flip(t[0], &t[2], VIPS_DIRECTION_VERTICAL, NULL) ||
		vips_flip(t[1], &t[3], VIPS_DIRECTION_VERTICAL, NULL) ||
		vips_black(&t[4], w, h, NULL) ||
		vips_linear1(t[4], &t[5], 1.0, 255.0, NULL) ||
		vips_cast(t[5], &t[6], VIPS_FORMAT_UCHAR, NULL) ||
		vips_insert(t[6], t[0], &t[7], 0, 0, NULL) ||
		vips_insert(t[7], t[1], &t[8], w - rx, 0, NULL) ||
		vips_insert(t[8], t[2], &t[9], 0, h - ry, NULL) ||
		vips_insert(t[9], t[3], &t[10], w - rx, h - ry, NULL))
		return fx_fail(base);
	mask = t[10];

	if (vips_image_hasalpha(in)) {
		// The new alpha is the old one times the mask.
		if (vips_extract_band(in, &t[11], 0, "n", bands - 1, NULL) ||
			vips_extract_band(in, &t[12], bands - 1, NULL) ||
			vips_multiply(t[12], mask, &t[13], NULL) ||
			vips_linear1(t[13], &t[14], 1.0 / 255.0, 0.0, NULL) ||
			vips_cast(t[14], &t[15], VIPS_FORMAT_UCHAR, NULL))
			return fx_fail(base);
		if (vips_bandjoin2(t[11], t[15], out, NULL))
			return fx_fail(base);
		g_object_unref(base);
		return 0;
	}
	if (vips_bandjoin2(in, mask, out, NULL))
		return fx_fail(base);
	g_object_unref(base);
	return 0;
}

// pictor_blur_pad is c_pad with b_blur: in placed at left, top on a
// width×height canvas made of in itself, scaled to cover it and blurred
// with sigma.
int
pictor_blur_pad(VipsImage *in, VipsImage **out,
	int left, int top, int width, int height, double sigma)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 5);
	int w = vips_image_get_width(in), h = vips_image_get_height(in);
	double scale = VIPS_MAX((double) width / w, (double) height / h);
	int cw, ch;

	if (pictor_resize(in, &t[0], scale, scale))
		return fx_fail(base);
	cw = vips_image_get_width(t[0]);
	ch = vips_image_get_height(t[0]);
	if (cw < width || ch < height) {
		if (vips_embed(t[0], &t[1], 0, 0, VIPS_MAX(cw, width), VIPS_MAX(ch, height),
			"extend", VIPS_EXTEND_COPY, NULL))
			return fx_fail(base);
	}
	else if (vips_copy(t[0], &t[1], NULL))
		return fx_fail(base);
	cw = vips_image_get_width(t[1]);
	ch = vips_image_get_height(t[1]);
	if (vips_extract_area(t[1], &t[2], (cw - width) / 2, (ch - height) / 2,
			width, height, NULL) ||
		pictor_gaussblur(t[2], &t[3], sigma))
		return fx_fail(base);
	if (vips_image_hasalpha(in)) {
		if (pictor_composite(t[3], in, &t[4], left, top))
			return fx_fail(base);
	}
	else if (vips_insert(t[3], in, &t[4], left, top, NULL))
		return fx_fail(base);

	return fx_finish(base, t[4], out);
}

// fx_composite_all composites overlay over the whole of in, as
// pictor_composite describes.
static int
fx_composite_all(VipsImage *in, VipsImage *overlay, VipsImage **out,
	int left, int top)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 3);
	VipsImage *x;

	if (vips_composite2(in, overlay, &t[0], VIPS_BLEND_MODE_OVER,
			"x", left,
			"y", top,
			"compositing_space", VIPS_INTERPRETATION_sRGB,
			NULL) ||
		vips_cast(t[0], &t[1], VIPS_FORMAT_UCHAR, NULL))
		return fx_fail(base);
	x = t[1];
	// The result is sRGB with alpha. Over an opaque base it is opaque:
	// the alpha goes. A grey base comes back in colour, so a coloured
	// layer keeps its colour.
	if (!vips_image_hasalpha(in)) {
		if (vips_extract_band(x, &t[2], 0,
				"n", vips_image_get_bands(x) - 1,
				NULL))
			return fx_fail(base);
		x = t[2];
	}

	return fx_finish(base, x, out);
}

// pictor_composite draws overlay over in at left, top (either may lie
// partly outside; the result is in's size) with the "over" operator, in
// sRGB, and comes back as 8-bit sRGB, with alpha only if in had it.
//
// Compositing works in float over every pixel of its base, so for a
// colour base only the rectangle under the overlay is composited and put
// back: a logo over a photo costs the logo's pixels, not the photo's.
int
pictor_composite(VipsImage *in, VipsImage *overlay, VipsImage **out,
	int left, int top)
{
	VipsImage *base;
	VipsImage **t;
	VipsRect whole = { 0, 0,
		vips_image_get_width(in), vips_image_get_height(in) };
	VipsRect under = { left, top,
		vips_image_get_width(overlay), vips_image_get_height(overlay) };
	int colour = vips_image_get_bands(in) - (vips_image_hasalpha(in) ? 1 : 0);

	vips_rect_intersectrect(&whole, &under, &under);
	if (vips_rect_isempty(&under))
		return vips_copy(in, out, NULL);
	if (colour < 3 || vips_rect_equalsrect(&whole, &under))
		return fx_composite_all(in, overlay, out, left, top);

	base = vips_image_new();
	t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 3);
	if (vips_extract_area(in, &t[0],
			under.left, under.top, under.width, under.height, NULL) ||
		fx_composite_all(t[0], overlay, &t[1],
			left - under.left, top - under.top) ||
		vips_insert(in, t[1], &t[2], under.left, under.top, NULL))
		return fx_fail(base);

	return fx_finish(base, t[2], out);
}

// pictor_opacity scales the alpha of in (adding an opaque one first if it
// has none) by percent/100.
int
pictor_opacity(VipsImage *in, VipsImage **out, int percent)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 5);
	int bands = vips_image_get_bands(in);

	if (!vips_image_hasalpha(in)) {
		if (vips_bandjoin_const1(in, &t[0], 255.0, NULL))
			return fx_fail(base);
		in = t[0];
		bands++;
	}
	if (vips_extract_band(in, &t[1], 0, "n", bands - 1, NULL) ||
		vips_extract_band(in, &t[2], bands - 1, NULL) ||
		vips_linear1(t[2], &t[3], percent / 100.0, 0.0,
			"uchar", TRUE,
			NULL) ||
		vips_bandjoin2(t[1], t[3], &t[4], NULL))
		return fx_fail(base);

	return fx_finish(base, t[4], out);
}

// pictor_tile repeats in over width×height.
int
pictor_tile(VipsImage *in, VipsImage **out, int width, int height)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 2);
	int w = vips_image_get_width(in), h = vips_image_get_height(in);

	if (vips_replicate(in, &t[0], (width + w - 1) / w, (height + h - 1) / h, NULL) ||
		vips_extract_area(t[0], &t[1], 0, 0, width, height, NULL))
		return fx_fail(base);

	return fx_finish(base, t[1], out);
}

// pictor_text renders text (plain UTF-8: escaped here, so no Pango markup
// reaches the renderer) in font at size pixels, wrapped at wrap pixels,
// as an sRGB image in colour r, g, b with the glyph coverage as alpha.
int
pictor_text(VipsImage **out, const char *text, const char *font, int size,
	int wrap, int r, int g, int b)
{
	VipsImage *base = vips_image_new();
	VipsImage **t = (VipsImage **)
		vips_object_local_array(VIPS_OBJECT(base), 4);
	char *escaped = g_markup_escape_text(text, -1);
	char *desc = g_strdup_printf("%s %d", font, size);
	double ink[3] = { r, g, b };
	int result;

	// At 72 dpi a point is a pixel, so size is in output pixels. Words
	// longer than the wrap width break between characters, so no line
	// runs past it.
	result = vips_text(&t[0], escaped,
		"font", desc,
		"dpi", 72,
		"width", wrap,
		"wrap", VIPS_TEXT_WRAP_WORD_CHAR,
		NULL);
	g_free(escaped);
	g_free(desc);
	if (result ||
		!(t[1] = vips_image_new_from_image(t[0], ink, 3)) ||
		vips_bandjoin2(t[1], t[0], &t[2], NULL) ||
		vips_copy(t[2], &t[3],
			"interpretation", VIPS_INTERPRETATION_sRGB,
			NULL))
		return fx_fail(base);

	return fx_finish(base, t[3], out);
}
