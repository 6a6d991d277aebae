/* test_ladder.c: the ladder noise plugin on convnet's batch-normalised encoder, both loaded from
 * the build tree through the plugin loader.
 *
 * The decoder and the denoising costs are checked against a reference written here with naive
 * loops in double (ref_costs): it reads the encoder's pieces (raw and normalised pre-activations,
 * the corrupted ones with the same noise drawn in the documented order) from the model itself on
 * a separate tape, and the decoder's parameters from the registry, and computes u, the gauss
 * combinator, the clean-statistics normalisation and C_l = sum (.)^2 / (rows m_l).  The
 * reference's combinator is pinned to values worked out by hand.  Then: the combinator through
 * the Gamma-model with hand-set a's, each layer's cost, the lambda weighting, sd 0 (corrupted =
 * clean), the Gamma-model's single cost, parameter gradients against central differences with the
 * noise re-seeded, determinism, which pass feeds the running statistics, configuration errors,
 * and short training runs through snm_train (loss goes down, buffers in the result file). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "harness.h"
#include "run/loader.h"
#include "gradcheck.h"
#include "snm/plugin.h"
#include "run/pipeline.h"
#include "snm/rng.h"
#include "run/store.h"
#include "run/trainer.h"

/* ---- the tiny network: input 1x2x3 (6), fc 5, fc 4 (z), 3 classes: ladder layers 6-5-4-3 ---- */

enum { I = 6, K = 3, N = 6, M = 5, TOP = 3, MAXR = 8 };
static const int width[TOP + 1] = { 6, 5, 4, 3 };
static const int32_t labels[N] = { 0, 1, 2, 0, 1, 2 };
#define TINY "{preset: custom, layers: [{fc: 5}, {fc: 4}], batchnorm: true}"
#define EPS 1e-10

typedef snm_test_pair fix;

static snm_tensor *param(const fix *f, const char *name)
{
	snm_tensor *p = snm_params_find(f->params, name);
	if (p == NULL)
		fprintf(stderr, "test_ladder: no parameter '%s'\n", name);
	return p;
}

/* Creates the model from model_yaml (on 1x2x3 inputs, 3 classes) and the ladder from ladder_yaml,
 * both from init seed 11.  randomize: the shifts, gamma and every combinator get deterministic
 * values (the same in every fixture), so no a_k is zero and no term vanishes. */
static void fix_new(fix *f, const char *model_yaml, const char *ladder_yaml, int randomize)
{
	static const snm_data_info in = { 3, { 1, 2, 3 }, K, { 100, 10, 10 } };
	CU_ASSERT_EQUAL_FATAL(snm_test_pair_new(f, "convnet", model_yaml, "ladder", ladder_yaml, &in, 11),
	                      0);
	if (f->rc != 0 || !randomize)
		return;
	static const char *const shifts[] = { "enc.f1.b", "enc.f2.b", "cls.b" };
	for (int k = 0; k < 3; ++k) {
		snm_tensor *p = param(f, shifts[k]);
		gc_fill(p->x, snm_tensor_len(p), -0.3, 0.3, 50 + (unsigned long)k);
	}
	gc_fill(param(f, "cls.g")->x, K, 0.5, 1.5, 60);
	for (int l = 0; l <= TOP; ++l) {
		char name[32];
		snprintf(name, sizeof name, "ladder.g%d", l);
		snm_tensor *a = snm_params_find(f->params, name);
		if (a == NULL)
			continue;
		gc_fill(a->x, snm_tensor_len(a), -0.3, 0.3, 70 + (unsigned long)l);
		for (int i = 0; i < width[l]; ++i) {         /* near the initial a2 = a7 = 1 */
			a->x[1 * width[l] + i] += 1.0f;
			a->x[6 * width[l] + i] += 1.0f;
		}
	}
}

static float xl[N * I], xu[M * I];

static void make_inputs(void)
{
	gc_fill(xl, N * I, 0, 1, 1);
	gc_fill(xu, M * I, 0, 1, 2);
}

/* The objective of the fixed batch (semi: with the unlabelled rows) on a reset tape, the noise
 * stream seeded with seed.  Returns the loss (NULL on failure); o gets the terms. */
static snm_tensor *build(fix *f, snm_tape *t, int semi, uint64_t seed, snm_objective *o)
{
	snm_batch b;
	snm_error e;
	gsl_rng *noise = snm_rng_new(seed, NULL);
	int rc;
	snm_tape_reset(t);
	b.x = snm_tape_const(t, 4, (int[]){ N, 1, 2, 3 }, xl);
	b.labels = labels;
	b.xu = semi ? snm_tape_const(t, 4, (int[]){ M, 1, 2, 3 }, xu) : NULL;
	memset(o, 0, sizeof *o);
	rc = f->nvt->objective(f->ns, &f->model, t, &b, noise, o, &e);
	gsl_rng_free(noise);
	if (rc != 0) {
		fprintf(stderr, "test_ladder: objective: %s\n", e.msg);
		return NULL;
	}
	return o->loss;
}

