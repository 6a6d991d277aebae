/* gradcheck.c: finite-difference gradient checks for tape ops (see gradcheck.h). */
#include <gsl/gsl_deriv.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck.h"

typedef struct gc_state {
	gc_fn f;
	void *ctx;
	int n_in;
	const gc_input *in;
	float **x;            /* working copies of the inputs, one is perturbed */
	const float *c;       /* projection */
	size_t n_y;
	snm_tape *tape;
	int training;
	int k;                /* input being perturbed */
	size_t j;             /* element being perturbed */
	double x0;
	int failed;
} gc_state;

void gc_fill(float *x, size_t n, double lo, double hi, unsigned long seed)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	gsl_rng_set(r, seed);
	for (size_t i = 0; i < n; ++i)
		x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
	gsl_rng_free(r);
}

static size_t in_len(const gc_input *in)
{
	size_t n = 1;
	for (int i = 0; i < in->n_d; ++i)
		n *= (size_t)in->d[i];
	return n;
}

/* Builds y on a reset tape; leaves = 1 makes the checked inputs gradient leaves. */
static snm_tensor *build(gc_state *s, int leaves)
{
	snm_tensor *v[8];
	snm_tape_reset(s->tape);
	snm_tape_set_training(s->tape, s->training);
	for (int k = 0; k < s->n_in; ++k)
		v[k] = leaves && !s->in[k].no_grad
		       ? snm_tape_leaf(s->tape, s->in[k].n_d, s->in[k].d, s->x[k])
		       : snm_tape_const(s->tape, s->in[k].n_d, s->in[k].d, s->x[k]);
	return s->f(s->tape, v, s->ctx);
}

static double projected(double h, void *p)
{
	gc_state *s = p;
	snm_tensor *y;
	double L = 0;
	s->x[s->k][s->j] = (float)(s->x0 + h);
	snm_tape_set_grad(s->tape, 0);
	y = build(s, 0);
	snm_tape_set_grad(s->tape, 1);
	s->x[s->k][s->j] = (float)s->x0;
	if (y == NULL) {
		s->failed = 1;
		return 0;
	}
	for (size_t i = 0; i < s->n_y; ++i)
		L += (double)s->c[i] * (double)y->x[i];
	return L;
}

