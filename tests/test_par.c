/* test_par.c: snm's own threads (src/core/par.h).
 *
 * snm_par_range cuts 0..n-1 into contiguous, ordered, aligned parts that cover it; and the claim
 * the runner's reproducibility rests on: one training step of a small convnet -- conv 3x3/2 with
 * 32 and 64 channels, ReLU, the tied transposed convolution back to the first layer, a fully
 * connected classifier, cross-entropy plus reconstruction, backward, Adam -- gives bitwise the
 * same loss, gradients and updated parameters when repeated at the same thread count (1, 2, 3),
 * and, where snm_blas_thread_invariant() says so (built with OpenMP: snm's own threads on blocks
 * fixed by the shapes), at 1, 2 and 3 threads alike.  The shapes are large enough that every op
 * is cut into blocks and run on several threads.  Without OpenMP, OpenBLAS threads the products
 * itself and their last bits depend on the thread count: that build's contract is the first half
 * only, and the runner refuses to resume a run at another thread count there (test_runner).
 * Likewise, bit for bit at 1, 2 and 3 threads, a loss built from the element-wise ops and row
 * sweeps that are cut among the threads (snm_par_parts), values and gradients. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "gradcheck.h"
#include "core/blas.h"
#include "snm/ops.h"
#include "core/optim.h"
#include "snm/param.h"
#include "snm/tape.h"
#define SNM_PAR_NO_SGEMM       /* GSL's CBLAS declarations come with gsl_randist.h */
#include "core/par.h"
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "core/op.h"

static void test_range(void)
{
	static const int ns[] = { 0, 1, 7, 16, 100, 1000, 19600 };
	for (size_t a = 0; a < sizeof ns / sizeof *ns; ++a)
		for (int nt = 1; nt <= 5; ++nt)
			for (int align = 1; align <= 16; align += 15) {
				int n = ns[a], next = 0;
				for (int id = 0; id < nt; ++id) {
					int lo, hi;
					snm_par_range(n, id, nt, align, &lo, &hi);
					CU_ASSERT_EQUAL(lo, next);       /* contiguous, in order */
					CU_ASSERT(hi >= lo);
					if (id > 0 && lo < n)
						CU_ASSERT_EQUAL(lo % align, 0);
					next = hi;
				}
				CU_ASSERT_EQUAL(next, n);                /* covers 0..n-1 */
			}
	CU_ASSERT_EQUAL(snm_par_blocks(1000, 1.0), 1);          /* too small to cut */
	CU_ASSERT_EQUAL(snm_par_blocks(3, 1e9), 3);
	CU_ASSERT_EQUAL(snm_par_blocks(1000, 1e9), SNM_PAR_BLOCKS);
}

enum { B = 20, H = 28, C1 = 32, C2 = 64, K = 10 };

typedef struct net {
	snm_params *p;
	snm_tensor *w1, *b1, *w2, *b2, *db1, *wf, *bf;
} net;

static void net_new(net *n)
{
	n->p = snm_params_new(NULL);
	n->w1 = snm_params_add(n->p, "w1", 4, (int[]){ C1, 1, 3, 3 }, SNM_T_PARAM, NULL);
	n->b1 = snm_params_add(n->p, "b1", 1, (int[]){ C1 }, SNM_T_PARAM, NULL);
	n->w2 = snm_params_add(n->p, "w2", 4, (int[]){ C2, C1, 3, 3 }, SNM_T_PARAM, NULL);
	n->b2 = snm_params_add(n->p, "b2", 1, (int[]){ C2 }, SNM_T_PARAM, NULL);
	n->db1 = snm_params_add(n->p, "db1", 1, (int[]){ C1 }, SNM_T_PARAM, NULL);
	n->wf = snm_params_add(n->p, "wf", 2, (int[]){ K, C2 * 7 * 7 }, SNM_T_PARAM, NULL);
	n->bf = snm_params_add(n->p, "bf", 1, (int[]){ K }, SNM_T_PARAM, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n->bf);
	for (int i = 0; i < snm_params_count(n->p); ++i) {
		snm_tensor *w = snm_params_at(n->p, i);
		gc_fill(w->x, snm_tensor_len(w), -0.2, 0.2, 500 + (unsigned long)i);
	}
}

/* One step at `threads`; returns the loss, leaves the updated parameters in n and their gradients
 * (concatenated) in g. */
