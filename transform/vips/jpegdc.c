// A JPEG decoder for the 1/8 scale only, the shrink-on-load of nearly
// every thumbnail of a large photo. At 1/8 libjpeg reduces each 8×8 block
// of a full-resolution component to its DC term (jpeg_idct_1x1), and each
// block of a 2×2-subsampled chroma component to 2×2 pixels
// (jpeg_idct_2x2), so that no upsampling is needed; almost all its time
// goes into the Huffman decoding of AC terms it then throws away. This
// decoder reads the same stream with a wider lookup table and skips those
// terms without extracting them, and computes the same arithmetic as
// libjpeg-turbo 2.1 (the IDCTs as its SSE2 code does, the colour
// conversion, the range limits), so its pixels are libjpeg's.
//
// It takes only what it can decode exactly: baseline or extended
// sequential Huffman, 8-bit, one scan of every component, grey or YCbCr
// with every component sampled alike or 4:2:0. libjpeg parses the headers
// (markers, tables, the colour space rules) and this file the entropy
// coded data, strictly: any irregularity (a bad code, a coefficient past
// the block, a restart marker out of order, bytes left over, the data
// ending early) gives up, and the caller decodes with libjpeg instead,
// which then reports or tolerates it as it always does.

#include <string.h>

#include "jpegdc.h"
#include "jpegerr.h"

// Bits of code looked up at once; longer codes take the slow path.
#define DC_FAST 11

typedef struct {
	// fast[bits] = code length << 8 | symbol, 0 when the code is longer.
	uint16_t fast[1 << DC_FAST];
	// skip[bits], for AC terms that are not kept: the bits to drop (the
	// code and the value after it) | the positions to advance << 6 (0:
	// end of block), 0 when the code is longer.
	uint16_t skip[1 << DC_FAST];
	int32_t maxcode[18]; // largest code of each length, -1 for none
	int32_t valoff[18];  // huffval index of a length's first code, less it
	uint8_t val[256];
} DcHuff;

typedef struct {
	const uint8_t *p, *end;
	uint64_t buf; // bits left-aligned
	int bits;     // bits in buf
	int fake;     // of which zeros made up past a marker or the end
} DcBits;

// dc_build is jpeg_make_d_derived_tbl: canonical codes from the counts.
static int
dc_build(const JHUFF_TBL *t, DcHuff *h, int dc)
{
	int len, i, n, p, code;
	int size[257];
	unsigned codes[257];

	if (!t)
		return -1;
	for (p = 0, len = 1; len <= 16; len++) {
		n = t->bits[len];
		if (n < 0 || p + n > 256)
			return -1;
		while (n--)
			size[p++] = len;
	}
	size[p] = 0;
	n = p;
	for (code = 0, p = 0, len = size[0]; size[p];) {
		while (size[p] == len)
			codes[p++] = code++;
		if ((unsigned) code >= (1u << len))
			return -1;
		code <<= 1;
		len++;
	}
	memset(h->fast, 0, sizeof(h->fast));
	memset(h->skip, 0, sizeof(h->skip));
	for (p = 0, len = 1; len <= 16; len++) {
		if (t->bits[len]) {
			h->valoff[len] = p - (int32_t) codes[p];
			p += t->bits[len];
			h->maxcode[len] = codes[p - 1];
		}
		else
			h->maxcode[len] = -1;
	}
	h->maxcode[17] = 0x7fffffff;
	h->valoff[17] = 0;
	for (p = 0; p < n; p++) {
		if (dc && t->huffval[p] > 15)
			return -1;
		if (size[p] <= DC_FAST) {
			int shift = DC_FAST - size[p];
			int base = codes[p] << shift;

			int r = t->huffval[p] >> 4, z = t->huffval[p] & 15;
			int adv = z ? r + 1 : r == 15 ? 16 : 0;

			for (i = 0; i < 1 << shift; i++) {
				h->fast[base + i] = size[p] << 8 | t->huffval[p];
				h->skip[base + i] = (size[p] + z) | adv << 6;
			}
		}
	}
	memcpy(h->val, t->huffval, 256);
	return 0;
}

