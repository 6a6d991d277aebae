/* test_ops.c: the activation, element-wise math, loss, arithmetic, shape and reduction ops (act.c,
 * loss.c, arith.c).
 *
 * Every op gets a finite-difference gradient check (gradcheck.h) on odd shapes: a batch of 3,
 * rows that are not square, and 4-D inputs whose rows flatten.  Forward values are compared with
 * double-precision loops written here, and with hand values where the answer is known exactly
 * (cross-entropy of logits +-1000, KL of equal or shifted logits).  Stop-gradient, the slice /
 * concat round trip and the shape and label errors are tested directly.  The element-wise math
 * ops (exp, log, abs, sqrt, clamp, div) are checked away from their kinks and domain edges, and
 * at those edges against what their contract promises: IEEE's values and gradients, no error. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "gradcheck.h"

/* Check every element (inputs here are small), default tolerances. */
static const gc_opts all_elems = { .max_elems = 1000 };

/* U(-hi,-lo) or U(lo,hi): values at least lo away from 0, the kink of relu and leaky relu. */
static void fill_away_from_zero(float *x, size_t n, double lo, double hi, unsigned long seed)
{
	gc_fill(x, n, -1, 1, seed);
	for (size_t i = 0; i < n; ++i)
		x[i] = (float)((x[i] < 0 ? -1 : 1) * (lo + (hi - lo) * fabs(x[i])));
}

/* Double-precision reference softmax of one row, max-subtracted. */
static void ref_softmax_row(const float *x, int n, double *y)
{
	double m = x[0], s = 0;
	for (int j = 1; j < n; ++j)
		m = x[j] > m ? x[j] : m;
	for (int j = 0; j < n; ++j)
		s += y[j] = exp((double)x[j] - m);
	for (int j = 0; j < n; ++j)
		y[j] /= s;
}

/* Double-precision reference log-sum-exp of one row. */
static double ref_lse_row(const float *x, int n)
{
	double m = x[0], s = 0;
	for (int j = 1; j < n; ++j)
		m = x[j] > m ? x[j] : m;
	for (int j = 0; j < n; ++j)
		s += exp((double)x[j] - m);
	return m + log(s);
}

static int has(const char *msg, const char *s)
{
	return strstr(msg, s) != NULL;
}

/* ---- functions under gradient check ------------------------------------------------------- */

static snm_tensor *f_relu(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_relu(t, in[0]);
}
static snm_tensor *f_leaky(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_leaky_relu(t, in[0], *(float *)ctx);
}
static snm_tensor *f_sigmoid(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_sigmoid(t, in[0]);
}
static snm_tensor *f_tanh(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_tanh(t, in[0]);
}
static snm_tensor *f_softmax(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_softmax(t, in[0]);
}
static snm_tensor *f_log_softmax(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_log_softmax(t, in[0]);
}
static snm_tensor *f_softmax_ce(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_softmax_ce(t, in[0], ctx);
}
static snm_tensor *f_kl(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_kl_cat(t, in[0], in[1]);
}
static snm_tensor *f_bce(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_bce_logits(t, in[0], in[1]);
}

static snm_tensor *f_sqerr(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_sqerr(t, in[0], in[1]);
}
static snm_tensor *f_add(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_add(t, in[0], in[1]);
}
static snm_tensor *f_sub(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_sub(t, in[0], in[1]);
}
static snm_tensor *f_mul(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_mul(t, in[0], in[1]);
}
/* x used twice: the gradient of x*x is 2x (both uses accumulate). */
static snm_tensor *f_square(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_mul(t, in[0], in[0]);
}
static snm_tensor *f_scale(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_scale(t, in[0], *(float *)ctx);
}
static snm_tensor *f_reshape(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	const int *d = ctx;   /* n_d, then the sizes */
	return snm_reshape(t, in[0], d[0], d + 1);
}
static snm_tensor *f_slice(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	const int *r = ctx;
	return snm_slice_rows(t, in[0], r[0], r[1]);
}
static snm_tensor *f_concat(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_concat_rows(t, in[0], in[1]);
}
/* Rows [2,5) then rows [0,2) of x: a permutation of the rows. */
static snm_tensor *f_swap_halves(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_concat_rows(t, snm_slice_rows(t, in[0], 2, 3), snm_slice_rows(t, in[0], 0, 2));
}
static snm_tensor *f_sum(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_sum(t, in[0]);
}
static snm_tensor *f_mean(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_mean(t, in[0]);
}
static snm_tensor *f_exp(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_exp(t, in[0]);
}
static snm_tensor *f_log(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_log(t, in[0]);
}
static snm_tensor *f_abs(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_abs(t, in[0]);
}
static snm_tensor *f_sqrt(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_sqrt(t, in[0]);
}
static snm_tensor *f_clamp(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	const float *b = ctx;
	return snm_clamp(t, in[0], b[0], b[1]);
}
static snm_tensor *f_div(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_div(t, in[0], in[1]);
}
/* x used on both sides: x / x is 1 and its gradient 1/x - x/x^2 = 0. */
static snm_tensor *f_div_self(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_div(t, in[0], in[0]);
}
/* The new ops composed: clamp(log(exp(a) + |b|) / sqrt(exp(b) + a a), -5, 5); for a, b in
 * [-1, 1] every argument stays inside its domain and the quotient inside (-3, 3). */
static snm_tensor *f_math_chain(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	snm_tensor *a = in[0], *b = in[1];
	(void)ctx;
	snm_tensor *num = snm_log(t, snm_add(t, snm_exp(t, a), snm_abs(t, b)));
	snm_tensor *den = snm_sqrt(t, snm_add(t, snm_exp(t, b), snm_mul(t, a, a)));
	return snm_clamp(t, snm_div(t, num, den), -5.0f, 5.0f);
}

/* A small objective mixing several ops: mean(tanh(a) * sigmoid(b)) + sqerr(a, b) / 4. */
static snm_tensor *f_chain(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	snm_tensor *m = snm_mean(t, snm_mul(t, snm_tanh(t, in[0]), snm_sigmoid(t, in[1])));
	return snm_add(t, m, snm_scale(t, snm_sqerr(t, in[0], in[1]), 0.25f));
}

/* ---- gradient checks ----------------------------------------------------------------------- */

