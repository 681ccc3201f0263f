// The resize engine: resample.Plan computed on the CPU in one pass over
// the source rows. Every step keeps libvips' arithmetic exactly (see
// transform/internal/resample, whose Go reference and whose GPU kernels
// compute the same plan), so the result equals theirs byte for byte:
//
//	premultiply   a float product truncated to uchar, here a table
//	shrinkv       integer sums of k rows, the last row repeated, rounded
//	reducev       orc's 2.6 fixed point: 16-bit saturating sums
//	shrinkh       integer sums of k pixels, rounded
//	reduceh       12-bit fixed point in int
//	unpremultiply a float product truncated to uchar, here a table
//
// Rows are pushed as they are decoded; the vertical steps keep a window of
// only the rows their taps reach, so memory is a few rows, never the
// image, and no step runs on libvips' thread pool.

#include <string.h>

#include "raw.h"
#include "resample.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PICTOR_X86 1
#endif

// The premultiply and unpremultiply tables, [alpha][value].
static uint8_t pictor_pre_lut[256][256];
static uint8_t pictor_unpre_lut[256][256];

// pictor_cast_uchar is libvips' float to uchar cast: clip, then truncate.
static uint8_t
pictor_cast_uchar(float v)
{
	double d = v;

	if (d > 255.0)
		d = 255.0;
	if (d < 0.0)
		d = 0.0;
	return (uint8_t) (int) d;
}

// The CPU has SSE4.1 (x86-64-v2), for the horizontal reduce. (An AVX2
// vertical reduce was tried: it made the SSE code after it run at half
// speed on this project's machines, and gained nothing overall.)
static int pictor_sse41;
#ifdef PICTOR_X86
static int pictor_fits16(const PictorAxis *a);
static void *pictor_weight_pairs(const PictorAxis *a);
#endif

static gpointer
pictor_make_luts(gpointer data)
{
	int a, v;

	(void) data;
#ifdef PICTOR_X86
	pictor_sse41 = __builtin_cpu_supports("sse4.1");
#endif
	for (a = 0; a < 256; a++) {
		// premultiply.c: the factor is a float from a double
		// division; unpremultiply.c: likewise, 0 where alpha is 0.
		float na = (float) ((double) (float) a / 255.0);
		float factor = a == 0 ? 0.0f : (float) (255.0 / (double) a);

		for (v = 0; v < 256; v++) {
			pictor_pre_lut[a][v] = pictor_cast_uchar((float) v * na);
			pictor_unpre_lut[a][v] =
				pictor_cast_uchar(factor * (float) v);
		}
	}
	return NULL;
}

static void
pictor_luts(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, pictor_make_luts, NULL);
}

// The engine's state between rows.
typedef struct {
	const PictorPlan *p;
	int nb, rowlen;       // bands; samples in a source row
	int y_in;             // source rows pushed so far

	uint8_t *pre;         // a premultiplied source row
	uint32_t *acc;        // shrinkv sums
	int nacc;             // rows in them
	uint8_t *avg;         // a shrunk row
	int n_shrunk;         // shrunk rows made so far

	uint8_t *ring;        // room for reducev's window of shrunk rows
	const uint8_t **rows; // the window: rows in ring, or the caller's
	int ring_n;           // rows it holds
	const uint8_t **taps; // the rows one output row reads
	uint8_t *vrow;        // a reducev output row
	int y_v;              // the next reducev output row

	uint8_t *hpad;        // the horizontal steps' input, edges repeated
	int pad_l, pad_r;     // pixels of edge before and after it
	int hlen;             // pixels between the pads
	int vector_h;         // the horizontal reduce may use SSE4.1
	void *pairs;          // its weights two taps a lane, broadcast

	VipsImage *out;
	int y_out;            // output rows written
} PictorEngine;

static void
pictor_engine_free(PictorEngine *e)
{
	if (!e)
		return;
	g_free(e->pre);
	g_free(e->acc);
	g_free(e->avg);
	g_free(e->ring);
	g_free(e->rows);
	g_free(e->taps);
	g_free(e->vrow);
	g_free(e->hpad);
	free(e->pairs);
	VIPS_UNREF(e->out);
	g_free(e);
}

