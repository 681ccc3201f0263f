// Pictor's resize kernels: libvips 8.14's vips_resize (Lanczos3, gap 2,
// downscaling), one kernel per libvips operation, with libvips' types,
// order of operations and roundings, so that the output equals libvips'
// byte for byte. The plan (which steps, sampling positions, weight tables)
// is computed on the host by transform/device/internal/resample and
// passed in; these kernels only do the per-sample arithmetic.
//
// One source, two builds:
//   - clang-14 -x cuda --cuda-device-only (scripts/ptx.sh) makes the PTX
//     the CUDA backend loads; each kernel is a grid-stride loop.
//   - transform/device/internal/hostkernel includes this file as C++ on
//     the host, where each kernel is a plain loop over every sample, so
//     CI checks the same arithmetic without a GPU.
//
// No CUDA headers are used: clang's builtins give the thread indices and
// the correctly rounded operations.
//
// Every stage reads and writes uchar: images with alpha are premultiplied
// and cast back to uchar first, as the pipeline does (transform/vips
// pictor_resize), so the reduces are libvips' integer ones. The only
// floating point is in premultiply.c and unpremultiply.c, whose float
// products libvips computes on x86-64 SSE2 with IEEE rounding and no
// fused multiply-add. On the device each such operation is an explicit
// round-to-nearest builtin (ptxas never contracts those into an FMA), and
// the build passes -ffp-contract=off as well.

#if defined(__CUDA__) && defined(__CUDA_ARCH__)
#define PICTOR_DEVICE 1
#endif

typedef unsigned char u8;

#ifdef PICTOR_DEVICE

#define PICTOR_KERNEL extern "C" __attribute__((global)) void
#define PICTOR_FN static __attribute__((device)) inline

// A grid-stride loop over n items.
#define PICTOR_FOR_EACH(i, n) \
	for (long long i = (long long) __nvvm_read_ptx_sreg_ctaid_x() * \
		__nvvm_read_ptx_sreg_ntid_x() + __nvvm_read_ptx_sreg_tid_x(); \
		i < (n); \
		i += (long long) __nvvm_read_ptx_sreg_nctaid_x() * \
		__nvvm_read_ptx_sreg_ntid_x())

PICTOR_FN double ddiv(double a, double b) { return __nvvm_div_rn_d(a, b); }
PICTOR_FN float fmul(float a, float b) { return __nvvm_mul_rn_f(a, b); }
PICTOR_FN float d2f(double a) { return __nvvm_d2f_rn(a); }

#else

#define PICTOR_KERNEL extern "C" void
#define PICTOR_FN static inline

#define PICTOR_FOR_EACH(i, n) for (long long i = 0; i < (n); i++)

PICTOR_FN double ddiv(double a, double b) { return a / b; }
PICTOR_FN float fmul(float a, float b) { return a * b; }
PICTOR_FN float d2f(double a) { return (float) a; }

#endif

