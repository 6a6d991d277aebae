/* linear.c: the fully connected op and its tied (transposed-weight) use, on cblas_sgemm.
 *
 * w is (O,I) as in PyTorch.  Plain:  x (N,I) -> y (N,O) = x w^T + b.
 * Tied decoder (trans_w):           x (N,O) -> y (N,I) = x w + b.
 * Backward, with dy (N, out):
 *   plain:  dx += dy w        dw += dy^T x     db += sum_n dy_n
 *   tied:   dx += dy w^T      dw += x^T dy     db += sum_n dy_n
 * The products run on snm's threads (snm_par_sgemm, par.h), each thread on its own rows or
 * columns of the result; so do the bias's copies into y (rows) and its gradient (columns, each
 * column's sum over the rows whole and in row order). */
#include <cblas.h>
#include <string.h>
#include "op.h"
#include "par.h"
#include "vec.h"

/* A bias's rows of y or its gradient's columns, for snm_par_parts. */
typedef struct bias_job {
	float *y;              /* y (N, n_out), or the bias gradient db (n_out) */
	const float *b;        /* the bias (n_out), or dy (N, n_out) */
	int N, n_out;
} bias_job;

/* Rows lo..hi-1 of y = b. */
static void bias_rows(int lo, int hi, void *ctx)
{
	const bias_job *j = ctx;
	for (int n = lo; n < hi; ++n)
		memcpy(j->y + (size_t)n * j->n_out, j->b, (size_t)j->n_out * sizeof(float));
}

snm_tensor *snm_linear(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int trans_w)
{
	snm_tensor *in[3] = { x, w, b }, *y;
	snm_node *nd;
	char sx[64], sw[64];
	int N, n_in, n_out;
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	if (w->n_d != 2)
		return snm_op_fail(t, SNM_ESHAPE, "linear: weight %s is not 2-D",
		                   snm_tensor_shape_str(w, sw, sizeof sw));
	N = x->d[0];
	n_in = trans_w ? w->d[0] : w->d[1];
	n_out = trans_w ? w->d[1] : w->d[0];
	if (snm_tensor_cols(x) != (size_t)n_in)
		return snm_op_fail(t, SNM_ESHAPE, "linear%s: x %s has %zu per row, weight %s expects %d",
		                   trans_w ? " (tied)" : "", snm_tensor_shape_str(x, sx, sizeof sx),
		                   snm_tensor_cols(x), snm_tensor_shape_str(w, sw, sizeof sw), n_in);
	if (b != NULL && snm_tensor_len(b) != (size_t)n_out)
		return snm_op_fail(t, SNM_ESHAPE, "linear: bias has %zu elements, output rows have %d",
		                   snm_tensor_len(b), n_out);
	y = snm_op_begin_opt(t, SNM_OP_LINEAR, 2, (int[]){ N, n_out }, 2, 3, in, &nd);
	if (y == NULL)
		return NULL;
	if (nd)
		nd->i[0] = trans_w;
	if (b != NULL) {
		bias_job j = { y->x, b->x, N, n_out };
		snm_par_parts(N, 1, (double)N * n_out, bias_rows, &j);
	}
	snm_par_sgemm(CblasNoTrans, trans_w ? CblasNoTrans : CblasTrans, N, n_out, n_in,
	              1.0f, x->x, n_in, w->x, w->d[1], b != NULL ? 1.0f : 0.0f, y->x, n_out);
	return y;
}

/* db[o] += dy[n][o] for n = 0..N-1 in order (each column's sum in row order), along a row
 * SNM_BLOCKED over restrict pointers in an SNM_CLONES function (vec.h), which GCC vectorises: the
 * same additions in the same order per element (db is the bias's gradient, never dy's memory).
 * dy's rows are ld floats apart and n_out columns of them are summed (a part of the columns). */
SNM_CLONES
static void bias_grad(float *restrict db, const float *restrict dy, int N, int n_out, int ld)
{
	for (int n = 0; n < N; ++n) {
		const float *restrict r = dy + (size_t)n * ld;
		SNM_BLOCKED(size_t, o, (size_t)n_out, db[o] += r[o]);
	}
}

/* Columns lo..hi-1 of the bias gradient: each column's sum whole, on one thread. */
static void bias_grad_cols(int lo, int hi, void *ctx)
{
	const bias_job *j = ctx;
	bias_grad(j->y + lo, j->b + lo, j->N, hi - lo, j->n_out);
}

void snm_linear_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
	int trans_w = nd->i[0], N = x->d[0];
	int n_in = trans_w ? w->d[0] : w->d[1], n_out = trans_w ? w->d[1] : w->d[0];
	(void)t;
	if (x->g != NULL)   /* dx (N,in) += dy (N,out) . [w (O,I) | w^T] */
		snm_par_sgemm(CblasNoTrans, trans_w ? CblasTrans : CblasNoTrans, N, n_in, n_out,
		              1.0f, y->g, n_out, w->x, w->d[1], 1.0f, x->g, n_in);
	if (w->g != NULL) {
		if (trans_w)    /* dw (O,I) += x^T (O,N) . dy (N,I) */
			snm_par_sgemm(CblasTrans, CblasNoTrans, n_in, n_out, N,
			              1.0f, x->x, n_in, y->g, n_out, 1.0f, w->g, n_out);
		else            /* dw (O,I) += dy^T (O,N) . x (N,I) */
			snm_par_sgemm(CblasTrans, CblasNoTrans, n_out, n_in, N,
			              1.0f, y->g, n_out, x->x, n_in, 1.0f, w->g, n_in);
	}
	if (b != NULL && b->g != NULL) {   /* split by columns: every column's sum in row order */
		bias_job j = { b->g, y->g, N, n_out };
		snm_par_parts(n_out, 16, (double)N * n_out, bias_grad_cols, &j);
	}
}