// pictor_check_axis refuses tables that would send a tap outside the
// rows or pixels the engine keeps: they come from Go, but a wrong plan
// must fail, not read out of bounds.
static int
pictor_check_axis(const PictorAxis *a, int in, int vertical)
{
	int i;

	if (a->shrink < 1 || a->shrunk != (in + a->shrink - 1) / a->shrink ||
		a->out < 1 || a->points < 0 || a->points > 1000)
		return -1;
	if (a->points == 0)
		return a->out == a->shrunk ? 0 : -1;
	if (!a->start || !a->phase || (vertical ? !a->fixed : !a->wint))
		return -1;
	for (i = 0; i < a->out; i++) {
		if (a->phase[i] < 0 || a->phase[i] > 64)
			return -1;
		if (a->start[i] < -a->points || a->start[i] > a->shrunk)
			return -1;
		if (i > 0 && a->start[i] < a->start[i - 1])
			return -1;
	}
	return 0;
}

static PictorEngine *
pictor_engine_new(const PictorPlan *p, VipsImage *like)
{
	PictorEngine *e;
	const PictorAxis *h = &p->h;
	int i;

	if (p->width < 1 || p->height < 1 || p->bands < 1 || p->bands > 4 ||
		(p->alpha && p->bands < 2) ||
		pictor_check_axis(&p->v, p->height, 1) ||
		pictor_check_axis(&p->h, p->width, 0)) {
		vips_error("pictor", "resample: bad plan for %d×%d×%d",
			p->width, p->height, p->bands);
		return NULL;
	}
	pictor_luts();

	e = g_new0(PictorEngine, 1);
	e->p = p;
	e->nb = p->bands;
	e->rowlen = p->width * p->bands;
	if (p->alpha)
		e->pre = g_malloc(e->rowlen);
	if (p->v.shrink > 1) {
		e->acc = g_new0(uint32_t, e->rowlen);
		e->avg = g_malloc(e->rowlen);
	}
	if (p->v.points > 0) {
		e->ring_n = p->v.points + 2;
		e->ring = g_malloc((size_t) e->ring_n * e->rowlen);
		e->rows = g_new(const uint8_t *, e->ring_n);
		e->taps = g_new(const uint8_t *, p->v.points);
		e->vrow = g_malloc(e->rowlen);
	}
	e->hlen = h->shrunk;
	if (h->points > 0) {
		for (i = 0; i < h->out; i++) {
			e->pad_l = VIPS_MAX(e->pad_l, -h->start[i]);
			e->pad_r = VIPS_MAX(e->pad_r,
				h->start[i] + h->points - h->shrunk);
		}
	}
#ifdef PICTOR_X86
	e->vector_h = pictor_sse41 && h->points > 0 &&
		(e->nb == 3 || e->nb == 4) && pictor_fits16(h);
	if (e->vector_h)
		e->pairs = pictor_weight_pairs(h);
#endif
	if (h->shrink > 1 || h->points > 0)
		// The vector reduce reads up to 8 bytes past its last tap.
		e->hpad = g_malloc((size_t) (e->pad_l + e->hlen + e->pad_r) *
			e->nb + 16);

	e->out = vips_image_new_memory();
	vips_image_init_fields(e->out, h->out, p->v.out, e->nb,
		VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
		like ? like->Type : (e->nb < 3 ?
			VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB),
		like ? like->Xres : 1.0, like ? like->Yres : 1.0);
	if (like)
		pictor_take_meta(like, e->out);
	if (vips_image_write_prepare(e->out)) {
		pictor_engine_free(e);
		return NULL;
	}

	return e;
}

// pictor_premultiply writes row premultiplied into out.
static void
pictor_premultiply(const uint8_t *restrict row, uint8_t *restrict out,
	int width, int nb)
{
	int x, b;

	for (x = 0; x < width; x++) {
		const uint8_t *lut = pictor_pre_lut[row[nb - 1]];

		for (b = 0; b < nb - 1; b++)
			out[b] = lut[row[b]];
		out[nb - 1] = row[nb - 1];
		row += nb;
		out += nb;
	}
}

static void
pictor_unpremultiply(uint8_t *restrict row, int width, int nb)
{
	int x, b;

	for (x = 0; x < width; x++) {
		const uint8_t *lut = pictor_unpre_lut[row[nb - 1]];

		for (b = 0; b < nb - 1; b++)
			row[b] = lut[row[b]];
		row += nb;
	}
}

