/* test_conv.c: snm_conv2d and snm_conv2d_t.  Forward and backward against naive 7-loop references
 * in double (odd shapes, the MNIST model's shapes), finite-difference gradient checks w.r.t. x, w
 * and b, the adjoint identity <conv(x), y> = <x, conv_t(y)>, a tied conv autoencoder (scratch
 * shared by several ops, a weight used twice), accumulation into x, w and b gradients, no
 * gradient for constant inputs, snm_conv2d_relu and snm_linear_relu bit for bit against the ReLU of
 * the product, and the shape errors.
 *
 * Letters: image side x (N,C,H,W), weight w (K,C,R,S), output side (N,K,P,Q). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "gradcheck.h"
#include "snm/param.h"

typedef struct geom {
	int N, C, H, W, K, R, S, stride, pad;
	int P, Q;   /* derived by mk */
} geom;

/* The geometry of a table row { N, C, H, W, K, R, S, stride, pad }. */
static geom mk(const int *v)
{
	geom g = { v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], 0, 0 };
	g.P = (g.H + 2 * g.pad - g.R) / g.stride + 1;
	g.Q = (g.W + 2 * g.pad - g.S) / g.stride + 1;
	return g;
}

static size_t img_len(const geom *g) { return (size_t)g->N * g->C * g->H * g->W; }
static size_t out_len(const geom *g) { return (size_t)g->N * g->K * g->P * g->Q; }
static size_t w_len(const geom *g) { return (size_t)g->K * g->C * g->R * g->S; }

/* The 7 loops of a convolution, visiting every (n,k,p,q,c,r,s) whose input pixel (h,v) lies in the
 * image.  With the image side `img` and the output side `out` (offsets io, oo, weight offset wo):
 *   conv2d:   out[oo] += w[wo] img[io]          conv2d_t:  img[io] += w[wo] out[oo]
 * and the backward passes are the same products with the other operand.  Everything in double.
 * mode 0: conv2d forward       y (out side) = b + sum w x
 * mode 1: conv2d backward      dx (img) += w dy, dw += dy x, db += dy     (dy on out side)
 * mode 2: conv2d_t forward     y (img side) = b + sum w x                 (x on out side)
 * mode 3: conv2d_t backward    dx (out) += w dy, dw += x dy, db += dy     (dy on img side) */
static void naive(const geom *g, int mode, const float *x, const float *w, const float *b,
                  const float *dy, double *y, double *dx, double *dw, double *db)
{
	const int N = g->N, C = g->C, H = g->H, W = g->W, K = g->K, R = g->R, S = g->S, P = g->P,
	          Q = g->Q;
	if (mode == 0)
		for (size_t i = 0; i < out_len(g); ++i)
			y[i] = b ? b[i / ((size_t)P * Q) % K] : 0;
	if (mode == 2)
		for (size_t i = 0; i < img_len(g); ++i)
			y[i] = b ? b[i / ((size_t)H * W) % C] : 0;
	for (int n = 0; n < N; ++n)
		for (int k = 0; k < K; ++k)
			for (int p = 0; p < P; ++p)
				for (int q = 0; q < Q; ++q)
					for (int c = 0; c < C; ++c)
						for (int r = 0; r < R; ++r)
							for (int s = 0; s < S; ++s) {
								int h = p * g->stride - g->pad + r, v = q * g->stride - g->pad + s;
								if (h < 0 || h >= H || v < 0 || v >= W)
									continue;
								size_t io = (((size_t)n * C + c) * H + h) * W + v;
								size_t oo = (((size_t)n * K + k) * P + p) * Q + q;
								size_t wo = (((size_t)k * C + c) * R + r) * S + s;
								switch (mode) {
								case 0:
									y[oo] += (double)w[wo] * x[io];
									break;
								case 1:
									dx[io] += (double)w[wo] * dy[oo];
									dw[wo] += (double)dy[oo] * x[io];
									break;
								case 2:
									y[io] += (double)w[wo] * x[oo];
									break;
								case 3:
									dx[oo] += (double)w[wo] * dy[io];
									dw[wo] += (double)x[oo] * dy[io];
									break;
								}
							}
	if (mode == 1 && db)
		for (size_t i = 0; i < out_len(g); ++i)
			db[i / ((size_t)P * Q) % K] += dy[i];
	if (mode == 3 && db)
		for (size_t i = 0; i < img_len(g); ++i)
			db[i / ((size_t)H * W) % C] += dy[i];
}