static void test_act_gradcheck(void)
{
	enum { L = 3 * 2 * 3 * 5 };
	float x[L], alpha = 0.1f;
	fill_away_from_zero(x, L, 0.15, 2.5, 21);
	gc_input in4[1] = { { 4, { 3, 2, 3, 5 }, x, 0 } };
	gc_input in2[1] = { { 2, { 3, 7 }, x, 0 } };
	CU_ASSERT_EQUAL(gc_check("relu 4-D", f_relu, NULL, 1, in4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("relu (3,7)", f_relu, NULL, 1, in2, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("leaky_relu 4-D", f_leaky, &alpha, 1, in4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("sigmoid 4-D", f_sigmoid, NULL, 1, in4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("tanh 4-D", f_tanh, NULL, 1, in4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("tanh (3,7)", f_tanh, NULL, 1, in2, &all_elems), 0);
}

/* Away from the kinks (abs at 0, clamp at lo and hi) and the domain edges (log and sqrt at 0, div
 * by 0): inputs of log and sqrt in [0.2, 3], divisors at least 0.5 from 0, clamp's inputs at least
 * 0.05 from either bound (the finite differences step 1e-2) on both sides of each. */
static void test_math_gradcheck(void)
{
	enum { L = 3 * 2 * 3 * 5 };
	float x[L], pos[L], away[L], cl[L], a[L], b[L], bounds[2] = { -0.8f, 0.9f };
	gc_fill(x, L, -2, 2, 61);
	gc_fill(pos, L, 0.2, 3, 62);
	fill_away_from_zero(away, L, 0.15, 2.5, 63);
	gc_fill(cl, L, -1.5, 1.5, 64);
	for (int i = 0; i < L; ++i)
		for (int k = 0; k < 2; ++k)
			if (fabsf(cl[i] - bounds[k]) < 0.05f)
				cl[i] = bounds[k] + (cl[i] < bounds[k] ? -0.1f : 0.1f);
	gc_fill(a, L, -2, 2, 65);
	fill_away_from_zero(b, L, 0.5, 2, 66);
	gc_input in_x[1] = { { 4, { 3, 2, 3, 5 }, x, 0 } };
	gc_input in_pos[1] = { { 4, { 3, 2, 3, 5 }, pos, 0 } };
	gc_input in_away[1] = { { 2, { 3, 30 }, away, 0 } };
	gc_input in_cl[1] = { { 4, { 3, 2, 3, 5 }, cl, 0 } };
	CU_ASSERT_EQUAL(gc_check("exp 4-D", f_exp, NULL, 1, in_x, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("log 4-D", f_log, NULL, 1, in_pos, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("abs (3,30)", f_abs, NULL, 1, in_away, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("sqrt 4-D", f_sqrt, NULL, 1, in_pos, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("clamp [-0.8, 0.9] 4-D", f_clamp, bounds, 1, in_cl, &all_elems), 0);
	float one_sided[2] = { -INFINITY, 0.9f };
	CU_ASSERT_EQUAL(gc_check("clamp (-inf, 0.9]", f_clamp, one_sided, 1, in_cl, &all_elems), 0);
	/* div: both sides, same element count in different shapes, and one side constant */
	gc_input ab[2] = { { 2, { 3, 30 }, a, 0 }, { 4, { 3, 2, 3, 5 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("div", f_div, NULL, 2, ab, &all_elems), 0);
	gc_input ac[2] = { { 2, { 3, 30 }, a, 0 }, { 2, { 3, 30 }, b, 1 } };
	CU_ASSERT_EQUAL(gc_check("div const b", f_div, NULL, 2, ac, &all_elems), 0);
	gc_input ca[2] = { { 2, { 3, 30 }, a, 1 }, { 2, { 3, 30 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("div const a", f_div, NULL, 2, ca, &all_elems), 0);
	gc_input bb[1] = { { 2, { 3, 30 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("div x/x", f_div_self, NULL, 1, bb, &all_elems), 0);
	float u[L], v[L];
	gc_fill(u, L, -1, 1, 67);
	gc_fill(v, L, -1, 1, 68);
	gc_input uv[2] = { { 2, { 3, 30 }, u, 0 }, { 4, { 3, 2, 3, 5 }, v, 0 } };
	CU_ASSERT_EQUAL(gc_check("exp/log/abs/sqrt/div/clamp chain", f_math_chain, NULL, 2, uv, &all_elems), 0);
}

static void test_softmax_gradcheck(void)
{
	float x[3 * 10];
	gc_fill(x, 30, -3, 3, 22);
	gc_input in4[1] = { { 4, { 3, 2, 1, 5 }, x, 0 } };   /* rows of 10 */
	gc_input in2[1] = { { 2, { 3, 7 }, x, 0 } };
	CU_ASSERT_EQUAL(gc_check("softmax 4-D", f_softmax, NULL, 1, in4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("softmax (3,7)", f_softmax, NULL, 1, in2, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("log_softmax 4-D", f_log_softmax, NULL, 1, in4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("log_softmax (3,7)", f_log_softmax, NULL, 1, in2, &all_elems), 0);
}

static void test_loss_gradcheck(void)
{
	float x[3 * 8], p[3 * 6], q[3 * 6], a[12], b[12];
	int32_t lab7[3] = { 6, 0, 3 }, lab8[3] = { 7, 0, 5 };
	gc_fill(x, 24, -3, 3, 23);
	gc_fill(p, 18, -2, 2, 24);
	gc_fill(q, 18, -2, 2, 25);
	gc_fill(a, 12, -1, 1, 26);
	gc_fill(b, 12, -1, 1, 27);
	gc_input ce2[1] = { { 2, { 3, 7 }, x, 0 } };
	gc_input ce4[1] = { { 4, { 3, 2, 1, 4 }, x, 0 } };
	CU_ASSERT_EQUAL(gc_check("softmax_ce (3,7)", f_softmax_ce, lab7, 1, ce2, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("softmax_ce 4-D", f_softmax_ce, lab8, 1, ce4, &all_elems), 0);
	/* both sides of the KL carry a gradient */
	gc_input kl2[2] = { { 2, { 3, 6 }, p, 0 }, { 2, { 3, 6 }, q, 0 } };
	gc_input kl4[2] = { { 4, { 3, 1, 2, 3 }, p, 0 }, { 2, { 3, 6 }, q, 0 } };
	CU_ASSERT_EQUAL(gc_check("kl_cat (3,6)", f_kl, NULL, 2, kl2, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("kl_cat 4-D p", f_kl, NULL, 2, kl4, &all_elems), 0);
	/* same element count, different shapes */
	gc_input se[2] = { { 2, { 3, 4 }, a, 0 }, { 4, { 3, 1, 2, 2 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("sqerr", f_sqerr, NULL, 2, se, &all_elems), 0);
	/* BCE from logits: logits of both signs and far out (|x| up to 6), targets 0, 1 and between;
	 * the gradient reaches both the logits and the targets */
	float bl[12], bt[12] = { 1, 0, 1, 0, 0.5f, 0.25f, 1, 1, 0, 0, 0.9f, 0.1f };
	gc_fill(bl, 12, -6, 6, 28);
	gc_input bce[2] = { { 2, { 6, 2 }, bl, 0 }, { 2, { 12, 1 }, bt, 0 } };
	CU_ASSERT_EQUAL(gc_check("bce_logits", f_bce, NULL, 2, bce, &all_elems), 0);
}

/* BCE from logits against its definition -[t log s + (1 - t) log(1 - s)], s = sigmoid(x), in
 * double; and where that form overflows in float (x = +-40), the exact value |x| or ~0. */
static void test_bce_forward(void)
{
	float x[6] = { -2.5f, 0, 1.25f, 3, 40, -40 }, tg[6] = { 1, 0, 0, 1, 0, 0 };
	double ref = 0;
	snm_tape *t = snm_tape_new(0, NULL);
	for (int i = 0; i < 4; ++i) {
		double sg = 1 / (1 + exp(-(double)x[i]));
		ref -= tg[i] * log(sg) + (1 - tg[i]) * log(1 - sg);
	}
	ref += 40 + log1p(exp(-40.0)) + log1p(exp(-40.0));     /* x = 40, t = 0: 40; x = -40, t = 0: ~0 */
	snm_tensor *y = snm_bce_logits(t, snm_tape_const(t, 2, (int[]){ 6, 1 }, x),
	                               snm_tape_const(t, 1, (int[]){ 6 }, tg));
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	SNM_ASSERT_CLOSE(y->x[0], ref / 6, 1e-7, 1e-6);
	/* log 2 at x = 0 whatever the target */
	y = snm_bce_logits(t, snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 0, 0 }),
	                   snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 1, 0 }));
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	SNM_ASSERT_CLOSE(y->x[0], log(2.0), 1e-7, 1e-6);
	/* element counts differ: a shape error naming both */
	CU_ASSERT_PTR_NULL(snm_bce_logits(t, snm_tape_const(t, 1, (int[]){ 3 }, NULL),
	                                  snm_tape_const(t, 1, (int[]){ 2 }, NULL)));
	snm_tape_free(t);
}

static void test_arith_gradcheck(void)
{
	float a[30], b[30], s = -1.7f;
	gc_fill(a, 30, -2, 2, 31);
	gc_fill(b, 30, -2, 2, 32);
	gc_input ab[2] = { { 2, { 3, 10 }, a, 0 }, { 4, { 3, 2, 1, 5 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("add", f_add, NULL, 2, ab, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("sub", f_sub, NULL, 2, ab, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("mul", f_mul, NULL, 2, ab, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("mul x*x", f_square, NULL, 1, ab, &all_elems), 0);
	/* one side constant */
	gc_input ac[2] = { { 2, { 3, 10 }, a, 0 }, { 2, { 3, 10 }, b, 1 } };
	CU_ASSERT_EQUAL(gc_check("mul const b", f_mul, NULL, 2, ac, &all_elems), 0);
	gc_input x4[1] = { { 4, { 3, 2, 1, 5 }, a, 0 } };
	CU_ASSERT_EQUAL(gc_check("scale", f_scale, &s, 1, x4, &all_elems), 0);
	int shp[] = { 3, 5, 3, 2 };
	CU_ASSERT_EQUAL(gc_check("reshape", f_reshape, shp, 1, x4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("sum", f_sum, NULL, 1, x4, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("mean", f_mean, NULL, 1, x4, &all_elems), 0);
	gc_input x5[1] = { { 3, { 5, 3, 2 }, a, 0 } };
	int r[2] = { 1, 3 };
	CU_ASSERT_EQUAL(gc_check("slice_rows", f_slice, r, 1, x5, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("slice+concat", f_swap_halves, NULL, 1, x5, &all_elems), 0);
	gc_input cc[2] = { { 3, { 2, 3, 2 }, a, 0 }, { 3, { 3, 3, 2 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("concat_rows", f_concat, NULL, 2, cc, &all_elems), 0);
	gc_input ch[2] = { { 2, { 3, 5 }, a, 0 }, { 4, { 3, 5, 1, 1 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("chain", f_chain, NULL, 2, ch, &all_elems), 0);
}

/* ---- forward values ------------------------------------------------------------------------ */

static void test_act_forward(void)
{
	enum { L = 3 * 2 * 3 * 5 };
	float x[L];
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, L, -4, 4, 41);
	x[0] = -100;    /* sigmoid must neither overflow nor lose the sign here */
	x[1] = 100;
	x[2] = 0;
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ 3, 2, 3, 5 }, x);
	snm_tensor *r = snm_relu(t, tx), *lr = snm_leaky_relu(t, tx, 0.2f);
	snm_tensor *sg = snm_sigmoid(t, tx), *th = snm_tanh(t, tx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(th);
	CU_ASSERT(snm_tensor_same_shape(r, tx) && snm_tensor_same_shape(sg, tx));
	for (int i = 0; i < L; ++i) {
		double v = x[i];
		CU_ASSERT_EQUAL(r->x[i], (float)(v > 0 ? v : 0));
		SNM_ASSERT_CLOSE(lr->x[i], v > 0 ? v : 0.2 * v, 1e-7, 1e-6);
		SNM_ASSERT_CLOSE(sg->x[i], 1 / (1 + exp(-v)), 1e-7, 1e-6);
		SNM_ASSERT_CLOSE(th->x[i], tanh(v), 1e-7, 1e-6);
	}
	CU_ASSERT(sg->x[0] > 0 && sg->x[0] < 1e-40);
	CU_ASSERT_EQUAL(sg->x[1], 1.0f);
	CU_ASSERT_EQUAL(sg->x[2], 0.5f);
	CU_ASSERT_PTR_NULL(r->g);   /* constant input: nothing recorded */
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), 0);
	snm_tape_free(t);
}

/* Leaky relu to the bit, on rows long enough for its blocked loops (at one thread: test_par
 * checks its split among threads against this): y = x > 0 ? x : alpha x;  x's gradient, first
 * written by leaky relu's backward (the unzeroed path, op.h), = 0.0f + (x > 0 ? dy : alpha dy),
 * with dy = c from sum(y * c); and when a later use (x * c2, whose backward runs first and writes
 * 0.0f + c2) is there too, that plus the term.  x holds -0.0f, 0, tiny and large values of both
 * signs; c holds -0.0f and, where x <= 0, the least negative subnormal. */
static void test_leaky_bits(void)
{
	enum { N = 37, F = 101, L = N * F };
	const float alpha = 0.2f;
	float *x = malloc(L * sizeof *x), *c = malloc(L * sizeof *c), *c2 = malloc(L * sizeof *c2);
	CU_ASSERT_FATAL(x && c && c2);
	gc_fill(x, L, -3, 3, 51);
	gc_fill(c, L, -1, 1, 52);
	gc_fill(c2, L, -1, 1, 53);
	for (int i = 0; i < L; i += 7) {
		x[i] = (i / 7) % 4 == 0 ? -0.0f : (i / 7) % 4 == 1 ? 0.0f : (i / 7) % 4 == 2 ? -1e-40f : 3e38f;
		c[i + 3 < L ? i + 3 : i] = -0.0f;
		if ((i / 7) % 4 != 3)
			c[i] = -1e-45f;     /* alpha dy rounds to -0.0f: the fresh write must give +0.0f */
	}
	for (int twice = 0; twice < 2; ++twice) {
		snm_tape *t = snm_tape_new(0, NULL);
		snm_tensor *tx = snm_tape_leaf(t, 2, (int[]){ N, F }, x);
		snm_tensor *y = snm_leaky_relu(t, tx, alpha);
		snm_tensor *loss = snm_sum(t, snm_mul(t, y, snm_tape_const(t, 2, (int[]){ N, F }, c)));
		if (twice)
			loss = snm_add(t, loss, snm_sum(t, snm_mul(t, tx, snm_tape_const(t, 2, (int[]){ N, F }, c2))));
		CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, loss, NULL), 0);
		int fwd = 1, bwd = 1;
		for (int i = 0; i < L; ++i) {
			float ey = x[i] > 0.0f ? x[i] : alpha * x[i];
			float term = x[i] > 0.0f ? c[i] : alpha * c[i];
			float eg = twice ? (0.0f + c2[i]) + term : 0.0f + term;
			fwd &= memcmp(&y->x[i], &ey, sizeof ey) == 0;
			bwd &= memcmp(&tx->g[i], &eg, sizeof eg) == 0;
		}
		CU_ASSERT(fwd);
		CU_ASSERT(bwd);
		snm_tape_free(t);
	}
	free(x), free(c), free(c2);
}

static void test_softmax_forward(void)
{
	enum { N = 3, K = 10 };
	float x[N * K];
	double ref[K];
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, N * K, -5, 5, 42);
	x[K] = 1000;     /* row 1 holds huge logits */
	x[K + 1] = -1000;
	x[K + 2] = 999;
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ N, 2, 1, 5 }, x);
	snm_tensor *sm = snm_softmax(t, tx), *ls = snm_log_softmax(t, tx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
	CU_ASSERT(snm_tensor_same_shape(sm, tx));
	for (int n = 0; n < N; ++n) {
		double s = 0;
		ref_softmax_row(x + n * K, K, ref);
		double lse = ref_lse_row(x + n * K, K);
		for (int j = 0; j < K; ++j) {
			SNM_ASSERT_CLOSE(sm->x[n * K + j], ref[j], 1e-7, 1e-5);
			SNM_ASSERT_CLOSE(ls->x[n * K + j], x[n * K + j] - lse, 1e-5, 1e-6);
			CU_ASSERT(isfinite(ls->x[n * K + j]));
			s += sm->x[n * K + j];
		}
		SNM_ASSERT_CLOSE(s, 1.0, 1e-6, 0);
	}
	/* row 1: softmax(1000, 999, rest tiny) = (1/(1+e^-1), e^-1/(1+e^-1), ~0 ...) */
	SNM_ASSERT_CLOSE(sm->x[K], 1 / (1 + exp(-1.0)), 1e-7, 1e-6);
	SNM_ASSERT_CLOSE(ls->x[K + 1], -2000 - log(1 + exp(-1.0)), 0, 1e-6);
	snm_tape_free(t);
}

static void test_softmax_ce_forward(void)
{
	enum { N = 3, K = 7 };
	float x[N * K];
	int32_t lab[N] = { 2, 6, 0 };
	double ref = 0;
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, N * K, -4, 4, 43);
	for (int n = 0; n < N; ++n)
		ref += ref_lse_row(x + n * K, K) - x[n * K + lab[n]];
	ref /= N;
	snm_tensor *y = snm_softmax_ce(t, snm_tape_const(t, 2, (int[]){ N, K }, x), lab);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(y->n_d, 1);
	CU_ASSERT_EQUAL(y->d[0], 1);
	SNM_ASSERT_CLOSE(y->x[0], ref, 1e-6, 1e-6);

	/* a confident correct row (loss 0) and a confident wrong one (loss 2000): mean 1000, and
	 * the gradient is finite: row 0: softmax - onehot = 0; row 1: (-1, 1, 0) / 2. */
	snm_tape_reset(t);
	float big[6] = { 1000, -1000, 0, -1000, 1000, 0 };
	int32_t blab[2] = { 0, 0 };
	snm_tensor *lg = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, big);
	y = snm_softmax_ce(t, lg, blab);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT(isfinite(y->x[0]));
	SNM_ASSERT_CLOSE(y->x[0], 1000.0, 0, 1e-6);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, y, NULL), 0);
	const double gref[6] = { 0, 0, 0, -0.5, 0.5, 0 };
	for (int i = 0; i < 6; ++i) {
		CU_ASSERT(isfinite(lg->g[i]));
		SNM_ASSERT_CLOSE(lg->g[i], gref[i], 1e-7, 0);
	}
	/* the labels are copied: changing the caller's array after the op changes nothing */
	snm_tape_reset(t);
	lg = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, big);
	y = snm_softmax_ce(t, lg, blab);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	blab[1] = 1;
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, y, NULL), 0);
	SNM_ASSERT_CLOSE(lg->g[3], -0.5, 1e-7, 0);
	SNM_ASSERT_CLOSE(lg->g[4], 0.5, 1e-7, 0);
	snm_tape_free(t);
}

static void test_kl_cat_forward(void)
{
	enum { N = 3, K = 6 };
	float p[N * K], q[N * K], qs[N * K];
	double P[K], Q[K], ref = 0;
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(p, N * K, -3, 3, 44);
	gc_fill(q, N * K, -3, 3, 45);
	for (int i = 0; i < N * K; ++i)
		qs[i] = p[i] + 3.0f;     /* the same distributions */
	snm_tensor *tp = snm_tape_const(t, 2, (int[]){ N, K }, p);
	snm_tensor *same = snm_kl_cat(t, tp, snm_tape_const(t, 2, (int[]){ N, K }, p));
	snm_tensor *shift = snm_kl_cat(t, tp, snm_tape_const(t, 2, (int[]){ N, K }, qs));
	snm_tensor *diff = snm_kl_cat(t, tp, snm_tape_const(t, 2, (int[]){ N, K }, q));
	snm_tensor *rev = snm_kl_cat(t, snm_tape_const(t, 2, (int[]){ N, K }, q), tp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(same);
	CU_ASSERT_PTR_NOT_NULL_FATAL(shift);
	CU_ASSERT_PTR_NOT_NULL_FATAL(diff);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rev);
	CU_ASSERT_EQUAL(same->x[0], 0.0f);
	CU_ASSERT(fabs(shift->x[0]) < 1e-6);
	CU_ASSERT(diff->x[0] > 0.0f);
	CU_ASSERT(rev->x[0] > 0.0f);
	for (int n = 0; n < N; ++n) {
		ref_softmax_row(p + n * K, K, P);
		ref_softmax_row(q + n * K, K, Q);
		for (int k = 0; k < K; ++k)
			ref += P[k] * log(P[k] / Q[k]);
	}
	ref /= N;
	SNM_ASSERT_CLOSE(diff->x[0], ref, 1e-6, 1e-5);
	CU_ASSERT(fabs(diff->x[0] - rev->x[0]) > 1e-4);   /* KL is not symmetric */

	/* huge logits: P = (1, 0), Q = (0, 1): KL = log P0 - log Q0 = 0 - (-2000) */
	snm_tape_reset(t);
	snm_tensor *hp = snm_tape_leaf(t, 2, (int[]){ 1, 2 }, (float[]){ 1000, -1000 });
	snm_tensor *hq = snm_tape_leaf(t, 2, (int[]){ 1, 2 }, (float[]){ -1000, 1000 });
	snm_tensor *h = snm_kl_cat(t, hp, hq);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	SNM_ASSERT_CLOSE(h->x[0], 2000.0, 0, 1e-6);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, h, NULL), 0);
	for (int i = 0; i < 2; ++i)
		CU_ASSERT(isfinite(hp->g[i]) && isfinite(hq->g[i]));
	SNM_ASSERT_CLOSE(hq->g[0], -1.0, 1e-7, 0);   /* Q - P = (-1, 1) */
	SNM_ASSERT_CLOSE(hq->g[1], 1.0, 1e-7, 0);
	snm_tape_free(t);
}

static void test_sqerr_forward(void)
{
	enum { L = 3 * 2 * 2 * 5 };
	float a[L], b[L];
	double ref = 0;
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(a, L, -1, 1, 46);
	gc_fill(b, L, -1, 1, 47);
	for (int i = 0; i < L; ++i)
		ref += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	ref /= 3;
	snm_tensor *y = snm_sqerr(t, snm_tape_const(t, 4, (int[]){ 3, 2, 2, 5 }, a),
	                          snm_tape_const(t, 2, (int[]){ 3, 20 }, b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(y->n_d, 1);
	SNM_ASSERT_CLOSE(y->x[0], ref, 1e-7, 1e-6);
	/* hand value: ((1-0)^2 + (2-4)^2 + (3-3)^2 + (4-1)^2) / 2 rows = 7 */
	snm_tensor *z = snm_sqerr(t, snm_tape_const(t, 2, (int[]){ 2, 2 }, (float[]){ 1, 2, 3, 4 }),
	                          snm_tape_const(t, 2, (int[]){ 2, 2 }, (float[]){ 0, 4, 3, 1 }));
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(z->x[0], 7.0f);
	snm_tape_free(t);
}

static void test_arith_forward(void)
{
	float a[6] = { 1, -2, 3.5f, 4, 0.25f, -6 }, b[6] = { 2, 3, -1, 0.5f, 8, -2 };
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *ta = snm_tape_const(t, 2, (int[]){ 2, 3 }, a);
	snm_tensor *tb = snm_tape_const(t, 3, (int[]){ 2, 1, 3 }, b);
	snm_tensor *s = snm_add(t, ta, tb), *d = snm_sub(t, ta, tb), *m = snm_mul(t, ta, tb);
	snm_tensor *k = snm_scale(t, ta, -0.5f);
	snm_tensor *r = snm_reshape(t, ta, 3, (int[]){ 3, 1, 2 });
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(snm_tensor_same_shape(s, ta));   /* a's shape */
	CU_ASSERT(snm_tensor_same_shape(m, ta));
	CU_ASSERT_EQUAL(r->n_d, 3);
	CU_ASSERT_EQUAL(r->d[0], 3);
	CU_ASSERT_EQUAL(r->d[2], 2);
	for (int i = 0; i < 6; ++i) {
		CU_ASSERT_EQUAL(s->x[i], a[i] + b[i]);
		CU_ASSERT_EQUAL(d->x[i], a[i] - b[i]);
		CU_ASSERT_EQUAL(m->x[i], a[i] * b[i]);
		CU_ASSERT_EQUAL(k->x[i], -0.5f * a[i]);
		CU_ASSERT_EQUAL(r->x[i], a[i]);
	}
	snm_tensor *su = snm_sum(t, ta), *me = snm_mean(t, tb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(su);
	CU_ASSERT_PTR_NOT_NULL_FATAL(me);
	CU_ASSERT_EQUAL(su->n_d, 1);
	CU_ASSERT_EQUAL(su->d[0], 1);
	CU_ASSERT_EQUAL(su->x[0], 0.75f);          /* 1 - 2 + 3.5 + 4 + 0.25 - 6 */
	CU_ASSERT_EQUAL(me->x[0], 1.75f);          /* 10.5 / 6 */
	snm_tape_free(t);
}

/* Forward values against double-precision <math.h>, then the domain edges as ops.h promises
 * them: IEEE values and gradients, and no error on the tape. */
static void test_math_forward(void)
{
	enum { L = 3 * 2 * 3 * 5 };
	float x[L], pos[L], b[L];
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, L, -4, 4, 71);
	gc_fill(pos, L, 1e-3, 50, 72);
	fill_away_from_zero(b, L, 0.01, 10, 73);
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ 3, 2, 3, 5 }, x);
	snm_tensor *tp = snm_tape_const(t, 2, (int[]){ 3, 30 }, pos);
	snm_tensor *tb = snm_tape_const(t, 2, (int[]){ 3, 30 }, b);
	snm_tensor *e = snm_exp(t, tx), *l = snm_log(t, tp), *ab = snm_abs(t, tx), *sq = snm_sqrt(t, tp);
	snm_tensor *c = snm_clamp(t, tx, -1.5f, 2.0f), *q = snm_div(t, tx, tb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ab);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sq);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT(snm_tensor_same_shape(e, tx) && snm_tensor_same_shape(c, tx));
	CU_ASSERT(snm_tensor_same_shape(l, tp) && snm_tensor_same_shape(q, tx));   /* a's shape */
	for (int i = 0; i < L; ++i) {
		double v = x[i];
		SNM_ASSERT_CLOSE(e->x[i], exp(v), 0, 1e-6);
		SNM_ASSERT_CLOSE(l->x[i], log((double)pos[i]), 1e-6, 1e-6);
		CU_ASSERT_EQUAL(ab->x[i], (float)fabs(v));
		SNM_ASSERT_CLOSE(sq->x[i], sqrt((double)pos[i]), 0, 1e-6);
		CU_ASSERT_EQUAL(c->x[i], (float)(v < -1.5 ? -1.5 : v > 2.0 ? 2.0 : v));
		CU_ASSERT_EQUAL(q->x[i], x[i] / b[i]);
	}
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), 0);     /* constants: nothing recorded */

	/* the edges, with a gradient of 1 at every output */
	snm_tape_reset(t);
	const float ed[6] = { 0.0f, -1.0f, 1.0f, -0.0f, 4.0f, 100.0f };
	snm_tensor *le = snm_tape_leaf(t, 1, (int[]){ 6 }, ed);
	snm_tensor *L1 = snm_sum(t, snm_log(t, le));
	CU_ASSERT_PTR_NOT_NULL_FATAL(L1);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, L1, NULL), SNM_OK);   /* no error: IEEE values */
	CU_ASSERT(isnan(L1->x[0]));                                      /* log(-1) */
	CU_ASSERT(isinf(le->g[0]) && le->g[0] > 0);                      /* 1/0 */
	CU_ASSERT_EQUAL(le->g[1], -1.0f);
	CU_ASSERT(isinf(le->g[3]) && le->g[3] < 0);                      /* 1/-0 */
	snm_tape_reset(t);
	le = snm_tape_leaf(t, 1, (int[]){ 6 }, ed);
	snm_tensor *lg = snm_log(t, le), *sr = snm_sqrt(t, le), *ex = snm_exp(t, le);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ex);
	CU_ASSERT(isinf(lg->x[0]) && lg->x[0] < 0);
	CU_ASSERT(isnan(lg->x[1]));
	CU_ASSERT_EQUAL(sr->x[0], 0.0f);
	CU_ASSERT(isnan(sr->x[1]));
	CU_ASSERT_EQUAL(sr->x[4], 2.0f);
	CU_ASSERT(isinf(ex->x[5]));                                      /* exp(100) overflows */
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_OK);
	/* sqrt at 0: gradient inf (dy / (2 * 0)) */
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, sr, (float[]){ 1, 0, 0, 0, 1, 0 }, NULL), SNM_OK);
	CU_ASSERT(isinf(le->g[0]) && le->g[0] > 0);
	CU_ASSERT_EQUAL(le->g[4], 0.25f);
	/* abs: sign(0) = 0 on either zero; clamp: the closed interval passes the gradient, NaN none */
	snm_tape_reset(t);
	const float kinks[7] = { 0.0f, -0.0f, -2.0f, 3.0f, -1.0f, 1.0f, NAN };
	le = snm_tape_leaf(t, 1, (int[]){ 7 }, kinks);
	snm_tensor *ak = snm_abs(t, le);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ak);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, ak, (float[]){ 1, 1, 1, 1, 1, 1, 1 }, NULL), SNM_OK);
	const float gabs[6] = { 0, 0, -1, 1, -1, 1 };
	for (int i = 0; i < 6; ++i)
		CU_ASSERT_EQUAL(le->g[i], gabs[i]);
	CU_ASSERT_EQUAL(le->g[6], 0.0f);
	CU_ASSERT(isnan(ak->x[6]));
	snm_tensor *ck = snm_clamp(t, le, -1.0f, 1.0f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ck);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, ck, (float[]){ 1, 1, 1, 1, 1, 1, 1 }, NULL), SNM_OK);
	const float yclamp[6] = { 0, -0.0f, -1, 1, -1, 1 }, gclamp[7] = { 1, 1, 0, 0, 1, 1, 0 };
	for (int i = 0; i < 6; ++i)
		CU_ASSERT_EQUAL(ck->x[i], yclamp[i]);
	CU_ASSERT(isnan(ck->x[6]));
	for (int i = 0; i < 7; ++i)
		CU_ASSERT_EQUAL(le->g[i], gclamp[i]);
	/* div by zero: +-inf and NaN in the value and both gradients, no error */
	snm_tape_reset(t);
	snm_tensor *na = snm_tape_leaf(t, 1, (int[]){ 3 }, (float[]){ 1, -1, 0 });
	snm_tensor *nb = snm_tape_leaf(t, 1, (int[]){ 3 }, (float[]){ 0, 0, 0 });
	snm_tensor *dq = snm_div(t, na, nb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dq);
	CU_ASSERT(isinf(dq->x[0]) && dq->x[0] > 0);
	CU_ASSERT(isinf(dq->x[1]) && dq->x[1] < 0);
	CU_ASSERT(isnan(dq->x[2]));
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, dq, (float[]){ 1, 1, 1 }, NULL), SNM_OK);
	CU_ASSERT(isinf(na->g[0]) && isinf(nb->g[0]) && isnan(nb->g[2]));
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_OK);
	snm_tape_free(t);
}