// pictor_accumulate adds row to acc, times times.
static void
pictor_accumulate(uint32_t *restrict acc, const uint8_t *restrict row,
	int n, uint32_t times)
{
	int i = 0;

#ifdef __SSE2__
	if (times == 1) {
		const __m128i zero = _mm_setzero_si128();

		for (; i + 16 <= n; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *) (row + i));
			__m128i lo = _mm_unpacklo_epi8(v, zero);
			__m128i hi = _mm_unpackhi_epi8(v, zero);
			__m128i *a = (__m128i *) (acc + i);

			_mm_storeu_si128(a, _mm_add_epi32(_mm_loadu_si128(a),
				_mm_unpacklo_epi16(lo, zero)));
			_mm_storeu_si128(a + 1, _mm_add_epi32(
				_mm_loadu_si128(a + 1),
				_mm_unpackhi_epi16(lo, zero)));
			_mm_storeu_si128(a + 2, _mm_add_epi32(
				_mm_loadu_si128(a + 2),
				_mm_unpacklo_epi16(hi, zero)));
			_mm_storeu_si128(a + 3, _mm_add_epi32(
				_mm_loadu_si128(a + 3),
				_mm_unpackhi_epi16(hi, zero)));
		}
	}
#endif
	for (; i < n; i++)
		acc[i] += times * row[i];
}

// pictor_reducev_row is reducev.cpp's orc path for one output row: a
// 16-bit sum from 32, each tap's 16-bit product added with saturation,
// shifted right by 6 and narrowed to uchar with saturation. The vector
// path does exactly that, 16 samples at a time.
static void
pictor_reducev_row(const uint8_t **rows, const int16_t *c, int n, int len,
	uint8_t *restrict out)
{
	int e = 0, i;

#ifdef __SSE2__
	const __m128i zero = _mm_setzero_si128();
	const __m128i half = _mm_set1_epi16(32);
	__m128i w[n];

	for (i = 0; i < n; i++)
		w[i] = _mm_set1_epi16(c[i]);
	for (; e + 16 <= len; e += 16) {
		__m128i lo = half, hi = half;

		for (i = 0; i < n; i++) {
			__m128i v = _mm_loadu_si128(
				(const __m128i *) (rows[i] + e));

			lo = _mm_adds_epi16(lo,
				_mm_mullo_epi16(_mm_unpacklo_epi8(v, zero), w[i]));
			hi = _mm_adds_epi16(hi,
				_mm_mullo_epi16(_mm_unpackhi_epi8(v, zero), w[i]));
		}
		lo = _mm_srai_epi16(lo, 6);
		hi = _mm_srai_epi16(hi, 6);
		_mm_storeu_si128((__m128i *) (out + e), _mm_packus_epi16(lo, hi));
	}
#endif
	for (; e < len; e++) {
		int32_t sum = 32;

		for (i = 0; i < n; i++) {
			sum += (int16_t) (rows[i][e] * c[i]);
			sum = VIPS_CLIP(-32768, sum, 32767);
		}
		sum >>= 6;
		out[e] = VIPS_CLIP(0, sum, 255);
	}
}


// pictor_shrinkh_row is shrinkh.c for uchar: the average of k pixels, the
// last pixel repeated past the edge.
static void
pictor_shrinkh_row(const uint8_t *restrict in, int in_w, int k, int nb,
	uint8_t *restrict out, int out_w)
{
	int x, j, b;

	for (x = 0; x < out_w; x++) {
		uint32_t sum[4] = { 0, 0, 0, 0 };

		for (j = 0; j < k; j++) {
			const uint8_t *p = in + VIPS_MIN(x * k + j, in_w - 1) * nb;

			for (b = 0; b < nb; b++)
				sum[b] += p[b];
		}
		for (b = 0; b < nb; b++)
			out[x * nb + b] = (sum[b] + k / 2) / k;
	}
}

#define PICTOR_REDUCEH_ROUND(S) \
	((uint8_t) VIPS_CLIP(0, ((S) + 2048) >> 12, 255))

