/* test_advladder.c: the advladder noise plugin (the adversarial ladder of seed 002), loaded from
 * the build tree through the plugin loader.
 *
 * Direction and norm per kind, on a model with a known gradient: a linear model written here
 * (z = A x, logits = B z, each layer calling the ladder's hooks with the identity as its
 * "normalisation"), which records every input its encoder is given.  With the ladder's noise at 0
 * the corrupted passes see x + tau u exactly, and u is checked against the closed form of the
 * batch-mean cross-entropy's input gradient, G_n = (1/N) (softmax(W x_n) - e_t) W with W = B A,
 * computed in double: sgn(G), G, G/||G|| and sqrt(k) G/||G|| per row, with the true labels on the
 * labelled rows and the argmax pseudo-labels on the unlabelled ones, from either gradient pass.
 * Then, on convnet's batch-normalised encoder: tau_s = tau_u = 0 gives the ladder's loss and
 * gradients bit for bit; the gradient passes leave every parameter gradient at zero; parameter
 * gradients against central differences of the whole objective (the perturbation recomputed at
 * every point, the noise re-seeded) -- every parameter for the sign kind, whose perturbation is
 * piecewise constant in the parameters, and the decoder's parameters (on which no perturbation
 * depends) for every kind; option errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "run/loader.h"
#include "gradcheck.h"
#include "snm/plugin.h"
#include "snm/rng.h"

enum { I = 6, H = 4, K = 3, N = 4, M = 5, MAXREC = 16 };
static const int32_t labels[N] = { 0, 1, 2, 1 };
static float xl[N * I], xu[M * I];

/* ---- the linear model with a known gradient ---------------------------------------------- */

typedef struct lin {
	snm_tensor *A, *B;        /* (H, I), (K, H) */
	snm_layer_hook hook;      /* encode's, for classify */
	void *ctx;
	float rec[MAXREC][M * I]; /* the inputs encode was given, in call order */
	int rows[MAXREC], n_rec;
} lin;

static int lin_n_hidden(void *state)
{
	(void)state;
	return 0;
}

static snm_tensor *lin_layer(lin *m, snm_tape *t, snm_tensor *x, snm_tensor *w, int layer)
{
	snm_tensor *a = snm_linear(t, x, w, NULL, 0);
	if (m->hook != NULL && a != NULL)
		a = m->hook(m->ctx, t, SNM_HOOK_ARG(layer, SNM_HOOK_RAW), a);
	if (m->hook != NULL && a != NULL)
		a = m->hook(m->ctx, t, SNM_HOOK_ARG(layer, SNM_HOOK_PRE), a);
	return a;
}

static snm_tensor *lin_encode(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook,
                              void *ctx, snm_tensor **hidden)
{
	lin *m = state;
	(void)hidden;
	if (x != NULL && m->n_rec < MAXREC && snm_tensor_len(x) <= M * I) {
		memcpy(m->rec[m->n_rec], x->x, snm_tensor_len(x) * sizeof *x->x);
		m->rows[m->n_rec++] = x->d[0];
	}
	m->hook = hook;
	m->ctx = ctx;
	return lin_layer(m, t, x, m->A, 0);
}

static snm_tensor *lin_classify(void *state, snm_tape *t, snm_tensor *z)
{
	lin *m = state;
	snm_tensor *y = lin_layer(m, t, z, m->B, 1);
	m->hook = NULL;
	return y;
}

static const snm_model_vt lin_vt = { sizeof lin_vt, NULL, NULL, lin_n_hidden, lin_encode,
                                     lin_classify, NULL, NULL, NULL };

/* (1/rows) (softmax(W x_n) - e_t) W for every row of x (rows x I), t = lab or, lab NULL, the
 * argmax of W x_n; in double. */
static void known_grad(const lin *m, const float *x, int rows, const int32_t *lab, double *g)
{
	double W[K][I] = { { 0 } };
	for (int k = 0; k < K; ++k)
		for (int i = 0; i < I; ++i)
			for (int h = 0; h < H; ++h)
				W[k][i] += (double)m->B->x[k * H + h] * m->A->x[h * I + i];
	for (int n = 0; n < rows; ++n) {
		double y[K], mx = -INFINITY, s = 0;
		int t = 0;
		for (int k = 0; k < K; ++k) {
			y[k] = 0;
			for (int i = 0; i < I; ++i)
				y[k] += W[k][i] * x[n * I + i];
			if (y[k] > mx) {
				mx = y[k];
				t = k;
			}
		}
		if (lab != NULL)
			t = lab[n];
		for (int k = 0; k < K; ++k)
			s += exp(y[k] - mx);
		for (int i = 0; i < I; ++i) {
			g[n * I + i] = 0;
			for (int k = 0; k < K; ++k)
				g[n * I + i] += (exp(y[k] - mx) / s - (k == t)) * W[k][i] / rows;
		}
	}
}