static double term(const snm_objective *o, const char *name)
{
	for (int i = 0; i < o->n_terms; ++i)
		if (!strcmp(o->term_names[i], name))
			return o->terms[i]->x[0];
	CU_FAIL("missing term");
	return NAN;
}

/* ---- the reference ------------------------------------------------------------------------- */

/* What the reference needs from the encoder, for the decoder's rows (by ladder layer l). */
typedef struct pieces {
	int rows;
	double raw[TOP + 1][MAXR][MAXR];   /* clean a_l (l >= 1) */
	double z[TOP + 1][MAXR][MAXR];     /* clean z_l; z_0 = x */
	double zt[TOP + 1][MAXR][MAXR];    /* corrupted z~_l; z~_0 = x + noise */
	double logits[MAXR][K];            /* corrupted logits */
	double ce;                         /* CE of the corrupted labelled logits */
	double ce_clean;                   /* CE of the clean labelled logits */
} pieces;

typedef struct rec {
	float sd;
	gsl_rng *rng;             /* NULL: clean */
	snm_tensor *raw[TOP + 1], *z[TOP + 1];
	int calls[16], n_calls;
} rec;

static snm_tensor *rec_hook(void *ctx, snm_tape *t, int layer, snm_tensor *pre)
{
	rec *r = ctx;
	if (r->n_calls < 16)
		r->calls[r->n_calls] = layer;
	r->n_calls++;
	if (SNM_HOOK_PHASE(layer) == SNM_HOOK_RAW) {
		r->raw[SNM_HOOK_LAYER(layer) + 1] = pre;
		return pre;
	}
	if (r->rng != NULL)
		pre = snm_gauss_noise(t, pre, r->sd, r->rng);
	r->z[SNM_HOOK_LAYER(layer) + 1] = pre;
	return pre;
}

static double ce_of(const snm_tensor *y, int rows)
{
	double ce = 0;
	for (int n = 0; n < rows; ++n) {
		double mx = -INFINITY, se = 0;
		for (int k = 0; k < K; ++k)
			mx = fmax(mx, y->x[n * K + k]);
		for (int k = 0; k < K; ++k)
			se += exp(y->x[n * K + k] - mx);
		ce -= (y->x[n * K + labels[n]] - mx - log(se)) / rows;
	}
	return ce;
}

static void copy_rows(double out[MAXR][MAXR], const snm_tensor *t, int rows, int m)
{
	for (int n = 0; n < rows; ++n)
		for (int i = 0; i < m; ++i)
			out[n][i] = t->x[n * m + i];
}

/* Runs the model as the plugin documents its passes, with the same noise (seed, sd, sd_in). */
static void get_pieces(fix *f, int semi, uint64_t seed, float sd, float sd_in, pieces *P)
{
	snm_tape *t = snm_tape_new(0, NULL);
	gsl_rng *rng = snm_rng_new(seed, NULL);
	const snm_model_vt *m = f->model.vt;
	void *s = f->model.state;
	rec cl = { .rng = NULL }, cu = { .rng = NULL }, nl = { .sd = sd, .rng = rng }, nu = { .sd = sd, .rng = rng };
	snm_tensor *x = snm_tape_const(t, 4, (int[]){ N, 1, 2, 3 }, xl);
	snm_tensor *u = snm_tape_const(t, 4, (int[]){ M, 1, 2, 3 }, xu);
	snm_tensor *yc = m->classify(s, t, m->encode(s, t, x, rec_hook, &cl, NULL));
	snm_tensor *xn = snm_gauss_noise(t, x, sd_in, rng);
	snm_tensor *yl = m->classify(s, t, m->encode(s, t, xn, rec_hook, &nl, NULL));
	snm_tensor *yd = yl, *x0 = x, *x0n = xn;
	rec *rc = &cl, *rn = &nl;
	CU_ASSERT_PTR_NOT_NULL_FATAL(yc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(yl);
	P->ce_clean = ce_of(yc, N);
	P->ce = ce_of(yl, N);
	P->rows = N;
	if (semi) {
		x0n = snm_gauss_noise(t, u, sd_in, rng);
		yd = m->classify(s, t, m->encode(s, t, x0n, rec_hook, &nu, NULL));
		CU_ASSERT_PTR_NOT_NULL_FATAL(m->classify(s, t, m->encode(s, t, u, rec_hook, &cu, NULL)));
		CU_ASSERT_PTR_NOT_NULL_FATAL(yd);
		x0 = u, rc = &cu, rn = &nu;
		P->rows = M;
	}
	copy_rows(P->z[0], x0, P->rows, I);
	copy_rows(P->zt[0], x0n, P->rows, I);
	for (int l = 1; l <= TOP; ++l) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(rc->z[l]);
		copy_rows(P->raw[l], rc->raw[l], P->rows, width[l]);
		copy_rows(P->z[l], rc->z[l], P->rows, width[l]);
		copy_rows(P->zt[l], rn->z[l], P->rows, width[l]);
	}
	for (int n = 0; n < P->rows; ++n)
		for (int k = 0; k < K; ++k)
			P->logits[n][k] = yd->x[n * K + k];
	gsl_rng_free(rng);
	snm_tape_free(t);
}

