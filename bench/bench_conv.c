/* bench_conv.c: throughput of snm's convolution ops on the MNIST model's layers.
 *
 * For each encoder convolution (3x3, stride 2, pad 1: 1->32 28->14, 32->64 14->7, 64->96 7->4)
 * and each tied transposed convolution of the decoder (96->64 4->7, 64->32 7->14, 32->1 14->28)
 * at batch 100, it times the forward pass, the backward pass to the input only (backward-data)
 * and to the weight only (backward-weights), and prints the best and median time of many
 * repetitions with the GFLOPS of the best (2 K C R S N P Q flops in every direction).  Beside
 * each it times the bare cblas_sgemm of the same shape (the one product the op makes), so the
 * share of the op's time spent outside the GEMM (im2col, col2im, packing) is visible, and it
 * times a large square sgemm as the machine's reference.  The OpenBLAS build, core and thread
 * count are printed first, since the numbers mean little without them.
 *
 * The backward passes call the op's backward function on a hand-made tape node (op.h), so only
 * the kernel is timed, not the tape's zeroing and seeding of gradients.
 *
 * Usage: bench_conv [--threads T] [--batch N] [--reps R] [--vib]   (R: minimum repetitions, default 20;
 * --vib: vibnet's encoder and vib_lp's decoder layers instead) */
#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "snm/ops.h"
#include "snm/tape.h"
#include "core/op.h"
#include "core/blas.h"

#define MAX_REPS 2000
#define MIN_SECONDS 0.3

typedef struct layer {
	const char *name;
	int transposed;          /* 0: conv2d image -> output side; 1: conv2d_t output -> image side */
	int C, H, W, K, R, S, stride, pad;
} layer;

static const layer layers[] = {
	{ "enc1 conv    1->32  28->14", 0, 1, 28, 28, 32, 3, 3, 2, 1 },
	{ "enc2 conv   32->64  14->7 ", 0, 32, 14, 14, 64, 3, 3, 2, 1 },
	{ "enc3 conv   64->96   7->4 ", 0, 64, 7, 7, 96, 3, 3, 2, 1 },
	{ "dec3 conv_t 96->64   4->7 ", 1, 64, 7, 7, 96, 3, 3, 2, 1 },
	{ "dec2 conv_t 64->32   7->14", 1, 32, 14, 14, 64, 3, 3, 2, 1 },
	{ "dec1 conv_t 32->1   14->28", 1, 1, 28, 28, 32, 3, 3, 2, 1 },
};

/* --vib: vibnet's encoder convolutions (seed 003, tables A1, A11; 4x4, stride 2, the third pad 2)
 * and the transposed convolutions of vib_lp's decoder (table A11; 5x5, pad 2) */
static const layer vib_layers[] = {
	{ "vib e1 conv     1->32  28->14", 0, 1, 28, 28, 32, 4, 4, 2, 1 },
	{ "vib e2 conv    32->64  14->7 ", 0, 32, 14, 14, 64, 4, 4, 2, 1 },
	{ "vib e3 conv    64->128  7->4 ", 0, 64, 7, 7, 128, 4, 4, 2, 2 },
	{ "vib t1 conv_t 128->128  7->14", 1, 128, 14, 14, 128, 5, 5, 2, 2 },
	{ "vib t2 conv_t 128->128 14->28", 1, 128, 28, 28, 128, 5, 5, 2, 2 },
	{ "vib t3 conv_t 128->64  28->28", 1, 64, 28, 28, 128, 5, 5, 1, 2 },
	{ "vib t4 conv_t 64->1    28->28", 1, 1, 28, 28, 64, 5, 5, 1, 2 },
};

static int min_reps = 20;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs f(ctx) twice to warm up, then at least min_reps times and MIN_SECONDS in all; best and
 * median seconds per call. */
static void timeit(void (*f)(void *), void *ctx, double *best, double *median)
{
	static double s[MAX_REPS];
	size_t n = 0;
	double total = 0;
	f(ctx);
	f(ctx);
	while (n < MAX_REPS && (n < (size_t)min_reps || total < MIN_SECONDS)) {
		double t0 = now();
		f(ctx);
		s[n] = now() - t0;
		total += s[n++];
	}
	gsl_sort(s, 1, n);
	*best = s[0];
	*median = gsl_stats_median_from_sorted_data(s, 1, n);
}