/* Sums of 2^20 floats accumulate in double: a float accumulator would be off by ~1e-3 here. */
static void test_reduction_accuracy(void)
{
	enum { N = 1024, F = 1024 };
	float *x = malloc((size_t)N * F * sizeof *x);
	double ref = 0;
	snm_tape *t = snm_tape_new(0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	gc_fill(x, (size_t)N * F, 0.05, 0.15, 48);
	for (size_t i = 0; i < (size_t)N * F; ++i)
		ref += x[i];
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ N, F }, x);
	snm_tensor *s = snm_sum(t, tx), *m = snm_mean(t, tx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	SNM_ASSERT_CLOSE(s->x[0], ref, 0, 1e-7);
	SNM_ASSERT_CLOSE(m->x[0], ref / ((double)N * F), 0, 1e-7);
	free(x);
	snm_tape_free(t);
}

/* slice + concat reassemble x bit for bit, and a gradient seeded on the result comes back to x
 * unchanged. */
static void test_slice_concat_roundtrip(void)
{
	enum { N = 5, L = N * 3 * 2 };
	float x[L], dy[L];
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, L, -1, 1, 49);
	gc_fill(dy, L, -1, 1, 50);
	snm_tensor *tx = snm_tape_leaf(t, 3, (int[]){ N, 3, 2 }, x);
	snm_tensor *lo = snm_slice_rows(t, tx, 0, 2), *hi = snm_slice_rows(t, tx, 2, 3);
	snm_tensor *y = snm_concat_rows(t, lo, hi);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(lo->d[0], 2);
	CU_ASSERT_EQUAL(hi->d[0], 3);
	CU_ASSERT_EQUAL(hi->d[1], 3);
	CU_ASSERT_EQUAL(hi->d[2], 2);
	CU_ASSERT(snm_tensor_same_shape(y, tx));
	CU_ASSERT_EQUAL(memcmp(y->x, x, sizeof x), 0);
	CU_ASSERT_EQUAL(memcmp(hi->x, x + 2 * 6, 3 * 6 * sizeof(float)), 0);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
	CU_ASSERT_EQUAL(memcmp(tx->g, dy, sizeof dy), 0);
	snm_tape_free(t);
}