static float step(net *n, int threads, const float *x, const int32_t *lab, float *g)
{
	snm_error e;
	snm_blas_set_threads(threads);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_adam *opt = snm_adam_new(n->p, 0.9, 0.999, 1e-8, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
	snm_params_zero_grad(n->p);
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ B, 1, H, H }, x);
	snm_tensor *h1 = snm_relu(t, snm_conv2d(t, tx, n->w1, n->b1, 2, 1));          /* B,32,14,14 */
	snm_tensor *h2 = snm_relu(t, snm_conv2d(t, h1, n->w2, n->b2, 2, 1));          /* B,64,7,7 */
	snm_tensor *r1 = snm_conv2d_t(t, h2, n->w2, n->db1, 2, 1, 14, 14);            /* tied */
	snm_tensor *y = snm_linear(t, snm_reshape(t, h2, 2, (int[]){ B, C2 * 7 * 7 }), n->wf, n->bf, 0);
	snm_tensor *loss = snm_add(t, snm_softmax_ce(t, y, lab),
	                           snm_scale(t, snm_sqerr(t, r1, snm_stopgrad(t, h1)), 0.03f));
	CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
	float l = loss->x[0];
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, loss, &e), 0);
	size_t off = 0;
	for (int i = 0; i < snm_params_count(n->p); ++i) {
		snm_tensor *w = snm_params_at(n->p, i);
		memcpy(g + off, w->g, snm_tensor_len(w) * sizeof *g);
		off += snm_tensor_len(w);
	}
	CU_ASSERT_EQUAL(snm_adam_step(opt, 0.005, &e), 0);
	snm_adam_free(opt);
	snm_tape_free(t);
	return l;
}

/* 1 when nets a and b hold bitwise the same parameters, and (l, g) and (lb, gb) the same loss and
 * np gradients. */
static int same_step(const net *a, float l, const float *g, const net *b, float lb, const float *gb,
                     size_t np)
{
	int same = memcmp(&l, &lb, sizeof l) == 0 && memcmp(g, gb, np * sizeof *g) == 0;
	for (int i = 0; same && i < snm_params_count(a->p); ++i) {
		snm_tensor *u = snm_params_at(a->p, i), *v = snm_params_at(b->p, i);
		same = memcmp(u->x, v->x, snm_tensor_len(u) * sizeof(float)) == 0;
	}
	return same;
}

static void test_step_bitwise(void)
{
	static float x[B * H * H];
	int32_t lab[B];
	net ref, first, again;
	gc_fill(x, B * H * H, -0.5, 0.5, 77);
	for (int i = 0; i < B; ++i)
		lab[i] = (int32_t)(i * 7 % K);
	net_new(&ref);
	size_t np = snm_params_n_trainable(ref.p);
	float *g1 = malloc(np * sizeof *g1), *gk = malloc(np * sizeof *gk), *gr = malloc(np * sizeof *gr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gk);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
	float l1 = step(&ref, 1, x, lab, g1);
	CU_ASSERT(isfinite(l1) && l1 > 0);
	for (int threads = 1; threads <= 3; ++threads) {
		net_new(&first);
		net_new(&again);
		float lk = step(&first, threads, x, lab, gk), lr = step(&again, threads, x, lab, gr);
		CU_ASSERT(same_step(&first, lk, gk, &again, lr, gr, np));      /* repeatable */
		if (snm_blas_thread_invariant())                               /* and count-free */
			CU_ASSERT(same_step(&ref, l1, g1, &first, lk, gk, np));
		snm_params_free(first.p);
		snm_params_free(again.p);
	}
	snm_blas_set_threads(1);
	free(g1);
	free(gk);
	free(gr);
	snm_params_free(ref.p);
}

/* ---- element-wise ops and row sweeps on several threads ----------------------------------- */

enum { EN = 200, EF = 700, EI = 48 };     /* EN x EF = 140000 elements: cut among the threads */

/* The ops cut by snm_par_parts -- add, sub, mul, div, scale, reshape, concat_rows, slice_rows,
 * sum, mean, sigmoid, tanh, leaky relu, sqerr, batchnorm of (N,F) rows in two groups, linear's bias rows and
 * bias gradient, conv2d fused with its ReLU, gauss_noise and randn (their draws split between
 * the calling thread and the others: against gsl_ran_gaussian at one thread) -- in one loss at
 * `threads`; out receives a uniform drawn after the Gaussian draws, the loss, every intermediate
 * value and the gradients of the leaves and parameters. */
