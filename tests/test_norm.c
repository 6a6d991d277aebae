/* test_norm.c: batch normalisation (hand values, an independent double-precision reference,
 * running statistics, split groups, finite differences in training and evaluation mode), the
 * random ops (dropout, Gaussian noise, randn: determinism per seed, statistics, gradients) and the
 * scaling ops of the min-max noise scheme and VAT (ranges, inverses, the semantic-noise formula of
 * peers/torch_ref.py, clamped spans, finite differences). */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "gradcheck.h"

/* ---- batch norm: reference and hand values ------------------------------------------------ */

/* Independent reference for one group of rows [r0,r1) of x (N,C,S per channel), in double:
 * mu = mean, var = biased variance, y = gamma (x - mu)/sqrt(var + eps) + beta.  Also returns the
 * unbiased variance of each channel (for the running update). */
static void bn_ref(const float *x, int C, int S, int r0, int r1, const float *gamma, const float *beta,
                   double eps, double *y, double *mu, double *var_b, double *var_u)
{
	for (int c = 0; c < C; ++c) {
		double s = 0, ss = 0, m = (double)(r1 - r0) * S;
		for (int n = r0; n < r1; ++n)
			for (int i = 0; i < S; ++i)
				s += x[(n * C + c) * S + i];
		mu[c] = s / m;
		for (int n = r0; n < r1; ++n)
			for (int i = 0; i < S; ++i) {
				double d = x[(n * C + c) * S + i] - mu[c];
				ss += d * d;
			}
		var_b[c] = ss / m;
		var_u[c] = ss / (m - 1);
		for (int n = r0; n < r1; ++n)
			for (int i = 0; i < S; ++i)
				y[(n * C + c) * S + i] = (gamma ? gamma[c] : 1.0) * (x[(n * C + c) * S + i] - mu[c]) /
				                         sqrt(var_b[c] + eps) + (beta ? beta[c] : 0.0);
	}
}

/* PyTorch semantics (torch.nn.BatchNorm1d(2, eps=1e-5, momentum=0.1)):
 *   training:   y = gamma (x - mean) / sqrt(var_biased + eps) + beta,
 *               running_mean = 0.9 running_mean + 0.1 mean,
 *               running_var  = 0.9 running_var  + 0.1 var_unbiased;
 *   evaluation: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta.
 * x (4,2) = [[1,0],[3,2],[5,2],[7,4]]:
 *   feature 0: mean 4, deviations -3,-1,1,3, sum of squares 20: biased var 5, unbiased 20/3;
 *   feature 1: mean 2, deviations -2,0,0,2, sum of squares 8:   biased var 2, unbiased 8/3.
 * gamma = (2, 0.5), beta = (1, -1); running mean (0.5, -1), running var (1, 2) before:
 *   running mean after = (0.9*0.5 + 0.1*4, 0.9*-1 + 0.1*2)       = (0.85, -0.7)
 *   running var after  = (0.9*1 + 0.1*20/3, 0.9*2 + 0.1*8/3)     = (1.5666667, 2.0666667). */