/* snm_stopgrad records nothing and its result carries no gradient: for L = sum(a * stopgrad(r))
 * the leaf a gets r and the leaf r gets nothing; for L = sum(x * stopgrad(x)), x gets x, not 2x. */
static void test_stopgrad(void)
{
	float a[6], r[6];
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(a, 6, -1, 1, 51);
	gc_fill(r, 6, -1, 1, 52);
	snm_tensor *ta = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, a);
	snm_tensor *tr = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, r);
	int before = snm_tape_n_nodes(t);
	snm_tensor *sr = snm_stopgrad(t, tr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sr);
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), before);
	CU_ASSERT_PTR_NULL(sr->g);
	CU_ASSERT(snm_tensor_same_shape(sr, tr));
	CU_ASSERT_EQUAL(memcmp(sr->x, r, sizeof r), 0);
	snm_tensor *L = snm_sum(t, snm_mul(t, ta, sr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(L);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, L, NULL), 0);
	for (int i = 0; i < 6; ++i) {
		CU_ASSERT_EQUAL(ta->g[i], r[i]);
		CU_ASSERT_EQUAL(tr->g[i], 0.0f);
	}
	/* through a longer path: kl_cat(stopgrad(p), q) leaves p's gradient zero, q's not */
	snm_tensor *L2 = snm_kl_cat(t, snm_stopgrad(t, tr), ta);
	CU_ASSERT_PTR_NOT_NULL_FATAL(L2);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, L2, NULL), 0);
	double gq = 0;
	for (int i = 0; i < 6; ++i) {
		CU_ASSERT_EQUAL(tr->g[i], 0.0f);
		gq += fabs(ta->g[i]);
	}
	CU_ASSERT(gq > 1e-3);
	/* x * stopgrad(x) */
	snm_tape_reset(t);
	snm_tensor *tx = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, a);
	L = snm_sum(t, snm_mul(t, tx, snm_stopgrad(t, tx)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(L);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, L, NULL), 0);
	for (int i = 0; i < 6; ++i)
		CU_ASSERT_EQUAL(tx->g[i], a[i]);
	snm_tape_free(t);
}

