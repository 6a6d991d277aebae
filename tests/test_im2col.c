/* test_im2col.c: the column matrices of src/core/im2col.h, bit for bit.
 *
 * im2col is copies only, so its columns must equal a naive im2col's exactly; col2im adds to each
 * pixel, onto the value dx already holds, the taps (r, s) that reach it one after the other in
 * the order of (r, s) -- the order every path of im2col.c keeps, so that a faster path gives the
 * same bits -- and must equal naive loops that add in that order exactly (dx is pre-filled with
 * values, -0.0f among them, so that an add onto -0 shows).  Both are run in 1 to 4 ranges of
 * images, as conv.c's blocks run them (im2col's last range first, so that a range that wrote past
 * its own columns would show).  The geometries reach every path: stride 2 from a padded plane (the
 * MNIST model's 3-wide kernels, vibnet's 4x4, vib_lp's 5x5, odd shapes), the 3-wide stride-2
 * kernels row by row where the plane is too large, the phase
 * planes (stride 1 that fits a plane: CIFAR-10's first
 * convolution), the direct loops (other strides, and a stride-1 image too large for a plane). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "core/im2col.h"

static const int geoms[][8] = {
	/* N  C  H   W   R  S  st pad */
	{ 5, 1, 28, 28, 3, 3, 2, 1 },      /* MNIST enc1: 3-wide, stride 2 */
	{ 5, 3, 14, 14, 3, 3, 2, 1 },
	{ 5, 2, 7, 7, 3, 3, 2, 1 },
	{ 5, 3, 10, 9, 3, 3, 2, 1 },
	{ 5, 2, 9, 10, 2, 3, 2, 1 },       /* 3-wide, stride 2: R 2, R 5, tiny images */
	{ 5, 2, 11, 5, 5, 3, 2, 1 },
	{ 5, 3, 3, 3, 3, 3, 2, 1 },
	{ 4, 2, 2, 1, 2, 3, 2, 1 },
	{ 2, 1, 66, 64, 3, 3, 2, 1 },      /* 3-wide, stride 2, larger than a padded plane */
	{ 5, 1, 28, 28, 4, 4, 2, 1 },      /* vibnet's encoder: 4x4 stride 2 from a padded plane */
	{ 5, 3, 14, 14, 4, 4, 2, 1 },
	{ 5, 2, 7, 7, 4, 4, 2, 2 },
	{ 5, 3, 14, 14, 5, 5, 2, 2 },      /* vib_lp's decoder (im2col of dy): 5x5 stride 2 */
	{ 5, 2, 9, 10, 2, 5, 2, 0 },       /* stride 2 from a plane: odd shapes, pads 0 to 3 */
	{ 5, 2, 6, 11, 3, 2, 2, 3 },
	{ 4, 2, 1, 2, 1, 2, 2, 0 },
	{ 2, 1, 70, 66, 4, 4, 2, 1 },      /* 4x4 stride 2, larger than a plane: direct loops */
	{ 5, 3, 32, 32, 5, 5, 1, 2 },      /* CIFAR-10 first: phase planes */
	{ 5, 2, 9, 6, 3, 3, 1, 1 },
	{ 5, 2, 6, 8, 5, 4, 1, 2 },
	{ 5, 3, 7, 5, 3, 2, 1, 0 },
	{ 5, 1, 5, 3, 5, 3, 1, 0 },
	{ 5, 5, 9, 6, 2, 3, 2, 2 },        /* direct loops (im2col: a padded plane) */
	{ 5, 6, 8, 7, 3, 3, 3, 1 },
	{ 2, 1, 70, 70, 3, 3, 1, 1 },      /* stride 1, too large for a plane: direct loops */
};

/* x (N,C,H,W) at (n,c,h,w), or 0 outside the image */
static float pix(const snm_conv_geom *g, const float *x, int n, int c, int h, int w)
{
	if (h < 0 || h >= g->H || w < 0 || w >= g->W)
		return 0.0f;
	return x[(((size_t)n * g->C + c) * g->H + h) * g->W + w];
}