static void test_bn_hand_values(void)
{
	const float x[8] = { 1, 0, 3, 2, 5, 2, 7, 4 };
	const double eps = 1e-5, s0 = sqrt(5 + eps), s1 = sqrt(2 + eps);
	const double y_train[8] = {
		2 * -3 / s0 + 1, 0.5 * -2 / s1 - 1,
		2 * -1 / s0 + 1, 0.5 * 0 / s1 - 1,
		2 * 1 / s0 + 1,  0.5 * 0 / s1 - 1,
		2 * 3 / s0 + 1,  0.5 * 2 / s1 - 1,
	};
	const double rm[2] = { 0.85, -0.7 }, rv[2] = { 0.9 + 2.0 / 3.0, 1.8 + 0.8 / 3.0 };
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ 4, 2 }, x);
	snm_tensor *ga = snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 2, 0.5f });
	snm_tensor *be = snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 1, -1 });
	snm_tensor *m = snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 0.5f, -1 });
	snm_tensor *v = snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 1, 2 });
	snm_tensor *y = snm_batchnorm(t, tx, ga, be, m, v, 0.1f, 1e-5f, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (int k = 0; k < 8; ++k)
		SNM_ASSERT_CLOSE(y->x[k], y_train[k], 1e-6, 1e-6);
	for (int c = 0; c < 2; ++c) {
		SNM_ASSERT_CLOSE(m->x[c], rm[c], 1e-6, 1e-6);
		SNM_ASSERT_CLOSE(v->x[c], rv[c], 1e-6, 1e-6);
	}
	/* evaluation: the running statistics normalise, and stay as they are */
	snm_tape_set_training(t, 0);
	y = snm_batchnorm(t, tx, ga, be, m, v, 0.1f, 1e-5f, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (int n = 0; n < 4; ++n)
		for (int c = 0; c < 2; ++c) {
			double g = c ? 0.5 : 2, b = c ? -1 : 1;
			SNM_ASSERT_CLOSE(y->x[n * 2 + c], g * (x[n * 2 + c] - rm[c]) / sqrt(rv[c] + eps) + b,
			                 1e-6, 1e-6);
		}
	SNM_ASSERT_CLOSE(m->x[0], 0.85, 1e-6, 0);
	SNM_ASSERT_CLOSE(v->x[1], rv[1], 1e-6, 0);
	/* without gamma/beta and without running statistics (training): plain standardisation */
	snm_tape_set_training(t, 1);
	y = snm_batchnorm(t, tx, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	SNM_ASSERT_CLOSE(y->x[0], -3 / s0, 1e-6, 1e-6);
	SNM_ASSERT_CLOSE(y->x[7], 2 / s1, 1e-6, 1e-6);
	snm_tape_free(t);
}

/* 4-D (N,C,H,W) per channel over N,H,W against the double reference; running update too. */
static void test_bn_4d_vs_ref(void)
{
	enum { N = 3, C = 2, H = 2, W = 3, S = H * W, L = N * C * S };
	float x[L], ga[C] = { 1.5f, -0.5f }, be[C] = { 0.25f, 2 };
	double y[L], mu[C], vb[C], vu[C];
	gc_fill(x, L, -2, 3, 21);
	bn_ref(x, C, S, 0, N, ga, be, 1e-3, y, mu, vb, vu);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *m = snm_tape_const(t, 1, (int[]){ C }, (float[]){ 0.1f, 0.2f });
	snm_tensor *v = snm_tape_const(t, 1, (int[]){ C }, (float[]){ 1.0f, 0.5f });
	snm_tensor *out = snm_batchnorm(t, snm_tape_const(t, 4, (int[]){ N, C, H, W }, x),
	                                snm_tape_const(t, 1, (int[]){ C }, ga),
	                                snm_tape_const(t, 1, (int[]){ C }, be), m, v, 0.3f, 1e-3f, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(out->n_d, 4);
	for (int k = 0; k < L; ++k)
		SNM_ASSERT_CLOSE(out->x[k], y[k], 1e-5, 1e-5);
	SNM_ASSERT_CLOSE(m->x[0], 0.7 * 0.1 + 0.3 * mu[0], 1e-6, 1e-6);
	SNM_ASSERT_CLOSE(m->x[1], 0.7 * 0.2 + 0.3 * mu[1], 1e-6, 1e-6);
	SNM_ASSERT_CLOSE(v->x[0], 0.7 * 1.0 + 0.3 * vu[0], 1e-6, 1e-6);
	SNM_ASSERT_CLOSE(v->x[1], 0.7 * 0.5 + 0.3 * vu[1], 1e-6, 1e-6);
	snm_tape_free(t);
}

/* split: each group has its own statistics (which differ from the whole batch's); the running
 * statistics come from the first group only. */
static void test_bn_split(void)
{
	enum { N = 6, C = 3, SPLIT = 2 };
	float x[N * C];
	double yw[N * C], y0[N * C], y1[N * C], mw[C], m0[C], m1[C], vb[C], vu0[C], vu[C];
	gc_fill(x, N * C, -1, 1, 22);
	for (int k = SPLIT * C; k < N * C; ++k)   /* second group from another distribution */
		x[k] = 3 * x[k] + 1;
	bn_ref(x, C, 1, 0, N, NULL, NULL, 1e-5, yw, mw, vb, vu);
	bn_ref(x, C, 1, 0, SPLIT, NULL, NULL, 1e-5, y0, m0, vb, vu0);
	bn_ref(x, C, 1, SPLIT, N, NULL, NULL, 1e-5, y1, m1, vb, vu);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *m = snm_tape_const(t, 1, (int[]){ C }, NULL);
	snm_tensor *v = snm_tape_const(t, 1, (int[]){ C }, (float[]){ 1, 1, 1 });
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ N, C }, x);
	snm_tensor *ys = snm_batchnorm(t, tx, NULL, NULL, m, v, 0.1f, 1e-5f, SPLIT);
	snm_tensor *yw_t = snm_batchnorm(t, tx, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ys);
	CU_ASSERT_PTR_NOT_NULL_FATAL(yw_t);
	int differ = 0;
	for (int k = 0; k < N * C; ++k) {
		SNM_ASSERT_CLOSE(ys->x[k], k < SPLIT * C ? y0[k] : y1[k], 1e-5, 1e-5);
		SNM_ASSERT_CLOSE(yw_t->x[k], yw[k], 1e-5, 1e-5);
		differ += fabsf(ys->x[k] - yw_t->x[k]) > 1e-2f;
	}
	CU_ASSERT(differ >= N * C / 2);
	for (int c = 0; c < C; ++c) {
		SNM_ASSERT_CLOSE(m->x[c], 0.1 * m0[c], 1e-6, 1e-6);
		SNM_ASSERT_CLOSE(v->x[c], 0.9 + 0.1 * vu0[c], 1e-6, 1e-6);
		CU_ASSERT(fabs(m0[c] - mw[c]) > 1e-2);
	}
	snm_tape_free(t);
}

/* The running statistics are updated in training mode even with gradients off, and not at all in
 * evaluation mode; evaluation without them, bad shapes and a 1-value group are errors. */
static void test_bn_modes_and_errors(void)
{
	float x[8];
	snm_error e;
	gc_fill(x, 8, -1, 1, 23);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tape_set_grad(t, 0);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ 4, 2 }, x);
	snm_tensor *m = snm_tape_const(t, 1, (int[]){ 2 }, NULL);
	snm_tensor *v = snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 1, 1 });
	CU_ASSERT_PTR_NOT_NULL(snm_batchnorm(t, tx, NULL, NULL, m, v, 0.1f, 1e-5f, 0));
	CU_ASSERT(m->x[0] != 0.0f && v->x[0] != 1.0f);
	float m0 = m->x[0], v0 = v->x[0];
	snm_tape_set_training(t, 0);
	CU_ASSERT_PTR_NOT_NULL(snm_batchnorm(t, tx, NULL, NULL, m, v, 0.1f, 1e-5f, 0));
	CU_ASSERT_EQUAL(m->x[0], m0);
	CU_ASSERT_EQUAL(v->x[0], v0);
	CU_ASSERT_PTR_NULL(snm_batchnorm(t, tx, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 0));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	snm_tape_reset(t);
	snm_tape_set_training(t, 1);
	tx = snm_tape_const(t, 2, (int[]){ 4, 2 }, x);
	CU_ASSERT_PTR_NULL(snm_batchnorm(t, tx, snm_tape_const(t, 1, (int[]){ 3 }, NULL), NULL, NULL, NULL,
	                                 0.1f, 1e-5f, 0));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	snm_tape_reset(t);
	tx = snm_tape_const(t, 2, (int[]){ 4, 2 }, x);
	CU_ASSERT_PTR_NULL(snm_batchnorm(t, tx, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 4));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	snm_tape_reset(t);
	tx = snm_tape_const(t, 2, (int[]){ 4, 2 }, x);
	CU_ASSERT_PTR_NULL(snm_batchnorm(t, tx, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 3));  /* 1 row */
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	snm_tape_free(t);
}

