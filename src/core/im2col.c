/* im2col.c: batch im2col and its adjoint col2im for the convolution ops (see im2col.h; the
 * threads that run ranges of images at once are par.h's).
 *
 * Both walk col row by row (one kernel tap (c,r,s) per row), so col is written or read
 * sequentially, over the columns of a range of images.  For a tap, the output positions whose
 * input pixel lies inside the image form one range [lo,hi) of p and one of q, computed once per
 * tap; the rest is padding, which im2col zeroes with one memset of the row's columns before it
 * copies the inside.  The inner loops have no branch, and strides 1 and 2 get loops of their own:
 * with the MNIST model's short rows (7 to 14 elements) a constant stride addresses faster than a
 * variable one, and memset-then-copy beats zeroing the borders of each row.  (Walking image by
 * image instead, writing the P*Q columns of all C*R*S rows per image, was slower: too many rows
 * written at once.  bench/bench_conv times these ops.)  im2col at stride 1 copies from phase
 * planes instead (below), when an image plane fits one, and im2col at stride 2 from a
 * zero-padded copy of each image plane, when it fits one; col2im of a 3-wide stride-2 kernel has
 * its own loops. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
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

/* ---- 3-wide kernels at stride 2, pad 1 ---------------------------------------------------------
 *
 * Every convolution of the paper's models but CIFAR-10's first has S = 3, stride 2 and pad 1.
 * Then the three taps s = 0, 1, 2 of a kernel row read the same input row, at columns 2q - 1, 2q
 * and 2q + 1, and im2col makes their three rows of col in one pass over it where the image
 * plane is too large for the padded plane below (im2col_plane2, stride 2, any kernel); col2im
 * adds them back in one pass, each pixel loaded and stored once: an even pixel 2j takes tap 1's column j, an odd
 * pixel 2j + 1 tap 0's column j + 1 and then tap 2's column j -- the order of s, in which the
 * general loops add them, so that the results are the same to the bit.  lo[s], hi[s] bound the
 * columns q of tap s that fall inside the image; [a, b) is where all three do. */

static int taps3_stride2(const snm_conv_geom *g)
{
	return g->S == 3 && g->stride == 2 && g->pad == 1;
}

/* Three rows d0, d1, d2 (Q columns) of taps s = 0, 1, 2 from the input row src. */
static void im2col_row3(const float *src, float *d0, float *d1, float *d2, int Q, const int *lo,
                        const int *hi, int a, int b)
{
	for (int q = 0; q < a; ++q) {
		d0[q] = q >= lo[0] && q < hi[0] ? src[2 * q - 1] : 0.0f;
		d1[q] = q >= lo[1] && q < hi[1] ? src[2 * q] : 0.0f;
		d2[q] = q >= lo[2] && q < hi[2] ? src[2 * q + 1] : 0.0f;
	}
	for (int q = a; q < b; ++q) {
		d0[q] = src[2 * q - 1];
		d1[q] = src[2 * q];
		d2[q] = src[2 * q + 1];
	}
	for (int q = b; q < Q; ++q) {
		d0[q] = q >= lo[0] && q < hi[0] ? src[2 * q - 1] : 0.0f;
		d1[q] = q >= lo[1] && q < hi[1] ? src[2 * q] : 0.0f;
		d2[q] = q >= lo[2] && q < hi[2] ? src[2 * q + 1] : 0.0f;
	}
}

/* Pixels 2j and 2j + 1 of the image row d += the taps' columns where they are valid (the edges). */
static inline void col2im_edge3(float *d, const float *v0, const float *v1, const float *v2, int W,
                                const int *lo, const int *hi, int j)
{
	if (j >= lo[1] && j < hi[1])
		d[2 * j] += v1[j];
	if (2 * j + 1 < W) {
		float t = d[2 * j + 1];
		if (j + 1 >= lo[0] && j + 1 < hi[0])
			t += v0[j + 1];
		if (j >= lo[2] && j < hi[2])
			t += v2[j];
		d[2 * j + 1] = t;
	}
}

/* The image row d (W pixels) += the rows v0, v1, v2 of taps s = 0, 1, 2: the edges with their
 * bounds, the inside [a, b) (every tap present) without, four pixel pairs at a time where SSE2
 * is there -- the even pixels and the odd ones split by shuffles, d[2j] + v1[j] and
 * (d[2j + 1] + v0[j + 1]) + v2[j] on four lanes, the pairs interleaved back: the scalar loop's
 * additions, in its order, to the bit. */