/* ---- errors -------------------------------------------------------------------------------- */

typedef snm_tensor *(*binop)(snm_tape *, snm_tensor *, snm_tensor *);

/* Runs op on fresh (2,3) and (4,5) tensors and checks SNM_ESHAPE with both shapes in the message. */
static void expect_shape_error(snm_tape *t, const char *name, binop op, int n_da, const int *da,
                               int n_db, const int *db, const char *sa, const char *sb)
{
	snm_error e;
	snm_tape_reset(t);
	snm_tensor *y = op(t, snm_tape_leaf(t, n_da, da, NULL), snm_tape_const(t, n_db, db, NULL));
	CU_ASSERT_PTR_NULL(y);
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	if (!(has(e.msg, name) && has(e.msg, sa) && has(e.msg, sb))) {
		fprintf(stderr, "%s: message lacks the op or a shape: %s\n", name, e.msg);
		CU_FAIL("shape error message");
	}
}

static void test_shape_errors(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	const int d23[] = { 2, 3 }, d45[] = { 4, 5 }, d25[] = { 2, 5 }, d35[] = { 3, 5 }, d24[] = { 2, 4 };
	expect_shape_error(t, "add", snm_add, 2, d23, 2, d45, "(2,3)", "(4,5)");
	expect_shape_error(t, "sub", snm_sub, 2, d23, 2, d45, "(2,3)", "(4,5)");
	expect_shape_error(t, "mul", snm_mul, 2, d23, 2, d45, "(2,3)", "(4,5)");
	expect_shape_error(t, "div", snm_div, 2, d23, 2, d45, "(2,3)", "(4,5)");
	expect_shape_error(t, "sqerr", snm_sqerr, 2, d23, 2, d45, "(2,3)", "(4,5)");
	expect_shape_error(t, "kl_cat", snm_kl_cat, 2, d35, 2, d25, "(3,5)", "(2,5)");
	expect_shape_error(t, "kl_cat", snm_kl_cat, 2, d25, 2, d24, "(2,5)", "(2,4)");
	expect_shape_error(t, "concat_rows", snm_concat_rows, 2, d23, 2, d24, "(2,3)", "(2,4)");
	expect_shape_error(t, "concat_rows", snm_concat_rows, 2, d23, 3, (int[]){ 2, 3, 1 }, "(2,3)",
	                   "(2,3,1)");

	snm_tape_reset(t);
	snm_tensor *x = snm_tape_leaf(t, 2, d23, NULL);
	CU_ASSERT_PTR_NULL(snm_reshape(t, x, 2, (int[]){ 4, 2 }));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	CU_ASSERT(has(e.msg, "reshape") && has(e.msg, "(2,3)") && has(e.msg, "(4,2)"));

	const int bad[][2] = { { -1, 1 }, { 0, 0 }, { 1, 2 }, { 2, 1 }, { 0, 3 } };
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
		snm_tape_reset(t);
		x = snm_tape_leaf(t, 2, d23, NULL);
		CU_ASSERT_PTR_NULL(snm_slice_rows(t, x, bad[k][0], bad[k][1]));
		CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
		CU_ASSERT(has(e.msg, "slice_rows") && has(e.msg, "(2,3)"));
	}
	/* the edges are fine */
	snm_tape_reset(t);
	x = snm_tape_leaf(t, 2, d23, NULL);
	CU_ASSERT_PTR_NOT_NULL(snm_slice_rows(t, x, 1, 1));
	CU_ASSERT_PTR_NOT_NULL(snm_slice_rows(t, x, 0, 2));
	/* clamp's bounds must make an interval (a point is one) */
	const float bad_bounds[][2] = { { 1.0f, -1.0f }, { NAN, 1.0f }, { -1.0f, NAN }, { INFINITY, -INFINITY } };
	for (size_t k = 0; k < sizeof bad_bounds / sizeof bad_bounds[0]; ++k) {
		snm_tape_reset(t);
		x = snm_tape_leaf(t, 2, d23, NULL);
		CU_ASSERT_PTR_NULL(snm_clamp(t, x, bad_bounds[k][0], bad_bounds[k][1]));
		CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
		CU_ASSERT(has(e.msg, "clamp") && has(e.msg, "interval"));
	}
	snm_tape_reset(t);
	x = snm_tape_leaf(t, 2, d23, NULL);
	CU_ASSERT_PTR_NOT_NULL(snm_clamp(t, x, 0.5f, 0.5f));
	CU_ASSERT_PTR_NOT_NULL(snm_clamp(t, x, -INFINITY, INFINITY));
	snm_tape_free(t);
}