static inline void
dc_fill(DcBits *b)
{
	while (b->bits <= 56) {
		unsigned c;

		if (b->p + 8 <= b->end && !b->fake) {
			uint64_t w;

			memcpy(&w, b->p, 8);
			// No 0xFF among the next 8 bytes (no zero byte in ~w):
			// take as many as fit at once.
			if ((((~w) - 0x0101010101010101ull) & w &
				0x8080808080808080ull) == 0) {
				int take = (64 - b->bits) >> 3;

				w = __builtin_bswap64(w);
				b->buf |= w >> b->bits;
				b->p += take;
				b->bits += take * 8;
				if (take < 8)
					b->buf &= ~0ull << (64 - b->bits);
				continue;
			}
		}
		c = 0;
		if (b->fake || b->p >= b->end)
			b->fake += 8;
		else if (b->p[0] != 0xFF) {
			c = *b->p++;
		}
		else if (b->p + 1 < b->end && b->p[1] == 0x00) {
			c = 0xFF;
			b->p += 2;
		}
		else
			b->fake += 8; // a marker: the data of this segment ends
		b->buf |= (uint64_t) c << (56 - b->bits);
		b->bits += 8;
	}
}

// dc_decode returns the next symbol, or -1 for a code not in the table.
static inline int
dc_decode(DcBits *b, const DcHuff *h)
{
	unsigned e;
	int len;
	int32_t code;

	if (b->bits < 16)
		dc_fill(b);
	e = h->fast[b->buf >> (64 - DC_FAST)];
	if (e) {
		b->buf <<= e >> 8;
		b->bits -= e >> 8;
		return e & 0xff;
	}
	for (len = DC_FAST + 1; len <= 16; len++) {
		code = (int32_t) (b->buf >> (64 - len));
		if (code <= h->maxcode[len]) {
			b->buf <<= len;
			b->bits -= len;
			return h->val[(code + h->valoff[len]) & 0xff];
		}
	}
	return -1;
}