static void col2im_row3(float *d, const float *v0, const float *v1, const float *v2, int W,
                        const int *lo, const int *hi, int a, int b)
{
	int j = 0;
	for (; j < a; ++j)
		col2im_edge3(d, v0, v1, v2, W, lo, hi, j);
#ifdef __SSE2__
	for (; j + 4 <= b; j += 4) {
		__m128 lo4 = _mm_loadu_ps(d + 2 * j), hi4 = _mm_loadu_ps(d + 2 * j + 4);
		__m128 ev = _mm_shuffle_ps(lo4, hi4, _MM_SHUFFLE(2, 0, 2, 0));
		__m128 od = _mm_shuffle_ps(lo4, hi4, _MM_SHUFFLE(3, 1, 3, 1));
		ev = _mm_add_ps(ev, _mm_loadu_ps(v1 + j));
		od = _mm_add_ps(_mm_add_ps(od, _mm_loadu_ps(v0 + j + 1)), _mm_loadu_ps(v2 + j));
		_mm_storeu_ps(d + 2 * j, _mm_unpacklo_ps(ev, od));
		_mm_storeu_ps(d + 2 * j + 4, _mm_unpackhi_ps(ev, od));
	}
#endif
	for (; j < b; ++j) {
		float t = d[2 * j + 1] + v0[j + 1];
		d[2 * j] += v1[j];
		d[2 * j + 1] = t + v2[j];
	}
	for (; 2 * j < W; ++j)
		col2im_edge3(d, v0, v1, v2, W, lo, hi, j);
}

/* The tap columns' bounds for taps3_stride2: lo, hi per tap, and [*a, *b) where all three are
 * inside, for im2col (which = 0: q with all of 2q - 1, 2q, 2q + 1 inside) or col2im (which = 1:
 * j with pixel 2j + 1 inside and tap 0's column j + 1, tap 1's j and tap 2's j all valid). */
static void taps3_bounds(const snm_conv_geom *g, int which, int *lo, int *hi, int *a, int *b)
{
	for (int s = 0; s < 3; ++s)
		valid_range(s, g->W, g->Q, 2, 1, &lo[s], &hi[s]);
	if (which == 0) {
		*a = lo[0] > lo[1] ? lo[0] : lo[1];
		*a = *a > lo[2] ? *a : lo[2];
		*b = hi[0] < hi[1] ? hi[0] : hi[1];
		*b = *b < hi[2] ? *b : hi[2];
	} else {
		*a = lo[0] - 1 > lo[1] ? lo[0] - 1 : lo[1];
		*a = *a > lo[2] ? *a : lo[2];
		*b = hi[0] - 1 < hi[1] ? hi[0] - 1 : hi[1];
		*b = *b < hi[2] ? *b : hi[2];
		*b = *b < g->W / 2 ? *b : g->W / 2;               /* 2j + 1 <= W - 1 */
	}
	if (*a < 0)
		*a = 0;
	if (*b < *a)
		*b = *a;
}

/* im2col of any stride-2 kernel from a zero-padded copy of each image plane: plane row h
 * (0 .. Hp-1, Hp = H + 2 pad) holds image row h - pad between pad zeros on each side (Wp = W +
 * 2 pad floats), so that the Q floats of output row p of tap (r, s) are the even elements
 * plane[2p + r][s + 2q], q < Q, with no bounds to test (2(P-1) + R - 1 <= Hp - 1 and 2(Q-1) + S - 1
 * <= Wp - 1 by the definition of P and Q).  The even elements are taken four at a time by an SSE
 * shuffle of two loads (plain copies, the same bits).  A row's four-float groups may run up to
 * three floats past its end into the next rows of the same tap and image, which are written right
 * after; a row with fewer than three floats of the image after it ends exactly, so no float
 * outside the image's columns is touched.  Loads may read up to PLANE2_SLACK floats past the
 * plane (never used).  Per image plane (n, c) instead of the taps' rows across the images (the
 * loops below): 1.2 times faster for the MNIST model's three 3x3 convolutions at batch 100 (CPU
 * time, a micro-benchmark on a loaded machine), and for the 4x4 ones of vibnet's encoder and the
 * 5x5 ones of vib_lp's decoder it replaces the direct loops' memset and strided copy of each of
 * the 16 or 25 taps' rows (bench_conv --vib).  The planes of one channel lie C*H*W floats apart,
 * too far for the hardware's prefetcher, so the next one is prefetched while a plane is copied
 * out: a further 8 to 20% less time (same micro-benchmark). */