/* Held statistics (snm_tape_set_hold_stats): training mode still normalises with the batch's own
 * statistics -- the output and the gradient equal the updating pass's bit for bit -- but the
 * running buffers stay as they were; the setting survives a reset, and releasing it updates
 * again. */
static void test_bn_hold_stats(void)
{
	enum { R = 6, F = 3 };
	float x[R * F], dy[R * F], y1[R * F], g1[R * F];
	gc_fill(x, R * F, -2, 2, 29);
	gc_fill(dy, R * F, -1, 1, 30);
	snm_tape *t = snm_tape_new(0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(snm_tape_hold_stats(t), 0);
	for (int held = 0; held < 2; ++held) {
		snm_tape_reset(t);
		CU_ASSERT_EQUAL(snm_tape_set_hold_stats(t, held), 0);
		snm_tensor *tx = snm_tape_leaf(t, 2, (int[]){ R, F }, x);
		snm_tensor *m = snm_tape_const(t, 1, (int[]){ F }, (float[]){ 0.5f, -0.5f, 0 });
		snm_tensor *v = snm_tape_const(t, 1, (int[]){ F }, (float[]){ 2, 1, 3 });
		snm_tensor *y = snm_batchnorm(t, tx, NULL, NULL, m, v, 0.1f, 1e-5f, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(y);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
		if (!held) {
			memcpy(y1, y->x, sizeof y1);
			memcpy(g1, tx->g, sizeof g1);
			CU_ASSERT(m->x[0] != 0.5f && v->x[2] != 3.0f);
			snm_tape_set_hold_stats(t, 0);
			continue;
		}
		CU_ASSERT(memcmp(y->x, y1, sizeof y1) == 0);
		CU_ASSERT(memcmp(tx->g, g1, sizeof g1) == 0);
		CU_ASSERT(m->x[0] == 0.5f && m->x[1] == -0.5f && m->x[2] == 0.0f);
		CU_ASSERT(v->x[0] == 2.0f && v->x[1] == 1.0f && v->x[2] == 3.0f);
		snm_tape_reset(t);
		CU_ASSERT_EQUAL(snm_tape_hold_stats(t), 1);
		CU_ASSERT_EQUAL(snm_tape_set_hold_stats(t, 0), 1);
		tx = snm_tape_const(t, 2, (int[]){ R, F }, x);
		m = snm_tape_const(t, 1, (int[]){ F }, (float[]){ 0.5f, -0.5f, 0 });
		v = snm_tape_const(t, 1, (int[]){ F }, (float[]){ 2, 1, 3 });
		CU_ASSERT_PTR_NOT_NULL(snm_batchnorm(t, tx, NULL, NULL, m, v, 0.1f, 1e-5f, 0));
		CU_ASSERT(m->x[0] != 0.5f && v->x[2] != 3.0f);
	}
	snm_tape_free(t);
}

/* The tape's stats weight (snm_tape_set_stats_weight): batches i = 0..B-1 passed with weight
 * 1/(i+1) leave the mean over the batches of their means and of their unbiased variances (GSL's
 * gsl_stats_mean / gsl_stats_variance per batch and feature, then averaged), whatever the buffers
 * held before, for (N,F) and (N,C,H,W) inputs; the weight overrides the op's momentum, survives a
 * reset, and 0 -- or a value outside (0, 1] -- gives the momentum back. */
static void test_bn_stats_weight(void)
{
	enum { B = 4, R = 5, F = 3, HW = 4 };
	float x[B][R * F * HW];
	snm_tape *t = snm_tape_new(0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	snm_tape_set_grad(t, 0);
	CU_ASSERT_EQUAL(snm_tape_stats_weight(t), 0.0);
	for (int b = 0; b < B; ++b)
		gc_fill(x[b], R * F * HW, -2.0f + (float)b, 1.0f + 0.5f * (float)b, 40 + b);
	for (int img = 0; img < 2; ++img) {
		int S = img ? HW : 1, M = R * S;
		float m[F] = { 7, -3, 100 }, v[F] = { 0.01f, 50, 9 };
		double want_m[F] = { 0 }, want_v[F] = { 0 };
		for (int b = 0; b < B; ++b) {
			snm_tape_reset(t);
			CU_ASSERT_EQUAL(snm_tape_set_stats_weight(t, 1.0 / (b + 1)), b ? 1.0 / b : 0.0);
			snm_tensor *tx = img ? snm_tape_const(t, 4, (int[]){ R, F, 2, 2 }, x[b])
			                     : snm_tape_const(t, 2, (int[]){ R, F }, x[b]);
			snm_tensor *tm = snm_tape_const(t, 1, (int[]){ F }, m), *tv = snm_tape_const(t, 1, (int[]){ F }, v);
			CU_ASSERT_PTR_NOT_NULL_FATAL(snm_batchnorm(t, tx, NULL, NULL, tm, tv, 0.1f, 1e-5f, 0));
			memcpy(m, tm->x, sizeof m);
			memcpy(v, tv->x, sizeof v);
			for (int c = 0; c < F; ++c) {
				double col[R * HW];
				for (int n = 0; n < R; ++n)
					for (int s = 0; s < S; ++s)
						col[n * S + s] = x[b][((size_t)n * F + c) * S + s];
				want_m[c] += gsl_stats_mean(col, 1, M) / B;
				want_v[c] += gsl_stats_variance(col, 1, M) / B;
			}
		}
		for (int c = 0; c < F; ++c) {
			SNM_ASSERT_CLOSE(m[c], want_m[c], 1e-5, 1e-5);
			SNM_ASSERT_CLOSE(v[c], want_v[c], 1e-5, 1e-5);
		}
		CU_ASSERT_EQUAL(snm_tape_set_stats_weight(t, 0), 1.0 / B);
	}
	/* back to the op's momentum: 0.1 of the batch; values outside (0, 1] are 0 */
	for (int k = 0; k < 4; ++k) {
		static const double w[4] = { 0, 2, -0.5, NAN };
		float m[F] = { 0, 0, 0 }, v[F] = { 1, 1, 1 }, ones[R * F];
		for (int i = 0; i < R * F; ++i)
			ones[i] = (float)(i / F);              /* rows 0..R-1: mean 2, variance 2.5 */
		snm_tape_set_stats_weight(t, w[k]);
		CU_ASSERT_EQUAL(snm_tape_stats_weight(t), 0.0);
		snm_tape_reset(t);
		snm_tensor *tm = snm_tape_const(t, 1, (int[]){ F }, m), *tv = snm_tape_const(t, 1, (int[]){ F }, v);
		CU_ASSERT_PTR_NOT_NULL(snm_batchnorm(t, snm_tape_const(t, 2, (int[]){ R, F }, ones), NULL, NULL,
		                                     tm, tv, 0.1f, 1e-5f, 0));
		SNM_ASSERT_CLOSE(tm->x[1], 0.2, 1e-6, 1e-6);
		SNM_ASSERT_CLOSE(tv->x[1], 0.9 + 0.25, 1e-6, 1e-6);
	}
	snm_tape_free(t);
}

/* ---- batch norm: gradient checks --------------------------------------------------------- */

typedef struct bn_ctx {
	int affine;          /* inputs 1, 2 are gamma, beta */
	int running;         /* pass running statistics (fresh copies of rm/rv at every evaluation) */
	int split;
	int C;
	float rm[4], rv[4];
} bn_ctx;

static snm_tensor *f_bn(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	bn_ctx *c = ctx;
	snm_tensor *m = NULL, *v = NULL;
	if (c->running) {
		m = snm_tape_const(t, 1, (int[]){ c->C }, c->rm);
		v = snm_tape_const(t, 1, (int[]){ c->C }, c->rv);
	}
	return snm_batchnorm(t, in[0], c->affine ? in[1] : NULL, c->affine ? in[2] : NULL, m, v, 0.1f,
	                     1e-5f, c->split);
}

static void bn_gradcheck(const char *what, int n_d, const int *d, int affine, int running, int split,
                         int training)
{
	float x[96], ga[4], be[4];
	int C = d[1];
	size_t len = 1;
	bn_ctx c = { affine, running, split, C, { 0.3f, -0.2f, 0.1f, 0 }, { 0.8f, 1.5f, 0.6f, 1 } };
	gc_opts o = { .training = training };
	gc_input in[3];
	for (int k = 0; k < n_d; ++k)
		len *= (size_t)d[k];
	CU_ASSERT_FATAL(len <= 96 && C <= 4);
	gc_fill(x, len, -1, 1, 31 + len);
	gc_fill(ga, C, 0.5, 2, 32);
	gc_fill(be, C, -1, 1, 33);
	in[0] = (gc_input){ .n_d = n_d, .x = x };
	memcpy(in[0].d, d, (size_t)n_d * sizeof *d);
	in[1] = (gc_input){ 1, { C }, ga, 0 };
	in[2] = (gc_input){ 1, { C }, be, 0 };
	CU_ASSERT_EQUAL(gc_check(what, f_bn, &c, affine ? 3 : 1, in, &o), 0);
}

static void test_bn_gradcheck(void)
{
	/* groups of split tests hold at least 3 values per channel: with 2, the normalised values
	 * are +-1 whatever x is, and the function is too steep near ties for finite differences */
	const int d2[2] = { 5, 3 }, d2s[2] = { 8, 3 }, d4[4] = { 3, 2, 2, 3 }, d4s[4] = { 4, 2, 2, 2 };
	bn_gradcheck("bn 2-D train affine", 2, d2, 1, 1, 0, 1);
	bn_gradcheck("bn 2-D train plain", 2, d2, 0, 0, 0, 1);
	bn_gradcheck("bn 2-D eval affine", 2, d2, 1, 1, 0, 0);
	bn_gradcheck("bn 2-D eval plain", 2, d2, 0, 1, 0, 0);
	bn_gradcheck("bn 4-D train affine", 4, d4, 1, 1, 0, 1);
	bn_gradcheck("bn 4-D train plain", 4, d4, 0, 0, 0, 1);
	bn_gradcheck("bn 4-D eval affine", 4, d4, 1, 1, 0, 0);
	bn_gradcheck("bn 4-D eval plain", 4, d4, 0, 1, 0, 0);
	bn_gradcheck("bn 2-D split affine", 2, d2s, 1, 1, 3, 1);
	bn_gradcheck("bn 2-D split plain", 2, d2s, 0, 0, 5, 1);
	bn_gradcheck("bn 4-D split affine", 4, d4s, 1, 1, 1, 1);
	bn_gradcheck("bn 4-D split plain", 4, d4s, 0, 1, 2, 1);
}

/* ---- dropout, Gaussian noise, randn ------------------------------------------------------- */

static void test_dropout(void)
{
	enum { L = 20000 };
	float *x = malloc(L * sizeof *x);
	const float p = 0.3f;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	gc_fill(x, L, 0.5, 1.5, 41);      /* no zeros in x, so a zero output means a dropped element */
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ 100, L / 100 }, x);
	/* evaluation: identity, nothing drawn */
	snm_tape_set_training(t, 0);
	gsl_rng_set(r, 5);
	unsigned long before = gsl_rng_get(r);
	gsl_rng_set(r, 5);
	snm_tensor *y = snm_dropout(t, tx, p, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(memcmp(y->x, x, L * sizeof *x), 0);
	CU_ASSERT_EQUAL(gsl_rng_get(r), before);
	/* training: about p dropped, the rest scaled by 1/(1-p) */
	snm_tape_set_training(t, 1);
	gsl_rng_set(r, 5);
	y = snm_dropout(t, tx, p, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	int zeros = 0, bad = 0;
	for (int k = 0; k < L; ++k) {
		if (y->x[k] == 0.0f)
			++zeros;
		else if (fabs(y->x[k] - x[k] / (1.0 - p)) > 1e-6 * fabs(y->x[k]))
			++bad;
	}
	/* binomial sd of the fraction: sqrt(0.21 / 20000) = 0.0032; allow 5 sd */
	CU_ASSERT(fabs((double)zeros / L - p) < 0.016);
	CU_ASSERT_EQUAL(bad, 0);
	/* the same seed gives the same mask, another seed another one */
	gsl_rng_set(r, 5);
	snm_tensor *y2 = snm_dropout(t, tx, p, r);
	gsl_rng_set(r, 6);
	snm_tensor *y3 = snm_dropout(t, tx, p, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y3);
	CU_ASSERT_EQUAL(memcmp(y->x, y2->x, L * sizeof *x), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(y->x, y3->x, L * sizeof *x), 0);
	/* p == 0 is the identity in training too; p outside [0,1] is an error */
	y = snm_dropout(t, tx, 0.0f, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(memcmp(y->x, x, L * sizeof *x), 0);
	CU_ASSERT_PTR_NULL(snm_dropout(t, tx, 1.5f, r));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	snm_tape_free(t);
	gsl_rng_free(r);
	free(x);
}

typedef struct rng_ctx {
	gsl_rng *r;
	unsigned long seed;
	float a;             /* p or sd */
} rng_ctx;

/* The RNG is re-seeded at every evaluation, so the finite differences see the same draws. */
static snm_tensor *f_dropout(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	rng_ctx *c = ctx;
	gsl_rng_set(c->r, c->seed);
	return snm_dropout(t, in[0], c->a, c->r);
}

static snm_tensor *f_gauss(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	rng_ctx *c = ctx;
	gsl_rng_set(c->r, c->seed);
	return snm_gauss_noise(t, in[0], c->a, c->r);
}

static void test_noise_gradcheck(void)
{
	float x[4 * 6];
	rng_ctx c = { gsl_rng_alloc(gsl_rng_mt19937), 77, 0.4f };
	gc_fill(x, 24, -1, 1, 42);
	gc_input in[1] = { { 2, { 4, 6 }, x, 0 } };
	CU_ASSERT_EQUAL(gc_check("dropout", f_dropout, &c, 1, in, NULL), 0);
	c.a = 0.7f;
	CU_ASSERT_EQUAL(gc_check("gauss_noise", f_gauss, &c, 1, in, NULL), 0);
	gc_opts eval = { .training = 0 };
	CU_ASSERT_EQUAL(gc_check("gauss_noise eval", f_gauss, &c, 1, in, &eval), 0);
	gsl_rng_free(c.r);
}

static void test_gauss_noise(void)
{
	enum { L = 100000 };
	const float sd = 0.5f;
	float *x = calloc(L, sizeof *x), small[12];
	double *d = malloc(L * sizeof *d);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ 1000, 100 }, x);
	gsl_rng_set(r, 9);
	snm_tensor *y = snm_gauss_noise(t, tx, sd, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (int k = 0; k < L; ++k)
		d[k] = y->x[k];
	/* mean: sd of the estimate 0.5/sqrt(1e5) = 0.0016; sd: about 0.0011 */
	CU_ASSERT(fabs(gsl_stats_mean(d, 1, L)) < 0.008);
	CU_ASSERT(fabs(gsl_stats_sd(d, 1, L) - sd) < 0.006);
	/* deterministic per seed, also in evaluation mode; another seed differs */
	snm_tape_set_training(t, 0);
	gsl_rng_set(r, 9);
	snm_tensor *y2 = snm_gauss_noise(t, tx, sd, r);
	gsl_rng_set(r, 10);
	snm_tensor *y3 = snm_gauss_noise(t, tx, sd, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y3);
	CU_ASSERT_EQUAL(memcmp(y->x, y2->x, L * sizeof(float)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(y->x, y3->x, L * sizeof(float)), 0);
	/* element order: x_i + sd * gsl_ran_gaussian(rng, 1.0) for i = 0, 1, ... */
	gc_fill(small, 12, -1, 1, 43);
	gsl_rng_set(r, 11);
	gsl_rng_set(r2, 11);
	y = snm_gauss_noise(t, snm_tape_const(t, 2, (int[]){ 3, 4 }, small), 0.25f, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (int k = 0; k < 12; ++k) {
		double ref = small[k] + 0.25 * gsl_ran_gaussian(r2, 1.0);
		SNM_ASSERT_CLOSE(y->x[k], ref, 1e-6, 1e-6);
	}
	/* randn: a constant of sd e_i in the same order, no gradient */
	gsl_rng_set(r, 12);
	gsl_rng_set(r2, 12);
	snm_tensor *z = snm_randn(t, 3, (int[]){ 2, 3, 2 }, 2.0f, r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(z->n_d, 3);
	CU_ASSERT_EQUAL(z->d[2], 2);
	CU_ASSERT_PTR_NULL(z->g);
	for (int k = 0; k < 12; ++k) {
		double ref = 2.0 * gsl_ran_gaussian(r2, 1.0);
		SNM_ASSERT_CLOSE(z->x[k], ref, 1e-6, 1e-6);
	}
	CU_ASSERT_PTR_NULL(snm_randn(t, 1, (int[]){ 3 }, 1.0f, NULL));
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_EINVAL);
	snm_tape_free(t);
	gsl_rng_free(r);
	gsl_rng_free(r2);
	free(x);
	free(d);
}

/* ---- min-max scaling ---------------------------------------------------------------------- */

/* Hand values: rows (3,-1,2,5) and (0,0,0,0). */
static void test_minmax_stats_values(void)
{
	const float x[8] = { 3, -1, 2, 5, 0, 0, 0, 0 };
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ 2, 4 }, x);
	snm_tensor *s1 = snm_minmax_stats(t, tx, 1), *s0 = snm_minmax_stats(t, tx, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s0);
	CU_ASSERT(s1->d[0] == 2 && s1->d[1] == 2 && s0->d[0] == 1 && s0->d[1] == 2);
	CU_ASSERT_EQUAL(s1->x[0], -1.0f);
	CU_ASSERT_EQUAL(s1->x[1], 6.0f);
	CU_ASSERT_EQUAL(s1->x[2], 0.0f);
	CU_ASSERT_EQUAL(s1->x[3], 1e-12f);   /* constant row: span clamped */
	CU_ASSERT_EQUAL(s0->x[0], -1.0f);
	CU_ASSERT_EQUAL(s0->x[1], 6.0f);
	snm_tape_free(t);
}

/* scale maps each row onto [0,1] with min 0 and max 1 exactly; descale inverts it to float
 * rounding; per-batch and per-example statistics give different results; a constant row gives
 * zeros and no NaN, and comes back unchanged. */
static void test_minmax_roundtrip(void)
{
	enum { N = 5, D = 17 };
	float x[N * D];
	gc_fill(x, N * D, -3, 3, 51);
	for (int n = 0; n < N; ++n)          /* rows of different ranges */
		for (int j = 0; j < D; ++j)
			x[n * D + j] = x[n * D + j] * (float)(n + 1) + (float)n;
	for (int j = 0; j < D; ++j)          /* row 2 constant */
		x[2 * D + j] = 1.25f;
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_leaf(t, 2, (int[]){ N, D }, x);
	snm_tensor *st = snm_minmax_stats(t, tx, 1);
	snm_tensor *s = snm_minmax_scale(t, tx, st);
	snm_tensor *back = snm_minmax_descale(t, s, st);
	snm_tensor *sb = snm_minmax_scale(t, tx, snm_minmax_stats(t, tx, 0));
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
	int differ = 0;
	for (int n = 0; n < N; ++n) {
		float lo = INFINITY, hi = -INFINITY;
		for (int j = 0; j < D; ++j) {
			float v = s->x[n * D + j];
			CU_ASSERT(isfinite(v));
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			SNM_ASSERT_CLOSE(back->x[n * D + j], x[n * D + j], 1e-6 * (1 + fabsf(x[n * D + j])), 1e-6);
			differ += fabsf(sb->x[n * D + j] - v) > 1e-3f;
			CU_ASSERT(sb->x[n * D + j] >= 0.0f && sb->x[n * D + j] <= 1.0f);
		}
		CU_ASSERT_EQUAL(lo, 0.0f);
		CU_ASSERT_EQUAL(hi, n == 2 ? 0.0f : 1.0f);
	}
	CU_ASSERT_EQUAL(back->x[2 * D + 5], 1.25f);
	CU_ASSERT(differ > N * D / 2);
	/* gradients through the constant row stay finite */
	float *dy = malloc(N * D * sizeof *dy);
	gc_fill(dy, N * D, -1, 1, 52);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, back, dy, NULL), 0);
	for (int k = 0; k < N * D; ++k)
		CU_ASSERT(isfinite(tx->g[k]));
	free(dy);
	snm_tape_free(t);
}

/* The paper's noise v' = ((v - lo)/span + sd e) span + lo (peers/torch_ref.py minmax_noise), with
 * e from the stream in element order: with sd = 0 it gives v back (to float rounding), with
 * sd = 0.2 it matches the formula evaluated in double. */
static snm_tensor *minmax_noise(snm_tape *t, snm_tensor *v, float sd, gsl_rng *r, int per_example)
{
	snm_tensor *st = snm_minmax_stats(t, v, per_example);
	return snm_minmax_descale(t, snm_gauss_noise(t, snm_minmax_scale(t, v, st), sd, r), st);
}

static void test_minmax_noise_identity(void)
{
	enum { N = 4, D = 10 };
	float x[N * D];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
	gc_fill(x, N * D, -2, 5, 53);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ N, D }, x);
	gsl_rng_set(r, 3);
	snm_tensor *y0 = minmax_noise(t, tx, 0.0f, r, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y0);
	for (int k = 0; k < N * D; ++k)
		SNM_ASSERT_CLOSE(y0->x[k], x[k], 1e-6 * (1 + fabsf(x[k])), 1e-6);
	gsl_rng_set(r, 3);
	gsl_rng_set(r2, 3);
	snm_tensor *y = minmax_noise(t, tx, 0.2f, r, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (int n = 0; n < N; ++n) {
		double lo = x[n * D], hi = x[n * D];
		for (int j = 1; j < D; ++j) {
			lo = fmin(lo, x[n * D + j]);
			hi = fmax(hi, x[n * D + j]);
		}
		for (int j = 0; j < D; ++j) {
			double e = gsl_ran_gaussian(r2, 1.0), v = x[n * D + j];
			double ref = ((v - lo) / (hi - lo) + 0.2 * e) * (hi - lo) + lo;
			SNM_ASSERT_CLOSE(y->x[n * D + j], ref, 1e-5 * (1 + fabs(ref)), 1e-6);
		}
	}
	snm_tape_free(t);
	gsl_rng_free(r);
	gsl_rng_free(r2);
}