// dc_receive takes s bits and extends them to a signed value (HUFF_EXTEND).
static inline int
dc_receive(DcBits *b, int s)
{
	int v;

	if (!s)
		return 0;
	if (b->bits < s)
		dc_fill(b);
	v = (int) (b->buf >> (64 - s));
	b->buf <<= s;
	b->bits -= s;
	return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

static inline void
dc_skip(DcBits *b, int s)
{
	if (b->bits < s)
		dc_fill(b);
	b->buf <<= s;
	b->bits -= s;
}

// libjpeg's post-IDCT range limit: x + 128 clamped, wrapping past ±512.
static inline uint8_t
dc_idct_limit(int x)
{
	int t = x & 1023;

	if (t < 128)
		return t + 128;
	if (t < 512)
		return 255;
	if (t < 896)
		return 0;
	return t - 896;
}

// dc_idct_2x2 is jsimd_idct_2x2_sse2 (jidctred-sse2.asm), libjpeg-turbo's
// SSE2 build of jpeg_idct_2x2: the dequantised terms are 16-bit products,
// the first pass is packed back to 16 bits with saturation, the output
// saturated where the C code's table would wrap. blk holds the
// coefficients in natural order, q the quantisation table.
static void
dc_idct_2x2(const int16_t *blk, const uint16_t *q, uint8_t out[2][2])
{
	static const int cols[5] = { 0, 1, 3, 5, 7 };
	int32_t ws[2][8];
	int16_t w16[2][8];
	int c, r, i;

	for (i = 0; i < 5; i++) {
		int16_t z[8];
		int32_t tmp10, tmp0;

		c = cols[i];
		for (r = 0; r < 8; r++)
			z[r] = (int16_t) (blk[r * 8 + c] * q[r * 8 + c]);
		tmp10 = (int32_t) z[0] << (13 + 2);
		tmp0 = (int32_t) z[7] * -5906 + (int32_t) z[5] * 6967 +
			(int32_t) z[3] * -10426 + (int32_t) z[1] * 29692;
		ws[0][c] = (tmp10 + tmp0 + (1 << (13 - 2 + 2 - 1))) >>
			(13 - 2 + 2);
		ws[1][c] = (tmp10 - tmp0 + (1 << (13 - 2 + 2 - 1))) >>
			(13 - 2 + 2);
	}
	for (r = 0; r < 2; r++)
		for (i = 0; i < 5; i++) {
			c = cols[i];
			w16[r][c] = (int16_t) VIPS_CLIP(-32768, ws[r][c], 32767);
		}
	for (r = 0; r < 2; r++) {
		int32_t tmp10 = (int32_t) w16[r][0] << (13 + 2);
		int32_t tmp0 = (int32_t) w16[r][7] * -5906 +
			(int32_t) w16[r][5] * 6967 +
			(int32_t) w16[r][3] * -10426 +
			(int32_t) w16[r][1] * 29692;
		const int sh = 13 + 2 + 3 + 2;
		int x0 = (tmp10 + tmp0 + (1 << (sh - 1))) >> sh;
		int x1 = (tmp10 - tmp0 + (1 << (sh - 1))) >> sh;

		// Packed with signed saturation, then centred: a clamp.
		out[r][0] = VIPS_CLIP(-128, x0, 127) + 128;
		out[r][1] = VIPS_CLIP(-128, x1, 127) + 128;
	}
}

// The zigzag order: natural position of the k-th coefficient.
static const uint8_t dc_natural[64] = {
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

typedef struct {
	int h, v;          // sampling factors
	int bw;            // blocks across the component, MCU padding included
	int full;          // 1: coefficients kept for the 2×2 IDCT
	const uint16_t *q; // quantisation table, natural order
	DcHuff *dc, *ac;
	int pred;          // DC prediction
	uint8_t *rows;     // this MCU row's output: v (2v for 4:2:0 chroma) rows of w
	int w;             // its width in pixels
} DcComp;

// dc_block decodes one block of c into its output at block column bx,
// block row by within the MCU row. 0, or -1 to give up.
static inline int
dc_block(DcBits *b, DcComp *c, int bx, int by)
{
	int s, k, r, dc;

	if ((s = dc_decode(b, c->dc)) < 0 || s > 15)
		return -1;
	c->pred += dc_receive(b, s);
	if (c->pred < -32768 || c->pred > 32767)
		return -1;
	if (!c->full) {
		const uint16_t *skip = c->ac->skip;

		for (k = 1; k < 64;) {
			unsigned e;

			if (b->bits < 32)
				dc_fill(b);
			e = skip[b->buf >> (64 - DC_FAST)];
			if (e) {
				b->buf <<= e & 63;
				b->bits -= e & 63;
				if (!(e >> 6))
					break;
				k += e >> 6;
				continue;
			}
			// A code longer than the table.
			if ((s = dc_decode(b, c->ac)) < 0)
				return -1;
			r = s >> 4;
			s &= 15;
			if (s) {
				k += r + 1;
				dc_skip(b, s);
			}
			else if (r == 15)
				k += 16;
			else
				break;
		}
		if (k > 64)
			return -1;
		// jpeg_idct_1x1: the DC term dequantised (a 16-bit coefficient),
		// descaled by 3, range limited.
		dc = (int16_t) c->pred * (int) c->q[0];
		c->rows[by * c->w + bx] = dc_idct_limit((dc + 4) >> 3);
	}
	else {
		int16_t blk[64];
		uint8_t px[2][2];

		memset(blk, 0, sizeof(blk));
		blk[0] = (int16_t) c->pred;
		for (k = 1; k < 64; k++) {
			if ((s = dc_decode(b, c->ac)) < 0)
				return -1;
			r = s >> 4;
			s &= 15;
			if (s) {
				k += r;
				if (k > 63)
					return -1;
				blk[dc_natural[k]] = (int16_t) dc_receive(b, s);
			}
			else if (r == 15)
				k += 15;
			else
				break;
		}
		if (k > 64)
			return -1;
		dc_idct_2x2(blk, c->q, px);
		c->rows[(2 * by) * c->w + 2 * bx] = px[0][0];
		c->rows[(2 * by) * c->w + 2 * bx + 1] = px[0][1];
		c->rows[(2 * by + 1) * c->w + 2 * bx] = px[1][0];
		c->rows[(2 * by + 1) * c->w + 2 * bx + 1] = px[1][1];
	}
	// The data must not have run past its end into made-up bits.
	return b->bits < b->fake ? -1 : 0;
}

// dc_restart checks and skips the restart marker RSTn.
static int
dc_restart(DcBits *b, int n, DcComp *comps, int nc)
{
	int i;

	// Only the padding of the last byte may be left.
	if (b->bits - b->fake >= 8)
		return -1;
	// The buffer stops before a marker; bytes after the data read so far
	// are the marker itself.
	if (b->p + 2 > b->end || b->p[0] != 0xFF || b->p[1] != 0xD0 + n)
		return -1;
	b->p += 2;
	b->buf = 0;
	b->bits = b->fake = 0;
	for (i = 0; i < nc; i++)
		comps[i].pred = 0;
	return 0;
}

static void
dc_emit(j_common_ptr cinfo, int level)
{
	if (level < 0)
		cinfo->err->num_warnings++;
}

int
pictor_jpeg_dc(const void *data, size_t len, PictorJpegRow row, void *a)
{
	struct jpeg_decompress_struct cinfo;
	PictorJpegError err;
	DcHuff *volatile tables = NULL;
	uint8_t *volatile mem = NULL;
	volatile int result = -1;
	DcComp comps[3];
	DcBits b;
	int nc, ci, i, mcux, mcuy, mcus_x, mcus_y, maxh, maxv, y;
	int restart, todo, rst;
	uint8_t *rgb;
	int crr[256], cbb[256];
	int32_t crg[256], cbg[256];

	cinfo.err = pictor_jpeg_errors(&err, NULL);
	err.pub.emit_message = dc_emit;
	if (setjmp(err.jmp)) {
		jpeg_destroy_decompress(&cinfo);
		g_free(tables);
		g_free(mem);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, len);
	jpeg_read_header(&cinfo, TRUE);
	cinfo.scale_num = 1;
	cinfo.scale_denom = 8;
	jpeg_calc_output_dimensions(&cinfo);

	nc = cinfo.num_components;
	if (err.pub.num_warnings || cinfo.progressive_mode ||
		cinfo.arith_code || cinfo.data_precision != 8 ||
		cinfo.comps_in_scan != nc || cinfo.Ss != 0 || cinfo.Se != 63 ||
		cinfo.Ah != 0 || cinfo.Al != 0 ||
		!((nc == 1 && cinfo.out_color_space == JCS_GRAYSCALE) ||
			(nc == 3 && cinfo.jpeg_color_space == JCS_YCbCr &&
				cinfo.out_color_space == JCS_RGB)))
		longjmp(err.jmp, 1);

	maxh = cinfo.max_h_samp_factor;
	maxv = cinfo.max_v_samp_factor;
	tables = g_new(DcHuff, 2 * nc);
	for (ci = 0; ci < nc; ci++) {
		jpeg_component_info *cp = cinfo.cur_comp_info[ci];
		DcComp *c = &comps[ci];
		JQUANT_TBL *qt;

		if (cp != &cinfo.comp_info[ci])
			longjmp(err.jmp, 1);
		c->h = cp->h_samp_factor;
		c->v = cp->v_samp_factor;
		// Alike (every component maxh × maxv), or 4:2:0 chroma; and
		// libjpeg's scaled IDCT sizes as this decoder assumes them.
		c->full = c->h != maxh || c->v != maxv;
		if (c->full && !(nc == 3 && ci > 0 && c->h == 1 && c->v == 1 &&
			maxh == 2 && maxv == 2))
			longjmp(err.jmp, 1);
		if (cp->DCT_scaled_size != (c->full ? 2 : 1))
			longjmp(err.jmp, 1);
		if (cp->quant_tbl_no < 0 || cp->quant_tbl_no >= NUM_QUANT_TBLS ||
			!(qt = cinfo.quant_tbl_ptrs[cp->quant_tbl_no]))
			longjmp(err.jmp, 1);
		c->q = qt->quantval;
		c->dc = &tables[2 * ci];
		c->ac = &tables[2 * ci + 1];
		if (cp->dc_tbl_no < 0 || cp->dc_tbl_no >= NUM_HUFF_TBLS ||
			cp->ac_tbl_no < 0 || cp->ac_tbl_no >= NUM_HUFF_TBLS ||
			dc_build(cinfo.dc_huff_tbl_ptrs[cp->dc_tbl_no], c->dc, 1) ||
			dc_build(cinfo.ac_huff_tbl_ptrs[cp->ac_tbl_no], c->ac, 0))
			longjmp(err.jmp, 1);
		c->pred = 0;
	}
	for (i = 0; i < 256; i++) {
		// jdcolor.c build_ycc_rgb_table.
		int32_t x = i - 128;

		crr[i] = (int) ((91881 * x + 32768) >> 16);
		cbb[i] = (int) ((116130 * x + 32768) >> 16);
		crg[i] = -46802 * x;
		cbg[i] = -22554 * x + 32768;
	}

	// One scan of every component, interleaved: an MCU is maxh × maxv
	// blocks of each full component and one of each 4:2:0 chroma. A
	// single-component scan is not interleaved: its MCU is one block,
	// and the component has no padding blocks.
	if (nc == 1) {
		maxh = maxv = 1;
		comps[0].h = comps[0].v = 1;
		mcus_x = (cinfo.image_width + 7) / 8;
		mcus_y = (cinfo.image_height + 7) / 8;
	}
	else {
		mcus_x = (cinfo.image_width + 8 * maxh - 1) / (8 * maxh);
		mcus_y = (cinfo.image_height + 8 * maxv - 1) / (8 * maxv);
	}
	for (ci = 0; ci < nc; ci++) {
		DcComp *c = &comps[ci];

		c->bw = mcus_x * c->h;
		c->w = c->bw * (c->full ? 2 : 1);
	}
	// Per MCU row: maxv output rows of every component, then RGB.
	mem = g_malloc((size_t) nc * maxv * comps[0].w + 3 * comps[0].w + 64);
	for (ci = 0; ci < nc; ci++)
		comps[ci].rows = mem + (size_t) ci * maxv * comps[0].w;
	rgb = mem + (size_t) nc * maxv * comps[0].w;

	b.p = cinfo.src->next_input_byte;
	b.end = b.p + cinfo.src->bytes_in_buffer;
	b.buf = 0;
	b.bits = b.fake = 0;
	restart = cinfo.restart_interval;
	todo = restart;
	rst = 0;
	y = 0;
	for (mcuy = 0; mcuy < mcus_y; mcuy++) {
		int r;

		for (mcux = 0; mcux < mcus_x; mcux++) {
			if (restart) {
				if (todo == 0) {
					if (dc_restart(&b, rst, comps, nc))
						longjmp(err.jmp, 1);
					rst = (rst + 1) & 7;
					todo = restart;
				}
				todo--;
			}
			for (ci = 0; ci < nc; ci++) {
				DcComp *c = &comps[ci];
				int bx, by;

				for (by = 0; by < c->v; by++)
					for (bx = 0; bx < c->h; bx++)
						if (dc_block(&b, c,
							mcux * c->h + bx, by))
							longjmp(err.jmp, 1);
			}
		}
		for (r = 0; r < maxv && y < (int) cinfo.output_height; r++, y++) {
			const uint8_t *yr = comps[0].rows + r * comps[0].w;

			if (nc == 1) {
				row(a, yr);
				continue;
			}
			const uint8_t *cb = comps[1].rows + r * comps[1].w;
			const uint8_t *cr = comps[2].rows + r * comps[2].w;

			for (i = 0; i < (int) cinfo.output_width; i++) {
				int yy = yr[i];
				int g = yy + (int) ((cbg[cb[i]] + crg[cr[i]]) >> 16);
				int rr = yy + crr[cr[i]];
				int bb = yy + cbb[cb[i]];

				rgb[3 * i] = VIPS_CLIP(0, rr, 255);
				rgb[3 * i + 1] = VIPS_CLIP(0, g, 255);
				rgb[3 * i + 2] = VIPS_CLIP(0, bb, 255);
			}
			row(a, rgb);
		}
	}
	// All of the data, nothing but padding after it, then the end of
	// the image (fill bytes allowed). Anything else (extraneous bytes,
	// another scan, the file cut short) is left to libjpeg, which warns
	// of it or fails as libvips expects.
	while (b.p + 1 < b.end && b.p[0] == 0xFF && b.p[1] == 0xFF)
		b.p++;
	if (b.bits - b.fake >= 8 ||
		!(b.p + 1 < b.end && b.p[0] == 0xFF && b.p[1] == 0xD9))
		longjmp(err.jmp, 1);
	result = 0;

	jpeg_destroy_decompress(&cinfo);
	g_free(tables);
	g_free(mem);
	return result;
}
