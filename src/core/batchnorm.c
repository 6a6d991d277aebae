/* batchnorm.c: batch normalisation with PyTorch's semantics (see snm/ops.h).
 *
 * x is (N,F), normalised per feature, or (N,C,H,W), normalised per channel over N, H and W ((N,C,L)
 * is accepted too, as by PyTorch's BatchNorm1d).  Below, C is d[1] and S the number of elements
 * per row and channel (1 for (N,F), H*W for images); a group of rows holds M = rows * S values per
 * channel.
 *
 * Training mode (snm_tape_training): per group and channel, mu = mean, s2 = BIASED variance (sum of
 * squared deviations / M), rstd = 1/sqrt(s2 + eps) (eps inside the square root, unlike darknet),
 * and y = gamma (x - mu) rstd + beta.  The running statistics, when given, are updated from the
 * first group only: r_mean = (1 - momentum) r_mean + momentum mu and
 * r_var = (1 - momentum) r_var + momentum s2 M/(M-1) (UNBIASED), as torch.nn.BatchNorm does with
 * momentum given as a number (the tape's stats weight instead, when set: snm/tape.h).  NOTE: this
 * update happens during the forward call, in training mode, whether or not gradients are
 * recorded (like PyTorch under torch.no_grad()); evaluate a model with
 * snm_tape_set_training(t, 0) to leave the buffers alone, or hold them with
 * snm_tape_set_hold_stats(t, 1) to normalise with batch statistics without updating them.  A group
 * with a single value per channel is SNM_EINVAL in training mode (PyTorch raises "Expected more
 * than 1 value per channel").
 *
 * Evaluation mode: mu, s2 = r_mean, r_var for every row (split is ignored; the buffers are required
 * and left unchanged).
 *
 * split > 0 (training): rows [0,split) and [split,N) are two groups with their own statistics (the
 * ladder network's labelled and unlabelled halves).
 *
 * Statistics are accumulated in double (as ATen's CPU kernel does) and each output is rounded to
 * float once.  The node's aux holds the G*C means followed by the G*C rstd values (double), so the
 * backward pass does not depend on buffers that may have changed in between (for (N,F) inputs,
 * then 5*C doubles of work space for the row sweeps below).
 *
 * Backward, with xh = (x - mu) rstd and sums over the M values of a group and channel:
 *   training:   dx += gamma rstd (dy - sum(dy)/M - xh sum(dy xh)/M)
 *   evaluation: dx += gamma rstd dy
 *   both:       dgamma += sum dy xh,  dbeta += sum dy  (over all groups). */
#include <math.h>
#include <string.h>
#include "op.h"
#include "par.h"
#include "vec.h"

/* (N,F) inputs (S = 1) take row-major sweeps instead: each pass walks the rows of a group in order
 * and, along a row, updates one accumulator per column, so every per-column sum adds the same
 * terms in the same order (rows r0, r0 + 1, ...) as the per-column loops, and every element is
 * computed by the same expression; only the order in which independent columns are visited
 * changes.  The loops over a row are SNM_BLOCKED and the functions that run them SNM_CLONES
 * (vec.h): vectorised, compiled for AVX2 and the baseline, the same bits either way.  The
 * per-column arrays live in the tape's arena.  Large sweeps run on snm's threads (bn_run below). */

/* s[c] = sum over rows [r0, r1) of x[n][c], then mu[c] = s[c] / M (x's rows ld floats apart; C
 * columns of them: all of x's, or a part). */
SNM_CLONES
static void rows_mean(const float *restrict x, int C, int ld, int r0, int r1, double M,
                      double *restrict mu)
{
	SNM_BLOCKED(size_t, c, (size_t)C, mu[c] = 0);
	for (int n = r0; n < r1; ++n) {
		const float *restrict xr = x + (size_t)n * ld;
		SNM_BLOCKED(size_t, c, (size_t)C, mu[c] += xr[c]);
	}
	SNM_BLOCKED(size_t, c, (size_t)C, mu[c] = mu[c] / M);
}