/* The gauss combinator, a[0..9] = a1..a10. */
static double g_ref(double zt, double u, const double *a)
{
	double mu = a[0] / (1 + exp(-(a[1] * u + a[2]))) + a[3] * u + a[4];
	double nu = a[5] / (1 + exp(-(a[6] * u + a[7]))) + a[8] * u + a[9];
	return (zt - mu) * nu + mu;
}

/* Per column: (x - mean) / sqrt(biased var + eps), in place. */
static void bn_ref(double x[MAXR][MAXR], int rows, int m)
{
	for (int i = 0; i < m; ++i) {
		double mean = 0, var = 0;
		for (int n = 0; n < rows; ++n)
			mean += x[n][i] / rows;
		for (int n = 0; n < rows; ++n)
			var += (x[n][i] - mean) * (x[n][i] - mean) / rows;
		for (int n = 0; n < rows; ++n)
			x[n][i] = (x[n][i] - mean) / sqrt(var + EPS);
	}
}

/* The decoder in double: S[l] = sum over rows and units of the squared error of layer l (so
 * C_l = S[l] / (rows m_l)), for every layer the registry has a combinator for (top down). */
static void ref_costs(const fix *f, const pieces *P, double *S)
{
	double u[MAXR][MAXR], zhat[MAXR][MAXR];
	int R = P->rows;
	for (int n = 0; n < R; ++n) {          /* u_L = N(softmax(corrupted logits)) */
		double mx = -INFINITY, se = 0;
		for (int k = 0; k < K; ++k)
			mx = fmax(mx, P->logits[n][k]);
		for (int k = 0; k < K; ++k)
			se += exp(P->logits[n][k] - mx);
		for (int k = 0; k < K; ++k)
			u[n][k] = exp(P->logits[n][k] - mx) / se;
	}
	bn_ref(u, R, K);
	for (int l = TOP; l >= 0; --l) {
		char name[32];
		int m = width[l];
		snprintf(name, sizeof name, "ladder.g%d", l);
		const snm_tensor *g = snm_params_find(f->params, name);
		S[l] = NAN;
		if (g == NULL)
			break;
		if (l < TOP) {                  /* u = N(zhat_{l+1} V_{l+1}^T), V (m_l, m_{l+1}) */
			snprintf(name, sizeof name, "ladder.v%d", l + 1);
			const snm_tensor *v = snm_params_find(f->params, name);
			CU_ASSERT_PTR_NOT_NULL_FATAL(v);
			for (int n = 0; n < R; ++n)
				for (int j = 0; j < m; ++j) {
					double s = 0;
					for (int i = 0; i < width[l + 1]; ++i)
						s += zhat[n][i] * v->x[j * width[l + 1] + i];
					u[n][j] = s;
				}
			bn_ref(u, R, m);
		}
		for (int n = 0; n < R; ++n)
			for (int i = 0; i < m; ++i) {
				double a[10];
				for (int k = 0; k < 10; ++k)
					a[k] = g->x[k * m + i];
				zhat[n][i] = g_ref(P->zt[l][n][i], u[n][i], a);
			}
		S[l] = 0;
		for (int i = 0; i < m; ++i) {
			double mean = 0, var = 0;
			if (l > 0) {                /* the clean pass's statistics of a_l */
				for (int n = 0; n < R; ++n)
					mean += P->raw[l][n][i] / R;
				for (int n = 0; n < R; ++n)
					var += (P->raw[l][n][i] - mean) * (P->raw[l][n][i] - mean) / R;
			}
			for (int n = 0; n < R; ++n) {
				double est = l > 0 ? (zhat[n][i] - mean) / sqrt(var + EPS) : zhat[n][i];
				S[l] += (est - P->z[l][n][i]) * (est - P->z[l][n][i]);
			}
		}
	}
}

/* ---- tests --------------------------------------------------------------------------------- */

/* The reference combinator at hand-computed points, then the plugin's through the Gamma-model:
 * with no noise, a's set by hand per unit, the "denoise" term is C_L of the reference, and at the
 * initial a's (zhat = 0) it is the hand formula mean_n sum_i (mu_i/sigma_i + z_i)^2 / m_L. */
