/* noise.c: the random ops (dropout, additive Gaussian noise, Gaussian constants).
 *
 * Every op here draws from the gsl_rng stream its caller passes (a run's "noise" stream, see
 * snm/rng.h), never from a global one, and draws in element order (row-major), so that the same
 * stream state gives the same numbers whatever else the step does.  Shapes are unchanged: y has
 * x's shape. */
#include <gsl/gsl_randist.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include "op.h"
#define SNM_PAR_NO_SGEMM       /* GSL's CBLAS declarations are in scope (par.h) */
#include "par.h"

/* Dropout, as PyTorch's F.dropout(x, p, training):
 *   training, 0 < p:  m_i = gsl_ran_bernoulli(rng, 1 - p) (one uniform per element, in order),
 *                     y_i = x_i m_i / (1 - p);   dx_i += dy_i m_i / (1 - p);
 *                     p == 1 gives zeros (the scale is taken as 0, as PyTorch does).
 *   evaluation, or p == 0:  y = x (x itself is returned: no copy, no node, nothing drawn).
 * The mask is kept in the node's aux (one byte per element) only when a node is recorded.
 * p outside [0,1] is SNM_EINVAL, and so is a NULL rng when something is to be drawn. */
snm_tensor *snm_dropout(snm_tape *t, snm_tensor *x, float p, gsl_rng *rng)
{
	snm_tensor *y;
	snm_node *nd;
	unsigned char *mask = NULL;
	float scale;
	size_t n;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (!(p >= 0.0f && p <= 1.0f))
		return snm_op_fail(t, SNM_EINVAL, "dropout: p = %g outside [0,1]", (double)p);
	if (!snm_tape_training(t) || p == 0.0f)
		return x;
	if (rng == NULL)
		return snm_op_fail(t, SNM_EINVAL, "dropout: no random stream given");
	y = snm_op_begin(t, SNM_OP_DROPOUT, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	n = snm_tensor_len(x);
	if (nd) {
		mask = snm_tape_alloc(t, n);
		if (mask == NULL)
			return NULL;
		nd->aux = mask;
	}
	scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
	for (size_t i = 0; i < n; ++i) {
		unsigned m = gsl_ran_bernoulli(rng, 1.0 - (double)p);
		y->x[i] = m ? x->x[i] * scale : 0.0f;
		if (mask)
			mask[i] = (unsigned char)m;
	}
	if (nd)
		nd->f[0] = scale;
	return y;
}

void snm_dropout_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	const unsigned char *mask = nd->aux;
	float scale = nd->f[0];
	size_t n = snm_tensor_len(x);
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0; i < n; ++i)
		if (mask[i])
			x->g[i] += y->g[i] * scale;
}

/* ---- Gaussian draws on several threads ------------------------------------------------------
 *
 * gsl_ran_gaussian(rng, 1.0) is GSL's polar method (randist/gauss.c): uniform pairs
 * x, y = -1 + 2 gsl_rng_uniform(rng) until 0 < r2 = x^2 + y^2 <= 1, then y sqrt(-2 log(r2) / r2).
 * Where snm runs threads (par.h), the ops below split it there: the pairs and their rejection,
 * which consume the stream, on the calling thread in element order; the transform, which does
 * not (its log is the same libm call, its sqrt and arithmetic IEEE double), on the threads.  The
 * same stream, the same operations: the same bits as calling gsl_ran_gaussian, which one thread
 * does.  tests/test_par.c checks the values and the stream's state after against one thread, so a
 * GSL whose gaussian differs is caught there. */

typedef struct gauss_job {
	const float *x;          /* NULL: no x (randn) */
	float *y;                /* NULL: the draws themselves into e */
	double *e;
	const double *py, *pr;   /* each draw's y and r2 */
	double sd;
} gauss_job;

/* y[i] = (float)(x[i] + sd e_i) or (float)(sd e_i), e_i = py[i] sqrt(-2 log(pr[i]) / pr[i]):
 * gsl_ran_gaussian's return (1.0 y sqrt(...), the 1.0 exact) and the ops' own expressions. */
static void gauss_part(int lo, int hi, void *ctx)
{
	const gauss_job *j = ctx;
	for (int i = lo; i < hi; ++i) {
		double e = j->py[i] * sqrt(-2.0 * log(j->pr[i]) / j->pr[i]);
		if (j->y == NULL)
			j->e[i] = e;
		else
			j->y[i] = j->x ? (float)(j->x[i] + j->sd * e) : (float)(j->sd * e);
	}
}