// pictor_reduceh_row is reduceh.cpp's reduceh_unsigned_int_tab: int sums
// of 12-bit weights, rounded and clipped. in has the taps' edge copies.
static void
pictor_reduceh_row(const uint8_t *restrict in, const PictorAxis *a, int nb,
	uint8_t *restrict out)
{
	const int n = a->points;
	int x, i, b;

	for (x = 0; x < a->out; x++) {
		const int32_t *c = a->wint + a->phase[x] * n;
		const uint8_t *p = in + a->start[x] * nb;

		switch (nb) {
		case 3: {
			int32_t s0 = 0, s1 = 0, s2 = 0;

			for (i = 0; i < n; i++, p += 3) {
				s0 += c[i] * p[0];
				s1 += c[i] * p[1];
				s2 += c[i] * p[2];
			}
			out[0] = PICTOR_REDUCEH_ROUND(s0);
			out[1] = PICTOR_REDUCEH_ROUND(s1);
			out[2] = PICTOR_REDUCEH_ROUND(s2);
			break;
		}
		case 4: {
			int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

			for (i = 0; i < n; i++, p += 4) {
				s0 += c[i] * p[0];
				s1 += c[i] * p[1];
				s2 += c[i] * p[2];
				s3 += c[i] * p[3];
			}
			out[0] = PICTOR_REDUCEH_ROUND(s0);
			out[1] = PICTOR_REDUCEH_ROUND(s1);
			out[2] = PICTOR_REDUCEH_ROUND(s2);
			out[3] = PICTOR_REDUCEH_ROUND(s3);
			break;
		}
		default:
			for (b = 0; b < nb; b++) {
				int32_t s = 0;

				for (i = 0; i < n; i++)
					s += c[i] * p[i * nb + b];
				out[b] = PICTOR_REDUCEH_ROUND(s);
			}
		}
		out += nb;
	}
}

#ifdef PICTOR_X86
// pictor_reduceh_row_sse41 is pictor_reduceh_row for 3 and 4 bands with
// weights that fit 16 bits: two taps at a time, each band's two samples
// side by side, multiplied and summed in pairs (pmaddwd). The sums are the
// same integers in another order, so the result is the same.
__attribute__((target("sse4.1"))) static void
pictor_reduceh_row_sse41(const uint8_t *restrict in, const PictorAxis *a,
	const __m128i *pairs, int nb, uint8_t *restrict out)
{
	const int n = a->points;
	const int npairs = (n + 1) / 2;
	// Two pixels' bands, paired: b0 b0' b1 b1' b2 b2' (b3 b3').
	const __m128i pair = nb == 4 ?
		_mm_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7,
			-1, -1, -1, -1, -1, -1, -1, -1) :
		_mm_setr_epi8(0, 3, 1, 4, 2, 5, -1, -1,
			-1, -1, -1, -1, -1, -1, -1, -1);
	// One pixel's bands, each in the low half of a 32-bit lane.
	const __m128i one = _mm_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1,
		2, -1, -1, -1, 3, -1, -1, -1);
	const __m128i round = _mm_set1_epi32(2048);
	int x, i;

	for (x = 0; x < a->out; x++) {
		const __m128i *w = pairs + a->phase[x] * npairs;
		const uint8_t *p = in + a->start[x] * nb;
		__m128i sum = _mm_setzero_si128();
		uint32_t packed;

		for (i = 0; i + 2 <= n; i += 2) {
			__m128i v = _mm_loadl_epi64((const __m128i *) (p + i * nb));

			v = _mm_cvtepu8_epi16(_mm_shuffle_epi8(v, pair));
			sum = _mm_add_epi32(sum, _mm_madd_epi16(v, w[i / 2]));
		}
		if (i < n) {
			uint32_t px;
			__m128i v;

			memcpy(&px, p + i * nb, 4);
			v = _mm_shuffle_epi8(_mm_cvtsi32_si128((int) px), one);
			sum = _mm_add_epi32(sum, _mm_madd_epi16(v, w[i / 2]));
		}
		// (sum + 2048) >> 12, clipped to 0..255.
		sum = _mm_srai_epi32(_mm_add_epi32(sum, round), 12);
		sum = _mm_packus_epi16(_mm_packs_epi32(sum, sum), sum);
		packed = (uint32_t) _mm_cvtsi128_si32(sum);
		out[0] = packed;
		out[1] = packed >> 8;
		out[2] = packed >> 16;
		if (nb == 4)
			out[3] = packed >> 24;
		out += nb;
	}
}