static void test_combinator_hand(void)
{
	static const double a_sig[10] = { 1, 1, 0, 0, 0, 1, 1, 0, 0, 0 };    /* mu = nu = sigmoid(u) */
	static const double a_lin[10] = { 0, 0, 0, 1, 0.5, 0, 0, 0, 0, 2 };  /* mu = u + .5, nu = 2 */
	static const double a_cst[10] = { 2, 0, 0, 0, 0, 1, 0, 0, 0, 0 };    /* mu = 1, nu = .5 */
	static const double a_init[10] = { 0, 1, 0, 0, 0, 0, 1, 0, 0, 0 };
	/* (2 - .5) .5 + .5 = 1.25;  (1 - 1.5) 2 + 1.5 = .5;  (3 - 1) .5 + 1 = 2;  init: 0 */
	SNM_ASSERT_CLOSE(g_ref(2, 0, a_sig), 1.25, 1e-15, 0);
	SNM_ASSERT_CLOSE(g_ref(1, 1, a_lin), 0.5, 1e-15, 0);
	SNM_ASSERT_CLOSE(g_ref(3, 5, a_cst), 2.0, 1e-15, 0);
	CU_ASSERT_EQUAL(g_ref(0.7, -1.3, a_init), 0.0);
	/* sigmoid(1) = 0.7310585786300049: mu = nu = s, (2 - s) s + s */
	SNM_ASSERT_CLOSE(g_ref(2, 1, a_sig), (2 - 0.7310585786300049) * 0.7310585786300049
	                 + 0.7310585786300049, 1e-15, 0);

	fix f;
	snm_objective o;
	pieces P;
	double S[TOP + 1];
	make_inputs();
	fix_new(&f, TINY, "{gamma: true, sd: 0, sd_input: 0, lambdas: [0, 0, 0, 1]}", 0);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	snm_tape *t = snm_tape_new(0, NULL);
	get_pieces(&f, 0, 5, 0, 0, &P);
	/* the initial combinator: zhat = 0, so zhat_BN = -mu/sigma */
	double hand = 0;
	for (int i = 0; i < K; ++i) {
		double mean = 0, var = 0;
		for (int n = 0; n < N; ++n)
			mean += P.raw[TOP][n][i] / N;
		for (int n = 0; n < N; ++n)
			var += (P.raw[TOP][n][i] - mean) * (P.raw[TOP][n][i] - mean) / N;
		for (int n = 0; n < N; ++n) {
			double d = mean / sqrt(var + EPS) + P.z[TOP][n][i];
			hand += d * d / (N * K);
		}
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, 0, 5, &o));
	SNM_ASSERT_CLOSE(term(&o, "denoise"), hand, 1e-6, 1e-5);
	CU_ASSERT(hand > 0.1);
	/* hand-set a's: unit 0 a_sig, unit 1 a_lin, unit 2 a_cst */
	snm_tensor *g = param(&f, "ladder.g3");
	const double *set[K] = { a_sig, a_lin, a_cst };
	for (int i = 0; i < K; ++i)
		for (int k = 0; k < 10; ++k)
			g->x[k * K + i] = (float)set[i][k];
	ref_costs(&f, &P, S);
	CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, 0, 5, &o));
	SNM_ASSERT_CLOSE(term(&o, "denoise"), S[TOP] / (N * K), 1e-6, 1e-5);
	CU_ASSERT(fabs(S[TOP] / (N * K) - hand) > 1e-3);
	snm_tape_free(t);
	snm_test_pair_free(&f);
}

/* Each layer's cost alone (one-hot lambdas) against the reference, semi-supervised with noise;
 * the width normalisation (C_l = S_l / (rows m_l)); and the weighted sum. */
static void test_layer_costs_and_lambdas(void)
{
	static const double lam[TOP + 1] = { 2, 0.5, 3, 0.25 };
	double C[TOP + 1], S[TOP + 1];
	pieces P;
	snm_objective o;
	char yaml[128];
	make_inputs();
	snm_tape *t = snm_tape_new(0, NULL);
	for (int l = 0; l <= TOP; ++l) {
		fix f;
		snprintf(yaml, sizeof yaml, "{lambdas: [%d, %d, %d, %d]}", l == 0, l == 1, l == 2, l == 3);
		fix_new(&f, TINY, yaml, 1);
		CU_ASSERT_EQUAL_FATAL(f.rc, 0);
		get_pieces(&f, 1, 9, 0.3f, 0.3f, &P);
		CU_ASSERT_EQUAL(P.rows, M);
		ref_costs(&f, &P, S);
		CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, 1, 9, &o));
		C[l] = term(&o, "denoise");
		/* the plugin's C_l is the sum of squares over M rows and m_l units, / (M m_l) */
		SNM_ASSERT_CLOSE(C[l] * M * width[l], S[l], 1e-5, 1e-4);
		SNM_ASSERT_CLOSE(term(&o, "ce"), P.ce, 1e-6, 1e-6);
		CU_ASSERT(C[l] > 1e-3);
		snm_test_pair_free(&f);
	}
	fix f;
	fix_new(&f, TINY, "{lambdas: [2, 0.5, 3, 0.25]}", 1);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, 1, 9, &o));
	double sum = 0;
	for (int l = 0; l <= TOP; ++l)
		sum += lam[l] * C[l];
	SNM_ASSERT_CLOSE(term(&o, "denoise"), sum, 1e-6, 1e-5);
	SNM_ASSERT_CLOSE(o.loss->x[0], term(&o, "ce") + sum, 1e-6, 1e-5);
	CU_ASSERT_EQUAL(o.n_terms, 2);
	snm_test_pair_free(&f);
	snm_tape_free(t);
}

/* With sd = sd_input = 0 the corrupted pass is the clean pass: the cross-entropy is the clean
 * one bit for bit (supervised and semi-supervised), and the costs are the reference's with
 * z~ = z. */
