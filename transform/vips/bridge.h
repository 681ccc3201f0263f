// C glue for package vips. libvips' API is mostly varargs functions, which
// cgo cannot call, so every operation Pictor uses gets a fixed-signature
// wrapper here. The wrappers return 0 on success and -1 on failure with the
// reason in libvips' error buffer, except where noted.
#ifndef PICTOR_VIPS_BRIDGE_H
#define PICTOR_VIPS_BRIDGE_H

#include <stdlib.h>
#include <vips/vips.h>

// Return value of the load and probe wrappers when the bytes are in a
// format outside the allowlist (or in none at all).
#define PICTOR_UNSUPPORTED (-2)

// The EXIF tags Header reports, in this order (see pictor_exif_fields).
#define PICTOR_EXIF_N 5
#define PICTOR_EXIF_LEN 256

typedef struct {
	int width, height, bands;
	int has_alpha;
	int orientation;
	int has_icc;
	int pages;
	int interlaced;  // progressive JPEG, Adam7 PNG, interlaced GIF
	int band_bytes;  // bytes a sample: 1 for 8-bit, 2 for 16-bit
	char loader[64];
	char interpretation[32];
	char exif[PICTOR_EXIF_N][PICTOR_EXIF_LEN];
	// heifload's "heif-compression": "hevc" (HEIC), "av1" (AVIF), …;
	// empty for other loaders.
	char compression[16];
} PictorHeader;

int pictor_startup(int concurrency);
int pictor_version(int field);
void pictor_release_memory(void);

int pictor_probe_memory(const void *data, size_t len, PictorHeader *h);
int pictor_probe_file(const char *path, PictorHeader *h);
// kind: 0 to sniff the bytes, else the loader a probe found
// (1 JPEG, 2 PNG, 3 WebP, 4 GIF, 5 HEIF: load.c's KIND_* values).
// page, n: the first frame and how many (-1: all) of a GIF or WebP; other
// formats ignore them.
int pictor_load(const void *data, size_t len, int kind, int shrink,
	double scale, int page, int n, int sequential, int borrow,
	VipsImage **out);

void pictor_unref(VipsImage *im);
int pictor_width(VipsImage *im);
int pictor_height(VipsImage *im);
int pictor_bands(VipsImage *im);
int pictor_has_alpha(VipsImage *im);
int pictor_orientation(VipsImage *im);
const char *pictor_format_nick(VipsImage *im);
const char *pictor_interpretation_nick(VipsImage *im);
int pictor_page_height(VipsImage *im);
int pictor_loop(VipsImage *im);
int pictor_delays(VipsImage *im, int *delays, int max);

int pictor_autorot(VipsImage *in, VipsImage **out);
int pictor_to_srgb(VipsImage *in, VipsImage **out);
int pictor_resize(VipsImage *in, VipsImage **out, double hscale, double vscale);
int pictor_shrink(VipsImage *in, VipsImage **out, int factor);
int pictor_extract_area(VipsImage *in, VipsImage **out,
	int left, int top, int width, int height);
int pictor_smartcrop(VipsImage *in, VipsImage **out, int width, int height);
int pictor_embed(VipsImage *in, VipsImage **out,
	int left, int top, int width, int height, int r, int g, int b);
int pictor_flatten(VipsImage *in, VipsImage **out, int r, int g, int b);
int pictor_gaussblur(VipsImage *in, VipsImage **out, double sigma);
int pictor_sharpen(VipsImage *in, VipsImage **out);
int pictor_grayscale(VipsImage *in, VipsImage **out);
int pictor_join_frames(VipsImage **in, int n, VipsImage **out);

// Effects and layers (fx.c).
int pictor_rot(VipsImage *in, VipsImage **out, int degrees);
int pictor_flip(VipsImage *in, VipsImage **out, int horizontal);
int pictor_find_trim(VipsImage *in, int *left, int *top, int *width, int *height);
int pictor_pixelate(VipsImage *in, VipsImage **out, int block);
int pictor_tone(VipsImage *in, VipsImage **out,
	int brightness, int contrast, int saturation);
int pictor_round(VipsImage *in, VipsImage **out, int rx, int ry);
int pictor_blur_pad(VipsImage *in, VipsImage **out,
	int left, int top, int width, int height, double sigma);
int pictor_composite(VipsImage *in, VipsImage *overlay, VipsImage **out,
	int left, int top);
int pictor_opacity(VipsImage *in, VipsImage **out, int percent);
int pictor_tile(VipsImage *in, VipsImage **out, int width, int height);
int pictor_text(VipsImage **out, const char *text, const char *font, int size,
	int wrap, int r, int g, int b);

// The savers pictor_save chooses from.
enum {
	PICTOR_SAVE_JPEG,
	PICTOR_SAVE_PNG,
	PICTOR_SAVE_WEBP,
	PICTOR_SAVE_AVIF,
	PICTOR_SAVE_GIF,
	PICTOR_SAVE_JXL,
};

// PictorSave is what pictor_save passes to the saver; a saver ignores the
// fields it has no option for.
typedef struct {
	int saver;     // PICTOR_SAVE_*
	int q;         // JPEG, WebP, AVIF, JXL quality, 1..100
	int effort;    // WebP 0..6, AVIF 0..9, JXL 3..9: CPU spent to save bytes
	int interlace; // JPEG progressive, PNG Adam7
	// An animation (GIF, WebP) when page_height > 0: frames of that
	// height stacked vertically, shown for delays[i] ms each (n_delays
	// of them), looping loop times (0: forever).
	int page_height;
	const int *delays;
	int n_delays;
	int loop;
} PictorSave;

int pictor_save(VipsImage *in, const PictorSave *o, void **buf, size_t *len);

// JPEG output written by libjpeg directly (jpegsave.c), byte for byte as
// vips_jpegsave with "strip" and "optimize_coding" writes it, for uchar
// sRGB and grey images (pictor_jpegsave_takes).
int pictor_jpegsave_takes(VipsImage *in);
int pictor_jpegsave(VipsImage *in, int q, int progressive, void **buf,
	size_t *len);
int pictor_jpegsave_libvips(VipsImage *in, int q, int progressive, void **buf,
	size_t *len);

#endif
