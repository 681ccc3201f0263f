// JPEG output without libvips' saver: the same libjpeg settings as
// vips_jpegsave with "strip" (vips2jpeg.c in 8.14), so the same bytes, but
// the rows are computed here, in the calling thread, and handed straight
// to libjpeg, where libvips' saver runs its sink on worker threads. Used
// for the images the pipeline encodes nearly always: uchar sRGB or grey.

#include <string.h>

#include "bridge.h"
#include "jpegerr.h"

// pictor_jpegsave_takes reports whether pictor_jpegsave can write in as
// vips_jpegsave would: no colour conversion to make first.
int
pictor_jpegsave_takes(VipsImage *in)
{
	return vips_image_get_format(in) == VIPS_FORMAT_UCHAR &&
		vips_image_get_coding(in) == VIPS_CODING_NONE &&
		((in->Bands == 3 &&
			vips_image_get_interpretation(in) ==
				VIPS_INTERPRETATION_sRGB) ||
		(in->Bands == 1 &&
			vips_image_get_interpretation(in) ==
				VIPS_INTERPRETATION_B_W));
}

#define PICTOR_JPEG_STRIP 16

int
pictor_jpegsave(VipsImage *in, int q, int progressive, void **buf,
	size_t *len)
{
	struct jpeg_compress_struct cinfo;
	PictorJpegError err;
	unsigned char *volatile out = NULL;
	unsigned long outlen = 0;
	VipsRegion *volatile region = NULL;
	VipsRect r;
	int y, i;

	cinfo.err = pictor_jpeg_errors(&err, "jpegsave");
	if (setjmp(err.jmp)) {
		jpeg_destroy_compress(&cinfo);
		free(out);
		VIPS_UNREF(region);
		return -1;
	}
	jpeg_create_compress(&cinfo);
	jpeg_mem_dest(&cinfo, (unsigned char **) &out, &outlen);
	cinfo.image_width = in->Xsize;
	cinfo.image_height = in->Ysize;
	cinfo.input_components = in->Bands;
	cinfo.in_color_space = in->Bands == 3 ? JCS_RGB : JCS_GRAYSCALE;
	// vips2jpeg.c, in its order: defaults, Huffman tables made for the
	// image, quality with baseline tables, progression, no chroma
	// subsampling from Q 90, and no JFIF header when stripping.
	jpeg_set_defaults(&cinfo);
	cinfo.optimize_coding = TRUE;
	jpeg_set_quality(&cinfo, q, TRUE);
	if (progressive)
		jpeg_simple_progression(&cinfo);
	if (q >= 90)
		for (i = 0; i < in->Bands; i++) {
			cinfo.comp_info[i].h_samp_factor = 1;
			cinfo.comp_info[i].v_samp_factor = 1;
		}
	cinfo.write_JFIF_header = FALSE;
	jpeg_start_compress(&cinfo, TRUE);

	if (in->data)
		for (y = 0; y < in->Ysize; y++) {
			JSAMPROW row = VIPS_IMAGE_ADDR(in, 0, y);

			jpeg_write_scanlines(&cinfo, &row, 1);
		}
	else {
		if (!(region = vips_region_new(in)))
			longjmp(err.jmp, 1);
		for (y = 0; y < in->Ysize; y += PICTOR_JPEG_STRIP) {
			r.left = 0;
			r.top = y;
			r.width = in->Xsize;
			r.height = VIPS_MIN(PICTOR_JPEG_STRIP, in->Ysize - y);
			if (vips_region_prepare(region, &r))
				longjmp(err.jmp, 1);
			for (i = 0; i < r.height; i++) {
				JSAMPROW row = VIPS_REGION_ADDR(region, 0, y + i);

				jpeg_write_scanlines(&cinfo, &row, 1);
			}
		}
		VIPS_UNREF(region);
	}
	jpeg_finish_compress(&cinfo);
	jpeg_destroy_compress(&cinfo);
	*buf = out;
	*len = outlen;

	return 0;
}

// pictor_jpegsave_libvips is vips_jpegsave with pictor_save's options:
// pictor_save's JPEG saver for the images pictor_jpegsave does not take,
// and the oracle its tests compare with.
int
pictor_jpegsave_libvips(VipsImage *in, int q, int progressive, void **buf,
	size_t *len)
{
	return vips_jpegsave_buffer(in, buf, len,
		"Q", q,
		"optimize_coding", TRUE,
		"interlace", progressive,
		"strip", TRUE,
		NULL);
}