static float *randn_buf(size_t n, gsl_rng *r)
{
	float *v = malloc(n * sizeof *v);
	if (v == NULL) {
		fprintf(stderr, "bench_conv: out of memory\n");
		exit(EXIT_FAILURE);
	}
	for (size_t i = 0; i < n; ++i)
		v[i] = (float)(2 * gsl_rng_uniform(r) - 1);
	return v;
}

/* ---- a bare sgemm ------------------------------------------------------------------------- */

typedef struct gemm_case {
	int ta, tb, M, N, K;
	float beta;
	float *a, *b, *c;
} gemm_case;

static void run_gemm(void *p)
{
	gemm_case *g = p;
	cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
	            g->M, g->N, g->K, 1.0f, g->a, g->ta ? g->M : g->K, g->b, g->tb ? g->K : g->N, g->beta,
	            g->c, g->N);
}

/* Best seconds of C (M,N) = op(A) op(B) on random data. */
static double time_gemm(int ta, int tb, int M, int N, int K, float beta, gsl_rng *r)
{
	gemm_case g = { ta, tb, M, N, K, beta, randn_buf((size_t)M * K, r), randn_buf((size_t)K * N, r),
	                randn_buf((size_t)M * N, r) };
	double best, med;
	timeit(run_gemm, &g, &best, &med);
	free(g.a);
	free(g.b);
	free(g.c);
	return best;
}

/* ---- the ops ------------------------------------------------------------------------------ */

typedef struct op_case {
	snm_tape *t;
	snm_tensor x, w, y;      /* hand-made tensors (not on the tape) */
	snm_node nd;
	int transposed, stride, pad;
} op_case;

static void run_forward(void *p)
{
	op_case *c = p;
	snm_tape_reset(c->t);
	snm_tensor *y = c->transposed
	                ? snm_conv2d_t(c->t, &c->x, &c->w, NULL, c->stride, c->pad, c->y.d[2], c->y.d[3])
	                : snm_conv2d(c->t, &c->x, &c->w, NULL, c->stride, c->pad);
	if (y == NULL) {
		snm_error e;
		snm_tape_error(c->t, &e);
		fprintf(stderr, "bench_conv: %s\n", e.msg);
		exit(EXIT_FAILURE);
	}
}

static void run_backward(void *p)
{
	op_case *c = p;
	if (c->transposed)
		snm_conv2d_t_backward(c->t, &c->nd);
	else
		snm_conv2d_backward(c->t, &c->nd);
}

static snm_tensor make(int a, int b, int h, int w, float *x)
{
	snm_tensor t = { .n_d = 4, .d = { a, b, h, w }, .x = x };
	return t;
}

