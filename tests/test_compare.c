/* test_compare.c: the comparison regularizers `vat` (virtual adversarial training) and `c2c`
 * (close-to-clean), loaded from the build tree through the plugin loader, on a small custom
 * convnet (conv 4 -> fc 8 = z -> 3 classes, 1x8x8 inputs).
 *
 * The model is wrapped in a spy: a model whose encode and classify call convnet's and keep a copy
 * of every input and every logit tensor they see.  That shows what the plugins feed the model --
 * the clean inputs, each power-iteration probe x + xi d, and the final x + r_adv or x + dx -- so
 * the tests check the perturbations themselves (norms, the Gaussian draws), recompute every term
 * from the recorded logits in double, and rebuild each objective's final loss as a plain function
 * of the parameters with the perturbation held fixed.  The spy has no decoders: the plugins may
 * use encode and classify only.
 *
 * vat: per-example L2 norm of r_adv equals epsilon (and of the probes xi); r_adv raises the KL far
 * more than random directions of the same norm (averaged over seeds and examples); the terms
 * against naive formulas, and summing to the loss; the parameter gradients equal those of the
 * final loss alone (no leak from the power iteration's snm_tape_grad), against a rebuilt loss's
 * backward and central differences; the unlabelled rows.  c2c: the Gaussian dx equals epsilon
 * times the noise stream's draws, the term is exactly zero at epsilon 0 (both modes), the
 * adversarial dx has norm epsilon, gradients with and without clean_fixed.  Both: determinism per
 * seed, option errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "harness.h"
#include "run/loader.h"
#include "gradcheck.h"
#include "snm/plugin.h"
#include "snm/rng.h"

enum { N = 4, M = 3, K = 3, D = 64 };   /* labelled rows, unlabelled rows, classes, pixels */
#define SMALL "preset: custom\nlayers: [{conv: 4, k: 3, stride: 2, pad: 1}, {fc: 8}]\n"

/* ---- the spy model ------------------------------------------------------------------------ */

enum { SPY_MAX = 8 };

typedef struct spy {
	snm_model inner;
	int on;                          /* record while 1 */
	int n_x, n_y;
	float *x[SPY_MAX], *y[SPY_MAX];  /* copies of encode's inputs and classify's outputs */
	int x_rows[SPY_MAX], y_rows[SPY_MAX];
} spy;

static float *copy_of(const snm_tensor *t)
{
	float *c = malloc(snm_tensor_len(t) * sizeof *c);
	if (c != NULL)
		memcpy(c, t->x, snm_tensor_len(t) * sizeof *c);
	return c;
}

static int spy_n_hidden(void *state)
{
	spy *s = state;
	return s->inner.vt->n_hidden(s->inner.state);
}

static snm_tensor *spy_encode(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook,
                              void *ctx, snm_tensor **hidden)
{
	spy *s = state;
	if (s->on && x != NULL && s->n_x < SPY_MAX) {
		s->x_rows[s->n_x] = x->d[0];
		s->x[s->n_x++] = copy_of(x);
	}
	return s->inner.vt->encode(s->inner.state, t, x, hook, ctx, hidden);
}

static snm_tensor *spy_classify(void *state, snm_tape *t, snm_tensor *z)
{
	spy *s = state;
	snm_tensor *y = s->inner.vt->classify(s->inner.state, t, z);
	if (s->on && y != NULL && s->n_y < SPY_MAX) {
		s->y_rows[s->n_y] = y->d[0];
		s->y[s->n_y++] = copy_of(y);
	}
	return y;
}

static const snm_model_vt spy_vt = { sizeof spy_vt, NULL, NULL, spy_n_hidden, spy_encode,
                                     spy_classify, NULL, NULL, NULL };   /* no encode_post */

static void spy_clear(spy *s)
{
	for (int i = 0; i < s->n_x; ++i)
		free(s->x[i]);
	for (int i = 0; i < s->n_y; ++i)
		free(s->y[i]);
	s->n_x = s->n_y = 0;
}

/* ---- fixture -------------------------------------------------------------------------------- */

typedef struct fix {
	snm_cfg *cfg;
	snm_params *params;
	gsl_rng *init;
	spy spy;
	snm_model spied;                 /* the spy as a model */
	float x[N * D], xu[M * D];
	int32_t labels[N];
	snm_tape *t;
} fix;

/* The small convnet with weights U(-0.5, 0.5) from seed (larger than the default init, so the
 * logits move), inputs U(0, 1) minus 0.5 (mean-subtracted pixels). */
static void fix_new(fix *f, unsigned long seed)
{
	snm_data_info in = { 3, { 1, 8, 8 }, K, { 100, 10, 10 } };
	snm_error e;
	const snm_plugin *p = snm_test_plugin(SNM_KIND_MODEL, "convnet");
	memset(f, 0, sizeof *f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	f->spy.inner.vt = p->vtable;
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(SMALL, strlen(SMALL), "model.yaml", &f->cfg, &e), 0);
	f->params = snm_params_new(NULL);
	f->init = snm_rng_new(42, NULL);
	CU_ASSERT_EQUAL_FATAL(f->spy.inner.vt->create(f->cfg, &in, f->params, f->init,
	                                              &f->spy.inner.state, &e), 0);
	for (int i = 0; i < snm_params_count(f->params); ++i) {
		snm_tensor *w = snm_params_at(f->params, i);
		gc_fill(w->x, snm_tensor_len(w), -0.5, 0.5, seed + (unsigned long)i);
	}
	gc_fill(f->x, N * D, -0.5, 0.5, seed + 100);
	gc_fill(f->xu, M * D, -0.5, 0.5, seed + 101);
	for (int n = 0; n < N; ++n)
		f->labels[n] = (int32_t)(n % K);
	f->spied.vt = &spy_vt;
	f->spied.state = &f->spy;
	f->t = snm_tape_new(0, NULL);
}

static void fix_free(fix *f)
{
	spy_clear(&f->spy);
	if (f->spy.inner.state)
		f->spy.inner.vt->destroy(f->spy.inner.state);
	snm_params_free(f->params);
	gsl_rng_free(f->init);
	snm_cfg_free(f->cfg);
	snm_tape_free(f->t);
}