/* tau u(G) of the header comment, per row, in double. */
static void expected_u(const double *g, int rows, const char *kind, double tau, double *u)
{
	for (int n = 0; n < rows; ++n) {
		double nrm = 0;
		for (int i = 0; i < I; ++i)
			nrm += g[n * I + i] * g[n * I + i];
		nrm = sqrt(nrm);
		for (int i = 0; i < I; ++i) {
			double v = g[n * I + i];
			if (!strcmp(kind, "sign"))
				u[n * I + i] = tau * ((v > 0) - (v < 0));
			else if (!strcmp(kind, "grad"))
				u[n * I + i] = tau * v;
			else if (!strcmp(kind, "unit"))
				u[n * I + i] = tau * v / nrm;
			else
				u[n * I + i] = tau * sqrt((double)I) * v / nrm;
		}
	}
}

static void test_direction_and_norm(void)
{
	static const char *const kinds[] = { "sign", "grad", "unit", "qnorm" };
	static const char *const passes[] = { "corrupted", "clean" };
	const snm_plugin *np = snm_test_plugin(SNM_KIND_NOISE, "advladder");
	snm_data_info in = { 3, { 1, 2, 3 }, K, { 100, 10, 10 } };
	CU_ASSERT_PTR_NOT_NULL_FATAL(np);
	gc_fill(xl, N * I, 0, 1, 1);
	gc_fill(xu, M * I, -1, 1, 2);   /* centred: the pseudo-labels differ between rows */
	(void)in;
	for (size_t pk = 0; pk < 2; ++pk)
		for (size_t kk = 0; kk < 4; ++kk) {
			const snm_noise_vt *nvt = np->vtable;
			snm_params *params = snm_params_new(NULL);
			gsl_rng *init = snm_rng_new(5, NULL), *noise = snm_rng_new(6, NULL);
			lin *m = calloc(1, sizeof *m);
			snm_model model = { &lin_vt, m };
			double tau = !strcmp(kinds[kk], "grad") ? 2.0 : 0.25;
			char yaml[256];
			snm_cfg *cfg = NULL;
			snm_error e;
			void *ns = NULL;
			snm_objective o;
			snm_tape *t = snm_tape_new(0, NULL);
			m->A = snm_params_add(params, "lin.a", 2, (int[]){ H, I }, SNM_T_PARAM, NULL);
			m->B = snm_params_add(params, "lin.b", 2, (int[]){ K, H }, SNM_T_PARAM, NULL);
			CU_ASSERT_FATAL(m->A != NULL && m->B != NULL);
			gc_fill(m->A->x, H * I, -1, 1, 3);
			gc_fill(m->B->x, K * H, -1, 1, 4);
			snprintf(yaml, sizeof yaml, "{sd: 0, sd_input: 0, lambdas: [1, 1, 1], tau_s: %g, "
			         "tau_u: %g, kind_s: %s, kind_u: %s, grad_pass: %s}", tau, tau, kinds[kk],
			         kinds[kk], passes[pk]);
			CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(yaml, strlen(yaml), "n.yaml", &cfg, &e), 0);
			if (nvt->create(cfg, &model, params, init, &ns, &e) != 0)
				fprintf(stderr, "test_advladder: %s\n", e.msg);
			CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
			m->n_rec = 0;
			snm_batch b = { snm_tape_const(t, 4, (int[]){ N, 1, 2, 3 }, xl), labels,
			                snm_tape_const(t, 4, (int[]){ M, 1, 2, 3 }, xu) };
			CU_ASSERT_EQUAL_FATAL(nvt->objective(ns, &model, t, &b, noise, &o, &e), 0);
			/* passes: gradient (labelled, unlabelled), clean labelled, corrupted labelled and
			 * unlabelled, clean unlabelled */
			CU_ASSERT_EQUAL_FATAL(m->n_rec, 6);
			int bad = 0;
			for (int part = 0; part < 2; ++part) {
				int rows = part ? M : N;
				const float *x = part ? xu : xl, *seen = m->rec[3 + part];
				double g[M * I], u[M * I];
				CU_ASSERT_EQUAL(m->rows[3 + part], rows);
				known_grad(m, x, rows, part ? NULL : labels, g);
				expected_u(g, rows, kinds[kk], tau, u);
				for (int n = 0; n < rows; ++n) {
					double nrm = 0, want = 0;
					for (int i = 0; i < I; ++i) {
						double got = (double)seen[n * I + i] - x[n * I + i];
						nrm += got * got;
						want += u[n * I + i] * u[n * I + i];
						if (fabs(got - u[n * I + i]) > 2e-6 + 1e-5 * fabs(u[n * I + i])
						    && bad++ < 5)
							fprintf(stderr, "test_advladder: %s/%s %s row %d [%d]: u %g, "
							        "expected %g\n", kinds[kk], passes[pk],
							        part ? "unlabelled" : "labelled", n, i, got, u[n * I + i]);
					}
					/* the norm per row: tau sqrt(k) for sign and qnorm, tau for unit */
					if (strcmp(kinds[kk], "grad") != 0)
						CU_ASSERT(fabs(sqrt(nrm) - tau * (strcmp(kinds[kk], "unit") ? sqrt(I) : 1))
						          < 1e-5);
					CU_ASSERT(fabs(sqrt(nrm) - sqrt(want)) < 1e-5 * (1 + sqrt(want)));
				}
			}
			CU_ASSERT_EQUAL(bad, 0);
			/* the clean passes see x itself */
			CU_ASSERT(memcmp(m->rec[2], xl, sizeof xl) == 0);
			CU_ASSERT(memcmp(m->rec[5], xu, sizeof xu) == 0);
			nvt->destroy(ns);
			snm_tape_free(t);
			snm_cfg_free(cfg);
			snm_params_free(params);
			gsl_rng_free(init);
			gsl_rng_free(noise);
			free(m);
		}
}