// pictor_weight_pairs lays a's weights out for pictor_reduceh_row_sse41:
// per phase, taps 2i and 2i+1 as two 16-bit halves of a 32-bit lane,
// broadcast to four lanes (the last alone when the taps are odd).
static void *
pictor_weight_pairs(const PictorAxis *a)
{
	const int n = a->points, npairs = (n + 1) / 2;
	uint32_t *t;
	int ph, i, l;

	if (posix_memalign((void **) &t, 16, (size_t) 65 * npairs * 16))
		return NULL;
	for (ph = 0; ph <= 64; ph++) {
		const int32_t *c = a->wint + ph * n;

		for (i = 0; i < npairs; i++) {
			uint32_t lo = (uint16_t) c[2 * i];
			uint32_t hi = 2 * i + 1 < n ? (uint16_t) c[2 * i + 1] : 0;

			for (l = 0; l < 4; l++)
				t[(ph * npairs + i) * 4 + l] = lo | hi << 16;
		}
	}
	return t;
}

// pictor_fits16 reports whether every weight of a fits pmaddwd's 16 bits.
static int
pictor_fits16(const PictorAxis *a)
{
	int i;

	for (i = 0; i < 65 * a->points; i++)
		if (a->wint[i] < -32768 || a->wint[i] > 32767)
			return 0;
	return 1;
}
#endif

// pictor_engine_horizontal runs the horizontal steps and unpremultiply on
// one row of the vertical steps' output into output row y.
static void
pictor_engine_horizontal(PictorEngine *e, const uint8_t *row)
{
	const PictorPlan *p = e->p;
	const int nb = e->nb;
	uint8_t *q = VIPS_IMAGE_ADDR(e->out, 0, e->y_out);
	uint8_t *mid;
	int b, i;

	if (p->h.shrink == 1 && p->h.points == 0)
		memcpy(q, row, e->rowlen);
	else {
		mid = e->hpad + e->pad_l * nb;
		if (p->h.shrink > 1)
			pictor_shrinkh_row(row, p->width, p->h.shrink, nb,
				p->h.points > 0 ? mid : q, p->h.shrunk);
		if (p->h.points > 0) {
			if (p->h.shrink == 1)
				memcpy(mid, row, e->rowlen);
			// libvips embeds the input with copies of its edge.
			for (i = 0; i < e->pad_l; i++)
				for (b = 0; b < nb; b++)
					e->hpad[i * nb + b] = mid[b];
			for (i = 0; i < e->pad_r; i++)
				for (b = 0; b < nb; b++)
					mid[(e->hlen + i) * nb + b] =
						mid[(e->hlen - 1) * nb + b];
#ifdef PICTOR_X86
			if (e->vector_h && e->pairs)
				pictor_reduceh_row_sse41(mid, &p->h, e->pairs,
					nb, q);
			else
#endif
				pictor_reduceh_row(mid, &p->h, nb, q);
		}
	}
	if (p->alpha)
		pictor_unpremultiply(q, p->h.out, nb);
	e->y_out += 1;
}

// pictor_engine_shrunk takes shrunk row number e->n_shrunk. stable: row
// stays where it is until the engine is done, and need not be copied.
static void
pictor_engine_shrunk(PictorEngine *e, const uint8_t *row, int stable)
{
	uint8_t *slot;

	const PictorAxis *v = &e->p->v;
	int last, i;

	if (v->points == 0) {
		e->n_shrunk += 1;
		pictor_engine_horizontal(e, row);
		return;
	}
	slot = e->ring + (size_t) (e->n_shrunk % e->ring_n) * e->rowlen;
	if (!stable) {
		memcpy(slot, row, e->rowlen);
		row = slot;
	}
	e->rows[e->n_shrunk % e->ring_n] = row;
	e->n_shrunk += 1;

	// Every output row whose taps are all here now. Taps past either
	// edge read the edge row (libvips embeds with copies of it).
	while (e->y_v < v->out) {
		const int start = v->start[e->y_v];

		last = VIPS_MIN(start + v->points - 1, v->shrunk - 1);
		if (last >= e->n_shrunk)
			break;
		for (i = 0; i < v->points; i++) {
			int r = VIPS_CLIP(0, start + i, v->shrunk - 1);

			e->taps[i] = e->rows[r % e->ring_n];
		}
		pictor_reducev_row(e->taps,
				v->fixed + v->phase[e->y_v] * v->points,
				v->points, e->rowlen, e->vrow);
		e->y_v += 1;
		pictor_engine_horizontal(e, e->vrow);
	}
}