static void test_label_errors(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 3, 7 }, NULL);
	CU_ASSERT_PTR_NULL(snm_softmax_ce(t, x, (int32_t[]){ 0, 7, 1 }));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	CU_ASSERT(has(e.msg, "softmax_ce") && has(e.msg, "row 1") && has(e.msg, "label 7"));
	snm_tape_reset(t);
	x = snm_tape_leaf(t, 2, (int[]){ 3, 7 }, NULL);
	CU_ASSERT_PTR_NULL(snm_softmax_ce(t, x, (int32_t[]){ 0, 6, -1 }));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	CU_ASSERT(has(e.msg, "row 2") && has(e.msg, "label -1"));
	snm_tape_reset(t);
	x = snm_tape_leaf(t, 2, (int[]){ 3, 7 }, NULL);
	CU_ASSERT_PTR_NULL(snm_softmax_ce(t, x, NULL));
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_EINVAL);
	snm_tape_free(t);
}

/* A NULL input gives NULL without an error of its own; the first error is the one kept. */
static void test_null_propagation(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, NULL);
	CU_ASSERT_PTR_NULL(snm_relu(t, NULL));
	CU_ASSERT_PTR_NULL(snm_softmax(t, NULL));
	CU_ASSERT_PTR_NULL(snm_add(t, x, NULL));
	CU_ASSERT_PTR_NULL(snm_kl_cat(t, NULL, x));
	CU_ASSERT_PTR_NULL(snm_softmax_ce(t, NULL, (int32_t[]){ 0, 0 }));
	CU_ASSERT_PTR_NULL(snm_stopgrad(t, NULL));
	CU_ASSERT_PTR_NULL(snm_sum(t, NULL));
	CU_ASSERT_PTR_NULL(snm_exp(t, NULL));
	CU_ASSERT_PTR_NULL(snm_log(t, NULL));
	CU_ASSERT_PTR_NULL(snm_abs(t, NULL));
	CU_ASSERT_PTR_NULL(snm_sqrt(t, NULL));
	CU_ASSERT_PTR_NULL(snm_clamp(t, NULL, 0, 1));
	CU_ASSERT_PTR_NULL(snm_clamp(t, NULL, 1, 0));     /* a NULL input wins over bad bounds */
	CU_ASSERT_PTR_NULL(snm_div(t, x, NULL));
	CU_ASSERT_PTR_NULL(snm_div(t, NULL, x));
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_OK);
	snm_tensor *bad = snm_add(t, x, snm_tape_const(t, 1, (int[]){ 5 }, NULL));
	CU_ASSERT_PTR_NULL(bad);
	CU_ASSERT_PTR_NULL(snm_sum(t, snm_tanh(t, bad)));
	CU_ASSERT_PTR_NULL(snm_tanh(t, x));               /* the tape holds an error: nothing runs */
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	CU_ASSERT(has(e.msg, "add"));
	snm_tape_free(t);
}