/* ss[c] = sum over rows [r0, r1) of (x[n][c] - mu[c])^2. */
SNM_CLONES
static void rows_sqdev(const float *restrict x, int C, int ld, int r0, int r1,
                       const double *restrict mu, double *restrict ss)
{
	SNM_BLOCKED(size_t, c, (size_t)C, ss[c] = 0);
	for (int n = r0; n < r1; ++n) {
		const float *restrict xr = x + (size_t)n * ld;
		SNM_BLOCKED(size_t, c, (size_t)C, ss[c] += (xr[c] - mu[c]) * (xr[c] - mu[c]));
	}
}

/* y[n][c] = (x[n][c] - mu[c]) k[c] + be[c] over rows [r0, r1), rounded once. */
SNM_CLONES
static void rows_affine(const float *restrict x, float *restrict y, int C, int r0, int r1,
                        const double *restrict mu, const double *restrict k,
                        const double *restrict be)
{
	for (int n = r0; n < r1; ++n) {
		const float *restrict xr = x + (size_t)n * C;
		float *restrict yr = y + (size_t)n * C;
		SNM_BLOCKED(size_t, c, (size_t)C, yr[c] = (float)((xr[c] - mu[c]) * k[c] + be[c]));
	}
}

/* sdy[c] = sum dy[n][c], sdyxh[c] = sum dy[n][c] ((x[n][c] - mu[c]) rs[c]) over rows [r0, r1). */
SNM_CLONES
static void rows_grad_sums(const float *restrict x, const float *restrict dy, int C, int ld,
                           int r0, int r1, const double *restrict mu, const double *restrict rs,
                           double *restrict sdy, double *restrict sdyxh)
{
	SNM_BLOCKED(size_t, c, (size_t)C, sdy[c] = 0);
	SNM_BLOCKED(size_t, c, (size_t)C, sdyxh[c] = 0);
	for (int n = r0; n < r1; ++n) {
		const float *restrict xr = x + (size_t)n * ld, *restrict dr = dy + (size_t)n * ld;
		SNM_BLOCKED(size_t, c, (size_t)C, sdy[c] += dr[c]);
		SNM_BLOCKED(size_t, c, (size_t)C, sdyxh[c] += dr[c] * ((xr[c] - mu[c]) * rs[c]));
	}
}

/* dx[n][c] += (float)(k[c] (dy[n][c] - a[c] - (x[n][c] - mu[c]) rs[c] b[c])) over rows [r0, r1),
 * or dx[n][c] = 0.0f + (float)(...) when fresh (dx unzeroed, op.h). */
SNM_CLONES
static void rows_dx(const float *restrict x, const float *restrict dy, float *restrict dx, int C,
                    int r0, int r1, const double *restrict mu, const double *restrict rs,
                    const double *restrict k, const double *restrict a, const double *restrict b,
                    int fresh)
{
	for (int n = r0; n < r1; ++n) {
		const float *restrict xr = x + (size_t)n * C, *restrict dr = dy + (size_t)n * C;
		float *restrict gr = dx + (size_t)n * C;
		if (fresh)
			SNM_BLOCKED(size_t, c, (size_t)C, gr[c] = 0.0f + (float)(k[c] * (dr[c] - a[c] - (xr[c] - mu[c]) * rs[c] * b[c])));
		else
			SNM_BLOCKED(size_t, c, (size_t)C, gr[c] += (float)(k[c] * (dr[c] - a[c] - (xr[c] - mu[c]) * rs[c] * b[c])));
	}
}

/* A row sweep split among snm's threads (par.h, snm_par_parts): the sums by columns, each
 * column's sum whole and in row order on one thread, the element-wise passes by rows; so the
 * results are the same bits at every thread count. */
typedef enum { BN_MEAN, BN_SQDEV, BN_GSUMS, BN_AFFINE, BN_DX } bn_kind;