static void bench_layer(const layer *L, int N, gsl_rng *r)
{
	int P = (L->H + 2 * L->pad - L->R) / L->stride + 1, Q = (L->W + 2 * L->pad - L->S) / L->stride + 1;
	int CRS = L->C * L->R * L->S, NPQ = N * P * Q;
	size_t n_img = (size_t)N * L->C * L->H * L->W, n_out = (size_t)N * L->K * P * Q;
	double flops = 2.0 * L->K * CRS * NPQ;
	op_case c = { .transposed = L->transposed, .stride = L->stride, .pad = L->pad };
	snm_error err;
	c.t = snm_tape_new(0, &err);
	if (c.t == NULL) {
		fprintf(stderr, "bench_conv: %s\n", err.msg);
		exit(EXIT_FAILURE);
	}
	snm_tape_set_grad(c.t, 0);
	float *img = randn_buf(n_img, r), *out = randn_buf(n_out, r);
	float *dimg = randn_buf(n_img, r), *dout = randn_buf(n_out, r);
	float *w = randn_buf((size_t)L->K * CRS, r), *dw = randn_buf((size_t)L->K * CRS, r);
	c.w = make(L->K, L->C, L->R, L->S, w);
	if (L->transposed) {
		c.x = make(N, L->K, P, Q, out);
		c.y = make(N, L->C, L->H, L->W, img);
		c.y.g = dimg;
	} else {
		c.x = make(N, L->C, L->H, L->W, img);
		c.y = make(N, L->K, P, Q, out);
		c.y.g = dout;
	}
	c.nd = (snm_node){ .op = L->transposed ? SNM_OP_CONV2D_T : SNM_OP_CONV2D, .n_in = 3,
	                   .in = { &c.x, &c.w, NULL }, .out = &c.y, .i = { L->stride, L->pad } };

	/* The product each direction makes (conv.c): A (K,NPQ) = W B (NN), B (CRS,NPQ) = W^T A (TN),
	 * dW += A B^T (NT).  conv2d_t's forward is conv2d's backward-data and the reverse. */
	static const char *dirs[3] = { "fwd", "bwd-data", "bwd-wgt" };
	struct { const char *tr; int ta, tb, M, N, K; float beta; } gm[3] = {
		{ "NN", 0, 0, L->K, NPQ, CRS, 0 }, { "TN", 1, 0, CRS, NPQ, L->K, 0 },
		{ "NT", 0, 1, L->K, CRS, NPQ, 1 } };
	for (int d = 0; d < 3; ++d) {
		int k = d == 2 ? 2 : (d == 0) == !L->transposed ? 0 : 1;
		double best, med, gbest;
		if (d == 0) {
			timeit(run_forward, &c, &best, &med);
		} else {
			c.x.g = d == 1 ? (L->transposed ? dout : dimg) : NULL;
			c.w.g = d == 2 ? dw : NULL;
			timeit(run_backward, &c, &best, &med);
		}
		gbest = time_gemm(gm[k].ta, gm[k].tb, gm[k].M, gm[k].N, gm[k].K, gm[k].beta, r);
		printf("%s  %-8s %8.3f %8.3f %7.2f   | %s %5d x %5d x %5d %7.2f  %3.0f%%\n", L->name, dirs[d],
		       1e3 * best, 1e3 * med, flops / best * 1e-9, gm[k].tr, gm[k].M, gm[k].N, gm[k].K,
		       flops / gbest * 1e-9, 100 * gbest / best);
	}
	free(img); free(out); free(dimg); free(dout); free(w); free(dw);
	snm_tape_free(c.t);
}

int main(int argc, char **argv)
{
	int batch = 100, threads = 0, vib = 0;
	for (int i = 1; i < argc; ++i) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--vib"))
			vib = 1;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			min_reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--threads T] [--batch N] [--reps R] [--vib]\n", argv[0]);
			return EXIT_FAILURE;
		}
	}
	if (batch < 1 || min_reps < 1 || min_reps > MAX_REPS || threads < 0) {
		fprintf(stderr, "bench_conv: bad --batch, --reps or --threads\n");
		return EXIT_FAILURE;
	}
	if (threads > 0)
		snm_blas_set_threads(threads);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	gsl_rng_set(r, 1);
	printf("bench_conv: batch %d, OpenBLAS threads %d (of %d procs)\n", batch,
	       openblas_get_num_threads(), openblas_get_num_procs());
	printf("OpenBLAS config: %s\nOpenBLAS core:   %s\n", openblas_get_config(),
	       openblas_get_corename());
	double sq = time_gemm(0, 0, 1024, 1024, 1024, 0, r);
	printf("sgemm 1024 x 1024 x 1024 (NN): %.3f ms, %.2f GFLOPS\n\n", 1e3 * sq,
	       2.0 * 1024 * 1024 * 1024 / sq * 1e-9);
	printf("%-27s  %-8s %8s %8s %7s   | %-2s %-21s %7s  %4s\n", "layer", "dir", "best ms", "med ms",
	       "GFLOPS", "", "its sgemm  M x N x K", "GFLOPS", "gemm");
	if (vib)
		for (size_t i = 0; i < sizeof vib_layers / sizeof *vib_layers; ++i)
			bench_layer(&vib_layers[i], batch, r);
	else
		for (size_t i = 0; i < sizeof layers / sizeof *layers; ++i)
			bench_layer(&layers[i], batch, r);
	printf("\nGFLOPS of the best run, 2 K C R S N P Q flops per direction; 'gemm' is the share of\n"
	       "the op's best time that its bare sgemm takes.\n");
	gsl_rng_free(r);
	return EXIT_SUCCESS;
}
