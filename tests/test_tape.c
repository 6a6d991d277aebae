/* test_tape.c: the tape itself (recording, backward, weight sharing, gradients at a leaf without
 * touching parameters, arena reuse, error propagation), the linear op (against naive loops and
 * finite differences), and ops defined outside libsnm (snm_tape_custom): two written here as a
 * plugin would write them, gradient-checked, and the contract around them (when backward runs,
 * the ctx copy, errors). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "harness.h"
#include "gradcheck.h"
#include "snm/param.h"

/* y = x w^T + b by loops, in double. */
static void linear_naive(const float *x, const float *w, const float *b, int N, int I, int O, int trans,
                         double *y)
{
	for (int n = 0; n < N; ++n)
		for (int o = 0; o < O; ++o) {
			double s = b ? b[o] : 0;
			for (int i = 0; i < I; ++i)
				s += (double)x[n * I + i] * (trans ? w[i * O + o] : w[o * I + i]);
			y[n * O + o] = s;
		}
}

static void test_linear_vs_naive(void)
{
	enum { N = 3, I = 7, O = 5 };
	float x[N * I], w[O * I], b[O];
	double ref[N * I];
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, N * I, -1, 1, 1);
	gc_fill(w, O * I, -1, 1, 2);
	gc_fill(b, O, -1, 1, 3);
	snm_tensor *tx = snm_tape_const(t, 2, (int[]){ N, I }, x);
	snm_tensor *tw = snm_tape_const(t, 2, (int[]){ O, I }, w);
	snm_tensor *tb = snm_tape_const(t, 1, (int[]){ O }, b);
	snm_tensor *y = snm_linear(t, tx, tw, tb, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(y->d[0], N);
	CU_ASSERT_EQUAL(y->d[1], O);
	linear_naive(x, w, b, N, I, O, 0, ref);
	for (int k = 0; k < N * O; ++k)
		SNM_ASSERT_CLOSE(y->x[k], ref[k], 1e-5, 1e-5);
	/* tied use: x2 (N,O) -> (N,I) = x2 w; w is (O,I) so read as (O rows of I) */
	float x2[N * O];
	gc_fill(x2, N * O, -1, 1, 4);
	snm_tensor *z = snm_linear(t, snm_tape_const(t, 2, (int[]){ N, O }, x2), tw, NULL, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_EQUAL(z->d[1], I);
	linear_naive(x2, w, NULL, N, O, I, 1, ref);
	for (int k = 0; k < N * I; ++k)
		SNM_ASSERT_CLOSE(z->x[k], ref[k], 1e-5, 1e-5);
	snm_tape_free(t);
}

static snm_tensor *f_linear(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return snm_linear(t, in[0], in[1], in[2], *(int *)ctx);
}

static void test_linear_gradcheck(void)
{
	float x[3 * 7], w[5 * 7], b[7], x2[3 * 5];
	gc_fill(x, 21, -1, 1, 5);
	gc_fill(w, 35, -1, 1, 6);
	gc_fill(b, 7, -1, 1, 7);
	gc_fill(x2, 15, -1, 1, 8);
	int plain = 0, tied = 1;
	gc_input a[3] = { { 2, { 3, 7 }, x, 0 }, { 2, { 5, 7 }, w, 0 }, { 1, { 5 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("linear", f_linear, &plain, 3, a, NULL), 0);
	gc_input c[3] = { { 2, { 3, 5 }, x2, 0 }, { 2, { 5, 7 }, w, 0 }, { 1, { 7 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("linear tied", f_linear, &tied, 3, c, NULL), 0);
	/* x given as an image (N,C,H,W) is flattened per row */
	gc_input d[3] = { { 4, { 3, 1, 1, 7 }, x, 0 }, { 2, { 5, 7 }, w, 0 }, { 1, { 5 }, b, 0 } };
	CU_ASSERT_EQUAL(gc_check("linear 4-D x", f_linear, &plain, 3, d, NULL), 0);
}

/* Weight sharing: the tied autoencoder x -> x w^T -> (x w^T) w uses w twice; the parameter's
 * gradient is the sum of both uses: dL/dw = (x w^T)^T dy... checked against finite differences of
 * the composite, and against the sum of the two single-use gradients. */
static snm_tensor *f_tied(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_linear(t, snm_linear(t, in[0], in[1], NULL, 0), in[1], NULL, 1);
}

static void test_weight_sharing(void)
{
	float x[2 * 4], w[3 * 4];
	gc_fill(x, 8, -1, 1, 9);
	gc_fill(w, 12, -1, 1, 10);
	gc_input a[2] = { { 2, { 2, 4 }, x, 0 }, { 2, { 3, 4 }, w, 0 } };
	CU_ASSERT_EQUAL(gc_check("tied autoencoder", f_tied, NULL, 2, a, NULL), 0);

	/* parameters accumulate across uses and across backward calls until zeroed */
	snm_params *p = snm_params_new(NULL);
	snm_tensor *pw = snm_params_add(p, "w", 2, (int[]){ 3, 4 }, SNM_T_PARAM, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pw);
	memcpy(pw->x, w, sizeof w);
	snm_tape *t = snm_tape_new(0, NULL);
	float dy[8];
	gc_fill(dy, 8, -1, 1, 11);
	snm_tensor *y = f_tied(t, (snm_tensor *[]){ snm_tape_const(t, 2, (int[]){ 2, 4 }, x), pw }, NULL);
	CU_ASSERT_EQUAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
	float g1[12];
	memcpy(g1, pw->g, sizeof g1);
	CU_ASSERT_EQUAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
	for (int k = 0; k < 12; ++k)
		SNM_ASSERT_CLOSE(pw->g[k], 2 * g1[k], 1e-6, 1e-6);
	snm_params_zero_grad(p);
	for (int k = 0; k < 12; ++k)
		CU_ASSERT_EQUAL(pw->g[k], 0.0f);
	snm_tape_free(t);
	snm_params_free(p);
}

/* snm_tape_grad: the gradient at a leaf r of L = sum(dy . ((x + r) w^T)) is dy w, and parameter
 * gradients stay untouched (VAT's use in the middle of a step). */
static void test_grad_at_leaf_only(void)
{
	snm_params *p = snm_params_new(NULL);
	snm_tensor *pw = snm_params_add(p, "w", 2, (int[]){ 1, 3 }, SNM_T_PARAM, NULL);
	pw->x[0] = 1; pw->x[1] = 2; pw->x[2] = 3;
	pw->g[0] = 7;  /* pre-existing gradient must survive */
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *r = snm_tape_leaf(t, 2, (int[]){ 1, 3 }, (float[]){ 0.5f, -1, 2 });
	snm_tensor *y = snm_linear(t, r, pw, NULL, 0);   /* y = r . w = 0.5 - 2 + 6 = 4.5 */
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	SNM_ASSERT_CLOSE(y->x[0], 4.5, 1e-6, 0);
	CU_ASSERT_EQUAL(snm_tape_grad(t, y, 1, &r, NULL), 0);
	CU_ASSERT_EQUAL(r->g[0], 1.0f);
	CU_ASSERT_EQUAL(r->g[1], 2.0f);
	CU_ASSERT_EQUAL(r->g[2], 3.0f);
	CU_ASSERT_EQUAL(pw->g[0], 7.0f);
	CU_ASSERT_EQUAL(pw->g[1], 0.0f);
	CU_ASSERT_PTR_EQUAL(pw->g_parked, NULL);
	/* a full backward afterwards does reach the parameter, and re-zeroes r's gradient first */
	CU_ASSERT_EQUAL(snm_tape_backward(t, y, NULL), 0);
	CU_ASSERT_EQUAL(pw->g[0], 7.5f);
	CU_ASSERT_EQUAL(pw->g[1], -1.0f);
	CU_ASSERT_EQUAL(r->g[0], 1.0f);
	/* asking for a gradient at a constant is an error */
	snm_tensor *c = snm_tape_const(t, 2, (int[]){ 1, 3 }, NULL);
	snm_error e;
	CU_ASSERT_EQUAL(snm_tape_grad(t, y, 1, &c, &e), SNM_EINVAL);
	snm_tape_free(t);
	snm_params_free(p);
}

/* Errors: a shape mismatch returns NULL with a message naming the shapes; later ops given NULL
 * return NULL; backward reports the first error; reset clears it. */
static void test_error_propagation(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, NULL);
	snm_tensor *w = snm_tape_const(t, 2, (int[]){ 4, 5 }, NULL);
	snm_tensor *y = snm_linear(t, x, w, NULL, 0);
	CU_ASSERT_PTR_NULL(y);
	CU_ASSERT_PTR_NULL(snm_linear(t, y, w, NULL, 0));
	CU_ASSERT_EQUAL(snm_tape_backward(t, y, &e), SNM_ESHAPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "(2,3)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "(4,5)"));
	snm_tape_reset(t);
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_OK);
	/* a non-scalar loss */
	x = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, NULL);
	CU_ASSERT_EQUAL(snm_tape_backward(t, x, &e), SNM_ESHAPE);
	/* bad shapes of a new tensor */
	CU_ASSERT_PTR_NULL(snm_tape_const(t, 2, (int[]){ 0, 3 }, NULL));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	snm_tape_free(t);
}

/* With gradients off nothing is recorded and nothing gets a gradient buffer. */
static void test_no_grad_mode(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tape_set_grad(t, 0);
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, NULL);
	snm_tensor *w = snm_tape_leaf(t, 2, (int[]){ 4, 3 }, NULL);
	int before = snm_tape_n_nodes(t);
	snm_tensor *y = snm_linear(t, x, w, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_PTR_NULL(y->g);
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), before);
	snm_tape_free(t);
}

/* The arena: a tape that spills in its first step holds one block afterwards and its later steps
 * reserve nothing new. */
static void test_arena_reuse(void)
{
	snm_tape *t = snm_tape_new(4096, NULL);
	size_t r1 = 0;
	for (int step = 0; step < 5; ++step) {
		snm_tape_reset(t);
		snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 64, 128 }, NULL);
		snm_tensor *w = snm_tape_const(t, 2, (int[]){ 32, 128 }, NULL);
		snm_tensor *y = snm_linear(t, x, w, NULL, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(y);
		if (step == 1)
			r1 = snm_tape_arena_reserved(t);
		if (step > 1)
			CU_ASSERT_EQUAL(snm_tape_arena_reserved(t), r1);
		CU_ASSERT(snm_tape_arena_used(t) <= snm_tape_arena_reserved(t));
	}
	snm_tape_free(t);
}