int gc_check(const char *what, gc_fn f, void *ctx, int n_in, const gc_input *in, const gc_opts *o)
{
	gc_state s = { .f = f, .ctx = ctx, .n_in = n_in, .in = in, .training = o ? o->training : 1 };
	double step = o && o->step > 0 ? o->step : 1e-2;
	double rtol = o && o->rtol > 0 ? o->rtol : 1e-2, atol0 = o && o->atol > 0 ? o->atol : 1e-3;
	int max_elems = o && o->max_elems > 0 ? o->max_elems : 48;
	int bad = 0, printed = 0;
	float *c = NULL, **ga = calloc((size_t)n_in, sizeof *ga);
	snm_tensor *y, *leaf[8];
	snm_error err;
	gsl_rng *pick = gsl_rng_alloc(gsl_rng_mt19937);

	s.x = calloc((size_t)n_in, sizeof *s.x);
	s.tape = snm_tape_new(0, NULL);
	for (int k = 0; k < n_in; ++k) {
		s.x[k] = malloc(in_len(&in[k]) * sizeof(float));
		memcpy(s.x[k], in[k].x, in_len(&in[k]) * sizeof(float));
	}
	/* analytic pass */
	snm_tape_reset(s.tape);
	snm_tape_set_training(s.tape, s.training);
	for (int k = 0; k < n_in; ++k)
		leaf[k] = in[k].no_grad ? snm_tape_const(s.tape, in[k].n_d, in[k].d, s.x[k])
		                        : snm_tape_leaf(s.tape, in[k].n_d, in[k].d, s.x[k]);
	y = f(s.tape, leaf, ctx);
	if (y == NULL) {
		snm_tape_error(s.tape, &err);
		fprintf(stderr, "%s: building failed: %s\n", what, err.msg);
		bad = -1;
		goto done;
	}
	s.n_y = snm_tensor_len(y);
	c = malloc(s.n_y * sizeof *c);
	gc_fill(c, s.n_y, -1, 1, 4242);
	s.c = c;
	if (snm_tape_backward_seed(s.tape, y, c, &err)) {
		fprintf(stderr, "%s: backward failed: %s\n", what, err.msg);
		bad = -1;
		goto done;
	}
	for (int k = 0; k < n_in; ++k) {
		if (in[k].no_grad)
			continue;
		ga[k] = malloc(in_len(&in[k]) * sizeof(float));
		memcpy(ga[k], leaf[k]->g, in_len(&in[k]) * sizeof(float));
	}
	/* numeric pass */
	gsl_rng_set(pick, 17);
	for (int k = 0; k < n_in; ++k) {
		size_t n = in_len(&in[k]), m = n <= (size_t)max_elems ? n : (size_t)max_elems;
		double *num = malloc(m * sizeof *num), maxnum = 0;
		size_t *idx = malloc(m * sizeof *idx);
		if (in[k].no_grad) {
			free(num);
			free(idx);
			continue;
		}
		for (size_t e = 0; e < m; ++e) {
			gsl_function F = { projected, &s };
			double res, abserr;
			idx[e] = n == m ? e : gsl_rng_uniform_int(pick, n);
			s.k = k;
			s.j = idx[e];
			s.x0 = s.x[k][s.j];
			gsl_deriv_central(&F, 0.0, step, &res, &abserr);
			num[e] = res;
			if (fabs(res) > maxnum)
				maxnum = fabs(res);
		}
		if (s.failed) {
			fprintf(stderr, "%s: evaluation failed during differencing\n", what);
			bad = -1;
		}
		for (size_t e = 0; e < m && bad >= 0; ++e) {
			double a = ga[k][idx[e]], d = fabs(a - num[e]);
			if (d > atol0 * (1 + maxnum) + rtol * fabs(num[e])) {
				++bad;
				if (printed++ < 10)
					fprintf(stderr, "%s: input %d element %zu: analytic %.6g numeric %.6g\n",
					        what, k, idx[e], a, num[e]);
			}
		}
		free(num);
		free(idx);
	}
done:
	for (int k = 0; k < n_in; ++k) {
		free(s.x[k]);
		free(ga[k]);
	}
	free(s.x);
	free(ga);
	free(c);
	gsl_rng_free(pick);
	snm_tape_free(s.tape);
	return bad;
}

void gc_central_param(const char *what, snm_tensor *p, gc_loss_fn loss, void *ctx,
                      const gc_central *opt, gc_tally *tally)
{
	size_t len = snm_tensor_len(p);
	size_t stride = len <= opt->parts ? 1 : opt->stride ? opt->stride : len / opt->parts;
	const double step = opt->step;
	for (size_t i = 0; i < len; i += stride) {
		float v = p->x[i];
		double l0 = loss(ctx);
		p->x[i] = (float)(v + step);
		double lp = loss(ctx);
		p->x[i] = (float)(v - step);
		double lm = loss(ctx);
		p->x[i] = v;
		double num = (lp - lm) / (2 * step), ana = p->g[i];
		double tol = opt->atol * (1 + fabs(num)) + 1e-2 * fabs(num);
		int kink = fabs((lp - l0) - (l0 - lm)) / step > tol;
		if (opt->kinks_first && kink) {
			tally->kinks++;
			continue;
		}
		tally->checked++;
		tally->nonzero += ana != 0;
		if (fabs(ana - num) <= tol)
			continue;
		if (kink) {
			tally->kinks++;
			continue;
		}
		if (tally->bad++ < 10)
			fprintf(stderr, "%s %s[%zu]: analytic %g numeric %g\n", what, p->name, i, ana, num);
	}
}
