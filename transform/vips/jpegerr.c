#include "jpegerr.h"

#include <vips/vips.h>

static void
pictor_jpeg_error_exit(j_common_ptr cinfo)
{
	PictorJpegError *e = (PictorJpegError *) cinfo->err;
	char msg[JMSG_LENGTH_MAX];

	if (e->what) {
		(*cinfo->err->format_message)(cinfo, msg);
		vips_error("pictor", "%s: %s", e->what, msg);
	}
	longjmp(e->jmp, 1);
}

static void
pictor_jpeg_output_message(j_common_ptr cinfo)
{
	(void) cinfo;
}

struct jpeg_error_mgr *
pictor_jpeg_errors(PictorJpegError *e, const char *what)
{
	jpeg_std_error(&e->pub);
	e->pub.error_exit = pictor_jpeg_error_exit;
	e->pub.output_message = pictor_jpeg_output_message;
	e->what = what;
	return &e->pub;
}