typedef struct bn_job {
	bn_kind kind;
	const float *x, *dy;
	float *y;                              /* y (affine) or dx */
	int C, r0, r1, fresh;
	double M;
	const double *mu, *rs, *k, *a, *b;     /* b: be for affine */
	double *s1, *s2;                       /* per-column results */
} bn_job;

/* Columns [lo, hi) of a sum, or rows r0 + [lo, hi) of an element-wise pass. */
static void bn_part(int lo, int hi, void *ctx)
{
	const bn_job *j = ctx;
	switch (j->kind) {
	case BN_MEAN:
		rows_mean(j->x + lo, hi - lo, j->C, j->r0, j->r1, j->M, j->s1 + lo);
		break;
	case BN_SQDEV:
		rows_sqdev(j->x + lo, hi - lo, j->C, j->r0, j->r1, j->mu + lo, j->s1 + lo);
		break;
	case BN_GSUMS:
		rows_grad_sums(j->x + lo, j->dy + lo, hi - lo, j->C, j->r0, j->r1, j->mu + lo, j->rs + lo,
		               j->s1 + lo, j->s2 + lo);
		break;
	case BN_AFFINE:
		rows_affine(j->x, j->y, j->C, j->r0 + lo, j->r0 + hi, j->mu, j->k, j->b);
		break;
	case BN_DX:
		rows_dx(j->x, j->dy, j->y, j->C, j->r0 + lo, j->r0 + hi, j->mu, j->rs, j->k, j->a, j->b,
		        j->fresh);
		break;
	}
}

/* Runs j over its columns (the sums) or its rows r0..r1-1 (the element-wise passes). */
static void bn_run(bn_job *j)
{
	int by_cols = j->kind == BN_MEAN || j->kind == BN_SQDEV || j->kind == BN_GSUMS;
	double work = (double)(j->r1 - j->r0) * j->C * (j->kind == BN_GSUMS ? 2 : 1);
	snm_par_parts(by_cols ? j->C : j->r1 - j->r0, by_cols ? 16 : 1, work, bn_part, j);
}

/* Row range [*r0, *r1) of group g. */
static void group_rows(int g, int G, int split, int N, int *r0, int *r1)
{
	*r0 = G == 2 && g == 1 ? split : 0;
	*r1 = G == 2 && g == 0 ? split : N;
}

/* snm_batchnorm's computation for (N,F) inputs (S = 1) in row-major sweeps (see the top of the
 * file): the same statistics, running-statistics update and outputs as its per-column loops, bit
 * for bit; work holds 2 C doubles. */
static void forward_rows(const snm_tensor *x, snm_tensor *y, const snm_tensor *gamma,
                         const snm_tensor *beta, snm_tensor *r_mean, snm_tensor *r_var,
                         float momentum, float eps, int training, int hold, int split, int G,
                         double *mean, double *rstd, double *work)
{
	int N = x->d[0], C = x->d[1];
	double *k = work, *be = k + C, *ss = be;
	for (int g = 0; g < G; ++g) {
		double *mu = mean + (size_t)g * C, *rs = rstd + (size_t)g * C, M;
		int r0, r1;
		group_rows(g, G, split, N, &r0, &r1);
		M = (double)(r1 - r0);
		if (training) {
			bn_run(&(bn_job){ .kind = BN_MEAN, .x = x->x, .C = C, .r0 = r0, .r1 = r1, .M = M, .s1 = mu });
			bn_run(&(bn_job){ .kind = BN_SQDEV, .x = x->x, .C = C, .r0 = r0, .r1 = r1, .mu = mu,
			                  .s1 = ss });
			for (int c = 0; c < C; ++c) {
				double s2 = ss[c] / M;
				if (g == 0 && r_mean != NULL && !hold) {
					r_mean->x[c] = (float)((1.0 - momentum) * r_mean->x[c] + (double)momentum * mu[c]);
					r_var->x[c] = (float)((1.0 - momentum) * r_var->x[c] +
					                      (double)momentum * ss[c] / (M - 1.0));
				}
				rs[c] = 1.0 / sqrt(s2 + (double)eps);
			}
		} else {
			for (int c = 0; c < C; ++c) {
				mu[c] = r_mean->x[c];
				rs[c] = 1.0 / sqrt((double)r_var->x[c] + (double)eps);
			}
		}
		for (int c = 0; c < C; ++c) {
			k[c] = (gamma ? gamma->x[c] : 1.0) * rs[c];
			be[c] = beta ? beta->x[c] : 0.0;
		}
		bn_run(&(bn_job){ .kind = BN_AFFINE, .x = x->x, .y = y->x, .C = C, .r0 = r0, .r1 = r1,
		                  .mu = mu, .k = k, .b = be });
	}
}