/* max_i |a_i - ref_i| / (1 + max |ref|) */
static double rel_err(const float *a, const double *ref, size_t n)
{
	double m = 0, e = 0;
	for (size_t i = 0; i < n; ++i)
		if (fabs(ref[i]) > m)
			m = fabs(ref[i]);
	for (size_t i = 0; i < n; ++i)
		if (fabs(a[i] - ref[i]) > e)
			e = fabs(a[i] - ref[i]);
	return e / (1 + m);
}

/* Runs op (0 conv2d, 1 conv2d_t) on g with random data, forward and backward with a random dy,
 * against the naive loops; x, w, b are leaves so every gradient is produced.  The transposed op
 * reads x on the output side and writes y on the image side (out_h = H, out_w = W). */
static void check_vs_naive(const int *row, int transposed, int with_bias, unsigned long seed)
{
	geom g = mk(row);
	size_t nx = transposed ? out_len(&g) : img_len(&g), ny = transposed ? img_len(&g) : out_len(&g);
	size_t nw = w_len(&g), nb = (size_t)(transposed ? g.C : g.K);
	float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(nb * sizeof *b);
	float *dy = malloc(ny * sizeof *dy);
	double *y = malloc(ny * sizeof *y), *dx = calloc(nx, sizeof *dx), *dw = calloc(nw, sizeof *dw);
	double *db = calloc(nb, sizeof *db);
	gc_fill(x, nx, -1, 1, seed);
	gc_fill(w, nw, -1, 1, seed + 1);
	gc_fill(b, nb, -1, 1, seed + 2);
	gc_fill(dy, ny, -1, 1, seed + 3);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = transposed ? snm_tape_leaf(t, 4, (int[]){ g.N, g.K, g.P, g.Q }, x)
	                            : snm_tape_leaf(t, 4, (int[]){ g.N, g.C, g.H, g.W }, x);
	snm_tensor *tw = snm_tape_leaf(t, 4, (int[]){ g.K, g.C, g.R, g.S }, w);
	snm_tensor *tb = with_bias ? snm_tape_leaf(t, 1, (int[]){ (int)nb }, b) : NULL;
	snm_tensor *ty = transposed ? snm_conv2d_t(t, tx, tw, tb, g.stride, g.pad, g.H, g.W)
	                            : snm_conv2d(t, tx, tw, tb, g.stride, g.pad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ty);
	CU_ASSERT_EQUAL(ty->d[0], g.N);
	CU_ASSERT_EQUAL(ty->d[1], transposed ? g.C : g.K);
	CU_ASSERT_EQUAL(ty->d[2], transposed ? g.H : g.P);
	CU_ASSERT_EQUAL(ty->d[3], transposed ? g.W : g.Q);
	naive(&g, transposed ? 2 : 0, x, w, with_bias ? b : NULL, NULL, y, NULL, NULL, NULL);
	double ef = rel_err(ty->x, y, ny);
	CU_ASSERT(ef < 1e-5);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, ty, dy, NULL), 0);
	naive(&g, transposed ? 3 : 1, x, w, NULL, dy, NULL, dx, dw, db);
	double ex = rel_err(tx->g, dx, nx), ew = rel_err(tw->g, dw, nw);
	double eb = with_bias ? rel_err(tb->g, db, nb) : 0;
	CU_ASSERT(ex < 1e-5);
	CU_ASSERT(ew < 1e-5);
	CU_ASSERT(eb < 1e-5);
	if (ef >= 1e-5 || ex >= 1e-5 || ew >= 1e-5 || eb >= 1e-5)
		fprintf(stderr, "%s N%d C%d %dx%d K%d %dx%d stride %d pad %d: rel. error y %.2g dx %.2g "
		        "dw %.2g db %.2g\n", transposed ? "conv2d_t" : "conv2d", g.N, g.C, g.H, g.W, g.K,
		        g.R, g.S, g.stride, g.pad, ef, ex, ew, eb);
	snm_tape_free(t);
	free(x); free(w); free(b); free(dy); free(y); free(dx); free(dw); free(db);
}