static void naive_im2col(const snm_conv_geom *g, const float *x, float *col)
{
	size_t npq = (size_t)g->N * g->P * g->Q, row = 0;
	for (int c = 0; c < g->C; ++c)
		for (int r = 0; r < g->R; ++r)
			for (int s = 0; s < g->S; ++s, ++row)
				for (int n = 0; n < g->N; ++n)
					for (int p = 0; p < g->P; ++p)
						for (int q = 0; q < g->Q; ++q)
							col[row * npq + ((size_t)n * g->P + p) * g->Q + q] =
								pix(g, x, n, c, p * g->stride - g->pad + r, q * g->stride - g->pad + s);
}

static void naive_col2im(const snm_conv_geom *g, const float *col, float *dx)
{
	size_t npq = (size_t)g->N * g->P * g->Q, row = 0;
	for (int c = 0; c < g->C; ++c)
		for (int r = 0; r < g->R; ++r)
			for (int s = 0; s < g->S; ++s, ++row)
				for (int n = 0; n < g->N; ++n)
					for (int p = 0; p < g->P; ++p)
						for (int q = 0; q < g->Q; ++q) {
							int h = p * g->stride - g->pad + r, w = q * g->stride - g->pad + s;
							if (h >= 0 && h < g->H && w >= 0 && w < g->W)
								dx[(((size_t)n * g->C + c) * g->H + h) * g->W + w] +=
									col[row * npq + ((size_t)n * g->P + p) * g->Q + q];
						}
}

/* uniform in [-1, 1), every third value -0.0f */
static void fill(float *v, size_t n, unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < n; ++i)
		v[i] = i % 3 == 0 ? -0.0f : 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;
}

static void test_bitwise(void)
{
	for (size_t i = 0; i < sizeof geoms / sizeof *geoms; ++i) {
		const int *v = geoms[i];
		snm_conv_geom g = { .N = v[0], .C = v[1], .H = v[2], .W = v[3], .R = v[4], .S = v[5],
		                    .stride = v[6], .pad = v[7] };
		size_t nx, nc;
		float *x, *c0, *c1, *d0, *d1;
		CU_ASSERT_EQUAL_FATAL(snm_conv_geom_init(&g), 0);
		nx = (size_t)g.N * g.C * g.H * g.W;
		nc = (size_t)g.C * g.R * g.S * g.N * g.P * g.Q;
		x = malloc(nx * sizeof *x), d0 = malloc(nx * sizeof *x), d1 = malloc(nx * sizeof *x);
		c0 = malloc(nc * sizeof *x), c1 = malloc(nc * sizeof *x);
		CU_ASSERT_FATAL(x && d0 && d1 && c0 && c1);
		for (int nb = 1; nb <= 4; ++nb) {
			int ok_col, ok_dx;
			fill(x, nx, 10 * (unsigned)i + 1);
			fill(d0, nx, 10 * (unsigned)i + 2);
			memcpy(d1, d0, nx * sizeof *x);
			naive_im2col(&g, x, c0);
			memset(c1, 0x55, nc * sizeof *x);             /* every element must be written */
			for (int b = nb - 1; b >= 0; --b)       /* last first: no range writes past its own */
				snm_im2col_range(&g, x, c1, g.N * b / nb, g.N * (b + 1) / nb);
			ok_col = memcmp(c0, c1, nc * sizeof *x) == 0;
			fill(c0, nc, 10 * (unsigned)i + 3);
			naive_col2im(&g, c0, d0);
			for (int b = 0; b < nb; ++b)
				snm_col2im_range(&g, c0, d1, g.N * b / nb, g.N * (b + 1) / nb);
			ok_dx = memcmp(d0, d1, nx * sizeof *x) == 0;
			CU_ASSERT(ok_col);
			CU_ASSERT(ok_dx);
			if (!ok_col || !ok_dx)
				fprintf(stderr, "geometry %zu (N%d C%d %dx%d R%d S%d stride %d pad %d), %d ranges: "
				        "im2col %s, col2im %s\n", i, g.N, g.C, g.H, g.W, g.R, g.S, g.stride, g.pad,
				        nb, ok_col ? "equal" : "DIFFERS", ok_dx ? "equal" : "DIFFERS");
		}
		free(x), free(d0), free(d1), free(c0), free(c1);
	}
}

static CU_TestInfo tests[] = {
	{ "im2col_col2im_bitwise_vs_naive", test_bitwise },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "im2col", NULL, NULL, NULL, NULL, tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return snm_test_run("test_im2col", suites);
}