typedef struct inst {
	const snm_noise_vt *vt;
	snm_cfg *cfg;
	void *state;
	int rc;
	snm_error err;
} inst;

static void inst_new(inst *in, const char *name, const char *yaml, fix *f)
{
	const snm_plugin *p = snm_test_plugin(SNM_KIND_NOISE, name);
	memset(in, 0, sizeof *in);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	in->vt = p->vtable;
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(yaml, strlen(yaml), "noise.yaml", &in->cfg, &in->err), 0);
	in->rc = in->vt->create(in->cfg, &f->spied, f->params, NULL, &in->state, &in->err);
}

static void inst_free(inst *in)
{
	if (in->state)
		in->vt->destroy(in->state);
	snm_cfg_free(in->cfg);
}

/* Builds in's objective on f's reset tape, noise stream seeded `seed`, recording through the
 * spy (cleared first); with_u passes the unlabelled rows.  Returns the loss, NULL on failure. */
static snm_tensor *build(fix *f, inst *in, int with_u, uint64_t seed, snm_objective *o)
{
	snm_batch b;
	snm_error e;
	gsl_rng *r = snm_rng_new(seed, NULL);
	int rc;
	spy_clear(&f->spy);
	f->spy.on = 1;
	snm_tape_reset(f->t);
	b.x = snm_tape_const(f->t, 4, (int[]){ N, 1, 8, 8 }, f->x);
	b.labels = f->labels;
	b.xu = with_u ? snm_tape_const(f->t, 4, (int[]){ M, 1, 8, 8 }, f->xu) : NULL;
	memset(o, 0, sizeof *o);
	rc = in->vt->objective(in->state, &f->spied, f->t, &b, r, o, &e);
	f->spy.on = 0;
	gsl_rng_free(r);
	if (rc != 0) {
		fprintf(stderr, "test_compare: objective: %s\n", e.msg);
		return NULL;
	}
	return o->loss;
}

static snm_tensor *term(const snm_objective *o, const char *name)
{
	for (int i = 0; i < o->n_terms; ++i)
		if (!strcmp(o->term_names[i], name))
			return o->terms[i];
	return NULL;
}

/* Logits of the model (unwrapped) at the rows x, on t. */
static snm_tensor *logits(fix *f, snm_tape *t, snm_tensor *x)
{
	const snm_model *m = &f->spy.inner;
	return m->vt->classify(m->state, t, m->vt->encode(m->state, t, x, NULL, NULL, NULL));
}

/* ---- naive references, in double ---------------------------------------------------------- */

static double lse(const float *y)
{
	double mx = -INFINITY, s = 0;
	for (int k = 0; k < K; ++k)
		mx = fmax(mx, y[k]);
	for (int k = 0; k < K; ++k)
		s += exp(y[k] - mx);
	return mx + log(s);
}

static double kl_row(const float *p, const float *q)
{
	double lp = lse(p), lq = lse(q), s = 0;
	for (int k = 0; k < K; ++k)
		s += exp(p[k] - lp) * ((p[k] - lp) - (q[k] - lq));
	return s;
}

static double ce_naive(const float *y, const int32_t *lab, int rows)
{
	double s = 0;
	for (int n = 0; n < rows; ++n)
		s -= y[n * K + lab[n]] - lse(y + n * K);
	return s / rows;
}

static double entropy_naive(const float *y, int rows)
{
	double s = 0;
	for (int n = 0; n < rows; ++n) {
		double l = lse(y + n * K);
		for (int k = 0; k < K; ++k)
			s -= exp(y[n * K + k] - l) * (y[n * K + k] - l);
	}
	return s / rows;
}

static double sqerr_naive(const float *a, const float *b, int rows)
{
	double s = 0;
	for (int i = 0; i < rows * K; ++i)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return s / rows;
}

/* L2 norm of row n of a - b (D columns). */
static double row_dist(const float *a, const float *b, int n)
{
	double s = 0;
	for (int j = 0; j < D; ++j) {
		double d = (double)a[n * D + j] - b[n * D + j];
		s += d * d;
	}
	return sqrt(s);
}

/* ---- vat ------------------------------------------------------------------------------------ */

/* r_adv has L2 norm epsilon per example, the probes x + xi d norm xi; the passes are those of
 * takerum/vat (the labelled batch for the cross-entropy, then, with an unlabelled batch, its own
 * clean pass, the probes and the adversarial pass on it alone); the terms match the formulas and
 * add up to the loss. */