// Taps past an edge read the edge sample: libvips embeds the input with
// VIPS_EXTEND_COPY before shrinking and reducing.
PICTOR_FN int clampi(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// VIPS_CLIP(lo, v, hi) is VIPS_MAX(lo, VIPS_MIN(hi, v)).
PICTOR_FN double clipd(double lo, double v, double hi)
{
	double m = hi < v ? hi : v;
	return lo > m ? lo : m;
}

// cast.c CAST_FLOAT_INT to uchar: clip as a double, then truncate.
PICTOR_FN u8 cast_uchar(float v) { return (u8) (int) clipd(0.0, (double) v, 255.0); }

// premultiply.c PRE (uchar in, float out, max_alpha 255), then cast.c to
// uchar: the alpha factor is a double division stored as float, each
// product a float product, truncated; alpha passes through.
PICTOR_KERNEL
pictor_premultiply(const u8 *in, u8 *out, long long npix, int bands)
{
	PICTOR_FOR_EACH(p, npix) {
		const u8 *q = in + p * bands;
		u8 *o = out + p * bands;
		u8 alpha = q[bands - 1];
		float nalpha = d2f(ddiv((double) (float) alpha, 255.0));

		for (int b = 0; b < bands - 1; b++)
			o[b] = cast_uchar(fmul((float) q[b], nalpha));
		o[bands - 1] = alpha;
	}
}

// unpremultiply.c UNPRE (uchar in, float out, max_alpha 255), then cast.c
// to uchar: the factor is 255 / alpha as a double stored as float (0 for
// a transparent pixel), each product a float product, truncated.
PICTOR_KERNEL
pictor_unpremultiply(const u8 *in, u8 *out, long long npix, int bands)
{
	PICTOR_FOR_EACH(p, npix) {
		const u8 *q = in + p * bands;
		u8 *o = out + p * bands;
		u8 alpha = q[bands - 1];
		float factor = alpha == 0 ? 0 : d2f(ddiv(255.0, (double) alpha));

		for (int b = 0; b < bands - 1; b++)
			o[b] = cast_uchar(fmul(factor, (float) q[b]));
		o[bands - 1] = alpha;
	}
}

// shrinkv.c for uchar: an int sum of k rows, averaged with rounding.
PICTOR_KERNEL
pictor_shrinkv(const u8 *in, u8 *out, int rowlen, int in_h, int out_h,
	int k)
{
	PICTOR_FOR_EACH(i, (long long) rowlen * out_h) {
		int y = (int) (i / rowlen);
		int e = (int) (i % rowlen);
		int sum = 0;

		for (int j = 0; j < k; j++)
			sum += in[(long long) clampi(y * k + j, in_h) * rowlen + e];
		out[i] = (u8) ((sum + k / 2) / k);
	}
}

// shrinkh.c ISHRINK for uchar.
PICTOR_KERNEL
pictor_shrinkh(const u8 *in, u8 *out, int in_w, int out_w, int h,
	int bands, int k)
{
	PICTOR_FOR_EACH(i, (long long) out_w * h * bands) {
		int b = (int) (i % bands);
		long long px = i / bands;
		int x = (int) (px % out_w);
		int y = (int) (px / out_w);
		const u8 *row = in + (long long) y * in_w * bands;
		int sum = 0;

		for (int j = 0; j < k; j++)
			sum += row[clampi(x * k + j, in_w) * bands + b];
		out[i] = (u8) ((sum + k / 2) / k);
	}
}

// reducev.cpp's orc path for uchar: a signed 16-bit sum starting at 32
// (one half in 2.6 fixed point), each tap's 16-bit product added with
// saturation (addssw), an arithmetic shift by 6 (shrsw) and a saturating
// narrow to uchar (convsuswb).
PICTOR_FN int sat16(int v) { return v < -32768 ? -32768 : (v > 32767 ? 32767 : v); }

PICTOR_KERNEL
pictor_reducev(const u8 *in, u8 *out, int rowlen, int in_h, int out_h,
	int n, const short *coef, const int *start, const int *phase)
{
	PICTOR_FOR_EACH(i, (long long) rowlen * out_h) {
		int y = (int) (i / rowlen);
		int e = (int) (i % rowlen);
		const short *c = coef + phase[y] * n;
		int s = start[y];
		int sum = 32;

		for (int t = 0; t < n; t++) {
			int v = in[(long long) clampi(s + t, in_h) * rowlen + e];
			sum = sat16(sum + (short) (v * c[t]));
		}
		sum >>= 6;
		out[i] = (u8) (sum < 0 ? 0 : (sum > 255 ? 255 : sum));
	}
}

// reduceh.cpp reduceh_unsigned_int_tab for uchar: an int sum of 12-bit
// weights, rounded by unsigned_fixed_round, clipped.
PICTOR_KERNEL
pictor_reduceh(const u8 *in, u8 *out, int in_w, int out_w, int h,
	int bands, int n, const int *coef, const int *start, const int *phase)
{
	PICTOR_FOR_EACH(i, (long long) out_w * h * bands) {
		int b = (int) (i % bands);
		long long px = i / bands;
		int x = (int) (px % out_w);
		int y = (int) (px / out_w);
		const u8 *row = in + (long long) y * in_w * bands;
		const int *c = coef + phase[x] * n;
		int s = start[x];
		int sum = 0;

		for (int t = 0; t < n; t++)
			sum += c[t] * row[clampi(s + t, in_w) * bands + b];
		sum = (sum + 2048) >> 12;
		out[i] = (u8) (sum < 0 ? 0 : (sum > 255 ? 255 : sum));
	}
}