#define PLANE2_MAX 4096
#define PLANE2_SLACK 16

static int plane2_fits(const snm_conv_geom *g)
{
	return g->stride == 2 && (size_t)(g->H + 2 * g->pad) * (g->W + 2 * g->pad) <= PLANE2_MAX;
}

/* Rows p = 0 .. P-1 of d (P rows of Q, contiguous) = the even elements src[2q] of the rows
 * src + p step; reads up to 7 floats past the end of each source row. */
static void even_rows(float *d, const float *src, int P, int Q, size_t step)
{
	for (int p = 0; p < P; ++p, d += Q, src += step) {
		int q = 0;
#ifdef __SSE2__
		int lim = (P - 1 - p) * Q >= 3 ? Q : Q & ~3;    /* never past the image's last row */
		for (; q < lim; q += 4) {
			__m128 a = _mm_loadu_ps(src + 2 * q), b = _mm_loadu_ps(src + 2 * q + 4);
			_mm_storeu_ps(d + q, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
		}
#endif
		for (; q < Q; ++q)
			d[q] = src[2 * q];
	}
}

static void im2col_plane2(const snm_conv_geom *g, const float *x, float *col, int n0, int n1)
{
	const int C = g->C, H = g->H, W = g->W, R = g->R, S = g->S, P = g->P, Q = g->Q, pad = g->pad;
	const int Wp = W + 2 * pad, Hp = H + 2 * pad;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q, npq = PQ * g->N;
	float plane[PLANE2_MAX + PLANE2_SLACK];
	memset(plane, 0, ((size_t)Hp * Wp + PLANE2_SLACK) * sizeof *plane);      /* borders stay 0 */
	for (int c = 0; c < C; ++c)
		for (int n = n0; n < n1; ++n) {
			const float *xi = x + ((size_t)n * C + c) * HW;
			if (n + 1 < n1)            /* the next plane, C*HW floats on: a hint, no value */
				for (size_t o = 0; o < HW; o += 16)
					__builtin_prefetch(xi + (size_t)C * HW + o);
			for (int h = 0; h < H; ++h)
				memcpy(plane + (size_t)(h + pad) * Wp + pad, xi + (size_t)h * W,
				       (size_t)W * sizeof *xi);
			for (int r = 0; r < R; ++r)
				for (int s = 0; s < S; ++s)
					even_rows(col + ((size_t)(c * R + r) * S + s) * npq + PQ * n,
					          plane + (size_t)r * Wp + s, P, Q, (size_t)2 * Wp);
		}
}

/* A 3-wide stride-2 kernel row by row across the images, for planes larger than PLANE2_MAX. */
static void im2col_taps3(const snm_conv_geom *g, const float *x, float *col, int n0, int n1)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, R = g->R, P = g->P, Q = g->Q;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q, npq = PQ * N;
	int lo[3], hi[3], a, b;
	taps3_bounds(g, 0, lo, hi, &a, &b);
	for (int c = 0; c < C; ++c)
		for (int r = 0; r < R; ++r) {
			float *c0 = col + ((size_t)c * R + r) * 3 * npq, *c1 = c0 + npq, *c2 = c1 + npq;
			int p0, p1;
			valid_range(r, H, P, 2, 1, &p0, &p1);
			for (int n = n0; n < n1; ++n) {
				const float *xi = x + ((size_t)n * C + c) * HW;
				size_t o = PQ * n;
				for (int p = 0; p < P; ++p, o += Q) {
					if (p < p0 || p >= p1) {
						memset(c0 + o, 0, (size_t)Q * sizeof *col);
						memset(c1 + o, 0, (size_t)Q * sizeof *col);
						memset(c2 + o, 0, (size_t)Q * sizeof *col);
					} else {
						im2col_row3(xi + (size_t)(2 * p - 1 + r) * W, c0 + o, c1 + o, c2 + o, Q,
						            lo, hi, a, b);
					}
				}
			}
		}
}

