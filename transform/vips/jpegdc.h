// The 1/8-scale JPEG decoder (jpegdc.c). Same conventions as bridge.h.
#ifndef PICTOR_VIPS_JPEGDC_H
#define PICTOR_VIPS_JPEGDC_H

#include <stdint.h>
#include <stdlib.h>
#include <vips/vips.h>

// PictorJpegRow takes each output row, top to bottom: output_width
// samples of 3 (RGB) or 1 (grey) bands.
typedef void (*PictorJpegRow)(void *a, const uint8_t *row);

// pictor_jpeg_dc decodes data at 1/8 scale, libjpeg's output width and
// height (rounded up), handing row its rows. -1, with nothing in libvips'
// error buffer, when it does not take the file or gives up on it: the
// caller decodes with libjpeg then, whatever rows row has seen.
int pictor_jpeg_dc(const void *data, size_t len, PictorJpegRow row, void *a);

#endif