static void test_vat_values(void)
{
	static const struct {
		const char *yaml;
		int with_u, rows, iters, entropy;   /* rows: of x_v, N (x_l) or M (x_u) */
		double eps, xi, alpha;
	} c[] = {
		{ "{}", 0, N, 1, 0, 2.1, 1e-6, 1 },
		{ "{xi: 1e-3}", 0, N, 1, 0, 2.1, 1e-3, 1 },
		{ "{epsilon: 0.5, xi: 0.01, power_iterations: 2, alpha: 0.3}", 1, M, 2, 0, 0.5, 0.01,
		  0.3 },
		{ "{epsilon: 1.5, power_iterations: 0, entropy: true}", 1, M, 0, 1, 1.5, 0, 1 },
		{ "{unlabelled: false, xi: 0.1, entropy: yes}", 1, N, 1, 1, 2.1, 0.1, 1 },
	};
	fix f;
	fix_new(&f, 10);
	for (size_t k = 0; k < sizeof c / sizeof *c; ++k) {
		inst in;
		snm_objective o;
		int sep = c[k].rows == M;            /* x_v is the unlabelled batch: a pass of its own */
		inst_new(&in, "vat", c[k].yaml, &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		CU_ASSERT_EQUAL(in.vt->wants_unlabelled(in.state), sep || !c[k].with_u);
		snm_tensor *loss = build(&f, &in, c[k].with_u, 7, &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
		spy *s = &f.spy;
		/* the labelled pass, [the unlabelled clean pass,] one probe per power iteration, the
		 * adversarial pass */
		CU_ASSERT_EQUAL_FATAL(s->n_x, c[k].iters + 2 + sep);
		CU_ASSERT_EQUAL_FATAL(s->n_y, c[k].iters + 2 + sep);
		CU_ASSERT_EQUAL_FATAL(s->x_rows[0], N);
		CU_ASSERT(memcmp(s->x[0], f.x, sizeof f.x) == 0);
		for (int i = sep; i < s->n_x; ++i) {
			CU_ASSERT_EQUAL_FATAL(s->x_rows[i], c[k].rows);
			CU_ASSERT_EQUAL_FATAL(s->y_rows[i], c[k].rows);
		}
		const float *x0 = s->x[sep], *xa = s->x[s->n_x - 1];
		if (sep)
			CU_ASSERT(memcmp(x0, f.xu, sizeof f.xu) == 0);
		for (int n = 0; n < c[k].rows; ++n) {
			/* with the default xi 1e-6 the probe can vanish in float32 rounding for a row (its
			 * logits come out identical), leaving a zero gradient and r_adv = 0 there, as in the
			 * reference code's normalisation; xi 1e-3 and up resolve every row */
			double dist = row_dist(xa, x0, n);
			if (c[k].xi < 1e-4 && dist == 0)
				continue;
			SNM_ASSERT_CLOSE(dist, c[k].eps, 0, 1e-4);
			for (int i = 1; i <= c[k].iters && c[k].xi >= 1e-2; ++i)
				SNM_ASSERT_CLOSE(row_dist(s->x[sep + i], x0, n), c[k].xi, 0, 1e-3);
		}
		/* terms against the recorded logits */
		const float *yl = s->y[0], *y0 = s->y[sep], *ya = s->y[s->n_y - 1];
		double kl = 0, ce = ce_naive(yl, f.labels, N);
		for (int n = 0; n < c[k].rows; ++n)
			kl += kl_row(y0 + n * K, ya + n * K) / c[k].rows;
		CU_ASSERT_EQUAL_FATAL(o.n_terms, c[k].entropy ? 3 : 2);
		CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "ce"));
		CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "vat"));
		SNM_ASSERT_CLOSE(term(&o, "ce")->x[0], ce, 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(term(&o, "vat")->x[0], kl, 1e-7, 1e-4);
		CU_ASSERT(kl > 0);
		double expect = ce + c[k].alpha * kl;
		if (c[k].entropy) {
			double h = entropy_naive(y0, c[k].rows);
			CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "ent"));
			SNM_ASSERT_CLOSE(term(&o, "ent")->x[0], h, 1e-6, 1e-5);
			expect += h;
		}
		SNM_ASSERT_CLOSE(loss->x[0], expect, 1e-6, 1e-5);
		/* and the terms as returned add up to the loss */
		double sum = term(&o, "ce")->x[0] + c[k].alpha * term(&o, "vat")->x[0]
		           + (c[k].entropy ? term(&o, "ent")->x[0] : 0.0);
		SNM_ASSERT_CLOSE(loss->x[0], sum, 1e-6, 1e-6);
		inst_free(&in);
	}
	fix_free(&f);
}

/* Per-example KL(P(x) || P(x + u)) for the rows of u (rows of D), u scaled to norm eps per row. */
static void kl_random(fix *f, const float *x, const float *y0, int rows, double eps, gsl_rng *r,
                      double *kl)
{
	static float xr[N * D];
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tape_set_grad(t, 0);
	for (int n = 0; n < rows; ++n) {
		double u[D], s = 0;
		for (int j = 0; j < D; ++j) {
			u[j] = gsl_ran_gaussian(r, 1.0);
			s += u[j] * u[j];
		}
		for (int j = 0; j < D; ++j)
			xr[n * D + j] = (float)(x[n * D + j] + eps * u[j] / sqrt(s));
	}
	snm_tensor *y = logits(f, t, snm_tape_const(t, 4, (int[]){ rows, 1, 8, 8 }, xr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(y);
	for (int n = 0; n < rows; ++n)
		kl[n] = kl_row(y0 + n * K, y->x + n * K);
	snm_tape_free(t);
}

/* The power iteration finds a direction of much larger KL than random ones of the same norm:
 * over 8 noise seeds x 4 examples, against 4 random directions per example, with the default xi
 * 1e-6 and a coarser 1e-3. */
static void test_vat_direction(void)
{
	static const char *yaml[] = { "{epsilon: 0.5}", "{epsilon: 0.5, xi: 1e-3}",
	                              "{epsilon: 0.5, power_iterations: 0}" };
	double mean[3] = { 0 }, mean_rand = 0;
	int wins[3] = { 0 }, count = 0;
	fix f;
	fix_new(&f, 20);
	gsl_rng *r = snm_rng_new(99, NULL);
	for (int c = 0; c < 3; ++c) {
		inst in;
		snm_objective o;
		inst_new(&in, "vat", yaml[c], &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		for (uint64_t seed = 1; seed <= 8; ++seed) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, &in, 0, seed, &o));
			const float *y0 = f.spy.y[0], *ya = f.spy.y[f.spy.n_y - 1];
			for (int n = 0; n < N; ++n) {
				double ka = kl_row(y0 + n * K, ya + n * K), kr[N], best = 0;
				mean[c] += ka;
				for (int rep = 0; rep < 4; ++rep) {
					kl_random(&f, f.x, y0, N, 0.5, r, kr);
					best = fmax(best, kr[n]);
					if (c == 0) {
						mean_rand += kr[n];
						count++;
					}
				}
				wins[c] += ka > best;
			}
		}
		inst_free(&in);
	}
	mean_rand /= count;
	for (int c = 0; c < 3; ++c)
		mean[c] /= 8 * N;
	printf("\n    mean KL at norm 0.5: xi 1e-6 %.4g (beats 4 random in %d/32), xi 1e-3 %.4g (%d/32), "
	       "random %.4g (Ip 0: %.4g)\n", mean[0], wins[0], mean[1], wins[1], mean_rand, mean[2]);
	/* xi 1e-6 sits at float32's resolution (see vat.c): its direction is good on average but
	 * noisier per example, so only the average is asserted for it */
	CU_ASSERT(mean[0] > 3 * mean_rand);
	CU_ASSERT(mean[1] > 3 * mean_rand);
	CU_ASSERT(wins[1] >= 30);
	/* power_iterations 0 is a random direction: no better than random on average */
	CU_ASSERT(mean[2] < 2 * mean_rand);
	gsl_rng_free(r);
	fix_free(&f);
}