/* The pseudo-labels differ between the rows of the fixture (else they test little). */
static void test_pseudo_labels_vary(void)
{
	lin m;
	snm_params *params = snm_params_new(NULL);
	int seen[K] = { 0 }, kinds = 0;
	m.A = snm_params_add(params, "lin.a", 2, (int[]){ H, I }, SNM_T_PARAM, NULL);
	m.B = snm_params_add(params, "lin.b", 2, (int[]){ K, H }, SNM_T_PARAM, NULL);
	gc_fill(m.A->x, H * I, -1, 1, 3);
	gc_fill(m.B->x, K * H, -1, 1, 4);
	gc_fill(xu, M * I, -1, 1, 2);
	for (int n = 0; n < M; ++n) {
		double best = -INFINITY;
		int arg = 0;
		for (int k = 0; k < K; ++k) {
			double y = 0;
			for (int h = 0; h < H; ++h)
				for (int i = 0; i < I; ++i)
					y += (double)m.B->x[k * H + h] * m.A->x[h * I + i] * xu[n * I + i];
			if (y > best) {
				best = y;
				arg = k;
			}
		}
		seen[arg] = 1;
	}
	for (int k = 0; k < K; ++k)
		kinds += seen[k];
	CU_ASSERT(kinds >= 2);
	snm_params_free(params);
}

/* ---- on convnet's batch-normalised encoder ------------------------------------------------- */

#define TINY "{preset: custom, layers: [{fc: 5}, {fc: 4}], batchnorm: true}"

typedef snm_test_pair fix;

static void fix_new(fix *f, const char *noise_name, const char *noise_yaml)
{
	static const snm_data_info in = { 3, { 1, 2, 3 }, K, { 100, 10, 10 } };
	CU_ASSERT_EQUAL_FATAL(snm_test_pair_new(f, "convnet", TINY, noise_name, noise_yaml, &in, 11), 0);
	if (f->rc != 0)
		return;
	/* shifts near 3 keep every hidden unit active: no ReLU kink inside the differences */
	static const char *const shifts[] = { "enc.f1.b", "enc.f2.b" };
	for (int k = 0; k < 2; ++k) {
		snm_tensor *p = snm_params_find(f->params, shifts[k]);
		for (size_t i = 0; i < snm_tensor_len(p); ++i)
			p->x[i] += 3.0f;
	}
	for (int l = 0; l <= 3; ++l) {     /* combinators away from their zero start */
		char name[32];
		snprintf(name, sizeof name, "ladder.g%d", l);
		snm_tensor *a = snm_params_find(f->params, name);
		if (a != NULL)
			for (size_t i = 0; i < snm_tensor_len(a); ++i)
				a->x[i] += 0.2f * (float)((i * 7) % 5) - 0.4f;
	}
}