/* Odd shapes: batch 3, C and K not powers of two, H != W, R != S, strides 1-3, pads 0-2, sizes
 * where (H + 2 pad - R) is not a multiple of the stride (the transposed op's last rows then get
 * only the bias), and 1x1 kernels (the path without im2col, and with stride or pad the path
 * with it). */
static const int odd[][9] = {
	/* N  C  H  W  K  R  S  st pad */
	{ 3, 3, 7, 5, 5, 3, 2, 1, 0 },
	{ 3, 3, 7, 5, 5, 3, 2, 2, 1 },
	{ 3, 5, 9, 6, 7, 2, 3, 2, 2 },
	{ 3, 2, 6, 8, 3, 5, 4, 1, 2 },
	{ 3, 6, 8, 7, 3, 3, 3, 3, 1 },
	{ 3, 3, 10, 9, 6, 3, 3, 2, 1 },
	{ 3, 3, 5, 6, 5, 1, 1, 1, 0 },
	{ 3, 3, 6, 5, 5, 1, 1, 2, 0 },
	{ 3, 7, 4, 5, 3, 1, 1, 1, 1 },
	{ 3, 1, 5, 3, 2, 5, 3, 1, 0 },
};

static void test_conv2d_vs_naive(void)
{
	for (size_t i = 0; i < sizeof odd / sizeof *odd; ++i) {
		check_vs_naive(odd[i], 0, 1, 100 + 10 * i);
		check_vs_naive(odd[i], 0, 0, 200 + 10 * i);
	}
}

static void test_conv2d_t_vs_naive(void)
{
	for (size_t i = 0; i < sizeof odd / sizeof *odd; ++i) {
		check_vs_naive(odd[i], 1, 1, 300 + 10 * i);
		check_vs_naive(odd[i], 1, 0, 400 + 10 * i);
	}
}

/* The MNIST model: 3x3 kernels, stride 2, pad 1; encoder 1->32 (28->14), 32->64 (14->7), 64->96
 * (7->4) and the tied decodes 96->64 (4->7), 64->32 (7->14), 32->1 (14->28).  Batch 4 keeps the
 * naive loops fast; the batch only repeats the pattern. */
static const int mnist[][9] = {
	{ 4, 1, 28, 28, 32, 3, 3, 2, 1 },
	{ 4, 32, 14, 14, 64, 3, 3, 2, 1 },
	{ 4, 64, 7, 7, 96, 3, 3, 2, 1 },
};

static void test_mnist_shapes(void)
{
	for (size_t i = 0; i < sizeof mnist / sizeof *mnist; ++i) {
		geom g = mk(mnist[i]);
		CU_ASSERT_EQUAL(g.P, g.H == 28 ? 14 : g.H == 14 ? 7 : 4);
		check_vs_naive(mnist[i], 0, 1, 500 + 10 * i);
		check_vs_naive(mnist[i], 1, 1, 600 + 10 * i);
	}
}

/* ---- gradient checks ------------------------------------------------------------------------ */

typedef struct conv_args {
	int stride, pad, out_h, out_w;   /* out_* for conv2d_t only */
	int transposed;
} conv_args;

static snm_tensor *f_conv(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	conv_args *a = ctx;
	return a->transposed ? snm_conv2d_t(t, in[0], in[1], in[2], a->stride, a->pad, a->out_h, a->out_w)
	                     : snm_conv2d(t, in[0], in[1], in[2], a->stride, a->pad);
}

static snm_tensor *f_conv_nobias(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	conv_args *a = ctx;
	return a->transposed ? snm_conv2d_t(t, in[0], in[1], NULL, a->stride, a->pad, a->out_h, a->out_w)
	                     : snm_conv2d(t, in[0], in[1], NULL, a->stride, a->pad);
}

