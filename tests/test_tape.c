/* test_tape.c: the tape itself (recording, backward, weight sharing, gradients at a leaf without
 * touching parameters, arena reuse, error propagation) and the linear op (against naive loops and
 * finite differences). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
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

static CU_TestInfo tape_tests[] = {
	{ "linear_vs_naive", test_linear_vs_naive },
	{ "linear_gradcheck", test_linear_gradcheck },
	{ "weight_sharing", test_weight_sharing },
	{ "grad_at_leaf_only", test_grad_at_leaf_only },
	{ "error_propagation", test_error_propagation },
	{ "no_grad_mode", test_no_grad_mode },
	{ "arena_reuse", test_arena_reuse },
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