// pictor_engine_push takes the next source row; stable as for
// pictor_engine_shrunk.
static void
pictor_engine_push(PictorEngine *e, const uint8_t *row, int stable)
{
	const PictorPlan *p = e->p;
	const int k = p->v.shrink;
	int i;

	if (p->alpha) {
		pictor_premultiply(row, e->pre, p->width, e->nb);
		row = e->pre;
		stable = 0;
	}
	e->y_in += 1;
	if (k == 1) {
		pictor_engine_shrunk(e, row, stable);
		return;
	}
	// shrinkv.c: the last group is made whole with copies of the last
	// row.
	pictor_accumulate(e->acc, row, e->rowlen,
		e->y_in == p->height ? k - e->nacc : 1);
	e->nacc = e->y_in == p->height ? k : e->nacc + 1;
	if (e->nacc < k)
		return;
	for (i = 0; i < e->rowlen; i++) {
		e->avg[i] = (e->acc[i] + k / 2) / k;
		e->acc[i] = 0;
	}
	e->nacc = 0;
	pictor_engine_shrunk(e, e->avg, 0);
}

// pictor_engine_finish hands over the result once every row is in.
static int
pictor_engine_finish(PictorEngine *e, VipsImage **out)
{
	if (e->y_in != e->p->height || e->y_out != e->p->v.out) {
		vips_error("pictor", "resample: %d of %d rows in, %d of %d out",
			e->y_in, e->p->height, e->y_out, e->p->v.out);
		return -1;
	}
	*out = e->out;
	e->out = NULL;
	return 0;
}

// Rows pulled from a libvips image at a time.
#define PICTOR_STRIP 16

int
pictor_resample_image(VipsImage *in, const PictorPlan *p, VipsImage **out)
{
	PictorEngine *e;
	VipsRegion *region;
	VipsRect r;
	int y, i, result;

	if (vips_image_get_format(in) != VIPS_FORMAT_UCHAR ||
		vips_image_get_coding(in) != VIPS_CODING_NONE ||
		in->Xsize != p->width || in->Ysize != p->height ||
		in->Bands != p->bands) {
		vips_error("pictor", "resample: a %d×%d×%d plan for a "
			"%d×%d×%d image", p->width, p->height, p->bands,
			in->Xsize, in->Ysize, in->Bands);
		return -1;
	}
	if (!(e = pictor_engine_new(p, in)))
		return -1;
	// An image in memory (a cached decode) is read where it lies.
	if (in->data) {
		for (y = 0; y < in->Ysize; y++)
			pictor_engine_push(e, VIPS_IMAGE_ADDR(in, 0, y), 1);
		result = pictor_engine_finish(e, out);
		pictor_engine_free(e);
		return result;
	}
	// Other images are computed here, in this thread, top to bottom: a
	// sequential decode upstream sees the order it wants.
	if (!(region = vips_region_new(in))) {
		pictor_engine_free(e);
		return -1;
	}
	result = 0;
	for (y = 0; y < in->Ysize && !result; y += PICTOR_STRIP) {
		r.left = 0;
		r.top = y;
		r.width = in->Xsize;
		r.height = VIPS_MIN(PICTOR_STRIP, in->Ysize - y);
		if ((result = vips_region_prepare(region, &r)))
			break;
		for (i = 0; i < r.height; i++)
			pictor_engine_push(e,
				VIPS_REGION_ADDR(region, 0, y + i), 0);
	}
	g_object_unref(region);
	if (!result)
		result = pictor_engine_finish(e, out);
	pictor_engine_free(e);

	return result;
}

// Decoders that feed the engine directly, for the two formats most
// originals come in: no libvips loader, region or thread between the
// decoder's rows and the resize. Each reads the same library with the same
// settings as libvips' loader (vipspng.c, jpeg2vips.c in 8.14), so its
// rows are the ones libvips would produce.

#include <png.h>
#include <jerror.h>

#include "jpegdc.h"
#include "jpegerr.h"