snm_tensor *snm_batchnorm(snm_tape *t, snm_tensor *x, snm_tensor *gamma, snm_tensor *beta,
                          snm_tensor *r_mean, snm_tensor *r_var, float momentum, float eps,
                          int split)
{
	snm_tensor *in[3] = { x, gamma, beta }, *y;
	snm_node *nd;
	char sx[64];
	int training, hold, N, C, G;
	size_t S;
	double *mean, *rstd;
	if (!snm_op_inputs_ok(t, 1, in))
		return NULL;
	training = snm_tape_training(t);
	hold = snm_tape_hold_stats(t);
	if (snm_tape_stats_weight(t) > 0)       /* the trainer's re-estimation (snm/tape.h) */
		momentum = (float)snm_tape_stats_weight(t);
	if (x->n_d < 2)
		return snm_op_fail(t, SNM_ESHAPE, "batchnorm: x %s needs a feature or channel dimension",
		                   snm_tensor_shape_str(x, sx, sizeof sx));
	N = x->d[0];
	C = x->d[1];
	S = snm_tensor_len(x) / (size_t)N / (size_t)C;
	if (gamma != NULL && snm_tensor_len(gamma) != (size_t)C)
		return snm_op_fail(t, SNM_ESHAPE, "batchnorm: gamma has %zu elements, x %s has %d channels",
		                   snm_tensor_len(gamma), snm_tensor_shape_str(x, sx, sizeof sx), C);
	if (beta != NULL && snm_tensor_len(beta) != (size_t)C)
		return snm_op_fail(t, SNM_ESHAPE, "batchnorm: beta has %zu elements, x %s has %d channels",
		                   snm_tensor_len(beta), snm_tensor_shape_str(x, sx, sizeof sx), C);
	if ((r_mean == NULL) != (r_var == NULL))
		return snm_op_fail(t, SNM_EINVAL, "batchnorm: running mean and variance must be given together");
	if (r_mean != NULL && (snm_tensor_len(r_mean) != (size_t)C || snm_tensor_len(r_var) != (size_t)C))
		return snm_op_fail(t, SNM_ESHAPE, "batchnorm: running statistics have %zu and %zu elements, "
		                   "x %s has %d channels", snm_tensor_len(r_mean), snm_tensor_len(r_var),
		                   snm_tensor_shape_str(x, sx, sizeof sx), C);
	if (!training && r_mean == NULL)
		return snm_op_fail(t, SNM_EINVAL, "batchnorm: evaluation mode needs running statistics");
	if (split < 0 || (split > 0 && split >= N))
		return snm_op_fail(t, SNM_EINVAL, "batchnorm: split %d outside 1..%d for a batch of %d",
		                   split, N - 1, N);
	if (!(eps >= 0.0f))
		return snm_op_fail(t, SNM_EINVAL, "batchnorm: eps %g is negative", (double)eps);
	G = training && split > 0 ? 2 : 1;
	for (int g = 0; training && g < G; ++g) {
		int r0, r1;
		group_rows(g, G, split, N, &r0, &r1);
		if ((size_t)(r1 - r0) * S < 2)
			return snm_op_fail(t, SNM_EINVAL, "batchnorm: training needs more than 1 value per channel "
			                   "(x %s, rows %d..%d)", snm_tensor_shape_str(x, sx, sizeof sx), r0, r1);
	}
	y = snm_op_begin_opt(t, SNM_OP_BATCHNORM, x->n_d, x->d, 1, 3, in, &nd);
	if (y == NULL)
		return NULL;
	/* G C means, G C rstd values, and for S = 1 the 5 C doubles of the row sweeps' per-column
	 * arrays (forward_rows uses 2, backward_rows 5) */
	mean = snm_tape_alloc(t, (2 * (size_t)G + (S == 1 ? 5 : 0)) * (size_t)C * sizeof *mean);
	if (mean == NULL)
		return NULL;
	rstd = mean + (size_t)G * C;
	if (S == 1) {
		forward_rows(x, y, gamma, beta, r_mean, r_var, momentum, eps, training, hold, split, G,
		             mean, rstd, rstd + (size_t)G * C);
		goto done;
	}

	for (int g = 0; g < G; ++g) {
		int r0, r1;
		group_rows(g, G, split, N, &r0, &r1);
		for (int c = 0; c < C; ++c) {
			double mu, s2, ga = gamma ? gamma->x[c] : 1.0, be = beta ? beta->x[c] : 0.0, k;
			if (training) {
				double M = (double)(r1 - r0) * (double)S, s = 0, ss = 0;
				for (int n = r0; n < r1; ++n) {
					const float *xc = x->x + ((size_t)n * C + c) * S;
					for (size_t i = 0; i < S; ++i)
						s += xc[i];
				}
				mu = s / M;
				for (int n = r0; n < r1; ++n) {
					const float *xc = x->x + ((size_t)n * C + c) * S;
					for (size_t i = 0; i < S; ++i)
						ss += (xc[i] - mu) * (xc[i] - mu);
				}
				s2 = ss / M;
				if (g == 0 && r_mean != NULL && !hold) {
					r_mean->x[c] = (float)((1.0 - momentum) * r_mean->x[c] + (double)momentum * mu);
					r_var->x[c] = (float)((1.0 - momentum) * r_var->x[c] +
					                      (double)momentum * ss / (M - 1.0));
				}
			} else {
				mu = r_mean->x[c];
				s2 = r_var->x[c];
			}
			mean[(size_t)g * C + c] = mu;
			rstd[(size_t)g * C + c] = 1.0 / sqrt(s2 + (double)eps);
			k = ga * rstd[(size_t)g * C + c];
			for (int n = r0; n < r1; ++n) {
				const float *xc = x->x + ((size_t)n * C + c) * S;
				float *yc = y->x + ((size_t)n * C + c) * S;
				for (size_t i = 0; i < S; ++i)
					yc[i] = (float)((xc[i] - mu) * k + be);
			}
		}
	}
done:
	if (nd) {
		nd->i[0] = split;
		nd->i[1] = training;
		nd->i[2] = G;
		nd->aux = mean;
	}
	return y;
}