/* ---- custom ops (snm_tape_custom), defined here as a plugin defines them ----------------------- */

/* softplus with a sharpness: y = log(1 + exp(beta x)) / beta;  dx += dy sigmoid(beta x).
 * ctx (copied into the arena by the tape): beta, and a counter of backward calls owned by the
 * test (the pointer is copied, the counter is not). */
typedef struct softplus_ctx {
	float beta;
	int *calls;
} softplus_ctx;

static int softplus_fwd(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	const softplus_ctx *c = ctx;
	(void)t; (void)n_in;
	for (size_t i = 0, n = snm_tensor_len(y); i < n; ++i) {
		float v = c->beta * in[0]->x[i];      /* log1p(exp(v)) without overflow */
		y->x[i] = (v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v))) / c->beta;
	}
	return SNM_OK;
}

static int softplus_bwd(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	const softplus_ctx *c = ctx;
	(void)t; (void)n_in;
	if (c->calls != NULL)
		++*c->calls;
	if (in[0]->g != NULL)
		for (size_t i = 0, n = snm_tensor_len(y); i < n; ++i)
			in[0]->g[i] += y->g[i] / (1.0f + expf(-c->beta * in[0]->x[i]));
	return SNM_OK;
}

static const snm_custom_op softplus_op = { "softplus", softplus_fwd, softplus_bwd };