static void col2im_taps3(const snm_conv_geom *g, const float *col, float *dx, int n0, int n1)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, R = g->R, P = g->P, Q = g->Q;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q, npq = PQ * N;
	int lo[3], hi[3], a, b;
	taps3_bounds(g, 1, lo, hi, &a, &b);
	for (int c = 0; c < C; ++c)
		for (int r = 0; r < R; ++r) {
			const float *c0 = col + ((size_t)c * R + r) * 3 * npq, *c1 = c0 + npq, *c2 = c1 + npq;
			int p0, p1;
			valid_range(r, H, P, 2, 1, &p0, &p1);
			for (int n = n0; n < n1; ++n) {
				float *xi = dx + ((size_t)n * C + c) * HW;
				for (int p = p0; p < p1; ++p) {
					size_t o = PQ * n + (size_t)p * Q;
					col2im_row3(xi + (size_t)(2 * p - 1 + r) * W, c0 + o, c1 + o, c2 + o, W, lo, hi,
					            a, b);
				}
			}
		}
}

/* ---- phase planes ------------------------------------------------------------------------------
 *
 * For one image plane (n, c), the zero-padded image split by column phase: plane row h (0 .. Hp-1,
 * Hp = H + 2 pad) of phase f (0 .. nph-1) holds the padded pixels (h, k*stride + f) for k in
 * 0 .. Qk-1, Qk = Q + (S-1)/stride, i.e. the input pixel (h - pad, k*stride + f - pad), zero
 * outside the image.  Output row p of tap (r, s) is then the Q contiguous floats of plane row
 * p*stride + r of phase s % stride from column s / stride: every tap row of the plane is a
 * block copy, without the per-row bounds, memsets and strided loads of the direct loops.  im2col
 * builds the plane of each (n, c) once and copies its R*S tap blocks out.  The plane lives on the
 * stack (PLANE_MAX floats, 16 KB; CIFAR-10's first convolution, 5x5 stride 1 pad 2 on 32x32,
 * takes 1296); larger geometries take the direct loops below.  For that convolution the planes
 * made im2col 1.6 to 1.8 times faster than the direct loops (CPU time, on a loaded machine); for
 * the 3-wide stride-2 kernels above and for small strided geometries they were slower (those
 * keep their loops), and so was the same scheme for col2im (build the plane from dx, add the
 * tap blocks in the order of (r, s), copy back).  Copies only: the columns are the same bits
 * either way (tests/test_conv.c compares both with naive loops, bit for bit). */

#define PLANE_MAX 4096

typedef struct phase_geom {
	int nph, Hp, Qk;         /* phases built (min(stride, S)), plane rows, plane columns */
	int lo[8], hi[8];        /* per phase f < 8: the columns k whose pixel lies inside the image */
} phase_geom;

/* 1 and *pg filled when the planes are worth it -- stride 1, where they were measured faster (see
 * above; the code holds for any stride) -- and g's plane fits PLANE_MAX. */
static int phase_init(const snm_conv_geom *g, phase_geom *pg)
{
	if (g->stride != 1)
		return 0;
	pg->nph = g->stride < g->S ? g->stride : g->S;
	pg->Hp = g->H + 2 * g->pad;
	pg->Qk = g->Q + (g->S - 1) / g->stride;
	if (pg->nph > 8 || (size_t)pg->nph * pg->Hp * pg->Qk > PLANE_MAX)
		return 0;
	for (int f = 0; f < pg->nph; ++f)
		valid_range(f, g->W, pg->Qk, g->stride, g->pad, &pg->lo[f], &pg->hi[f]);
	return 1;
}

/* plane = the phase plane of the image plane xi (H, W). */
static void plane_load(const snm_conv_geom *g, const phase_geom *pg, const float *xi, float *plane)
{
	const int W = g->W, st = g->stride, pad = g->pad, Qk = pg->Qk;
	for (int f = 0; f < pg->nph; ++f) {
		const int lo = pg->lo[f], hi = pg->hi[f], off = f - pad;
		float *pf = plane + (size_t)f * pg->Hp * Qk;
		for (int h = 0; h < pg->Hp; ++h) {
			float *d = pf + (size_t)h * Qk;
			const float *src;
			if (h < pad || h >= g->H + pad) {
				memset(d, 0, (size_t)Qk * sizeof *d);
				continue;
			}
			src = xi + (size_t)(h - pad) * W;
			for (int k = 0; k < lo; ++k)
				d[k] = 0.0f;
			if (st == 1)
				memcpy(d + lo, src + lo + off, (size_t)(hi - lo) * sizeof *d);
			else if (st == 2)
				for (int k = lo; k < hi; ++k)
					d[k] = src[2 * k + off];
			else
				for (int k = lo; k < hi; ++k)
					d[k] = src[k * st + off];
			for (int k = hi; k < Qk; ++k)
				d[k] = 0.0f;
		}
	}
}