static void gradcheck_geom(const int *row, int transposed, unsigned long seed)
{
	geom g = mk(row);
	size_t nx = transposed ? out_len(&g) : img_len(&g), nw = w_len(&g);
	int nb = transposed ? g.C : g.K;
	float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), b[16];
	char what[96];
	gc_fill(x, nx, -1, 1, seed);
	gc_fill(w, nw, -1, 1, seed + 1);
	gc_fill(b, (size_t)nb, -1, 1, seed + 2);
	conv_args a = { g.stride, g.pad, g.H, g.W, transposed };
	gc_input in[3] = { { 4, { g.N, g.C, g.H, g.W }, x, 0 }, { 4, { g.K, g.C, g.R, g.S }, w, 0 },
	                   { 1, { nb }, b, 0 } };
	if (transposed)
		in[0] = (gc_input){ 4, { g.N, g.K, g.P, g.Q }, x, 0 };
	snprintf(what, sizeof what, "%s C%d %dx%d K%d %dx%d stride %d pad %d",
	         transposed ? "conv2d_t" : "conv2d", g.C, g.H, g.W, g.K, g.R, g.S, g.stride, g.pad);
	CU_ASSERT_EQUAL(gc_check(what, f_conv, &a, 3, in, NULL), 0);
	CU_ASSERT_EQUAL(gc_check(what, f_conv_nobias, &a, 2, in, NULL), 0);
	free(x);
	free(w);
}

static const int small[][9] = {
	/* N  C  H  W  K  R  S  st pad */
	{ 2, 3, 5, 4, 2, 3, 2, 1, 0 },
	{ 2, 2, 6, 5, 3, 3, 3, 2, 1 },
	{ 2, 3, 5, 6, 2, 2, 3, 2, 2 },
	{ 2, 3, 4, 3, 5, 1, 1, 1, 0 },
	{ 1, 2, 7, 7, 3, 3, 3, 3, 1 },
};

static void test_conv2d_gradcheck(void)
{
	for (size_t i = 0; i < sizeof small / sizeof *small; ++i)
		gradcheck_geom(small[i], 0, 700 + 10 * i);
}

static void test_conv2d_t_gradcheck(void)
{
	for (size_t i = 0; i < sizeof small / sizeof *small; ++i)
		gradcheck_geom(small[i], 1, 800 + 10 * i);
}

/* A tied conv autoencoder x -> conv(w1) -> conv(w2) -> conv_t(w2) -> conv_t(w1): every op uses the
 * shared scratch in turn, each weight is used twice and its gradient is the sum of both uses. */
static snm_tensor *f_autoencoder(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	snm_tensor *h1 = snm_conv2d(t, in[0], in[1], in[3], 2, 1);            /* (2,3,7,6) -> (2,4,4,3) */
	snm_tensor *h2 = snm_conv2d(t, h1, in[2], NULL, 1, 0);                /* -> (2,5,3,2) */
	snm_tensor *d2 = snm_conv2d_t(t, h2, in[2], NULL, 1, 0, 4, 3);        /* -> (2,4,4,3) */
	return snm_conv2d_t(t, d2, in[1], in[4], 2, 1, 7, 6);                  /* -> (2,3,7,6) */
}

static void test_tied_autoencoder(void)
{
	float x[2 * 3 * 7 * 6], w1[4 * 3 * 3 * 3], w2[5 * 4 * 2 * 2], b1[4], b2[3];
	gc_fill(x, sizeof x / sizeof *x, -1, 1, 901);
	gc_fill(w1, sizeof w1 / sizeof *w1, -1, 1, 902);
	gc_fill(w2, sizeof w2 / sizeof *w2, -1, 1, 903);
	gc_fill(b1, 4, -1, 1, 904);
	gc_fill(b2, 3, -1, 1, 905);
	gc_input in[5] = { { 4, { 2, 3, 7, 6 }, x, 0 }, { 4, { 4, 3, 3, 3 }, w1, 0 },
	                   { 4, { 5, 4, 2, 2 }, w2, 0 }, { 1, { 4 }, b1, 0 }, { 1, { 3 }, b2, 0 } };
	CU_ASSERT_EQUAL(gc_check("conv autoencoder", f_autoencoder, NULL, 5, in, NULL), 0);
}

/* ---- the adjoint identity ------------------------------------------------------------------- */