static snm_tensor *softplus(snm_tape *t, snm_tensor *x, float beta, int *calls)
{
	softplus_ctx c = { beta, calls };
	return x ? snm_tape_custom(t, &softplus_op, 1, &x, x->n_d, x->d, &c, sizeof c) : NULL;
}

/* Row norm of a difference: a, b (N, ...) of the same element count -> y (N,1),
 * y_n = ||a_n - b_n||;  da_n += dy_n (a_n - b_n) / y_n,  db_n -= the same.
 * forward keeps the differences for backward in arena memory (snm_tape_alloc), its pointer in
 * the ctx copy. */
typedef struct rownorm_ctx {
	float *diff;
} rownorm_ctx;

static int rownorm_fwd(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	rownorm_ctx *c = ctx;
	size_t len = snm_tensor_len(in[0]), N = (size_t)y->d[0], cols = len / N;
	(void)n_in;
	if (snm_tensor_len(in[1]) != len)
		return snm_tape_fail(t, SNM_ESHAPE, "rownorm: a and b differ in element count");
	if ((c->diff = snm_tape_alloc(t, len * sizeof *c->diff)) == NULL)
		return SNM_ENOMEM;
	for (size_t n = 0; n < N; ++n) {
		double s = 0;
		for (size_t j = 0; j < cols; ++j) {
			float d = in[0]->x[n * cols + j] - in[1]->x[n * cols + j];
			c->diff[n * cols + j] = d;
			s += (double)d * d;
		}
		y->x[n] = (float)sqrt(s);
	}
	return SNM_OK;
}