/* Copies every parameter gradient into g (n_trainable floats, registry order). */
static void grads_copy(const snm_params *p, float *g)
{
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *w = snm_params_at(p, i);
		if (w->flags & SNM_T_PARAM) {
			memcpy(g, w->g, snm_tensor_len(w) * sizeof *g);
			g += snm_tensor_len(w);
		}
	}
}

/* The inverse of grads_copy: g (registry order) into the parameters' gradients. */
static void grads_load(snm_params *p, const float *g)
{
	for (int i = 0; i < snm_params_count(p); ++i) {
		snm_tensor *w = snm_params_at(p, i);
		if (w->flags & SNM_T_PARAM) {
			memcpy(w->g, g, snm_tensor_len(w) * sizeof *g);
			g += snm_tensor_len(w);
		}
	}
}

static int grads_all_zero(const snm_params *p)
{
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *w = snm_params_at(p, i);
		for (size_t j = 0; (w->flags & SNM_T_PARAM) && j < snm_tensor_len(w); ++j)
			if (w->g[j] != 0.0f)
				return 0;
	}
	return 1;
}

/* The final loss of an objective with everything random held fixed, rebuilt from the model:
 * CE(f(x)) + alpha div(target, f(x_pert)) [+ H(f(x_v))], where target is f(x_v) itself (with
 * gradient) or the recorded clean logits (constant). */
typedef struct ref_loss {
	fix *f;
	int rows;                /* rows of x_v */
	const float *xv, *xp;    /* clean and perturbed inputs (rows x D) */
	const float *xl;         /* the labelled rows' own pass (N x D) for the CE, or NULL: x_v's */
	const float *y0;         /* recorded clean logits: the constant target, or NULL */
	int kl;                  /* 1: KL (vat), 0: sqerr (c2c) */
	int entropy;
	float alpha;
} ref_loss;

static snm_tensor *ref_build(const ref_loss *rl, snm_tape *t)
{
	int d[4] = { rl->rows, 1, 8, 8 };
	snm_tensor *y, *yp, *tgt, *pen, *loss;
	y = logits(rl->f, t, snm_tape_const(t, 4, d, rl->xv));
	yp = logits(rl->f, t, snm_tape_const(t, 4, d, rl->xp));
	tgt = rl->y0 ? snm_tape_const(t, 2, (int[]){ rl->rows, K }, rl->y0) : y;
	pen = rl->kl ? snm_kl_cat(t, tgt, yp) : snm_sqerr(t, tgt, yp);
	snm_tensor *yl = rl->xl ? logits(rl->f, t, snm_tape_const(t, 4, (int[]){ N, 1, 8, 8 }, rl->xl))
	                        : y;
	loss = snm_add(t, snm_softmax_ce(t, yl, rl->f->labels), snm_scale(t, pen, rl->alpha));
	if (rl->entropy)
		loss = snm_add(t, loss, snm_scale(t, snm_sum(t, snm_mul(t, snm_softmax(t, y),
		                                  snm_log_softmax(t, y))), -1.0f / (float)rl->rows));
	return loss;
}

/* rl's loss on tape t (reset first), as gc_central_param's loss. */
typedef struct ref_point {
	const ref_loss *rl;
	snm_tape *t;
} ref_point;

static double ref_point_loss(void *ctx)
{
	const ref_point *a = ctx;
	snm_tensor *l;
	snm_tape_reset(a->t);
	l = ref_build(a->rl, a->t);
	return l ? l->x[0] : NAN;
}

/* Analytic gradients g (registry order) against the rebuilt loss: its own backward (tight) and
 * central differences on up to 10 elements of every parameter (skipping ReLU kinks). */
static void check_against_ref(const ref_loss *rl, const float *g, double loss_value)
{
	fix *f = rl->f;
	snm_tape *t = snm_tape_new(0, NULL);
	size_t n = snm_params_n_trainable(f->params), off = 0;
	float *gr = malloc(n * sizeof *gr);
	int bad = 0, nonzero = 0;
	static const gc_central central = { 1e-3, 2e-3, 10, 1, 0 };
	gc_tally tally = { 0, 0, 0, 0 };
	ref_point at = { rl, t };
	CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
	snm_params_zero_grad(f->params);
	snm_tensor *loss = ref_build(rl, t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
	SNM_ASSERT_CLOSE(loss->x[0], loss_value, 1e-6, 1e-6);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, loss, NULL), 0);
	grads_copy(f->params, gr);
	for (size_t i = 0; i < n; ++i)
		if (fabs((double)g[i] - gr[i]) > 1e-6 + 1e-4 * fabs((double)gr[i])) {
			if (bad++ < 5)
				fprintf(stderr, "test_compare: gradient %zu: objective %g, rebuilt loss %g\n", i,
				        g[i], gr[i]);
		}
	CU_ASSERT_EQUAL(bad, 0);
	/* encoder and classifier gradients are largely non-zero; the decoder biases, which neither
	 * plugin may use, get exact zeros */
	int n_used = 0, dec_touched = 0;
	for (int k = 0; k < snm_params_count(f->params); ++k) {
		const snm_tensor *p = snm_params_at(f->params, k);
		size_t len = snm_tensor_len(p);
		if (!(p->flags & SNM_T_PARAM))
			continue;
		for (size_t i = 0; i < len; ++i) {
			if (strncmp(p->name, "dec.", 4) == 0) {
				dec_touched += g[off + i] != 0.0f;
			} else {
				n_used++;
				nonzero += g[off + i] != 0.0f;
			}
		}
		off += len;
	}
	CU_ASSERT(nonzero > n_used / 3);   /* dead ReLUs give some exact zeros */
	CU_ASSERT_EQUAL(dec_touched, 0);
	snm_tape_set_grad(t, 0);
	grads_load(f->params, g);          /* the analytic gradients checked: the objective's */
	for (int k = 0; k < snm_params_count(f->params); ++k) {
		snm_tensor *p = snm_params_at(f->params, k);
		if (p->flags & SNM_T_PARAM)
			gc_central_param("test_compare:", p, ref_point_loss, &at, &central, &tally);
	}
	CU_ASSERT_EQUAL(tally.bad, 0);
	CU_ASSERT(tally.checked >= 30);
	CU_ASSERT(tally.kinks <= tally.checked / 5);
	free(gr);
	snm_tape_free(t);
}