/* Distinct, well separated values (at least 2/n apart) in shuffled order, so that no
 * finite-difference step changes an arg-min or arg-max. */
static void spaced_fill(float *x, int n, unsigned long seed)
{
	float jit[128];
	gc_fill(jit, (size_t)n, -0.2 / n, 0.2 / n, seed);
	for (int k = 0; k < n; ++k) {
		int rank = (int)(((long)k * 37 + (long)seed) % n);
		x[k] = -1.0f + 2.0f * (float)rank / (float)n + jit[k];
	}
}

typedef struct mm_ctx {
	int per_example;
	gsl_rng *r;
} mm_ctx;

static snm_tensor *f_mm_stats(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_minmax_stats(t, in[0], ((mm_ctx *)ctx)->per_example);
}

static snm_tensor *f_mm_scale(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_minmax_scale(t, in[0], in[1]);
}

static snm_tensor *f_mm_descale(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_minmax_descale(t, in[0], in[1]);
}

static snm_tensor *f_mm_noise(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	mm_ctx *c = ctx;
	gsl_rng_set(c->r, 99);
	return minmax_noise(t, in[0], 0.2f, c->r, c->per_example);
}

/* The scale alone (no chain): y = (x - lo)/span where x is the stats' own input. */
static snm_tensor *f_mm_scale_chain(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_minmax_scale(t, in[0], snm_minmax_stats(t, in[0], ((mm_ctx *)ctx)->per_example));
}