static size_t ew_graph(int threads, float *out)
{
	snm_error e;
	size_t k = 0;
	snm_blas_set_threads(threads);
	snm_tape *t = snm_tape_new(0, NULL);
	static float xv[EN * EI], av[EN * EF], wv[EF * EI], bv[EF], cx[EN * 2 * 10 * 10], cw[8 * 2 * 9];
	gc_fill(xv, EN * EI, -1, 1, 901);
	gc_fill(av, EN * EF, 0.5, 1.5, 902);
	gc_fill(wv, EF * EI, -0.3, 0.3, 903);
	gc_fill(bv, EF, -0.5, 0.5, 904);
	gc_fill(cx, EN * 2 * 10 * 10, -1, 1, 905);
	gc_fill(cw, 8 * 2 * 9, -0.5, 0.5, 906);
	snm_tensor *x = snm_tape_leaf(t, 2, (int[]){ EN, EI }, xv);
	snm_tensor *a = snm_tape_leaf(t, 2, (int[]){ EN, EF }, av);
	snm_tensor *w = snm_tape_leaf(t, 2, (int[]){ EF, EI }, wv);
	snm_tensor *b = snm_tape_leaf(t, 1, (int[]){ EF }, bv);
	snm_tensor *ci = snm_tape_leaf(t, 4, (int[]){ EN, 2, 10, 10 }, cx);
	snm_tensor *cwt = snm_tape_leaf(t, 4, (int[]){ 8, 2, 3, 3 }, cw);
	snm_tensor *h = snm_linear(t, x, w, b, 0);                                   /* EN x EF */
	snm_tensor *u = snm_add(t, snm_mul(t, snm_sigmoid(t, h), a), snm_tanh(t, h));
	snm_tensor *v = snm_sub(t, snm_div(t, u, a), snm_scale(t, h, 0.25f));
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rng);
	gsl_rng_set(rng, 4242);
	snm_tensor *gn = snm_gauss_noise(t, v, 0.3f, rng);                           /* EN x EF draws */
	snm_tensor *rn = snm_randn(t, 2, (int[]){ EN, EF }, 0.7f, rng);
	double after = gsl_rng_uniform(rng);             /* the stream's state after the draws */
	gsl_rng_free(rng);
	snm_tensor *bn = snm_batchnorm(t, snm_add(t, gn, rn), NULL, NULL, NULL, NULL, 0.1f, 1e-5f,
	                               EN / 2);
	snm_tensor *r = snm_reshape(t, bn, 2, (int[]){ EN / 2, 2 * EF });
	snm_tensor *cc = snm_concat_rows(t, r, snm_slice_rows(t, r, 10, 50));
	snm_tensor *cr = snm_conv2d_relu(t, ci, cwt, NULL, 1, 1);                   /* EN x 8 x 10 x 10 */
	snm_tensor *lk = snm_leaky_relu(t, h, 0.2f);
	snm_tensor *loss = snm_add(t, snm_add(t, snm_mean(t, cc), snm_sqerr(t, v, snm_stopgrad(t, u))),
	                           snm_add(t, snm_sum(t, snm_scale(t, cr, 1e-3f)), snm_mean(t, lk)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, loss, &e), 0);
	snm_tensor *vals[] = { loss, h, u, v, gn, rn, bn, cc, cr, lk };
	snm_tensor *grads[] = { x, a, w, b, ci, cwt, h, u, v, gn, bn, lk };
	if (out)
		memcpy(out, &after, sizeof after);
	k += sizeof after / sizeof *out;
	for (size_t i = 0; i < sizeof vals / sizeof *vals; ++i) {
		if (out)
			memcpy(out + k, vals[i]->x, snm_tensor_len(vals[i]) * sizeof *out);
		k += snm_tensor_len(vals[i]);
	}
	for (size_t i = 0; i < sizeof grads / sizeof *grads; ++i) {
		if (out)
			memcpy(out + k, grads[i]->g, snm_tensor_len(grads[i]) * sizeof *out);
		k += snm_tensor_len(grads[i]);
	}
	snm_tape_free(t);
	return k;
}

static void test_elementwise_bitwise(void)
{
	size_t n = ew_graph(1, NULL);
	float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	ew_graph(1, ref);
	CU_ASSERT(isfinite(ref[0]));
	for (int threads = 2; threads <= 3; ++threads) {
		ew_graph(threads, got);
		if (snm_blas_thread_invariant())
			CU_ASSERT(memcmp(ref, got, n * sizeof *ref) == 0);
	}
	snm_blas_set_threads(1);
	free(ref);
	free(got);
}

/* The threaded Gaussian draws (noise.c) against gsl_ran_gaussian, in double, and the stream's
 * state after them: the same bits (the float results of the ops cannot show a last-bit difference
 * of the double draws).  Skipped without snm's threads. */