/* With gradients off, ops on leaves record nothing and allocate no gradients. */
static void test_no_grad(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 3, 4 }, NULL);
	int before = snm_tape_n_nodes(t);
	snm_tape_set_grad(t, 0);
	snm_tensor *y = snm_softmax_ce(t, snm_add(t, snm_relu(t, x), x), (int32_t[]){ 0, 1, 2 });
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_PTR_NULL(y->g);
	SNM_ASSERT_CLOSE(y->x[0], log(4.0), 1e-6, 1e-6);   /* zero logits: uniform over 4 */
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), before);
	snm_tape_free(t);
}

static CU_TestInfo grad_tests[] = {
	{ "activations", test_act_gradcheck },
	{ "softmax", test_softmax_gradcheck },
	{ "losses", test_loss_gradcheck },
	{ "arith_shape_reduce", test_arith_gradcheck },
	{ "math", test_math_gradcheck },
	CU_TEST_INFO_NULL
};

static CU_TestInfo forward_tests[] = {
	{ "activations", test_act_forward },
	{ "leaky_relu_bits", test_leaky_bits },
	{ "softmax", test_softmax_forward },
	{ "softmax_ce", test_softmax_ce_forward },
	{ "kl_cat", test_kl_cat_forward },
	{ "sqerr", test_sqerr_forward },
	{ "bce_logits", test_bce_forward },
	{ "arith", test_arith_forward },
	{ "math", test_math_forward },
	{ "reduction_accuracy", test_reduction_accuracy },
	{ "slice_concat_roundtrip", test_slice_concat_roundtrip },
	{ "stopgrad", test_stopgrad },
	CU_TEST_INFO_NULL
};

static CU_TestInfo error_tests[] = {
	{ "shape_errors", test_shape_errors },
	{ "label_errors", test_label_errors },
	{ "null_propagation", test_null_propagation },
	{ "no_grad", test_no_grad },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "gradcheck", NULL, NULL, NULL, NULL, grad_tests },
	{ "forward", NULL, NULL, NULL, NULL, forward_tests },
	{ "errors", NULL, NULL, NULL, NULL, error_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_ops", suites);
}