static void test_sd0_is_clean(void)
{
	pieces P;
	double S[TOP + 1];
	snm_objective o;
	make_inputs();
	snm_tape *t = snm_tape_new(0, NULL);
	for (int semi = 0; semi < 2; ++semi) {
		fix f;
		fix_new(&f, TINY, "{sd: 0, sd_input: 0, lambdas: [1, 1, 1, 1]}", 1);
		CU_ASSERT_EQUAL_FATAL(f.rc, 0);
		get_pieces(&f, semi, 3, 0, 0, &P);
		for (int l = 0; l <= TOP; ++l)
			for (int n = 0; n < P.rows; ++n)
				for (int i = 0; i < width[l]; ++i)
					CU_ASSERT_EQUAL(P.zt[l][n][i], P.z[l][n][i]);
		CU_ASSERT_EQUAL(P.ce, P.ce_clean);
		ref_costs(&f, &P, S);
		CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, semi, 3, &o));
		/* the clean cross-entropy, from the model directly */
		snm_tape *t2 = snm_tape_new(0, NULL);
		snm_tensor *y = f.model.vt->classify(f.model.state, t2, f.model.vt->encode(f.model.state, t2,
		                snm_tape_const(t2, 4, (int[]){ N, 1, 2, 3 }, xl), NULL, NULL, NULL));
		snm_tensor *ce = snm_softmax_ce(t2, y, labels);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ce);
		CU_ASSERT_EQUAL(term(&o, "ce"), ce->x[0]);
		snm_tape_free(t2);
		double c = 0;
		for (int l = 0; l <= TOP; ++l)
			c += S[l] / (P.rows * width[l]);
		SNM_ASSERT_CLOSE(term(&o, "denoise"), c, 1e-6, 1e-5);
		snm_test_pair_free(&f);
	}
	snm_tape_free(t);
}

/* gamma: true keeps only the top combinator (no V), reads only the last lambda, and gives
 * lambda_L C_L -- the same as the full ladder with lambdas (0, 0, 0, lambda_L). */