static int rownorm_bwd(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	const rownorm_ctx *c = ctx;
	size_t N = (size_t)y->d[0], cols = snm_tensor_len(in[0]) / N;
	(void)t; (void)n_in;
	for (size_t n = 0; n < N; ++n)
		for (size_t j = 0; j < cols; ++j) {
			float g = y->g[n] * c->diff[n * cols + j] / y->x[n];
			if (in[0]->g != NULL)
				in[0]->g[n * cols + j] += g;
			if (in[1]->g != NULL)
				in[1]->g[n * cols + j] -= g;
		}
	return SNM_OK;
}

static const snm_custom_op rownorm_op = { "rownorm", rownorm_fwd, rownorm_bwd };

static snm_tensor *rownorm(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	rownorm_ctx c = { NULL };
	if (a == NULL || b == NULL)
		return NULL;
	return snm_tape_custom(t, &rownorm_op, 2, (snm_tensor *[]){ a, b }, 2, (int[]){ a->d[0], 1 }, &c,
	                       sizeof c);
}

static snm_tensor *f_softplus(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	return softplus(t, in[0], *(float *)ctx, NULL);
}
static snm_tensor *f_rownorm(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return rownorm(t, in[0], in[1]);
}
/* custom and built-in ops mixed, x used by both: sum(softplus(x) * x) + mean(rownorm(x, w)). */
static snm_tensor *f_custom_chain(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	snm_tensor *a = snm_sum(t, snm_mul(t, softplus(t, in[0], 1.5f, NULL), in[0]));
	return snm_add(t, a, snm_mean(t, rownorm(t, in[0], in[1])));
}