/* y[0..n) (or, y NULL, e[0..n)) from n draws of gsl_ran_gaussian(rng, 1.0) as above; 0 when
 * done, -1 when n is too small for threads (or too large for an int) or the scratch cannot grow:
 * then the caller draws with gsl_ran_gaussian itself. */
static int gauss_par(snm_tape *t, const float *x, float *y, double *e, size_t n, double sd,
                     gsl_rng *rng)
{
	double *py, *pr;
	if (n > INT_MAX || snm_par_threads(64.0 * (double)n) == 1)
		return -1;
	if ((py = (double *)snm_tape_scratch(t, 4 * n)) == NULL)
		return -1;
	pr = py + n;
	for (size_t i = 0; i < n; ++i) {
		double u, v, r2;
		do {
			u = -1 + 2 * gsl_rng_uniform(rng);
			v = -1 + 2 * gsl_rng_uniform(rng);
			r2 = u * u + v * v;
		} while (r2 > 1.0 || r2 == 0);
		py[i] = v;
		pr[i] = r2;
	}
	snm_par_parts((int)n, 16, 64.0 * (double)n, gauss_part, &(gauss_job){ x, y, e, py, pr, sd });
	return 0;
}

int snm_gauss_draws_par(snm_tape *t, double *e, size_t n, gsl_rng *rng)
{
	return gauss_par(t, NULL, NULL, e, n, 1.0, rng);
}

/* n standard normal draws of numeric version 2 (snm/tape.h), GSL's ziggurat, in element order
 * on the calling thread (its rejections consume the stream, so it does not split): y[i] =
 * (float)(x[i] + sd e_i), or with x NULL (float)(sd e_i). */
static void zig_draws(const float *x, float *y, size_t n, double sd, gsl_rng *rng)
{
	for (size_t i = 0; i < n; ++i) {
		double e = gsl_ran_gaussian_ziggurat(rng, 1.0);
		y[i] = x ? (float)(x[i] + sd * e) : (float)(sd * e);
	}
}

/* y_i = x_i + sd e_i, e_i = gsl_ran_gaussian(rng, 1.0) (numeric version 2:
 * gsl_ran_gaussian_ziggurat(rng, 1.0)) drawn in element order in both modes (always
 * snm_tensor_len(x) draws, even when sd == 0), evaluated in double and rounded once; dx += dy.
 * A NULL rng is SNM_EINVAL. */
snm_tensor *snm_gauss_noise(snm_tape *t, snm_tensor *x, float sd, gsl_rng *rng)
{
	snm_tensor *y;
	snm_node *nd;
	size_t n;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (rng == NULL)
		return snm_op_fail(t, SNM_EINVAL, "gauss_noise: no random stream given");
	y = snm_op_begin(t, SNM_OP_GAUSS_NOISE, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	n = snm_tensor_len(x);
	if (snm_tape_numerics(t) >= 2)
		zig_draws(x->x, y->x, n, sd, rng);
	else if (gauss_par(t, x->x, y->x, NULL, n, sd, rng) != 0)
		for (size_t i = 0; i < n; ++i)
			y->x[i] = (float)(x->x[i] + sd * gsl_ran_gaussian(rng, 1.0));
	return y;
}

void snm_gauss_noise_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	size_t n = snm_tensor_len(x);
	(void)t;
	if (x->g != NULL && snm_grad_fresh(x))   /* op.h */
		for (size_t i = 0; i < n; ++i)
			x->g[i] = 0.0f + y->g[i];
	else if (x->g != NULL)
		for (size_t i = 0; i < n; ++i)
			x->g[i] += y->g[i];
}

/* A constant (no gradient, no node) of shape d[0..n_d) with elements sd e_i,
 * e_i = gsl_ran_gaussian(rng, 1.0) (numeric version 2: gsl_ran_gaussian_ziggurat) in element
 * order.  A NULL rng is SNM_EINVAL. */
snm_tensor *snm_randn(snm_tape *t, int n_d, const int *d, float sd, gsl_rng *rng)
{
	snm_tensor *y;
	size_t n;
	if (snm_tape_error(t, NULL) != SNM_OK)
		return NULL;
	if (rng == NULL)
		return snm_op_fail(t, SNM_EINVAL, "randn: no random stream given");
	y = snm_tape_const(t, n_d, d, NULL);
	if (y == NULL)
		return NULL;
	n = snm_tensor_len(y);
	if (snm_tape_numerics(t) >= 2)
		zig_draws(NULL, y->x, n, sd, rng);
	else if (gauss_par(t, NULL, y->x, NULL, n, sd, rng) != 0)
		for (size_t i = 0; i < n; ++i)
			y->x[i] = (float)(sd * gsl_ran_gaussian(rng, 1.0));
	return y;
}