/* <conv2d(x; w), y> = <x, conv2d_t(y; w)> for x (N,C,H,W) and y (N,K,P,Q), no bias: conv2d_t is
 * the transpose of the linear map conv2d, including sizes where the stride leaves rows unused. */
static void test_adjoint(void)
{
	for (size_t i = 0; i < sizeof odd / sizeof *odd; ++i) {
		geom g = mk(odd[i]);
		size_t nx = img_len(&g), ny = out_len(&g), nw = w_len(&g);
		float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), *w = malloc(nw * sizeof *w);
		gc_fill(x, nx, -1, 1, 1000 + i);
		gc_fill(y, ny, -1, 1, 1100 + i);
		gc_fill(w, nw, -1, 1, 1200 + i);
		snm_tape *t = snm_tape_new(0, NULL);
		snm_tensor *tw = snm_tape_const(t, 4, (int[]){ g.K, g.C, g.R, g.S }, w);
		snm_tensor *cx = snm_conv2d(t, snm_tape_const(t, 4, (int[]){ g.N, g.C, g.H, g.W }, x), tw,
		                            NULL, g.stride, g.pad);
		snm_tensor *ty = snm_conv2d_t(t, snm_tape_const(t, 4, (int[]){ g.N, g.K, g.P, g.Q }, y), tw,
		                              NULL, g.stride, g.pad, g.H, g.W);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cx);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ty);
		double lhs = 0, rhs = 0, mag = 0;
		for (size_t k = 0; k < ny; ++k) {
			lhs += (double)cx->x[k] * y[k];
			mag += fabs((double)cx->x[k] * y[k]);
		}
		for (size_t k = 0; k < nx; ++k)
			rhs += (double)x[k] * ty->x[k];
		CU_ASSERT(fabs(lhs - rhs) <= 1e-5 * mag);
		snm_tape_free(t);
		free(x); free(y); free(w);
	}
}

/* ---- accumulation and missing gradients ------------------------------------------------------ */

/* Gradients are ADDED to x->g, w->g and b->g: with parameters whose g is pre-filled, backward
 * leaves pre-filled + the naive gradient, for both ops, on the im2col path and the 1x1 path. */