typedef struct {
	const uint8_t *data;
	size_t len, off;
} PictorPngReader;

static void
pictor_png_read(png_structp png, png_bytep out, png_size_t n)
{
	PictorPngReader *r = png_get_io_ptr(png);

	if (n > r->len - r->off)
		png_error(png, "file truncated");
	memcpy(out, r->data + r->off, n);
	r->off += n;
}

static void
pictor_png_error(png_structp png, png_const_charp msg)
{
	vips_error("pictor", "png: %s", msg);
	png_longjmp(png, 1);
}

static void
pictor_png_warning(png_structp png, png_const_charp msg)
{
	// libvips with fail_on "error" ignores warnings too.
	(void) png;
	(void) msg;
}

int
pictor_resample_png(const void *data, size_t len, const PictorPlan *p,
	VipsImage *like, VipsImage **out)
{
	PictorPngReader reader = { data, len, 0 };
	png_structp png;
	png_infop info;
	PictorEngine *volatile e = NULL;
	uint8_t *volatile row = NULL;
	png_uint_32 width, height;
	int depth, colour, interlace, bands, y, result;

	if (!(png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL,
		pictor_png_error, pictor_png_warning))) {
		vips_error("pictor", "png: out of memory");
		return -1;
	}
	if (!(info = png_create_info_struct(png))) {
		png_destroy_read_struct(&png, NULL, NULL);
		vips_error("pictor", "png: out of memory");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		g_free(row);
		pictor_engine_free(e);
		return -1;
	}
	// As vipspng.c: no sRGB profile check, no Adler-32 check, libpng's
	// limits raised to libvips', chunk sizes bounded.
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
	png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
#ifdef PNG_IGNORE_ADLER32
	png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
	png_set_user_limits(png, VIPS_MAX_COORD, VIPS_MAX_COORD);
	png_set_chunk_malloc_max(png, 50 * 1024 * 1024);
	png_set_chunk_cache_max(png, 100);
	png_set_read_fn(png, &reader, pictor_png_read);
	png_read_info(png, info);
	png_get_IHDR(png, info, &width, &height, &depth, &colour, &interlace,
		NULL, NULL);

	// vipspng.c's bands: palette and RGB are 3, one more with tRNS or an
	// alpha colour type; palettes of fewer bits expand to 8. Grey, 16-bit
	// and interlaced PNGs are not taken here (the caller checks the
	// header); refuse them all the same.
	bands = colour == PNG_COLOR_TYPE_PALETTE || colour == PNG_COLOR_TYPE_RGB ||
		colour == PNG_COLOR_TYPE_RGB_ALPHA ? 3 : 0;
	if (colour == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS)) {
		png_set_tRNS_to_alpha(png);
		bands += 1;
	}
	else if (colour == PNG_COLOR_TYPE_RGB_ALPHA)
		bands += 1;
	if (bands < 3 || (depth != 8 && colour != PNG_COLOR_TYPE_PALETTE) ||
		interlace != PNG_INTERLACE_NONE ||
		(int) width != p->width || (int) height != p->height ||
		bands != p->bands) {
		vips_error("pictor", "png: a %d×%d×%d plan for a %u×%u×%d "
			"image (depth %d, interlace %d)", p->width, p->height,
			p->bands, width, height, bands, depth, interlace);
		png_longjmp(png, 1);
	}
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t) width * bands) {
		vips_error("pictor", "png: unexpected row length");
		png_longjmp(png, 1);
	}

	if (!(e = pictor_engine_new(p, like)))
		png_longjmp(png, 1);
	row = g_malloc((size_t) width * bands);
	for (y = 0; y < (int) height; y++) {
		png_read_row(png, row, NULL);
		pictor_engine_push(e, row, 0);
	}
	// The rest of the file (chunks after the image data) is not read:
	// libvips does not read it either when streaming.

	result = pictor_engine_finish(e, out);
	png_destroy_read_struct(&png, &info, NULL);
	g_free(row);
	pictor_engine_free(e);

	return result;
}

