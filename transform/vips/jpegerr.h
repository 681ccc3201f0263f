// One libjpeg error manager for Pictor's own libjpeg calls (the decoders
// in resample.c and jpegdc.c, the writer in jpegsave.c): errors jump back
// to the caller's setjmp, messages are not printed.
#ifndef PICTOR_VIPS_JPEGERR_H
#define PICTOR_VIPS_JPEGERR_H

#include <stdio.h>

#include <jpeglib.h>
#include <setjmp.h>

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jmp;
	// what names the call in libvips' error buffer ("jpeg: …"); NULL
	// leaves the buffer alone (jpegdc.c: a refusal is not an error).
	const char *what;
} PictorJpegError;

// pictor_jpeg_errors sets e up and returns its jpeg_error_mgr, for
// cinfo.err; the caller then does setjmp(e->jmp).
struct jpeg_error_mgr *pictor_jpeg_errors(PictorJpegError *e, const char *what);

#endif