static void accumulate_geom(const int *row, int transposed, unsigned long seed)
{
	geom g = mk(row);
	size_t nx = transposed ? out_len(&g) : img_len(&g), ny = transposed ? img_len(&g) : out_len(&g);
	size_t nw = w_len(&g);
	int nb = transposed ? g.C : g.K;
	float *dy = malloc(ny * sizeof *dy);
	double *dx = calloc(nx, sizeof *dx), *dw = calloc(nw, sizeof *dw);
	double *db = calloc((size_t)nb, sizeof *db);
	snm_params *p = snm_params_new(NULL);
	int dx_shape[4] = { g.N, transposed ? g.K : g.C, transposed ? g.P : g.H, transposed ? g.Q : g.W };
	snm_tensor *px = snm_params_add(p, "x", 4, dx_shape, SNM_T_PARAM, NULL);
	snm_tensor *pw = snm_params_add(p, "w", 4, (int[]){ g.K, g.C, g.R, g.S }, SNM_T_PARAM, NULL);
	snm_tensor *pb = snm_params_add(p, "b", 1, (int[]){ nb }, SNM_T_PARAM, NULL);
	CU_ASSERT_FATAL(px != NULL && pw != NULL && pb != NULL);
	gc_fill(px->x, nx, -1, 1, seed);
	gc_fill(pw->x, nw, -1, 1, seed + 1);
	gc_fill(pb->x, (size_t)nb, -1, 1, seed + 2);
	gc_fill(dy, ny, -1, 1, seed + 3);
	gc_fill(px->g, nx, -1, 1, seed + 4);
	gc_fill(pw->g, nw, -1, 1, seed + 5);
	gc_fill(pb->g, (size_t)nb, -1, 1, seed + 6);
	for (size_t k = 0; k < nx; ++k)
		dx[k] = px->g[k];
	for (size_t k = 0; k < nw; ++k)
		dw[k] = pw->g[k];
	for (int k = 0; k < nb; ++k)
		db[k] = pb->g[k];
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *y = transposed ? snm_conv2d_t(t, px, pw, pb, g.stride, g.pad, g.H, g.W)
	                           : snm_conv2d(t, px, pw, pb, g.stride, g.pad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
	naive(&g, transposed ? 3 : 1, px->x, pw->x, NULL, dy, NULL, dx, dw, db);
	CU_ASSERT(rel_err(px->g, dx, nx) < 1e-5);
	CU_ASSERT(rel_err(pw->g, dw, nw) < 1e-5);
	CU_ASSERT(rel_err(pb->g, db, (size_t)nb) < 1e-5);
	snm_tape_free(t);
	snm_params_free(p);
	free(dy); free(dx); free(dw); free(db);
}

static void test_accumulate(void)
{
	static const int rows[][9] = { { 2, 3, 6, 5, 4, 3, 3, 2, 1 }, { 2, 3, 4, 5, 4, 1, 1, 1, 0 } };
	for (int i = 0; i < 2; ++i) {
		accumulate_geom(rows[i], 0, 1300 + 10 * i);
		accumulate_geom(rows[i], 1, 1400 + 10 * i);
	}
}

/* Only inputs that carry a gradient get one: a constant x stays without, w still gets its own. */
static void test_constant_input(void)
{
	geom g = mk((const int[]){ 2, 3, 6, 5, 4, 3, 3, 2, 1 });
	size_t nx = img_len(&g), ny = out_len(&g), nw = w_len(&g);
	float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *dy = malloc(ny * sizeof *dy);
	double *dx = calloc(nx, sizeof *dx), *dw = calloc(nw, sizeof *dw);
	gc_fill(x, nx, -1, 1, 1501);
	gc_fill(w, nw, -1, 1, 1502);
	gc_fill(dy, ny, -1, 1, 1503);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ g.N, g.C, g.H, g.W }, x);
	snm_tensor *tw = snm_tape_leaf(t, 4, (int[]){ g.K, g.C, g.R, g.S }, w);
	snm_tensor *y = snm_conv2d(t, tx, tw, NULL, g.stride, g.pad);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
	CU_ASSERT_PTR_NULL(tx->g);
	naive(&g, 1, x, w, NULL, dy, NULL, dx, dw, NULL);
	CU_ASSERT(rel_err(tw->g, dw, nw) < 1e-5);
	/* and with gradients off nothing is recorded */
	snm_tape_set_grad(t, 0);
	int before = snm_tape_n_nodes(t);
	y = snm_conv2d_t(t, y, tw, NULL, g.stride, g.pad, g.H, g.W);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_PTR_NULL(y->g);
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), before);
	snm_tape_free(t);
	free(x); free(w); free(dy); free(dx); free(dw);
}

/* ---- fused with the ReLU ---------------------------------------------------------------------- */

/* 1 when a[0..n) and b[0..n) hold the same bits. */
static int same_bits(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof *a) == 0;
}

/* snm_conv2d_relu (snm_linear_relu when lin) against snm_relu of the product: with gradients on,
 * the same output bits, the same node count and the same gradients of x, w and b after the same
 * seed; with gradients off, the same output bits from one tensor and no node.  Values straddle 0
 * so that both sides of the ReLU occur, and some outputs are exact zeros (a zero bias row). */
