#include "bridge.h"

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

	// The animation comes back as the caller describes it, never from
	// fields that travelled with the pixels: a frame cut from an
	// animation or a resized one still carries the loader's page-height.
	if (o->page_height > 0 &&
		(o->saver == PICTOR_SAVE_GIF || o->saver == PICTOR_SAVE_WEBP)) {
		vips_image_set_int(bare, VIPS_META_PAGE_HEIGHT, o->page_height);
		vips_image_set_int(bare, "loop", o->loop);
		if (o->n_delays > 0)
			vips_image_set_array_int(bare, "delay", o->delays,
				o->n_delays);
	}

	switch (o->saver) {
	case PICTOR_SAVE_JPEG:
		result = pictor_jpegsave_takes(bare) ?
			pictor_jpegsave(bare, o->q, o->interlace, buf, len) :
			pictor_jpegsave_libvips(bare, o->q, o->interlace,
				buf, len);
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
	case PICTOR_SAVE_JXL:
		// libvips 8.14's jxlsave writes no metadata at all; the bare
		// copy is all it gets anyway.
		result = vips_jxlsave_buffer(bare, buf, len,
			"Q", o->q,
			"effort", o->effort,
			NULL);
		break;
	default:
		vips_error("pictor", "no saver %d", o->saver);
		result = -1;
	}
	g_object_unref(bare);

	return result;
}