/* VAT's parameter gradients are those of its final loss alone, CE + alpha KL(P0 || f(x + r_adv))
 * + H with P0 and r_adv the recorded constants: the power iteration's snm_tape_grad leaves the
 * parameter gradients untouched (exact zeros after the objective is built). */
static void test_vat_gradients(void)
{
	static const char *yaml[] = { "{epsilon: 1.0, alpha: 0.7, entropy: true, power_iterations: 2}",
	                              "{epsilon: 0.8}" };
	fix f;
	fix_new(&f, 30);
	size_t n = snm_params_n_trainable(f.params);
	float *g = malloc(n * sizeof *g);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	for (int c = 0; c < 2; ++c) {
		inst in;
		snm_objective o;
		inst_new(&in, "vat", yaml[c], &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		snm_params_zero_grad(f.params);
		snm_tensor *loss = build(&f, &in, c == 0, 3, &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
		CU_ASSERT(grads_all_zero(f.params));
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(f.t, loss, NULL), 0);
		grads_copy(f.params, g);
		int sep = c == 0;                /* with an unlabelled batch, x_v is that batch */
		ref_loss rl = { &f, sep ? M : N, f.spy.x[sep], f.spy.x[f.spy.n_x - 1],
		                sep ? f.spy.x[0] : NULL, f.spy.y[sep], 1, c == 0, c == 0 ? 0.7f : 1.0f };
		check_against_ref(&rl, g, loss->x[0]);
		inst_free(&in);
	}
	free(g);
	fix_free(&f);
}

/* The same seed gives bitwise the same loss, terms and gradients; another seed another loss. */
static void test_determinism(void)
{
	static const char *name[] = { "vat", "c2c", "c2c" };
	static const char *yaml[] = { "{entropy: true}", "{}", "{mode: adversarial, epsilon: 1}" };
	fix f;
	fix_new(&f, 40);
	size_t n = snm_params_n_trainable(f.params);
	float *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g2);
	for (int c = 0; c < 3; ++c) {
		inst in;
		snm_objective o;
		float l[3], tm[2][SNM_MAX_TERMS];
		uint64_t seeds[3] = { 11, 11, 12 };
		inst_new(&in, name[c], yaml[c], &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		for (int k = 0; k < 3; ++k) {
			snm_params_zero_grad(f.params);
			snm_tensor *loss = build(&f, &in, 1, seeds[k], &o);
			CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
			CU_ASSERT_EQUAL_FATAL(snm_tape_backward(f.t, loss, NULL), 0);
			l[k] = loss->x[0];
			grads_copy(f.params, k == 0 ? g1 : g2);
			for (int i = 0; k < 2 && i < o.n_terms; ++i)
				tm[k][i] = o.terms[i]->x[0];
			if (k == 1) {
				CU_ASSERT(memcmp(&l[0], &l[1], sizeof l[0]) == 0);
				CU_ASSERT(memcmp(tm[0], tm[1], (size_t)o.n_terms * sizeof(float)) == 0);
				CU_ASSERT(memcmp(g1, g2, n * sizeof *g1) == 0);
			}
		}
		CU_ASSERT(l[2] != l[0]);
		inst_free(&in);
	}
	free(g1);
	free(g2);
	fix_free(&f);
}

/* ---- c2c ------------------------------------------------------------------------------------ */

/* Gaussian mode: dx is epsilon times the noise stream's N(0,1) draws in element order; the term is
 * sqerr of the recorded logits and adds up to the loss; at epsilon 0 it is exactly zero (both
 * modes).  Adversarial mode: dx has norm epsilon per example. */
static void test_c2c_values(void)
{
	fix f;
	fix_new(&f, 50);
	for (int c = 0; c < 6; ++c) {
		static const struct {
			const char *yaml;
			int with_u, rows, adv, iters;
			double eps, alpha;
		} k[] = {
			{ "{}", 0, N, 0, 0, 0.3, 1 },
			{ "{epsilon: 0.05, alpha: 2.5}", 1, M, 0, 0, 0.05, 2.5 },
			{ "{epsilon: 0, unlabelled: false}", 1, N, 0, 0, 0, 1 },
			{ "{mode: adversarial, epsilon: 0}", 1, M, 1, 1, 0, 1 },
			{ "{mode: adversarial, epsilon: 0.7, alpha: 0.5, clean_fixed: true}", 1, M, 1, 1,
			  0.7, 0.5 },
			{ "{mode: adversarial, epsilon: 2, power_iterations: 3, xi: 0.01}", 0, N, 1, 3, 2, 1 },
		};
		inst in;
		snm_objective o;
		inst_new(&in, "c2c", k[c].yaml, &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		CU_ASSERT_EQUAL(in.vt->wants_unlabelled(in.state), c != 2);
		snm_tensor *loss = build(&f, &in, k[c].with_u, 5, &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
		spy *s = &f.spy;
		int sep = k[c].rows == M;        /* x_v is the unlabelled batch: a pass of its own */
		CU_ASSERT_EQUAL_FATAL(s->n_x, k[c].iters + 2 + sep);
		CU_ASSERT_EQUAL_FATAL(s->n_y, k[c].iters + 2 + sep);
		CU_ASSERT_EQUAL_FATAL(s->x_rows[0], N);
		for (int i = sep; i < s->n_x; ++i)
			CU_ASSERT_EQUAL_FATAL(s->x_rows[i], k[c].rows);
		const float *x0 = s->x[sep], *xp = s->x[s->n_x - 1], *y0 = s->y[sep];
		const float *yp = s->y[s->n_y - 1];
		CU_ASSERT(memcmp(s->x[0], f.x, sizeof f.x) == 0);
		if (sep)
			CU_ASSERT(memcmp(x0, f.xu, sizeof f.xu) == 0);
		if (!k[c].adv) {
			gsl_rng *r = snm_rng_new(5, NULL);
			int bad = 0;
			for (int i = 0; i < k[c].rows * D; ++i) {
				double want = x0[i] + k[c].eps * gsl_ran_gaussian(r, 1.0);
				bad += fabs(xp[i] - want) > 1e-6;
			}
			CU_ASSERT_EQUAL(bad, 0);
			gsl_rng_free(r);
		} else {
			for (int n = 0; n < k[c].rows; ++n)
				SNM_ASSERT_CLOSE(row_dist(xp, x0, n), k[c].eps, 1e-7, 1e-4);
		}
		CU_ASSERT_EQUAL_FATAL(o.n_terms, 2);
		CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "ce"));
		CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "c2c"));
		double pen = sqerr_naive(y0, yp, k[c].rows), ce = ce_naive(s->y[0], f.labels, N);
		SNM_ASSERT_CLOSE(term(&o, "ce")->x[0], ce, 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(term(&o, "c2c")->x[0], pen, 1e-7, 1e-4);
		SNM_ASSERT_CLOSE(loss->x[0], ce + k[c].alpha * pen, 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(loss->x[0], term(&o, "ce")->x[0] + k[c].alpha * term(&o, "c2c")->x[0],
		                 1e-6, 1e-6);
		if (k[c].eps == 0) {
			CU_ASSERT_EQUAL(term(&o, "c2c")->x[0], 0.0f);
			CU_ASSERT_EQUAL(loss->x[0], term(&o, "ce")->x[0]);
		} else {
			CU_ASSERT(pen > 0);
		}
		inst_free(&in);
	}
	fix_free(&f);
}

/* Gradients: the Gaussian objective is a deterministic function of the parameters for a fixed
 * seed, so central differences of the objective itself check it (clean side with gradient); with
 * clean_fixed the clean logits are a constant; the adversarial mode's against its rebuilt loss. */
static void test_c2c_gradients(void)
{
	static const char *yaml[] = { "{epsilon: 0.2, alpha: 0.8}",
	                              "{epsilon: 0.2, alpha: 0.8, clean_fixed: true}",
	                              "{mode: adversarial, epsilon: 0.9}" };
	fix f;
	fix_new(&f, 60);
	size_t n = snm_params_n_trainable(f.params);
	float *g[3];
	for (int c = 0; c < 3; ++c) {
		inst in;
		snm_objective o;
		g[c] = malloc(n * sizeof *g[c]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(g[c]);
		inst_new(&in, "c2c", yaml[c], &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		snm_params_zero_grad(f.params);
		snm_tensor *loss = build(&f, &in, 1, 9, &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
		CU_ASSERT(grads_all_zero(f.params));
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(f.t, loss, NULL), 0);
		grads_copy(f.params, g[c]);
		ref_loss rl = { &f, M, f.spy.x[1], f.spy.x[f.spy.n_x - 1], f.spy.x[0],
		                c == 1 ? f.spy.y[1] : NULL, 0, 0, c == 2 ? 1.0f : 0.8f };
		check_against_ref(&rl, g[c], loss->x[0]);
		if (c == 0) {
			/* the objective itself, re-seeded for every evaluation */
			int bad = 0, checked = 0;
			snm_tape_set_grad(f.t, 0);
			for (int k = 0; k < snm_params_count(f.params); ++k) {
				snm_tensor *p = snm_params_at(f.params, k);
				size_t len = snm_tensor_len(p), off = 0;
				for (int j = 0; j < k; ++j)
					off += snm_tensor_len(snm_params_at(f.params, j));
				for (size_t i = 0; i < len; i += len > 4 ? len / 4 : 1) {
					float v = p->x[i];
					p->x[i] = v + 1e-3f;
					double lp = build(&f, &in, 1, 9, &o)->x[0];
					p->x[i] = v - 1e-3f;
					double lm = build(&f, &in, 1, 9, &o)->x[0];
					p->x[i] = v;
					double num = (lp - lm) / ((double)(v + 1e-3f) - (double)(v - 1e-3f));
					double tol = 3e-3 * (1 + fabs(num)) + 2e-2 * fabs(num);
					checked++;
					if (fabs(g[0][off + i] - num) > tol && bad++ < 5)
						fprintf(stderr, "test_compare: c2c %s[%zu]: analytic %g, numeric %g\n",
						        p->name, i, g[0][off + i], num);
				}
			}
			snm_tape_set_grad(f.t, 1);
			CU_ASSERT(bad <= checked / 10);   /* a ReLU kink may sit inside a step */
			CU_ASSERT(checked >= 20);
		}
		inst_free(&in);
	}
	/* holding the clean side fixed changes the gradient */
	double diff = 0;
	for (size_t i = 0; i < n; ++i)
		diff = fmax(diff, fabs((double)g[0][i] - g[1][i]));
	CU_ASSERT(diff > 1e-4);
	for (int c = 0; c < 3; ++c)
		free(g[c]);
	fix_free(&f);
}

/* ---- options ------------------------------------------------------------------------------- */

static void expect_error(fix *f, const char *name, const char *yaml, const char *needle)
{
	inst in;
	inst_new(&in, name, yaml, f);
	CU_ASSERT_EQUAL(in.rc, SNM_ECONFIG);
	CU_ASSERT_PTR_NULL(in.state);
	if (needle != NULL && strstr(in.err.msg, needle) == NULL) {
		fprintf(stderr, "test_compare: %s '%s': message '%s' lacks '%s'\n", name, yaml, in.err.msg,
		        needle);
		CU_FAIL("error message");
	}
	inst_free(&in);
}

/* hidden_noise: units a row over the model's layers (z's included), counted by a post hook */
static snm_tensor *count_units(void *ctx, snm_tape *t, int layer, snm_tensor *h)
{
	(void)t, (void)layer;
	*(size_t *)ctx += snm_tensor_len(h) / (size_t)h->d[0];
	return h;
}

/* vat's objective on model m (its own instance from yaml), noise stream seeded seed: the loss,
 * and in *next the stream's next uniform after the objective. */
static double vat_on(fix *f, const snm_model *m, const char *yaml, uint64_t seed, double *next)
{
	const snm_plugin *p = snm_test_plugin(SNM_KIND_NOISE, "vat");
	const snm_noise_vt *vt = p->vtable;
	snm_cfg *cfg;
	void *state = NULL;
	snm_error e;
	snm_objective o;
	snm_batch b;
	double loss = NAN;
	gsl_rng *r = snm_rng_new(seed, NULL);
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(yaml, strlen(yaml), "noise.yaml", &cfg, &e), 0);
	CU_ASSERT_EQUAL_FATAL(vt->create(cfg, m, f->params, NULL, &state, &e), 0);
	snm_tape_reset(f->t);
	memset(&b, 0, sizeof b);
	b.x = snm_tape_const(f->t, 4, (int[]){ N, 1, 8, 8 }, f->x);
	b.labels = f->labels;
	b.xu = snm_tape_const(f->t, 4, (int[]){ M, 1, 8, 8 }, f->xu);
	memset(&o, 0, sizeof o);
	if (vt->objective(state, m, f->t, &b, r, &o, &e) == 0 && o.loss != NULL)
		loss = o.loss->x[0];
	*next = gsl_rng_uniform(r);
	vt->destroy(state);
	snm_cfg_free(cfg);
	gsl_rng_free(r);
	return loss;
}

/* hidden_noise (the later VAT paper's MNIST network): on a model with encode_post the objective
 * draws, from the noise stream, one Gaussian per unit of every layer (z's included) in each of
 * its four passes -- labelled, unlabelled clean, probe, perturbed -- beside the power iteration's
 * M D: the stream advances by exactly (N + 3 M) W + M D draws, W the units a row, against M D
 * without it; the same seed gives the same loss to the bit and the noise changes it; the spy,
 * a model without encode_post, is refused at create (test_options). */
static void test_vat_hidden_noise(void)
{
	fix f;
	size_t W = 0;
	double l1, l2, l0, n1, n2, n0;
	fix_new(&f, 90);
	const snm_model *m = &f.spy.inner;
	snm_tape_reset(f.t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_model_encode_post(m->vt));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->vt->encode_post(m->state, f.t,
	                             snm_tape_const(f.t, 4, (int[]){ N, 1, 8, 8 }, f.x), NULL, NULL,
	                             count_units, &W, NULL));
	CU_ASSERT_EQUAL(W, 4 * 4 * 4 + 8);       /* SMALL: conv 4 channels at 4x4, fc 8 */
	l1 = vat_on(&f, m, "{hidden_noise: 0.5, epsilon: 1}", 7, &n1);
	l2 = vat_on(&f, m, "{hidden_noise: 0.5, epsilon: 1}", 7, &n2);
	l0 = vat_on(&f, m, "{hidden_noise: 0, epsilon: 1}", 7, &n0);
	CU_ASSERT(isfinite(l1) && isfinite(l0));
	CU_ASSERT(memcmp(&l1, &l2, sizeof l1) == 0 && n1 == n2);
	CU_ASSERT(l1 != l0);
	for (int with = 0; with < 2; ++with) {
		gsl_rng *r = snm_rng_new(7, NULL);
		size_t draws = (size_t)M * D + (with ? (size_t)(N + 3 * M) * W : 0);
		for (size_t i = 0; i < draws; ++i)
			gsl_ran_gaussian(r, 1.0);
		CU_ASSERT_EQUAL(gsl_rng_uniform(r), with ? n1 : n0);
		gsl_rng_free(r);
	}
	fix_free(&f);
}

/* With a batch-normalised model, only the clean pass moves the running statistics: after the
 * objective (power-iteration probes and perturbed pass included) every buffer equals, bit for
 * bit, that of a twin model after one clean training-mode pass over the labelled rows alone (the
 * unlabelled batch's clean pass holds them too). */
static void test_bn_running_stats(void)
{
	static const char *bn_cfg = "preset: custom\nbatchnorm: true\n"
	                            "layers: [{conv: 4, k: 3, stride: 2, pad: 1}, {fc: 8}]\n";
	static const struct { const char *name, *yaml; } c[] = {
		{ "vat", "{power_iterations: 2, xi: 0.01}" },
		{ "c2c", "{mode: adversarial, epsilon: 1}" },
		{ "c2c", "{}" },
	};
	snm_data_info info = { 3, { 1, 8, 8 }, K, { 100, 10, 10 } };
	const snm_plugin *p = snm_test_plugin(SNM_KIND_MODEL, "convnet");
	snm_cfg *cfg;
	snm_error e;
	fix f;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	const snm_model_vt *mvt = p->vtable;
	fix_new(&f, 80);
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(bn_cfg, strlen(bn_cfg), "model.yaml", &cfg, &e), 0);
	for (size_t k = 0; k < sizeof c / sizeof *c; ++k) {
		snm_params *pp[2];
		snm_model m[2];
		snm_tape *t = snm_tape_new(0, NULL);
		for (int i = 0; i < 2; ++i) {
			gsl_rng *init = snm_rng_new(42, NULL);
			pp[i] = snm_params_new(NULL);
			m[i].vt = mvt;
			CU_ASSERT_EQUAL_FATAL(mvt->create(cfg, &info, pp[i], init, &m[i].state, &e), 0);
			gsl_rng_free(init);
		}
		/* the objective on model 0 */
		inst in;
		snm_objective o;
		snm_batch b;
		const snm_plugin *np = snm_test_plugin(SNM_KIND_NOISE, c[k].name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(np);
		memset(&in, 0, sizeof in);
		in.vt = np->vtable;
		CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(c[k].yaml, strlen(c[k].yaml), "noise.yaml", &in.cfg,
		                                    &e), 0);
		CU_ASSERT_EQUAL_FATAL(in.vt->create(in.cfg, &m[0], pp[0], NULL, &in.state, &e), 0);
		gsl_rng *r = snm_rng_new(5, NULL);
		b.x = snm_tape_const(t, 4, (int[]){ N, 1, 8, 8 }, f.x);
		b.labels = f.labels;
		b.xu = snm_tape_const(t, 4, (int[]){ M, 1, 8, 8 }, f.xu);
		CU_ASSERT_EQUAL_FATAL(in.vt->objective(in.state, &m[0], t, &b, r, &o, &e), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o.loss);
		CU_ASSERT_EQUAL(snm_tape_hold_stats(t), 0);
		gsl_rng_free(r);
		/* one clean pass on model 1 */
		snm_tape_reset(t);
		snm_tensor *xv = snm_tape_const(t, 4, (int[]){ N, 1, 8, 8 }, f.x);
		CU_ASSERT_PTR_NOT_NULL_FATAL(mvt->classify(m[1].state, t,
		                                           mvt->encode(m[1].state, t, xv, NULL, NULL,
		                                                       NULL)));
		int n_buf = 0;
		for (int i = 0; i < snm_params_count(pp[0]); ++i) {
			snm_tensor *a = snm_params_at(pp[0], i), *z = snm_params_at(pp[1], i);
			if (!(a->flags & SNM_T_BUFFER))
				continue;
			++n_buf;
			CU_ASSERT(memcmp(a->x, z->x, snm_tensor_len(a) * sizeof(float)) == 0);
		}
		CU_ASSERT(n_buf >= 4);   /* mean and variance of at least two layers */
		CU_ASSERT_PTR_NOT_NULL_FATAL(snm_params_find(pp[0], "cls.bn.mean"));
		CU_ASSERT(snm_params_find(pp[0], "cls.bn.mean")->x[0] != 0.0f);   /* it did move */
		in.vt->destroy(in.state);
		snm_cfg_free(in.cfg);
		for (int i = 0; i < 2; ++i) {
			mvt->destroy(m[i].state);
			snm_params_free(pp[i]);
		}
		snm_tape_free(t);
	}
	snm_cfg_free(cfg);
	fix_free(&f);
}