static void fused_geom(const int *row, int lin, unsigned long seed)
{
	geom g = mk(row);
	int xs[4] = { g.N, g.C, g.H, g.W }, ws[4] = { g.K, g.C, g.R, g.S };
	int O = g.K, I = g.C * g.H * g.W;
	size_t nx = img_len(&g), nw = lin ? (size_t)O * I : w_len(&g), ny = lin ? (size_t)g.N * O : out_len(&g);
	float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc((size_t)O * sizeof *b);
	float *dy = malloc(ny * sizeof *dy), *ref[4] = { NULL }, *got[4] = { NULL };
	gc_fill(x, nx, -1, 1, seed);
	gc_fill(w, nw, -1, 1, seed + 1);
	gc_fill(b, (size_t)O, -1, 1, seed + 2);
	gc_fill(dy, ny, -1, 1, seed + 3);
	for (size_t k = 0; k < (size_t)I && k < nw; ++k)
		w[k] = 0.0f;                                 /* output channel 0: the bias alone */
	b[0] = 0.0f;
	for (int fused = 0; fused < 2; ++fused) {
		float **out = fused ? got : ref;
		for (int grad = 1; grad >= 0; --grad) {
			snm_tape *t = snm_tape_new(0, NULL);
			snm_tensor *tx = snm_tape_leaf(t, 4, xs, x);
			snm_tensor *tw = lin ? snm_tape_leaf(t, 2, (int[]){ O, I }, w) : snm_tape_leaf(t, 4, ws, w);
			snm_tensor *tb = snm_tape_leaf(t, 1, &O, b), *y;
			int before;
			snm_tape_set_grad(t, grad);
			before = snm_tape_n_nodes(t);
			if (lin)
				y = fused ? snm_linear_relu(t, tx, tw, tb, 0) : snm_relu(t, snm_linear(t, tx, tw, tb, 0));
			else
				y = fused ? snm_conv2d_relu(t, tx, tw, tb, g.stride, g.pad)
				          : snm_relu(t, snm_conv2d(t, tx, tw, tb, g.stride, g.pad));
			CU_ASSERT_PTR_NOT_NULL_FATAL(y);
			CU_ASSERT_EQUAL(snm_tape_n_nodes(t) - before, grad ? 2 : 0);
			if (grad) {
				CU_ASSERT_EQUAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
				out[0] = malloc(ny * sizeof(float));
				out[1] = malloc(nx * sizeof(float));
				out[2] = malloc(nw * sizeof(float));
				out[3] = malloc((size_t)O * sizeof(float));
				memcpy(out[0], y->x, ny * sizeof(float));
				memcpy(out[1], tx->g, nx * sizeof(float));
				memcpy(out[2], tw->g, nw * sizeof(float));
				memcpy(out[3], tb->g, (size_t)O * sizeof(float));
			} else {
				CU_ASSERT_PTR_NULL(y->g);
				CU_ASSERT(same_bits(y->x, out[0], ny));
			}
			snm_tape_free(t);
		}
	}
	CU_ASSERT(same_bits(got[0], ref[0], ny));
	CU_ASSERT(same_bits(got[1], ref[1], nx));
	CU_ASSERT(same_bits(got[2], ref[2], nw));
	CU_ASSERT(same_bits(got[3], ref[3], (size_t)O));
	for (int k = 0; k < 4; ++k) {
		free(ref[k]);
		free(got[k]);
	}
	free(x); free(w); free(b); free(dy);
}

static void test_fused_relu(void)
{
	static const int rows[][9] = {
		{ 3, 3, 6, 5, 4, 3, 3, 2, 1 },     /* 3-wide stride 2 */
		{ 2, 2, 7, 6, 5, 3, 3, 1, 1 },     /* stride 1 */
		{ 2, 3, 4, 5, 4, 1, 1, 1, 0 },     /* 1x1: the pointwise path */
		{ 8, 4, 7, 7, 40, 3, 3, 2, 1 },    /* large enough for several blocks */
	};
	for (int i = 0; i < 4; ++i) {
		fused_geom(rows[i], 0, 1600 + 10 * (unsigned long)i);
		fused_geom(rows[i], 1, 1700 + 10 * (unsigned long)i);
	}
}

/* ---- shape errors ------------------------------------------------------------------------ */

/* Runs the failing call f on a fresh tape and checks the code and that msg contains each of the
 * given pieces. */
static void expect_error(snm_tensor *(*f)(snm_tape *), int code, const char *a, const char *b,
                         const char *c)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	CU_ASSERT_PTR_NULL(f(t));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), code);
	if (code != SNM_OK) {
		if (a) CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, a));
		if (b) CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, b));
		if (c) CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, c));
	}
	snm_tape_free(t);
}

static snm_tensor *c(snm_tape *t, int n, int ch, int h, int w)
{
	return snm_tape_const(t, 4, (int[]){ n, ch, h, w }, NULL);
}