/* The inputs' gradients that are fresh (unzeroed, op.h), taken in the order x, gamma, beta: each
 * is then stored as 0.0f + its first term (of group 0, for gamma and beta), the rest added. */
static void fresh_flags(snm_tensor *x, snm_tensor *gamma, snm_tensor *beta, int *fx, int *fga,
                        int *fbe)
{
	*fx = x->g != NULL && snm_grad_fresh(x);
	*fga = gamma != NULL && gamma->g != NULL && snm_grad_fresh(gamma);
	*fbe = beta != NULL && beta->g != NULL && snm_grad_fresh(beta);
}

/* snm_batchnorm_backward for (N,F) inputs (S = 1) in row-major sweeps (see the top of the file):
 * the same sums and gradients, bit for bit.  Its per-column arrays are the 5 C doubles that the forward
 * call left after the means and rstd values in the node's aux. */
static void backward_rows(snm_node *nd)
{
	snm_tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2], *y = nd->out;
	int split = nd->i[0], training = nd->i[1], G = nd->i[2], N = x->d[0], C = x->d[1];
	const double *mean = nd->aux, *rstd = mean + (size_t)G * C;
	double *sdy = (double *)nd->aux + 2 * (size_t)G * C;
	double *sdyxh = sdy + C, *k = sdyxh + C, *a = k + C, *b = a + C;
	int fx, fga, fbe;
	fresh_flags(x, gamma, beta, &fx, &fga, &fbe);
	for (int g = 0; g < G; ++g) {
		const double *mu = mean + (size_t)g * C, *rs = rstd + (size_t)g * C;
		double M;
		int r0, r1;
		group_rows(g, G, split, N, &r0, &r1);
		M = (double)(r1 - r0);
		bn_run(&(bn_job){ .kind = BN_GSUMS, .x = x->x, .dy = y->g, .C = C, .r0 = r0, .r1 = r1,
		                  .mu = mu, .rs = rs, .s1 = sdy, .s2 = sdyxh });
		for (int c = 0; c < C; ++c) {
			if (gamma != NULL && gamma->g != NULL)
				gamma->g[c] = (fga && g == 0 ? 0.0f : gamma->g[c]) + (float)sdyxh[c];
			if (beta != NULL && beta->g != NULL)
				beta->g[c] = (fbe && g == 0 ? 0.0f : beta->g[c]) + (float)sdy[c];
			k[c] = (gamma ? gamma->x[c] : 1.0) * rs[c];
			a[c] = training ? sdy[c] / M : 0.0;      /* mean(dy) */
			b[c] = training ? sdyxh[c] / M : 0.0;    /* mean(dy xh) */
		}
		if (x->g != NULL)
			bn_run(&(bn_job){ .kind = BN_DX, .x = x->x, .dy = y->g, .y = x->g, .C = C, .r0 = r0,
			                  .r1 = r1, .fresh = fx, .mu = mu, .rs = rs, .k = k, .a = a, .b = b });
	}
}