/* d[0..n) = s[0..n), in blocks of 4 (short rows) */
static void copy_row(float *restrict d, const float *restrict s, int n)
{
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		d[i] = s[i];
		d[i + 1] = s[i + 1];
		d[i + 2] = s[i + 2];
		d[i + 3] = s[i + 3];
	}
	for (; i < n; ++i)
		d[i] = s[i];
}

static void im2col_phase(const snm_conv_geom *g, const phase_geom *pg, const float *x, float *col,
                         int n0, int n1)
{
	const int C = g->C, R = g->R, S = g->S, P = g->P, Q = g->Q, st = g->stride, Qk = pg->Qk;
	const size_t HW = (size_t)g->H * g->W, PQ = (size_t)P * Q, npq = PQ * g->N;
	float plane[PLANE_MAX];
	for (int c = 0; c < C; ++c)
		for (int n = n0; n < n1; ++n) {
			plane_load(g, pg, x + ((size_t)n * C + c) * HW, plane);
			for (int r = 0; r < R; ++r)
				for (int s = 0; s < S; ++s) {
					const float *src = plane + ((size_t)(s % st) * pg->Hp + r) * Qk + s / st;
					float *d = col + ((size_t)(c * R + r) * S + s) * npq + PQ * n;
					for (int p = 0; p < P; ++p, d += Q, src += (size_t)st * Qk)
						copy_row(d, src, Q);
				}
		}
}

/* ---- any geometry ------------------------------------------------------------------------------ */

void snm_im2col_range(const snm_conv_geom *g, const float *x, float *col, int n0, int n1)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, R = g->R, S = g->S;
	const int P = g->P, Q = g->Q, st = g->stride, pad = g->pad;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q;
	phase_geom pg;
	if (n0 >= n1)
		return;
	if (plane2_fits(g)) {
		im2col_plane2(g, x, col, n0, n1);
		return;
	}
	if (taps3_stride2(g)) {
		im2col_taps3(g, x, col, n0, n1);
		return;
	}
	if (phase_init(g, &pg)) {
		im2col_phase(g, &pg, x, col, n0, n1);
		return;
	}
	for (int c = 0; c < C; ++c)
		for (int r = 0; r < R; ++r) {
			int p0, p1;
			valid_range(r, H, P, st, pad, &p0, &p1);
			for (int s = 0; s < S; ++s) {
				int q0, q1, off = s - pad;     /* input column of q is q*stride + off */
				valid_range(s, W, Q, st, pad, &q0, &q1);
				if (p0 > 0 || p1 < P || q0 > 0 || q1 < Q)   /* the row touches the padding */
					memset(col + PQ * n0, 0, PQ * (size_t)(n1 - n0) * sizeof *col);
				for (int n = n0; n < n1; ++n) {
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

void snm_col2im_range(const snm_conv_geom *g, const float *col, float *dx, int n0, int n1)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, R = g->R, S = g->S;
	const int P = g->P, Q = g->Q, st = g->stride, pad = g->pad;
	const size_t HW = (size_t)H * W, PQ = (size_t)P * Q;
	if (taps3_stride2(g)) {
		col2im_taps3(g, col, dx, n0, n1);
		return;
	}
	for (int c = 0; c < C; ++c)
		for (int r = 0; r < R; ++r) {
			int p0, p1;
			valid_range(r, H, P, st, pad, &p0, &p1);
			for (int s = 0; s < S; ++s) {
				int q0, q1, off = s - pad;     /* input column of q is q*stride + off */
				valid_range(s, W, Q, st, pad, &q0, &q1);
				for (int n = n0; n < n1; ++n) {
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

void snm_im2col(const snm_conv_geom *g, const float *x, float *col)
{
	snm_im2col_range(g, x, col, 0, g->N);
}

void snm_col2im(const snm_conv_geom *g, const float *col, float *dx)
{
	snm_col2im_range(g, col, dx, 0, g->N);
}