static snm_tensor *err_channels(snm_tape *t)
{
	return snm_conv2d(t, c(t, 3, 2, 5, 5), c(t, 4, 3, 3, 3), NULL, 1, 0);
}
static snm_tensor *err_bias(snm_tape *t)
{
	return snm_conv2d(t, c(t, 3, 3, 5, 5), c(t, 4, 3, 3, 3), snm_tape_const(t, 1, (int[]){ 5 }, NULL),
	                  1, 0);
}
static snm_tensor *err_not4d(snm_tape *t)
{
	return snm_conv2d(t, snm_tape_const(t, 2, (int[]){ 3, 25 }, NULL), c(t, 4, 3, 3, 3), NULL, 1, 0);
}
static snm_tensor *err_kernel(snm_tape *t)
{
	return snm_conv2d(t, c(t, 3, 3, 2, 5), c(t, 4, 3, 3, 3), NULL, 1, 0);
}
static snm_tensor *err_stride(snm_tape *t)
{
	return snm_conv2d(t, c(t, 3, 3, 5, 5), c(t, 4, 3, 3, 3), NULL, 0, 0);
}
static snm_tensor *err_t_size(snm_tape *t)
{
	/* a 5x5 output at stride 2, pad 1 comes from 3x3, not 4x4 */
	return snm_conv2d_t(t, c(t, 2, 4, 4, 4), c(t, 4, 3, 3, 3), NULL, 2, 1, 5, 5);
}
static snm_tensor *err_t_channels(snm_tape *t)
{
	return snm_conv2d_t(t, c(t, 2, 3, 4, 4), c(t, 4, 3, 3, 3), NULL, 2, 1, 7, 7);
}
static snm_tensor *err_t_bias(snm_tape *t)
{
	snm_tensor *b = snm_tape_const(t, 1, (int[]){ 4 }, NULL);
	return snm_conv2d_t(t, c(t, 2, 4, 4, 4), c(t, 4, 3, 3, 3), b, 2, 1, 7, 7);
}
static snm_tensor *null_input(snm_tape *t)
{
	return snm_conv2d(t, NULL, c(t, 4, 3, 3, 3), NULL, 1, 0);
}

static void test_shape_errors(void)
{
	expect_error(err_channels, SNM_ESHAPE, "(3,2,5,5)", "(4,3,3,3)", "channels");
	expect_error(err_bias, SNM_ESHAPE, "(5)", "(4,3,3,3)", "bias");
	expect_error(err_not4d, SNM_ESHAPE, "(3,25)", "4-D", NULL);
	expect_error(err_kernel, SNM_ESHAPE, "(3,3,2,5)", "(4,3,3,3)", "3x3");
	expect_error(err_stride, SNM_EINVAL, "stride 0", NULL, NULL);
	expect_error(err_t_size, SNM_ESHAPE, "(2,4,4,4)", "5x5", "3x3");
	expect_error(err_t_channels, SNM_ESHAPE, "(2,3,4,4)", "(4,3,3,3)", "channels");
	expect_error(err_t_bias, SNM_ESHAPE, "(4)", "(4,3,3,3)", "bias");
	expect_error(null_input, SNM_OK, NULL, NULL, NULL);   /* NULL in, NULL out, no new error */

	/* 7 and 8 both give 4 at stride 2, pad 1 (PyTorch's output_padding 0 and 1) */
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *y = snm_conv2d_t(t, c(t, 2, 4, 4, 4), c(t, 4, 3, 3, 3), NULL, 2, 1, 7, 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(y->d[2], 7);
	CU_ASSERT_EQUAL(y->d[3], 8);
	snm_tape_free(t);
}

static CU_TestInfo conv_tests[] = {
	{ "conv2d_vs_naive", test_conv2d_vs_naive },
	{ "conv2d_t_vs_naive", test_conv2d_t_vs_naive },
	{ "mnist_shapes", test_mnist_shapes },
	{ "conv2d_gradcheck", test_conv2d_gradcheck },
	{ "conv2d_t_gradcheck", test_conv2d_t_gradcheck },
	{ "tied_autoencoder", test_tied_autoencoder },
	{ "adjoint", test_adjoint },
	{ "accumulate", test_accumulate },
	{ "constant_input", test_constant_input },
	{ "fused_relu", test_fused_relu },
	{ "shape_errors", test_shape_errors },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "conv", NULL, NULL, NULL, NULL, conv_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_conv", suites);
}