void snm_batchnorm_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2], *y = nd->out;
	int split = nd->i[0], training = nd->i[1], G = nd->i[2], N = x->d[0], C = x->d[1];
	size_t S = snm_tensor_len(x) / (size_t)N / (size_t)C;
	const double *mean = nd->aux, *rstd = mean + (size_t)G * C;
	int fx, fga, fbe;
	(void)t;
	if (S == 1) {
		backward_rows(nd);
		return;
	}
	fresh_flags(x, gamma, beta, &fx, &fga, &fbe);
	for (int g = 0; g < G; ++g) {
		int r0, r1;
		group_rows(g, G, split, N, &r0, &r1);
		for (int c = 0; c < C; ++c) {
			double mu = mean[(size_t)g * C + c], rs = rstd[(size_t)g * C + c];
			double M = (double)(r1 - r0) * (double)S, sdy = 0, sdyxh = 0, k, a, b;
			for (int n = r0; n < r1; ++n) {
				size_t o = ((size_t)n * C + c) * S;
				for (size_t i = 0; i < S; ++i) {
					sdy += y->g[o + i];
					sdyxh += y->g[o + i] * ((x->x[o + i] - mu) * rs);
				}
			}
			if (gamma != NULL && gamma->g != NULL)
				gamma->g[c] = (fga && g == 0 ? 0.0f : gamma->g[c]) + (float)sdyxh;
			if (beta != NULL && beta->g != NULL)
				beta->g[c] = (fbe && g == 0 ? 0.0f : beta->g[c]) + (float)sdy;
			if (x->g == NULL)
				continue;
			k = (gamma ? gamma->x[c] : 1.0) * rs;
			a = training ? sdy / M : 0.0;      /* mean(dy) */
			b = training ? sdyxh / M : 0.0;    /* mean(dy xh) */
			for (int n = r0; n < r1; ++n) {
				size_t o = ((size_t)n * C + c) * S;
				for (size_t i = 0; i < S; ++i)
					x->g[o + i] = (fx ? 0.0f : x->g[o + i]) +
					              (float)(k * (y->g[o + i] - a - (x->x[o + i] - mu) * rs * b));
			}
		}
	}
}