static snm_tensor *build(fix *f, snm_tape *t, int semi, uint64_t seed, snm_objective *o)
{
	snm_error e;
	gsl_rng *noise = snm_rng_new(seed, NULL);
	int rc;
	snm_tape_reset(t);
	snm_batch b = { snm_tape_const(t, 4, (int[]){ N, 1, 2, 3 }, xl), labels,
	                semi ? snm_tape_const(t, 4, (int[]){ M, 1, 2, 3 }, xu) : NULL };
	memset(o, 0, sizeof *o);
	rc = f->nvt->objective(f->ns, &f->model, t, &b, noise, o, &e);
	gsl_rng_free(noise);
	if (rc != 0) {
		fprintf(stderr, "test_advladder: objective: %s\n", e.msg);
		return NULL;
	}
	return o->loss;
}

/* tau_s = tau_u = 0: the ladder's loss and parameter gradients, bit for bit; and a perturbation
 * that is not 0 changes the loss. */
static void test_tau0_is_ladder(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(xl, N * I, 0, 1, 1);
	gc_fill(xu, M * I, 0, 1, 2);
	for (int semi = 0; semi < 2; ++semi) {
		fix a, l, p;
		snm_objective o;
		fix_new(&a, "advladder", "{lambdas: [1, 1, 1, 1], tau_s: 0, tau_u: 0}");
		fix_new(&l, "ladder", "{lambdas: [1, 1, 1, 1]}");
		fix_new(&p, "advladder", "{lambdas: [1, 1, 1, 1], tau_s: 0.1, tau_u: 0.1}");
		CU_ASSERT_FATAL(a.rc == 0 && l.rc == 0 && p.rc == 0);
		snm_tape_set_grad(t, 1);
		snm_params_zero_grad(a.params);
		snm_params_zero_grad(l.params);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, build(&a, t, semi, 9, &o), NULL), 0);
		float la = o.loss->x[0];
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, build(&l, t, semi, 9, &o), NULL), 0);
		float ll = o.loss->x[0];
		CU_ASSERT(memcmp(&la, &ll, sizeof la) == 0);
		CU_ASSERT_EQUAL_FATAL(snm_params_count(a.params), snm_params_count(l.params));
		for (int i = 0; i < snm_params_count(a.params); ++i) {
			snm_tensor *pa = snm_params_at(a.params, i), *pl = snm_params_at(l.params, i);
			CU_ASSERT_STRING_EQUAL(pa->name, pl->name);
			if (pa->g != NULL && pl->g != NULL)
				CU_ASSERT(memcmp(pa->g, pl->g, snm_tensor_len(pa) * sizeof *pa->g) == 0);
		}
		float lp = build(&p, t, semi, 9, &o)->x[0];
		CU_ASSERT(lp != la);
		snm_test_pair_free(&a);
		snm_test_pair_free(&l);
		snm_test_pair_free(&p);
	}
	snm_tape_free(t);
}

/* Finding the perturbations touches no parameter gradient: after the objective is built (and
 * before any backward pass) every parameter gradient is still zero. */
static void test_no_parameter_gradient(void)
{
	fix f;
	snm_objective o;
	snm_tape *t = snm_tape_new(0, NULL);
	fix_new(&f, "advladder", "{lambdas: [1, 1, 1, 1], tau_s: 0.1, tau_u: 0.1, kind_s: grad}");
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	snm_tape_set_grad(t, 1);
	snm_params_zero_grad(f.params);
	CU_ASSERT_PTR_NOT_NULL_FATAL(build(&f, t, 1, 3, &o));
	for (int i = 0; i < snm_params_count(f.params); ++i) {
		snm_tensor *p = snm_params_at(f.params, i);
		for (size_t j = 0; p->g != NULL && j < snm_tensor_len(p); ++j)
			if (p->g[j] != 0.0f) {
				CU_FAIL("a parameter gradient is not zero before the backward pass");
				break;
			}
	}
	snm_test_pair_free(&f);
	snm_tape_free(t);
}

/* Parameter gradients against central differences of the whole objective (the perturbations
 * recomputed at every point, the noise re-seeded alike).  all_params: every parameter (the sign
 * kind, piecewise constant in them), else the decoder's only.  A mismatch is excused only where
 * the one-sided differences disagree too (a sign or a ReLU switching inside the interval). */