/* Both ops pass the finite-difference check, alone and among built-in ops. */
static void test_custom_gradcheck(void)
{
	float x[3 * 2 * 2 * 3], w[3 * 12], beta = 2.0f;
	gc_fill(x, 36, -2, 2, 81);
	gc_fill(w, 36, -2, 2, 82);
	gc_input in4[1] = { { 4, { 3, 2, 2, 3 }, x, 0 } };
	gc_input two[2] = { { 4, { 3, 2, 2, 3 }, x, 0 }, { 2, { 3, 12 }, w, 0 } };
	gc_input one_const[2] = { { 4, { 3, 2, 2, 3 }, x, 0 }, { 2, { 3, 12 }, w, 1 } };
	const gc_opts all = { .max_elems = 1000 };
	CU_ASSERT_EQUAL(gc_check("custom softplus", f_softplus, &beta, 1, in4, &all), 0);
	CU_ASSERT_EQUAL(gc_check("custom rownorm", f_rownorm, NULL, 2, two, &all), 0);
	CU_ASSERT_EQUAL(gc_check("custom rownorm, b constant", f_rownorm, NULL, 2, one_const, &all), 0);
	CU_ASSERT_EQUAL(gc_check("custom ops among built-in ones", f_custom_chain, NULL, 2, two, &all), 0);
	/* forward values against double precision */
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *y = softplus(t, snm_tape_const(t, 4, (int[]){ 3, 2, 2, 3 }, x), beta, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT(snm_tensor_same_shape(y, snm_tape_const(t, 4, (int[]){ 3, 2, 2, 3 }, NULL)));
	for (int i = 0; i < 36; ++i)
		SNM_ASSERT_CLOSE(y->x[i], log1p(exp(2.0 * x[i])) / 2.0, 1e-6, 1e-6);
	snm_tape_free(t);
}

/* When backward runs: once per backward pass that reaches the op's result (snm_tape_grad, then
 * snm_tape_backward: twice), never for a result the loss does not depend on, and the op records
 * nothing with gradients off or on constants.  ctx is copied when ctx_bytes > 0 (the caller's
 * struct may die at once) and passed as given otherwise; parameters reach their gradient through
 * a custom op, and snm_tape_grad leaves them alone. */
static void test_custom_contract(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_params *p = snm_params_new(NULL);
	snm_tensor *pw = snm_params_add(p, "w", 2, (int[]){ 2, 3 }, SNM_T_PARAM, NULL);
	int calls = 0, unused_calls = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(pw);
	gc_fill(pw->x, 6, -1, 1, 83);
	snm_tensor *r = snm_tape_leaf(t, 2, (int[]){ 2, 3 }, (float[]){ 0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f });
	snm_tensor *sp = softplus(t, snm_add(t, r, pw), 1.0f, &calls);
	snm_tensor *unused = softplus(t, r, 1.0f, &unused_calls);
	snm_tensor *L = snm_sum(t, sp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(L);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unused);
	CU_ASSERT_EQUAL(snm_tape_grad(t, L, 1, &r, NULL), SNM_OK);
	CU_ASSERT_EQUAL(calls, 1);
	for (int i = 0; i < 6; ++i) {
		SNM_ASSERT_CLOSE(r->g[i], 1 / (1 + exp(-(double)(r->x[i] + pw->x[i]))), 1e-6, 1e-5);
		CU_ASSERT_EQUAL(pw->g[i], 0.0f);                 /* parked by snm_tape_grad */
	}
	CU_ASSERT_EQUAL(snm_tape_backward(t, L, NULL), SNM_OK);
	CU_ASSERT_EQUAL(calls, 2);
	CU_ASSERT_EQUAL(unused_calls, 0);
	for (int i = 0; i < 6; ++i)
		CU_ASSERT_EQUAL(pw->g[i], r->g[i]);
	/* nothing recorded on constants, nor with gradients off; the value is computed all the same */
	int n = snm_tape_n_nodes(t);
	snm_tensor *c = softplus(t, snm_tape_const(t, 1, (int[]){ 2 }, (float[]){ 0, 0 }), 1.0f, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NULL(c->g);
	SNM_ASSERT_CLOSE(c->x[0], log(2.0), 1e-7, 1e-6);
	snm_tape_set_grad(t, 0);
	c = softplus(t, r, 1.0f, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_PTR_NULL(c->g);
	snm_tape_set_grad(t, 1);
	CU_ASSERT_EQUAL(snm_tape_n_nodes(t), n);
	/* ctx_bytes == 0: the pointer as given */
	snm_tape_reset(t);
	softplus_ctx keep = { 1.0f, &calls };
	snm_tensor *x = snm_tape_leaf(t, 1, (int[]){ 3 }, (float[]){ 1, 2, 3 });
	calls = 0;
	snm_tensor *y = snm_tape_custom(t, &softplus_op, 1, &x, 1, (int[]){ 3 }, &keep, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	keep.beta = 2.0f;                                  /* read again by backward: the caller's ctx */
	CU_ASSERT_EQUAL(snm_tape_backward(t, snm_sum(t, y), NULL), SNM_OK);
	CU_ASSERT_EQUAL(calls, 1);
	SNM_ASSERT_CLOSE(x->g[0], 1 / (1 + exp(-2.0)), 1e-7, 1e-6);
	snm_params_free(p);
	snm_tape_free(t);
}

static int fails_quietly(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	(void)t; (void)ctx; (void)n_in; (void)in; (void)y;
	return SNM_ENUMERIC;
}

static int fails_with_message(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	(void)ctx; (void)n_in; (void)in; (void)y;
	return snm_tape_fail(t, SNM_EINVAL, "myop: the input must be sorted");
}

static int copy_forward(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	(void)t; (void)ctx; (void)n_in;
	memcpy(y->x, in[0]->x, snm_tensor_len(y) * sizeof *y->x);
	return SNM_OK;
}

/* Errors as every op has them: on the tape, the op named, NULL returned; a NULL input is NULL with
 * no error of its own. */
static void test_custom_errors(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_error e;
	const int d[1] = { 3 };
	snm_tensor *x, *six[6];
	const snm_custom_op no_fwd = { "nofwd", NULL, softplus_bwd }, no_bwd = { "nobwd", softplus_fwd, NULL };
	const snm_custom_op quiet = { "quiet", fails_quietly, softplus_bwd };
	const snm_custom_op loud = { "loud", fails_with_message, softplus_bwd };
	const snm_custom_op bad_bwd = { "badbwd", copy_forward, fails_quietly };
	softplus_ctx c = { 1.0f, NULL };
	struct { const snm_custom_op *op; int n_in, n_d, d0, code; const char *what; } cases[] = {
		{ NULL, 1, 1, 3, SNM_EINVAL, "custom op '?'" },
		{ &no_fwd, 1, 1, 3, SNM_EINVAL, "custom op 'nofwd': no forward function" },
		{ &no_bwd, 1, 1, 3, SNM_EINVAL, "custom op 'nobwd': no backward function" },
		{ &softplus_op, 6, 1, 3, SNM_EINVAL, "custom op 'softplus': 6 inputs (0..5 allowed)" },
		{ &softplus_op, -1, 1, 3, SNM_EINVAL, "custom op 'softplus': -1 inputs" },
		{ &softplus_op, 1, 0, 3, SNM_ESHAPE, "custom op 'softplus': result of 0 dimensions" },
		{ &softplus_op, 1, 5, 3, SNM_ESHAPE, "custom op 'softplus': result of 5 dimensions" },
		{ &softplus_op, 1, 1, 0, SNM_ESHAPE, "custom op 'softplus': result dimension 0 has size 0" },
		{ &quiet, 1, 1, 3, SNM_ENUMERIC, "custom op 'quiet': forward failed (SNM_ENUMERIC)" },
		{ &loud, 1, 1, 3, SNM_EINVAL, "myop: the input must be sorted" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
		snm_tape_reset(t);
		x = snm_tape_leaf(t, 1, d, NULL);
		for (int i = 0; i < 6; ++i)
			six[i] = x;
		CU_ASSERT_PTR_NULL(snm_tape_custom(t, cases[k].op, cases[k].n_in, six, cases[k].n_d,
		                                   (int[]){ cases[k].d0, 1, 1, 1, 1 }, &c, sizeof c));
		CU_ASSERT_EQUAL(snm_tape_error(t, &e), cases[k].code);
		if (strstr(e.msg, cases[k].what) == NULL) {
			fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", k, e.msg, cases[k].what);
			CU_FAIL("custom op error message");
		}
		CU_ASSERT_PTR_NULL(softplus(t, x, 1.0f, NULL));      /* the tape holds an error: no op runs */
	}
	/* a NULL input: NULL, no error */
	snm_tape_reset(t);
	x = snm_tape_leaf(t, 1, d, NULL);
	CU_ASSERT_PTR_NULL(snm_tape_custom(t, &rownorm_op, 2, (snm_tensor *[]){ x, NULL }, 1, d, NULL, 0));
	CU_ASSERT_EQUAL(snm_tape_error(t, NULL), SNM_OK);
	/* a forward's own shape check, through snm_tape_fail */
	CU_ASSERT_PTR_NULL(rownorm(t, x, snm_tape_const(t, 1, (int[]){ 4 }, NULL)));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_ESHAPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "rownorm"));
	/* a failing backward: the backward pass returns its error, the op named */
	snm_tape_reset(t);
	x = snm_tape_leaf(t, 1, d, (float[]){ 1, 2, 3 });
	snm_tensor *y = snm_tape_custom(t, &bad_bwd, 1, &x, 1, d, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL(y->x[2], 3.0f);
	CU_ASSERT_EQUAL(snm_tape_backward(t, snm_sum(t, y), &e), SNM_ENUMERIC);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "custom op 'badbwd': backward failed (SNM_ENUMERIC)"));
	snm_tape_free(t);
}

/* First writes of gradients (op.h, snm_grad_fresh): the ops that store into an unzeroed gradient
 * must give the bits of zeroing then adding -- +0.0f where their term is -0.0f (0.0f + -0.0f),
 * never what the previous backward left there, and an input used twice (x + x, x * x) gets both
 * terms.  Each op runs backward twice on one tape, first with a seed of 5s. */
static uint32_t bits(float v)
{
	uint32_t b;
	memcpy(&b, &v, sizeof b);
	return b;
}

static void fresh_case(const char *what, int which)
{
	snm_tape *t = snm_tape_new(0, NULL);
	float xv[4] = { -1.0f, 2.0f, 0.5f, -3.0f }, dy[4] = { 0.0f, -0.0f, 1.5f, -2.0f };
	float five[4] = { 5, 5, 5, 5 }, want[4];
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ 2, 2 }, xv), *y = NULL;
	snm_tensor *c = snm_tape_const(t, 2, (int[]){ 2, 2 }, (float[]){ -1.0f, 1.0f, 2.0f, 0.0f });
	for (int i = 0; i < 4; ++i) {
		switch (which) {
		case 0: want[i] = 0.0f + dy[i]; break;                                /* x + c */
		case 1: want[i] = 0.0f - dy[i]; break;                                /* c - x */
		case 2: want[i] = 0.0f + dy[i] * c->x[i]; break;                      /* x * c */
		case 3: want[i] = (0.0f + dy[i]) + dy[i]; break;                      /* x + x */
		case 4: want[i] = (0.0f + dy[i] * xv[i]) + dy[i] * xv[i]; break;      /* x * x */
		case 5: want[i] = 0.0f + (xv[i] > 0.0f ? dy[i] : -0.0f); break;       /* relu */
		case 6: want[i] = 0.0f + -0.5f * dy[i]; break;                        /* scale */
		default: want[i] = 0.0f + dy[i]; break;                               /* reshape */
		}
	}
	switch (which) {
	case 0: y = snm_add(t, x, c); break;
	case 1: y = snm_sub(t, c, x); break;
	case 2: y = snm_mul(t, x, c); break;
	case 3: y = snm_add(t, x, x); break;
	case 4: y = snm_mul(t, x, x); break;
	case 5: y = snm_relu(t, x); break;
	case 6: y = snm_scale(t, x, -0.5f); break;
	default: y = snm_reshape(t, x, 1, (int[]){ 4 }); break;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, five, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
	for (int i = 0; i < 4; ++i)
		if (bits(x->g[i]) != bits(want[i])) {
			CU_FAIL("gradient bits differ from zero-then-add");
			fprintf(stderr, "\n%s: x->g[%d] = %g (%08x), want %g (%08x)\n", what, i,
			        (double)x->g[i], (unsigned)bits(x->g[i]), (double)want[i],
			        (unsigned)bits(want[i]));
		}
	snm_tape_free(t);
}

static void test_fresh_gradients(void)
{
	static const char *const what[] = { "add", "sub", "mul", "add(x, x)", "mul(x, x)", "relu",
	                                     "scale", "reshape" };
	for (int k = 0; k < 8; ++k)
		fresh_case(what[k], k);
	CU_ASSERT_EQUAL(bits(0.0f + -0.0f), 0u);   /* the premise: the sum is +0.0f */
}

/* The other fresh ops (sigmoid, sqerr, concat_rows, gauss_noise, batch norm).  Reference: the op
 * applied to a parameter holding h's values -- outside the arena, so the walk leaves it alone and
 * the op adds into its gradient, zeroed here.  Then the same op on an arena tensor h = x * c,
 * which the walk hands over unzeroed, on a tape where a backward seeded with NaN came first (NaN
 * in every gradient buffer on the path): h's gradient must have the reference's bits, so any
 * element the op did not write (a stale NaN, or what an earlier tape left in reused memory)
 * shows.  Inputs given twice: sqerr(h, h), concat_rows(h, h). */
static snm_tensor *stale_op(snm_tape *t, int which, snm_tensor *h, snm_tensor *c, gsl_rng *r)
{
	switch (which) {
	case 0: return snm_sigmoid(t, h);
	case 1: return snm_sqerr(t, h, c);
	case 2: return snm_sqerr(t, h, h);
	case 3: return snm_concat_rows(t, h, h);
	case 4: return snm_gauss_noise(t, h, 0.5f, r);
	case 5: return snm_batchnorm(t, h, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 0);
	default: return snm_batchnorm(t, h, NULL, NULL, NULL, NULL, 0.1f, 1e-5f, 2);  /* two groups */
	}
}

static void stale_case(const char *what, int which)
{
	enum { R = 4, C = 3, N = R * C };
	float xv[N], cv[N], dy[2 * N], nan_dy[2 * N];
	uint32_t ref[N];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	snm_params *p = snm_params_new(NULL);
	snm_tensor *ph = p != NULL ? snm_params_add(p, "h", 2, (int[]){ R, C }, SNM_T_PARAM, NULL) : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ph);
	for (int i = 0; i < N; ++i) {
		xv[i] = (float)((i * 7) % 11) * 0.25f - 1.25f;
		cv[i] = (float)((i * 5) % 7) * 0.5f - 1.0f;
		ph->x[i] = xv[i] * cv[i];                 /* snm_mul's forward: the same product */
	}
	for (int i = 0; i < 2 * N; ++i) {
		dy[i] = (float)((i * 3) % 5) * 0.5f - 1.0f;
		nan_dy[i] = NAN;
	}
	{
		snm_tape *t = snm_tape_new(0, NULL);
		snm_tensor *c = snm_tape_const(t, 2, (int[]){ R, C }, cv), *y;
		snm_params_zero_grad(p);
		gsl_rng_set(r, 3);
		y = stale_op(t, which, ph, c, r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(y);
		CU_ASSERT_FATAL(snm_tensor_len(y) <= 2 * N);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
		for (int i = 0; i < N; ++i) {
			ref[i] = bits(ph->g[i]);
			CU_ASSERT(isfinite(ph->g[i]));
		}
		snm_tape_free(t);
	}
	{
		snm_tape *t = snm_tape_new(0, NULL);
		snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ R, C }, xv);
		snm_tensor *c = snm_tape_const(t, 2, (int[]){ R, C }, cv);
		snm_tensor *h = snm_mul(t, x, c), *y;
		gsl_rng_set(r, 3);
		y = stale_op(t, which, h, c, r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(y);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h->g);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, nan_dy, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward_seed(t, y, dy, NULL), 0);
		for (int i = 0; i < N; ++i)
			if (bits(h->g[i]) != ref[i]) {
				CU_FAIL("the op's first write left an element of the gradient unwritten");
				fprintf(stderr, "\n%s: h->g[%d] = %g, want the bits of %08x\n", what, i,
				        (double)h->g[i], (unsigned)ref[i]);
			}
		snm_tape_free(t);
	}
	snm_params_free(p);
	gsl_rng_free(r);
}

static void test_fresh_stale(void)
{
	static const char *const what[] = { "sigmoid", "sqerr(h, c)", "sqerr(h, h)",
	                                     "concat_rows(h, h)", "gauss_noise", "batchnorm",
	                                     "batchnorm, two groups" };
	for (int k = 0; k < 7; ++k)
		stale_case(what[k], k);
}

static CU_TestInfo tape_tests[] = {
	{ "linear_vs_naive", test_linear_vs_naive },
	{ "linear_gradcheck", test_linear_gradcheck },
	{ "weight_sharing", test_weight_sharing },
	{ "grad_at_leaf_only", test_grad_at_leaf_only },
	{ "error_propagation", test_error_propagation },
	{ "no_grad_mode", test_no_grad_mode },
	{ "arena_reuse", test_arena_reuse },
	{ "custom_gradcheck", test_custom_gradcheck },
	{ "custom_contract", test_custom_contract },
	{ "custom_errors", test_custom_errors },
	{ "fresh_gradients", test_fresh_gradients },
	{ "fresh_stale", test_fresh_stale },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "tape", NULL, NULL, NULL, NULL, tape_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_tape", suites);
}