static void test_gamma_model(void)
{
	fix fg, ff;
	pieces P;
	double S[TOP + 1];
	snm_objective o;
	make_inputs();
	snm_tape *t = snm_tape_new(0, NULL);
	fix_new(&fg, TINY, "{gamma: true, lambdas: [7, 7, 7, 0.5]}", 1);
	CU_ASSERT_EQUAL_FATAL(fg.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(snm_params_find(fg.params, "ladder.g3"));
	CU_ASSERT_PTR_NULL(snm_params_find(fg.params, "ladder.g2"));
	CU_ASSERT_PTR_NULL(snm_params_find(fg.params, "ladder.g0"));
	CU_ASSERT_PTR_NULL(snm_params_find(fg.params, "ladder.v3"));
	CU_ASSERT_PTR_NULL(snm_params_find(fg.params, "ladder.v1"));
	get_pieces(&fg, 1, 21, 0.3f, 0.3f, &P);
	ref_costs(&fg, &P, S);
	CU_ASSERT(isnan(S[TOP - 1]));            /* the reference found no lower combinator */
	CU_ASSERT_PTR_NOT_NULL_FATAL(build(&fg, t, 1, 21, &o));
	double gamma = term(&o, "denoise");
	SNM_ASSERT_CLOSE(gamma, 0.5 * S[TOP] / (M * K), 1e-6, 1e-5);
	CU_ASSERT(gamma > 1e-3);
	fix_new(&ff, TINY, "{lambdas: [0, 0, 0, 0.5]}", 1);
	CU_ASSERT_EQUAL_FATAL(ff.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(snm_params_find(ff.params, "ladder.v1"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(build(&ff, t, 1, 21, &o));
	SNM_ASSERT_CLOSE(term(&o, "denoise"), gamma, 1e-7, 1e-6);
	snm_test_pair_free(&fg);
	snm_test_pair_free(&ff);
	snm_tape_free(t);
}

/* Parameter gradients (encoder, classifier, V, combinators) against central differences of the
 * loss, the noise held fixed by seeding the stream alike for every evaluation; semi-supervised
 * and supervised.  A mismatch is excused only where the one-sided differences disagree too (a
 * ReLU switching inside the interval); there must be few. */
static void test_gradients(void)
{
	static const char *const names[] = { "enc.f1.w", "enc.f1.b", "enc.f2.w", "enc.f2.b", "cls.w",
	                                     "cls.b", "cls.g", "ladder.g3", "ladder.v3", "ladder.g2",
	                                     "ladder.v2", "ladder.g1", "ladder.v1", "ladder.g0" };
	snm_objective o;
	gc_fill(xl, N * I, -1, 1, 3);      /* centred inputs keep the costs (and float noise) small */
	gc_fill(xu, M * I, -1, 1, 4);
	snm_tape *t = snm_tape_new(0, NULL);
	for (int semi = 0; semi < 2; ++semi) {
		fix f;
		static const gc_central central = { 3e-3, 3e-3, 6, 0, 0 };
		gc_tally n = { 0, 0, 0, 0 };
		snm_test_point at;
		char what[160];
		fix_new(&f, TINY, "{lambdas: [0.5, 0.2, 0.2, 0.2]}", 1);
		CU_ASSERT_EQUAL_FATAL(f.rc, 0);
		/* shifts near 3 keep every hidden unit active (z is normalised, the noise sd 0.3): no
		 * ReLU kink inside the differences (the ReLU's own gradient is test_ops's) */
		for (int k = 0; k < 2; ++k) {
			snm_tensor *b = param(&f, k ? "enc.f2.b" : "enc.f1.b");
			for (size_t i = 0; i < snm_tensor_len(b); ++i)
				b->x[i] += 3.0f;
		}
		snm_params_zero_grad(f.params);
		snm_tape_set_grad(t, 1);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, build(&f, t, semi, 33, &o), NULL), 0);
		snm_tape_set_grad(t, 0);
		at = (snm_test_point){ build, &f, t, semi, 33, { 0 } };
		snprintf(what, sizeof what, "test_ladder: %s", semi ? "semi" : "supervised");
		for (size_t k = 0; k < sizeof names / sizeof *names; ++k) {
			snm_tensor *p = param(&f, names[k]);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			gc_central_param(what, p, snm_test_point_loss, &at, &central, &n);
		}
		printf("    %s: %d elements checked, %d excused as kinks\n", semi ? "semi-supervised"
		       : "supervised", n.checked, n.kinks);
		CU_ASSERT_EQUAL(n.bad, 0);
		CU_ASSERT(n.checked > 60);
		CU_ASSERT(n.kinks <= n.checked / 10);
		CU_ASSERT(n.nonzero > n.checked * 3 / 4);
		snm_test_pair_free(&f);
	}
	snm_tape_set_grad(t, 1);
	snm_tape_free(t);
}

/* The same seed gives the same bits, another seed another loss; the stream advances by the same
 * count whatever sd is. */
static void test_determinism(void)
{
	fix f, f0;
	snm_objective o;
	make_inputs();
	snm_tape *t = snm_tape_new(0, NULL);
	fix_new(&f, TINY, "{lambdas: [1, 1, 1, 1]}", 1);
	fix_new(&f0, TINY, "{sd: 0, sd_input: 0, lambdas: [1, 1, 1, 1]}", 1);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	CU_ASSERT_EQUAL_FATAL(f0.rc, 0);
	float a = build(&f, t, 1, 4, &o)->x[0], b = build(&f, t, 1, 4, &o)->x[0];
	float c = build(&f, t, 1, 5, &o)->x[0];
	CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
	CU_ASSERT(a != c);
	/* draws: labelled N (6 + 5 + 4 + 3), unlabelled M (6 + 5 + 4 + 3) */
	for (int k = 0; k < 2; ++k) {
		gsl_rng *r = snm_rng_new(8, NULL), *ref = snm_rng_new(8, NULL);
		snm_batch bt;
		snm_error e;
		snm_tape_reset(t);
		bt.x = snm_tape_const(t, 4, (int[]){ N, 1, 2, 3 }, xl);
		bt.labels = labels;
		bt.xu = snm_tape_const(t, 4, (int[]){ M, 1, 2, 3 }, xu);
		CU_ASSERT_EQUAL(k ? f0.nvt->objective(f0.ns, &f0.model, t, &bt, r, &o, &e)
		                  : f.nvt->objective(f.ns, &f.model, t, &bt, r, &o, &e), 0);
		for (int i = 0; i < (N + M) * 18; ++i)
			gsl_ran_gaussian(ref, 1.0);
		CU_ASSERT_EQUAL(gsl_rng_get(r), gsl_rng_get(ref));
		gsl_rng_free(r);
		gsl_rng_free(ref);
	}
	snm_test_pair_free(&f);
	snm_test_pair_free(&f0);
	snm_tape_free(t);
}

/* Only the clean labelled pass moves the running statistics: after a semi-supervised step they
 * equal what that pass alone makes of the same starting values. */
static void test_running_stats_from_labelled(void)
{
	static const char *const bufs[] = { "enc.f1.bn.mean", "enc.f1.bn.var", "enc.f2.bn.mean",
	                                    "enc.f2.bn.var", "cls.bn.mean", "cls.bn.var" };
	float start[6][8], after[6][8];
	fix f;
	snm_objective o;
	make_inputs();
	snm_tape *t = snm_tape_new(0, NULL);
	fix_new(&f, TINY, "{lambdas: [1, 1, 1, 1]}", 1);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	for (int k = 0; k < 6; ++k) {
		snm_tensor *b = param(&f, bufs[k]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT(b->flags & SNM_T_BUFFER);
		memcpy(start[k], b->x, snm_tensor_len(b) * sizeof(float));
	}
	for (int semi = 0; semi < 2; ++semi) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, semi, 6, &o));
		for (int k = 0; k < 6; ++k) {
			snm_tensor *b = param(&f, bufs[k]);
			memcpy(after[k], b->x, snm_tensor_len(b) * sizeof(float));
			memcpy(b->x, start[k], snm_tensor_len(b) * sizeof(float));
		}
		snm_tape_reset(t);
		f.model.vt->classify(f.model.state, t, f.model.vt->encode(f.model.state, t,
		                     snm_tape_const(t, 4, (int[]){ N, 1, 2, 3 }, xl), NULL, NULL, NULL));
		int moved = 0;
		for (int k = 0; k < 6; ++k) {
			snm_tensor *b = param(&f, bufs[k]);
			CU_ASSERT(memcmp(after[k], b->x, snm_tensor_len(b) * sizeof(float)) == 0);
			moved += memcmp(start[k], b->x, snm_tensor_len(b) * sizeof(float)) != 0;
			memcpy(b->x, start[k], snm_tensor_len(b) * sizeof(float));
		}
		CU_ASSERT_EQUAL(moved, 6);
	}
	snm_test_pair_free(&f);
	snm_tape_free(t);
}