static void grad_check(const char *yaml, int all_params)
{
	static const char *const names[] = { "ladder.g3", "ladder.v3", "ladder.g2", "ladder.v2",
	                                     "ladder.g1", "ladder.v1", "ladder.g0", "enc.f1.w",
	                                     "enc.f1.b", "enc.f2.w", "enc.f2.b", "cls.w", "cls.b",
	                                     "cls.g" };
	size_t n_names = all_params ? sizeof names / sizeof *names : 7;
	snm_objective o;
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(xl, N * I, -1, 1, 3);
	gc_fill(xu, M * I, -1, 1, 4);
	for (int semi = 0; semi < 2; ++semi) {
		fix f;
		static const gc_central central = { 3e-3, 3e-3, 6, 0, 0 };
		gc_tally n = { 0, 0, 0, 0 };
		snm_test_point at;
		char what[160];
		fix_new(&f, "advladder", yaml);
		CU_ASSERT_EQUAL_FATAL(f.rc, 0);
		snm_params_zero_grad(f.params);
		snm_tape_set_grad(t, 1);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, build(&f, t, semi, 33, &o), NULL), 0);
		snm_tape_set_grad(t, 0);
		at = (snm_test_point){ build, &f, t, semi, 33, { 0 } };
		snprintf(what, sizeof what, "test_advladder: %s %s", yaml, semi ? "semi" : "supervised");
		for (size_t k = 0; k < n_names; ++k) {
			snm_tensor *p = snm_params_find(f.params, names[k]);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			gc_central_param(what, p, snm_test_point_loss, &at, &central, &n);
		}
		printf("    %s, %s: %d elements checked, %d excused as kinks\n", yaml,
		       semi ? "semi-supervised" : "supervised", n.checked, n.kinks);
		CU_ASSERT_EQUAL(n.bad, 0);
		CU_ASSERT(n.checked > 40);
		CU_ASSERT(n.kinks <= n.checked / 10);
		CU_ASSERT(n.nonzero > n.checked * 3 / 4);
		snm_test_pair_free(&f);
	}
	snm_tape_set_grad(t, 1);
	snm_tape_free(t);
}

static void test_gradients_sign(void)
{
	grad_check("{lambdas: [0.5, 0.2, 0.2, 0.2], tau_s: 0.2, tau_u: 0.2, kind_u: sign}", 1);
	grad_check("{lambdas: [0.5, 0.2, 0.2, 0.2], tau_s: 0.2, tau_u: 0.2, kind_u: sign, "
	           "grad_pass: clean}", 1);
}

static void test_gradients_decoder(void)
{
	grad_check("{lambdas: [0.5, 0.2, 0.2, 0.2], tau_s: 0.2, tau_u: 0.2, kind_s: qnorm}", 0);
	grad_check("{lambdas: [0.5, 0.2, 0.2, 0.2], tau_s: 0.5, tau_u: 0.5, kind_s: unit, "
	           "kind_u: unit}", 0);
	grad_check("{lambdas: [0.5, 0.2, 0.2, 0.2], tau_s: 5, tau_u: 5, kind_s: grad, "
	           "kind_u: grad}", 0);
}

static void expect_error(const char *yaml, const char *needle)
{
	fix f;
	fix_new(&f, "advladder", yaml);
	CU_ASSERT_NOT_EQUAL(f.rc, 0);
	if (f.rc != 0 && strstr(f.err.msg, needle) == NULL) {
		fprintf(stderr, "test_advladder: '%s' not in '%s'\n", needle, f.err.msg);
		CU_FAIL("wrong message");
	}
	snm_test_pair_free(&f);
}

static void test_config_errors(void)
{
	expect_error("{lambdas: [1, 1, 1, 1], kind_s: fgsm}", "n.yaml:1:33: 'kind_s': expected one of sign|grad|unit|qnorm");
	expect_error("{lambdas: [1, 1, 1, 1], tau_u: -1}", "n.yaml:1:32: ");
	expect_error("{lambdas: [1, 1, 1, 1], grad_pass: noisy}", "n.yaml:1:");
	expect_error("{lambdas: [1, 1]}", "noise 'advladder': 'lambdas' needs a list of 4 numbers");
	expect_error("{lambdas: [1, 1, 1, 1], bogus: 1}", "bogus");
}

static CU_TestInfo tests[] = {
	{ "pseudo_labels_vary", test_pseudo_labels_vary },
	{ "direction_and_norm", test_direction_and_norm },
	{ "tau0_is_ladder", test_tau0_is_ladder },
	{ "no_parameter_gradient", test_no_parameter_gradient },
	{ "gradients_sign", test_gradients_sign },
	{ "gradients_decoder", test_gradients_decoder },
	{ "config_errors", test_config_errors },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "advladder", NULL, NULL, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_advladder", suites);
}