// pictor_jpeg_emit is jpeg2vips.c's readjpeg_emit_message with fail_on
// "error": warnings are tolerated, up to a hundred, but not the end of
// the data (a truncated file), which libvips' source makes an error.
static void
pictor_jpeg_emit(j_common_ptr cinfo, int level)
{
	if (level >= 0)
		return;
	if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
		cinfo->err->msg_code = JERR_INPUT_EOF;
		cinfo->err->error_exit(cinfo);
	}
	if (++cinfo->err->num_warnings >= 100)
		cinfo->err->error_exit(cinfo);
}

static void
pictor_push_row(void *a, const uint8_t *row)
{
	PictorEngine *e = a;

	// jpegdc.c gives libjpeg's rows, rounded up; the crop to the floor
	// is here.
	if (e->y_in < e->p->height)
		pictor_engine_push(e, row, 0);
}

// pictor_resample_jpeg_dc is pictor_resample_jpeg at 1/8 with jpegdc.c's
// decoder: 0 with *out set, or -1 when that decoder did not take the file.
static int
pictor_resample_jpeg_dc(const void *data, size_t len, const PictorPlan *p,
	VipsImage *like, VipsImage **out)
{
	PictorEngine *e;
	int result;

	if (!(e = pictor_engine_new(p, like)))
		return -1;
	result = pictor_jpeg_dc(data, len, pictor_push_row, e);
	if (!result)
		result = pictor_engine_finish(e, out);
	pictor_engine_free(e);
	vips_error_clear();
	return result;
}

int
pictor_resample_jpeg(const void *data, size_t len, int shrink,
	const PictorPlan *p, VipsImage *like, VipsImage **out)
{
	struct jpeg_decompress_struct cinfo;
	PictorJpegError err;
	PictorEngine *volatile e = NULL;
	uint8_t *volatile row = NULL;
	int width, height, result;

	if (shrink == 8 && !pictor_resample_jpeg_dc(data, len, p, like, out))
		return 0;

	cinfo.err = pictor_jpeg_errors(&err, "jpeg");
	err.pub.emit_message = pictor_jpeg_emit;
	if (setjmp(err.jmp)) {
		jpeg_destroy_decompress(&cinfo);
		g_free(row);
		pictor_engine_free(e);
		return -1;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, len);
	jpeg_read_header(&cinfo, TRUE);
	cinfo.scale_num = 1;
	cinfo.scale_denom = shrink;
	jpeg_calc_output_dimensions(&cinfo);

	// jpeg2vips.c crops libjpeg's rounded-up scaled size to the floor.
	width = cinfo.image_width / shrink;
	height = cinfo.image_height / shrink;
	if ((shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8) ||
		(cinfo.out_color_space != JCS_RGB &&
			cinfo.out_color_space != JCS_GRAYSCALE) ||
		cinfo.output_components != p->bands ||
		width != p->width || height != p->height) {
		vips_error("pictor", "jpeg: a %d×%d×%d plan for a %d×%d×%d "
			"image", p->width, p->height, p->bands, width, height,
			cinfo.output_components);
		longjmp(err.jmp, 1);
	}
	if (!(e = pictor_engine_new(p, like)))
		longjmp(err.jmp, 1);
	jpeg_start_decompress(&cinfo);
	row = g_malloc((size_t) cinfo.output_width * cinfo.output_components);
	while ((int) cinfo.output_scanline < height) {
		JSAMPROW r = row;

		jpeg_read_scanlines(&cinfo, &r, 1);
		pictor_engine_push(e, row, 0);
	}
	// The rows past the floor, and the end of the file, are not read:
	// jpeg_destroy_decompress abandons the decode, as libvips does.

	result = pictor_engine_finish(e, out);
	jpeg_destroy_decompress(&cinfo);
	g_free(row);
	pictor_engine_free(e);

	return result;
}

typedef struct {
	uint8_t *buf;
	size_t len, off, rowlen;
} PictorRows;

static void
pictor_collect_row(void *a, const uint8_t *row)
{
	PictorRows *r = a;

	if (r->off + r->rowlen <= r->len) {
		memcpy(r->buf + r->off, row, r->rowlen);
		r->off += r->rowlen;
	}
}

int
pictor_jpeg_eighth(const void *data, size_t len, void *buf, size_t buflen,
	int rowlen)
{
	PictorRows r = { buf, buflen, 0, (size_t) rowlen };

	if (pictor_jpeg_dc(data, len, pictor_collect_row, &r))
		return -1;
	return r.off == buflen ? 0 : -1;
}