static void test_minmax_gradcheck(void)
{
	enum { N = 3, D = 7 };
	float x[N * D], st[N * 2], st1[2] = { -0.3f, 1.7f }, x2[N * D];
	mm_ctx per = { 1, gsl_rng_alloc(gsl_rng_mt19937) }, all = { 0, per.r };
	spaced_fill(x, N * D, 61);
	gc_fill(x2, N * D, -1, 1, 62);
	gc_fill(st, N * 2, 0.5, 2, 63);
	gc_input a[1] = { { 2, { N, D }, x, 0 } };
	CU_ASSERT_EQUAL(gc_check("minmax_stats per example", f_mm_stats, &per, 1, a, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("minmax_stats whole", f_mm_stats, &all, 1, a, NULL), 0);
	gc_input b[2] = { { 2, { N, D }, x2, 0 }, { 2, { N, 2 }, st, 0 } };
	CU_ASSERT_EQUAL(gc_check("minmax_scale", f_mm_scale, NULL, 2, b, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("minmax_descale", f_mm_descale, NULL, 2, b, NULL), 0);
	gc_input c[2] = { { 4, { N, 1, 1, D }, x2, 0 }, { 2, { 1, 2 }, st1, 0 } };
	CU_ASSERT_EQUAL(gc_check("minmax_scale shared", f_mm_scale, NULL, 2, c, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("minmax_descale shared", f_mm_descale, NULL, 2, c, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("minmax scale(x, stats(x))", f_mm_scale_chain, &per, 1, a, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("minmax_noise per example", f_mm_noise, &per, 1, a, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("minmax_noise whole", f_mm_noise, &all, 1, a, NULL), 0);
	gsl_rng_free(per.r);
}

/* A constant row: the span is clamped, so only lo's gradient flows (to the first element). */
static void test_minmax_clamped_grad(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 1, 3 }, (float[]){ 2, 2, 2 });
	snm_tensor *st = snm_minmax_stats(t, x, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(snm_tape_backward_seed(t, st, (float[]){ 3, 5 }, NULL), 0);
	CU_ASSERT_EQUAL(x->g[0], 3.0f);
	CU_ASSERT_EQUAL(x->g[1], 0.0f);
	CU_ASSERT_EQUAL(x->g[2], 0.0f);
	/* a row (1, 4, -2, 4): arg-min 2, first arg-max 1: dlo -> x[2], dspan -> +x[1], -x[2] */
	x = snm_tape_leaf(t, 2, (int[]){ 1, 4 }, (float[]){ 1, 4, -2, 4 });
	st = snm_minmax_stats(t, x, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(snm_tape_backward_seed(t, st, (float[]){ 3, 5 }, NULL), 0);
	CU_ASSERT_EQUAL(x->g[0], 0.0f);
	CU_ASSERT_EQUAL(x->g[1], 5.0f);
	CU_ASSERT_EQUAL(x->g[2], -2.0f);
	CU_ASSERT_EQUAL(x->g[3], 0.0f);
	/* statistics that do not fit x */
	snm_error e;
	CU_ASSERT_PTR_NULL(snm_minmax_scale(t, snm_tape_const(t, 2, (int[]){ 3, 4 }, NULL),
	                                    snm_tape_const(t, 2, (int[]){ 2, 2 }, NULL)));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	snm_tape_free(t);
}

/* ---- VAT's normalisations ----------------------------------------------------------------- */

static void test_row_normalize(void)
{
	enum { N = 4, D = 9 };
	float x[N * D];
	gc_fill(x, N * D, -3, 2, 71);
	for (int j = 0; j < D; ++j)
		x[3 * D + j] *= 1e-3f;           /* a small row */
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ N, D }, x);
	snm_tensor *m = snm_maxabs_normalize(t, tx, 1e-12f), *l = snm_l2_normalize(t, tx, 1e-12f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	for (int n = 0; n < N; ++n) {
		double mx = 0, ss = 0;
		for (int j = 0; j < D; ++j) {
			mx = fmax(mx, fabs(m->x[n * D + j]));
			ss += (double)l->x[n * D + j] * l->x[n * D + j];
			/* same direction as x */
			CU_ASSERT(m->x[n * D + j] * x[n * D + j] >= 0 && l->x[n * D + j] * x[n * D + j] >= 0);
		}
		SNM_ASSERT_CLOSE(mx, 1.0, 1e-6, 0);
		SNM_ASSERT_CLOSE(sqrt(ss), 1.0, 1e-6, 0);
	}
	/* a zero row stays zero (eps keeps it finite) */
	snm_tensor *z = snm_l2_normalize(t, snm_tape_const(t, 2, (int[]){ 1, 3 }, NULL), 1e-6f);
	snm_tensor *zm = snm_maxabs_normalize(t, snm_tape_const(t, 2, (int[]){ 1, 3 }, NULL), 1e-12f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_PTR_NOT_NULL_FATAL(zm);
	CU_ASSERT(z->x[0] == 0.0f && zm->x[2] == 0.0f);
	snm_tape_free(t);
}

static snm_tensor *f_maxabs(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_maxabs_normalize(t, in[0], *(float *)ctx);
}

static snm_tensor *f_l2(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_l2_normalize(t, in[0], *(float *)ctx);
}

/* VAT's chain d / (eps1 + max|d|) / sqrt(eps2 + sum d^2). */
static snm_tensor *f_vat_norm(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_l2_normalize(t, snm_maxabs_normalize(t, in[0], 1e-12f), 1e-6f);
}

/* Values whose magnitudes are distinct and at least 1/n apart, in [0.1, 1.1], with mixed signs,
 * so that no finite-difference step changes the arg-max of |x|. */
static void abs_spaced_fill(float *x, int n, unsigned long seed)
{
	spaced_fill(x, n, seed);
	for (int k = 0; k < n; ++k)
		x[k] = (0.6f + 0.5f * x[k]) * (((unsigned long)k * 7 + seed) % 3 == 0 ? -1.0f : 1.0f);
}

static void test_row_normalize_gradcheck(void)
{
	enum { N = 3, D = 8 };
	float x[N * D], x4[N * D], eps = 0.1f;
	abs_spaced_fill(x, N * D, 72);
	abs_spaced_fill(x4, N * D, 73);
	gc_input a[1] = { { 2, { N, D }, x, 0 } }, b[1] = { { 4, { N, 2, 2, 2 }, x4, 0 } };
	CU_ASSERT_EQUAL(gc_check("maxabs_normalize", f_maxabs, &eps, 1, a, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("maxabs_normalize 4-D", f_maxabs, &eps, 1, b, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("l2_normalize", f_l2, &eps, 1, a, NULL), 0);
	eps = 1e-6f;
	CU_ASSERT_EQUAL(gc_check("l2_normalize 4-D", f_l2, &eps, 1, b, NULL), 0);
	CU_ASSERT_EQUAL(gc_check("vat normalisation", f_vat_norm, NULL, 1, a, NULL), 0);
}

static CU_TestInfo bn_tests[] = {
	{ "bn_hand_values", test_bn_hand_values },
	{ "bn_4d_vs_ref", test_bn_4d_vs_ref },
	{ "bn_split", test_bn_split },
	{ "bn_modes_and_errors", test_bn_modes_and_errors },
	{ "bn_hold_stats", test_bn_hold_stats },
	{ "bn_stats_weight", test_bn_stats_weight },
	{ "bn_gradcheck", test_bn_gradcheck },
	CU_TEST_INFO_NULL
};

static CU_TestInfo noise_tests[] = {
	{ "dropout", test_dropout },
	{ "gauss_noise_randn", test_gauss_noise },
	{ "noise_gradcheck", test_noise_gradcheck },
	CU_TEST_INFO_NULL
};

static CU_TestInfo scaling_tests[] = {
	{ "minmax_stats_values", test_minmax_stats_values },
	{ "minmax_roundtrip", test_minmax_roundtrip },
	{ "minmax_noise_identity", test_minmax_noise_identity },
	{ "minmax_gradcheck", test_minmax_gradcheck },
	{ "minmax_clamped_grad", test_minmax_clamped_grad },
	{ "row_normalize", test_row_normalize },
	{ "row_normalize_gradcheck", test_row_normalize_gradcheck },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "batchnorm", NULL, NULL, NULL, NULL, bn_tests },
	{ "noise", NULL, NULL, NULL, NULL, noise_tests },
	{ "scaling", NULL, NULL, NULL, NULL, scaling_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_norm", suites);
}