static void test_gauss_draws(void)
{
	enum { ND = 50000 };
	double *e = malloc(ND * sizeof *e);
	gsl_rng *r1 = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
	snm_tape *t = snm_tape_new(0, NULL);
	int same = 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
	gsl_rng_set(r1, 77);
	gsl_rng_set(r2, 77);
	snm_blas_set_threads(2);
	if (snm_gauss_draws_par(t, e, ND, r1) == 0) {
		for (int i = 0; i < ND; ++i) {
			double g = gsl_ran_gaussian(r2, 1.0);
			same &= memcmp(&g, &e[i], sizeof g) == 0;
		}
		CU_ASSERT(same);
		CU_ASSERT(gsl_rng_get(r1) == gsl_rng_get(r2));
	} else {
		CU_ASSERT(!snm_blas_thread_invariant());      /* only without OpenMP */
	}
	snm_blas_set_threads(1);
	snm_tape_free(t);
	gsl_rng_free(r1);
	gsl_rng_free(r2);
	free(e);
}

/* The tape's numeric version (snm/tape.h): 1 by default, kept across resets, nothing outside
 * [1, SNM_NUMERICS_MAX] taken; snm_gauss_noise and snm_randn draw by gsl_ran_gaussian at 1 and by
 * gsl_ran_gaussian_ziggurat at 2, in element order, x + sd e rounded once, the stream left where
 * those calls leave it -- bit for bit at 1, 2 and 3 threads; and the two versions' values differ. */
static void numerics_case(int version, int threads, const float *x, int n, float *out)
{
	gsl_rng *r1 = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx, *y, *z;
	int same = 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	gsl_rng_set(r1, 5);
	gsl_rng_set(r2, 5);
	snm_blas_set_threads(threads);
	CU_ASSERT_EQUAL(snm_tape_set_numerics(t, version), 1);
	snm_tape_reset(t);
	CU_ASSERT_EQUAL(snm_tape_numerics(t), version);
	tx = snm_tape_const(t, 2, (int[]){ n / 100, 100 }, x);
	y = snm_gauss_noise(t, tx, 0.3f, r1);
	z = snm_randn(t, 2, (int[]){ n / 100, 100 }, 0.7f, r1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	for (int i = 0; i < n; ++i) {
		double e = version == 2 ? gsl_ran_gaussian_ziggurat(r2, 1.0) : gsl_ran_gaussian(r2, 1.0);
		float want = (float)(x[i] + 0.3f * e);
		same &= memcmp(&want, &y->x[i], sizeof want) == 0;
	}
	for (int i = 0; i < n; ++i) {
		double e = version == 2 ? gsl_ran_gaussian_ziggurat(r2, 1.0) : gsl_ran_gaussian(r2, 1.0);
		float want = (float)(0.7f * e);
		same &= memcmp(&want, &z->x[i], sizeof want) == 0;
	}
	CU_ASSERT(same);
	CU_ASSERT(gsl_rng_get(r1) == gsl_rng_get(r2));
	memcpy(out, y->x, (size_t)n * sizeof *out);
	snm_blas_set_threads(1);
	snm_tape_free(t);
	gsl_rng_free(r1);
	gsl_rng_free(r2);
}

static void test_numerics(void)
{
	enum { N = 30000 };
	float *x = malloc(N * sizeof *x), *y1 = malloc(N * sizeof *y1), *y2 = malloc(N * sizeof *y2);
	snm_tape *t = snm_tape_new(0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(y2);
	CU_ASSERT_EQUAL(snm_tape_numerics(t), 1);
	CU_ASSERT_EQUAL(snm_tape_set_numerics(t, 0), -1);
	CU_ASSERT_EQUAL(snm_tape_set_numerics(t, SNM_NUMERICS_MAX + 1), -1);
	CU_ASSERT_EQUAL(snm_tape_numerics(t), 1);
	CU_ASSERT_EQUAL(snm_tape_set_numerics(t, SNM_NUMERICS_MAX), 1);
	CU_ASSERT_EQUAL(snm_tape_numerics(t), SNM_NUMERICS_MAX);
	snm_tape_free(t);
	gc_fill(x, N, -1, 1, 9);
	for (int threads = 1; threads <= 3; ++threads) {
		numerics_case(1, threads, x, N, y1);
		numerics_case(2, threads, x, N, y2);
		CU_ASSERT(memcmp(y1, y2, N * sizeof *y1) != 0);
	}
	free(x);
	free(y1);
	free(y2);
}

static CU_TestInfo tests[] = {
	{ "range", test_range },
	{ "step_bitwise_1_2_3_threads", test_step_bitwise },
	{ "elementwise_bitwise_1_2_3_threads", test_elementwise_bitwise },
	{ "gauss_draws_as_gsl", test_gauss_draws },
	{ "numerics_gauss_1_2", test_numerics },
	CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
	{ "par", NULL, NULL, NULL, NULL, tests },
	CU_SUITE_INFO_NULL,
};

int main(void)
{
	return snm_test_run("test_par", suites);
}