static void expect_error(const char *model_yaml, const char *ladder_yaml, const char *needle)
{
	fix f;
	fix_new(&f, model_yaml, ladder_yaml, 0);
	CU_ASSERT_EQUAL(f.rc, SNM_ECONFIG);
	CU_ASSERT_PTR_NULL(f.ns);
	if (strstr(f.err.msg, needle) == NULL) {
		fprintf(stderr, "test_ladder: '%s' / '%s': message '%s' lacks '%s'\n", model_yaml,
		        ladder_yaml, f.err.msg, needle);
		CU_FAIL("error message");
	}
	snm_test_pair_free(&f);
}

static void test_config_errors(void)
{
	expect_error("{preset: custom, layers: [{fc: 5}, {fc: 4}]}", "{lambdas: [1, 1, 1, 1]}",
	             "batchnorm: true");
	expect_error(TINY, "{}", "n.yaml:1:1: noise 'ladder': 'lambdas' needs a list of 4 numbers");
	expect_error(TINY, "{lambdas: [1, 2, -3, 4]}", "n.yaml:1:18: noise 'ladder': lambdas[2] is negative");
	expect_error(TINY, "{lambdas: 3}", "needs a list of 4 numbers");
	expect_error(TINY, "{lambdas: abc}", "got a scalar");
	expect_error(TINY, "{sigma: 3}", "unknown key 'sigma'");
	expect_error("{preset: custom, layers: [{conv: 2}, {fc: 4}], batchnorm: true}",
	             "{lambdas: [1, 1, 1, 1]}", "first layer must be fully connected");
	/* the default lambdas fit 784-1000-500-250-250-250-10's seven layers */
	fix f;
	fix_new(&f, "{preset: custom, layers: [{fc: 5}, {fc: 5}, {fc: 5}, {fc: 5}, {fc: 4}], "
	        "batchnorm: true}", "{}", 0);
	CU_ASSERT_EQUAL(f.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(snm_params_find(f.params, "ladder.v6"));
	CU_ASSERT_EQUAL(f.nvt->wants_unlabelled(f.ns), 1);
	snm_test_pair_free(&f);
	fix_new(&f, TINY, "{unlabelled: false, lambdas: [1, 1, 1, 1]}", 0);
	CU_ASSERT_EQUAL(f.rc, 0);
	CU_ASSERT_EQUAL(f.nvt->wants_unlabelled(f.ns), 0);
	/* registration: decoder order, shapes, initial a's and V ~ N(0, 1/m_l) */
	static const char *const order[] = { "ladder.g3", "ladder.v3", "ladder.g2", "ladder.v2",
	                                     "ladder.g1", "ladder.v1", "ladder.g0" };
	int first = snm_params_count(f.params) - 7;
	for (int k = 0; k < 7; ++k)
		CU_ASSERT_STRING_EQUAL(snm_params_at(f.params, first + k)->name, order[k]);
	snm_tensor *g1 = param(&f, "ladder.g1"), *v2 = param(&f, "ladder.v2");
	CU_ASSERT(g1->d[0] == 10 && g1->d[1] == 5 && v2->d[0] == 5 && v2->d[1] == 4);
	for (int k = 0; k < 10; ++k)
		for (int i = 0; i < 5; ++i)
			CU_ASSERT_EQUAL(g1->x[k * 5 + i], k == 1 || k == 6 ? 1.0f : 0.0f);
	snm_test_pair_free(&f);
	fix_new(&f, "{preset: custom, layers: [{fc: 5}, {fc: 400}], batchnorm: true}",
	        "{lambdas: [1, 1, 1, 1]}", 0);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	snm_tensor *v3 = param(&f, "ladder.v3");       /* (400, 3): sd 1/sqrt(3) */
	double ss = 0;
	for (size_t i = 0; i < snm_tensor_len(v3); ++i)
		ss += (double)v3->x[i] * v3->x[i];
	SNM_ASSERT_CLOSE(ss / snm_tensor_len(v3), 1.0 / 3, 0, 0.15);
	snm_test_pair_free(&f);
}

/* ---- training through snm_train ------------------------------------------------------------ */

static char tmp[512];

static const char pipeline_yaml[] =
	"name: lad\n"
	"seed: 3\n"
	"results: %s/results\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 40, size: 6, noise: 0.3}\n"
	"  model: {type: convnet, preset: custom, layers: [{fc: 12}, {fc: 8}], batchnorm: true}\n"
	"  train: {epochs: 12, batch: 10, lr: 0.01, schedule: const, eval_batch: 32, unlabelled_batch: 10}\n"
	"grid: {per_class: [5], sets: 1}\n"
	"experiments:\n"
	"  - name: semi\n"
	"    noise: {type: ladder, lambdas: [1, 1, 0.1, 0.1]}\n"
	"  - name: sup\n"
	"    noise: {type: ladder, unlabelled: false, lambdas: [1, 1, 0.1, 0.1]}\n";

/* Reads the string attribute kind of dataset path in file f ("" when absent). */
static void kind_of(hid_t f, const char *path, char *out, size_t size)
{
	hid_t d = H5Dopen2(f, path, H5P_DEFAULT), a, ty;
	out[0] = '\0';
	if (d < 0)
		return;
	if ((a = H5Aopen(d, "kind", H5P_DEFAULT)) >= 0) {
		ty = H5Aget_type(a);     /* a fixed-length string (run files of format 2) */
		if (H5Tis_variable_str(ty) == 0 && H5Tget_size(ty) < size && H5Aread(a, ty, out) >= 0)
			out[H5Tget_size(ty)] = '\0';
		else
			out[0] = '\0';
		H5Tclose(ty);
		H5Aclose(a);
	}
	H5Dclose(d);
}

static void test_training_run(void)
{
	char text[2048], path[1024];
	snm_pipeline *p = NULL;
	snm_error e;
	FILE *fp;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(tmp, sizeof tmp, "ladder"));
	snprintf(path, sizeof path, "%s/lad.yaml", tmp);
	snprintf(text, sizeof text, pipeline_yaml, tmp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	if (snm_pipeline_load(path, NULL, &p, &e) != 0)
		fprintf(stderr, "test_ladder: %s\n", e.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(p->n_runs, 2);
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	for (int r = 0; r < 2; ++r) {
		snm_trainer_opts opt = { .threads = 1, .version = "test" };
		snm_run_result res;
		snm_metrics *m = NULL;
		char kind[16];
		if (snm_train(&p->runs[r], &opt, &res, &e) != 0)
			fprintf(stderr, "test_ladder: %s\n", e.msg);
		CU_ASSERT_EQUAL_FATAL(res.epochs, 12);
		CU_ASSERT_EQUAL_FATAL(snm_store_read_metrics(p->runs[r].result_path, &m, &e), 0);
		int cl = snm_metrics_find(m, "loss"), cd = snm_metrics_find(m, "loss.denoise");
		CU_ASSERT_FATAL(cl >= 0 && cd >= 0);
		double first = snm_metrics_get(m, 0, cl) + snm_metrics_get(m, 1, cl);
		double last = snm_metrics_get(m, 10, cl) + snm_metrics_get(m, 11, cl);
		printf("    %s: loss %.4f -> %.4f (first/last two epochs), denoise %.4f -> %.4f, "
		       "test error %.1f%%\n", p->runs[r].key, first / 2, last / 2, snm_metrics_get(m, 0, cd),
		       snm_metrics_get(m, 11, cd), res.test_at_best);
		CU_ASSERT(last < 0.8 * first);
		CU_ASSERT(snm_metrics_get(m, 11, cd) < snm_metrics_get(m, 0, cd));
		CU_ASSERT(isfinite(res.test_at_best));
		snm_metrics_free(m);
		/* the running statistics are saved with the best weights, as buffers */
		hid_t h = H5Fopen(p->runs[r].result_path, H5F_ACC_RDONLY, H5P_DEFAULT);
		CU_ASSERT_FATAL(h >= 0);
		kind_of(h, "/best/enc.f1.bn.var", kind, sizeof kind);
		CU_ASSERT_STRING_EQUAL(kind, "buffer");
		kind_of(h, "/best/cls.bn.mean", kind, sizeof kind);
		CU_ASSERT_STRING_EQUAL(kind, "buffer");
		kind_of(h, "/best/ladder.v1", kind, sizeof kind);
		CU_ASSERT_STRING_EQUAL(kind, "param");
		H5Fclose(h);
	}
	snm_pipeline_free(p);
	snm_test_rmtree(tmp);
}

static CU_TestInfo tests[] = {
	{ "combinator_hand", test_combinator_hand },
	{ "layer_costs_and_lambdas", test_layer_costs_and_lambdas },
	{ "sd0_is_clean", test_sd0_is_clean },
	{ "gamma_model", test_gamma_model },
	{ "gradients", test_gradients },
	{ "determinism", test_determinism },
	{ "running_stats_from_labelled", test_running_stats_from_labelled },
	{ "config_errors", test_config_errors },
	{ "training_run", test_training_run },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "ladder", NULL, NULL, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_ladder", suites);
}