static void test_options(void)
{
	fix f;
	inst in;
	snm_objective o;
	snm_batch b;
	snm_error e;
	fix_new(&f, 70);
	/* the entries */
	const snm_plugin *pv = snm_test_plugin(SNM_KIND_NOISE, "vat");
	const snm_plugin *pc = snm_test_plugin(SNM_KIND_NOISE, "c2c");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
	CU_ASSERT_EQUAL(pv->kind, SNM_KIND_NOISE);
	CU_ASSERT_STRING_EQUAL(pc->name, "c2c");
	/* defaults as documented */
	double v;
	CU_ASSERT_EQUAL(snm_cfg_opt_double(NULL, pv->options, "epsilon", &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 2.1);
	CU_ASSERT_EQUAL(snm_cfg_opt_double(NULL, pv->options, "xi", &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 1e-6);
	CU_ASSERT_EQUAL(snm_cfg_opt_double(NULL, pc->options, "epsilon", &v, NULL), 0);
	CU_ASSERT_EQUAL(v, 0.3);

	expect_error(&f, "vat", "{epsilon: -1}", "noise.yaml:1:11");
	expect_error(&f, "vat", "{xi: 0}", "(0, inf)");
	expect_error(&f, "vat", "{power_iterations: -1}", "power_iterations");
	expect_error(&f, "vat", "{power_iterations: 1.5}", "power_iterations");
	expect_error(&f, "vat", "{entropy: maybe}", "entropy");
	expect_error(&f, "vat", "{epsilom: 1}", "did you mean 'epsilon'");
	expect_error(&f, "vat", "{mode: gauss}", "unknown key 'mode'");
	expect_error(&f, "vat", "{hidden_noise: -0.5}", "hidden_noise");
	expect_error(&f, "vat", "{epsilon: 1, hidden_noise: 0.5}", "noise.yaml:1:28: noise 'vat': "
	             "hidden_noise needs a model whose encode takes a post-activation hook");
	expect_error(&f, "c2c", "{mode: fgsm}", "gauss|adversarial");
	expect_error(&f, "c2c", "{alpha: -0.5}", "alpha");
	expect_error(&f, "c2c", "{clean_fixed: 2}", "clean_fixed");
	expect_error(&f, "c2c", "{xi: 0.1}", "noise.yaml:1:6: noise 'c2c': 'xi' is only read with mode "
	             "adversarial");
	expect_error(&f, "c2c", "{mode: gauss, power_iterations: 2}", "'power_iterations' is only read");
	expect_error(&f, "c2c", "{entropy: true}", "unknown key 'entropy'");
	inst_new(&in, "c2c", "{mode: adversarial, xi: 0.1, power_iterations: 2}", &f);
	CU_ASSERT_EQUAL(in.rc, 0);
	inst_free(&in);

	/* both need a noise stream */
	for (int c = 0; c < 2; ++c) {
		inst_new(&in, c ? "c2c" : "vat", "{}", &f);
		CU_ASSERT_EQUAL_FATAL(in.rc, 0);
		snm_tape_reset(f.t);
		b.x = snm_tape_const(f.t, 4, (int[]){ N, 1, 8, 8 }, f.x);
		b.labels = f.labels;
		b.xu = NULL;
		CU_ASSERT_EQUAL(in.vt->objective(in.state, &f.spied, f.t, &b, NULL, &o, &e), SNM_EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "noise stream"));
		/* a label out of range surfaces as the tape's error */
		int32_t bad[N] = { 0, 1, 7, 0 };
		gsl_rng *r = snm_rng_new(1, NULL);
		b.labels = bad;
		CU_ASSERT_EQUAL(in.vt->objective(in.state, &f.spied, f.t, &b, r, &o, &e), SNM_EINVAL);
		gsl_rng_free(r);
		inst_free(&in);
	}
	fix_free(&f);
}

static CU_TestInfo vat_tests[] = {
	{ "values", test_vat_values },
	{ "direction", test_vat_direction },
	{ "gradients", test_vat_gradients },
	{ "hidden_noise", test_vat_hidden_noise },
	CU_TEST_INFO_NULL
};

static CU_TestInfo c2c_tests[] = {
	{ "values", test_c2c_values },
	{ "gradients", test_c2c_gradients },
	CU_TEST_INFO_NULL
};

static CU_TestInfo both_tests[] = {
	{ "determinism", test_determinism },
	{ "options", test_options },
	{ "bn_running_stats", test_bn_running_stats },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "vat", NULL, NULL, NULL, NULL, vat_tests },
	{ "c2c", NULL, NULL, NULL, NULL, c2c_tests },
	{ "vat_c2c", NULL, NULL, NULL, NULL, both_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_compare", suites);
}
