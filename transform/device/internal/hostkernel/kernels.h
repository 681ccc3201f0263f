// Prototypes of the kernels in ../../kernels/resize.cu, for cgo.
#ifndef PICTOR_HOSTKERNEL_H
#define PICTOR_HOSTKERNEL_H

typedef unsigned char u8;

void pictor_premultiply(const u8 *in, u8 *out, long long npix, int bands);
void pictor_unpremultiply(const u8 *in, u8 *out, long long npix, int bands);
void pictor_shrinkv(const u8 *in, u8 *out, int rowlen, int in_h, int out_h, int k);
void pictor_shrinkh(const u8 *in, u8 *out, int in_w, int out_w, int h, int bands, int k);
void pictor_reducev(const u8 *in, u8 *out, int rowlen, int in_h, int out_h,
	int n, const short *coef, const int *start, const int *phase);
void pictor_reduceh(const u8 *in, u8 *out, int in_w, int out_w, int h, int bands,
	int n, const int *coef, const int *start, const int *phase);

#endif
