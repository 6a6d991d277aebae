/* test_vib.c: what the adversarial regularizers of seed 003 add (snm/regularize.h, run/steps.h):
 * the discriminator's and generator's losses against hand values and central differences, the
 * prior samples, and the updates of a training step -- a discriminator's update moves the
 * discriminator alone, a held discriminator passes gradients through and is not moved (neither
 * its values nor its Adam moments), each update has its own Adam state, and a plan that breaks a
 * rule of snm_update is refused. */
#include <math.h>
#include <string.h>
#include "harness.h"
#include "gradcheck.h"
#include "snm/plugin.h"
#include "snm/regularize.h"
#include "snm/rng.h"
#include "run/loader.h"
#include "run/steps.h"

static const gc_opts all_elems = { .max_elems = 1000 };

static double softplus(double x) { return log1p(exp(-fabs(x))) + (x > 0 ? x : 0); }

/* ---- the losses ------------------------------------------------------------------------------ */

/* d_loss = mean over [real; fake] of BCE against [1; 0] = (sum softplus(-r) + sum softplus(f)) / n;
 * g_loss = mean softplus(-f). */
static void test_adv_values(void)
{
	float r[3] = { 2.0f, -0.5f, 0.25f }, f[2] = { -1.0f, 3.5f };
	double ref = 0;
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *R = snm_tape_const(t, 2, (int[]){ 3, 1 }, r), *F = snm_tape_const(t, 2, (int[]){ 2, 1 }, f);
	snm_tensor *d = snm_adv_d_loss(t, R, F), *g = snm_adv_g_loss(t, F);
	for (int i = 0; i < 3; ++i)
		ref += softplus(-r[i]);
	for (int i = 0; i < 2; ++i)
		ref += softplus(f[i]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	SNM_ASSERT_CLOSE(d->x[0], ref / 5, 1e-7, 1e-6);
	SNM_ASSERT_CLOSE(g->x[0], (softplus(1.0) + softplus(-3.5)) / 2, 1e-7, 1e-6);
	snm_tape_free(t);
}

/* tile(eye(k), n/k): row i is class i mod k; n need not be a multiple of k */
static void test_onehot_tile(void)
{
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *c = snm_onehot_tile(t, 7, 3);
	snm_error e;
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->d[0], 7);
	CU_ASSERT_EQUAL(c->d[1], 3);
	for (int i = 0; i < 7; ++i)
		for (int j = 0; j < 3; ++j)
			CU_ASSERT_EQUAL(c->x[i * 3 + j], j == i % 3 ? 1.0f : 0.0f);
	CU_ASSERT_PTR_NULL(c->g);
	CU_ASSERT_PTR_NULL(snm_onehot_tile(t, 0, 3));
	CU_ASSERT_EQUAL(snm_tape_error(t, &e), SNM_EINVAL);
	snm_tape_free(t);
}

static snm_tensor *f_d_loss(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_adv_d_loss(t, in[0], in[1]);
}

static snm_tensor *f_g_loss(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	(void)ctx;
	return snm_adv_g_loss(t, in[0]);
}

/* a discriminator in front: logits = tanh(x W1^T) W2^T (smooth: central differences across a
 * ReLU kink would not match), both sides of d_loss and the generator loss through it */
static snm_tensor *f_disc(snm_tape *t, snm_tensor *const *in, void *ctx)
{
	snm_tensor *r = snm_linear(t, snm_tanh(t, snm_linear(t, in[0], in[2], NULL, 0)), in[3], NULL, 0);
	snm_tensor *f = snm_linear(t, snm_tanh(t, snm_linear(t, in[1], in[2], NULL, 0)), in[3], NULL, 0);
	(void)ctx;
	return snm_add(t, snm_adv_d_loss(t, r, f), snm_scale(t, snm_adv_g_loss(t, f), 0.5f));
}

static void test_adv_gradcheck(void)
{
	float r[6], f[4], x[12], y[8], w1[15], w2[5];
	gc_fill(r, 6, -3, 3, 81);
	gc_fill(f, 4, -3, 3, 82);
	gc_fill(x, 12, -1, 1, 83);
	gc_fill(y, 8, -1, 1, 84);
	gc_fill(w1, 15, -1, 1, 85);
	gc_fill(w2, 5, -1, 1, 86);
	gc_input rf[2] = { { 2, { 6, 1 }, r, 0 }, { 2, { 4, 1 }, f, 0 } };
	gc_input ff[1] = { { 2, { 4, 1 }, f, 0 } };
	gc_input net[4] = { { 2, { 4, 3 }, x, 0 }, { 2, { 4, 2 }, y, 0 }, { 2, { 5, 3 }, w1, 0 },
	                    { 2, { 1, 5 }, w2, 0 } };
	float y3[12];
	gc_fill(y3, 12, -1, 1, 87);
	net[1] = (gc_input){ 2, { 4, 3 }, y3, 0 };
	CU_ASSERT_EQUAL(gc_check("adv_d_loss", f_d_loss, NULL, 2, rf, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("adv_g_loss", f_g_loss, NULL, 1, ff, &all_elems), 0);
	CU_ASSERT_EQUAL(gc_check("discriminator losses through an MLP", f_disc, NULL, 4, net, &all_elems), 0);
}

/* ---- the updates of a step ------------------------------------------------------------------- */

/* A toy regularizer over a registry of a "model" m.w (2,3) and a "discriminator" vib.disc.w (1,2):
 * f = x m.w^T (4,2), D(f) = f disc.w^T (4,1).
 *   update "d" (vib.disc.):   d_loss(D(f_real), D(f)) -- f NOT detached: m.w gets a gradient too
 *   update "g" (main, -vib.disc): g_loss(D(f)) -- through the held D to m.w */
typedef struct toy {
	snm_update upd[2];
	int n;
	snm_tensor *w, *dw;
} toy;

static const float toy_x[12] = { 0.5f, -1, 2, 1, 0.25f, -0.5f, -2, 1, 0.75f, 0.3f, 0.2f, -0.1f };

static int toy_updates(void *state, const snm_update **out)
{
	toy *s = state;
	*out = s->upd;
	return s->n;
}

static int toy_objective_at(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                            gsl_rng *noise, const snm_progress *at, snm_objective *out, snm_error *err)
{
	toy *s = state;
	snm_tensor *x = snm_tape_const(t, 2, (int[]){ 4, 3 }, toy_x);
	snm_tensor *f = snm_linear(t, x, s->w, NULL, 0), *d = snm_linear(t, f, s->dw, NULL, 0);
	(void)model, (void)b, (void)noise, (void)err;
	memset(out, 0, sizeof *out);
	if (at->update == 0) {
		snm_tensor *real = snm_linear(t, snm_fill(t, 2, (int[]){ 4, 2 }, 1.0f), s->dw, NULL, 0);
		out->loss = snm_adv_d_loss(t, real, d);
	} else {
		out->loss = snm_adv_g_loss(t, d);
	}
	return out->loss ? SNM_OK : SNM_EINVAL;
}

static const snm_noise_vt toy_vt = { .size = sizeof toy_vt, .objective_at = toy_objective_at,
                                     .updates = toy_updates };

static snm_params *toy_params(toy *s)
{
	snm_params *p = snm_params_new(NULL);
	s->w = snm_params_add(p, "m.w", 2, (int[]){ 2, 3 }, SNM_T_PARAM, NULL);
	snm_params_add(p, "m.bn.mean", 1, (int[]){ 2 }, SNM_T_BUFFER, NULL);
	s->dw = snm_params_add(p, "vib.disc.w", 2, (int[]){ 1, 2 }, SNM_T_PARAM, NULL);
	for (int i = 0; i < 6; ++i)
		s->w->x[i] = 0.1f * (float)(i + 1) - 0.3f;
	s->dw->x[0] = 0.7f;
	s->dw->x[1] = -0.4f;
	s->upd[0] = (snm_update){ "d", "vib.disc.", 0 };
	s->upd[1] = (snm_update){ "g", "-vib.disc", 1 };
	s->n = 2;
	return p;
}

/* one update k of a step: objective, backward, that update's Adam; *touched = whether a gradient
 * reached m.w (before the step zeroed it) */
static int run_update(snm_steps *st, toy *s, snm_tape *t, int k, int *touched)
{
	snm_objective obj;
	snm_progress at = { sizeof at, 0, 1, 0, 1, 0 };
	snm_batch b = { 0 };
	snm_error e;
	int rc;
	snm_tape_reset(t);
	if ((rc = snm_steps_objective(st, k, NULL, t, &b, NULL, &at, &obj, &e)))
		return rc;
	if ((rc = snm_tape_backward(t, obj.loss, &e)))
		return rc;
	*touched = 0;
	for (int i = 0; i < 6; ++i)
		*touched |= s->w->g[i] != 0.0f;
	for (int i = 0; i < 6; ++i)        /* snm_steps_apply backpropagates again: start from zero */
		s->w->g[i] = 0;
	s->dw->g[0] = s->dw->g[1] = 0;
	return snm_steps_apply(st, k, t, obj.loss, 0.01, &e);
}

static void test_steps_hold(void)
{
	toy s;
	snm_params *p = toy_params(&s);
	snm_error e;
	snm_steps *st = snm_steps_new(&toy_vt, &s, "noise 'toy'", p, 0.9, 0.999, 1e-8, &e);
	snm_tape *t = snm_tape_new(0, NULL);
	float w0[6], d0[2], w1[6], m_d[2], v_d[2];
	int touched = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(snm_steps_count(st), 2);
	CU_ASSERT_EQUAL(snm_steps_main(st), 1);
	CU_ASSERT_STRING_EQUAL(snm_steps_name(st, 0), "d");
	/* each Adam state holds its selection alone */
	CU_ASSERT_EQUAL(snm_params_count(snm_adam_m(snm_steps_adam(st, 0))), 1);
	CU_ASSERT_PTR_NOT_NULL(snm_params_find(snm_adam_m(snm_steps_adam(st, 0)), "vib.disc.w"));
	CU_ASSERT_EQUAL(snm_params_count(snm_adam_m(snm_steps_adam(st, 1))), 1);
	CU_ASSERT_PTR_NOT_NULL(snm_params_find(snm_adam_v(snm_steps_adam(st, 1)), "m.w"));
	memcpy(w0, s.w->x, sizeof w0);
	memcpy(d0, s.dw->x, sizeof d0);
	/* the discriminator's update: m.w receives a gradient, yet only the discriminator moves */
	CU_ASSERT_EQUAL_FATAL(run_update(st, &s, t, 0, &touched), SNM_OK);
	CU_ASSERT(touched);
	CU_ASSERT_EQUAL(memcmp(w0, s.w->x, sizeof w0), 0);
	CU_ASSERT(d0[0] != s.dw->x[0] && d0[1] != s.dw->x[1]);
	CU_ASSERT_EQUAL(snm_adam_steps(snm_steps_adam(st, 0)), 1);
	CU_ASSERT_EQUAL(snm_adam_steps(snm_steps_adam(st, 1)), 0);
	for (int i = 0; i < 6; ++i)         /* gradients are zeroed after the update */
		CU_ASSERT_EQUAL(s.w->g[i], 0.0f);
	/* the generator's update through the held discriminator: m.w moves, D and its moments do not */
	memcpy(d0, s.dw->x, sizeof d0);
	memcpy(m_d, snm_params_at(snm_adam_m(snm_steps_adam(st, 0)), 0)->x, sizeof m_d);
	memcpy(v_d, snm_params_at(snm_adam_v(snm_steps_adam(st, 0)), 0)->x, sizeof v_d);
	CU_ASSERT_EQUAL_FATAL(run_update(st, &s, t, 1, &touched), SNM_OK);
	CU_ASSERT(touched);
	memcpy(w1, s.w->x, sizeof w1);
	CU_ASSERT(memcmp(w0, w1, sizeof w0) != 0);
	CU_ASSERT_EQUAL(memcmp(d0, s.dw->x, sizeof d0), 0);
	CU_ASSERT_EQUAL(memcmp(m_d, snm_params_at(snm_adam_m(snm_steps_adam(st, 0)), 0)->x, sizeof m_d), 0);
	CU_ASSERT_EQUAL(memcmp(v_d, snm_params_at(snm_adam_v(snm_steps_adam(st, 0)), 0)->x, sizeof v_d), 0);
	CU_ASSERT_EQUAL(snm_adam_steps(snm_steps_adam(st, 0)), 1);
	CU_ASSERT_EQUAL(snm_adam_steps(snm_steps_adam(st, 1)), 1);
	/* the first Adam step moves every selected element by about lr whatever its gradient */
	for (int i = 0; i < 6; ++i)
		SNM_ASSERT_CLOSE(fabs(w1[i] - w0[i]), 0.01, 1e-4, 0);
	snm_tape_free(t);
	snm_steps_free(st);
	snm_params_free(p);
}

/* A regularizer without updates: one update over everything, the run's Adam. */
static void test_steps_default(void)
{
	toy s;
	snm_params *p = toy_params(&s);
	snm_noise_vt old = toy_vt;
	snm_error e;
	snm_steps *st;
	old.size = offsetof(snm_noise_vt, updates);          /* an ABI 1.2 vtable */
	st = snm_steps_new(&old, &s, "noise 'toy'", p, 0.9, 0.999, 1e-8, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(snm_steps_count(st), 1);
	CU_ASSERT_EQUAL(snm_steps_main(st), 0);
	CU_ASSERT_PTR_NULL(snm_steps_name(st, 0));
	CU_ASSERT_EQUAL(snm_params_count(snm_adam_m(snm_steps_adam(st, 0))), 2);
	snm_steps_free(st);
	snm_params_free(p);
}

/* Plans that break a rule: one line naming the plugin and the update. */
static void test_steps_refused(void)
{
	static const struct { snm_update u[2]; const char *says; } bad[] = {
		{ { { "d", "vib.disc.", 1 }, { "g", "-vib.disc", 1 } }, "2 updates are main" },
		{ { { "d", "vib.disc.", 0 }, { "g", "-vib.disc", 0 } }, "0 updates are main" },
		{ { { "g", "vib.disc.", 0 }, { "g", "-vib.disc", 1 } }, "both named 'g'" },
		{ { { "D c", "vib.disc.", 0 }, { "g", "-vib.disc", 1 } }, "update 1: its name 'D c'" },
		{ { { "d", "vib.nothing.", 0 }, { "g", "-vib.disc", 1 } }, "holds no trainable parameter" },
		{ { { "d", "vib.disc. -vib.disc.w", 0 }, { "g", "", 1 } }, "update 1 ('d')" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
		toy s;
		snm_params *p = toy_params(&s);
		snm_error e;
		snm_steps *st;
		memcpy(s.upd, bad[i].u, sizeof s.upd);
		st = snm_steps_new(&toy_vt, &s, "noise 'toy'", p, 0.9, 0.999, 1e-8, &e);
		CU_ASSERT_PTR_NULL(st);
		CU_ASSERT_EQUAL(e.code, SNM_EPLUGIN);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "noise 'toy'"));
		if (strstr(e.msg, bad[i].says) == NULL)
			fprintf(stderr, "plan %zu: '%s' lacks '%s'\n", i, e.msg, bad[i].says);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i].says));
		snm_steps_free(st);
		snm_params_free(p);
	}
}

/* ---- the plugins: every update's objective against the same terms built here by hand ----------- */

enum { B = 6, KC = 3 };

typedef struct pfix {
	snm_test_pair p;          /* vibnet and the regularizer */
	float x[B * 28 * 28], xu[B * 28 * 28], mean[28 * 28];
	int32_t y[B];
	int side;
} pfix;

/* vibnet from model_yaml and noise `noise` from noise_yaml, on (1, side, side) inputs of KC classes */
static int pfix_new(pfix *f, const char *noise, const char *model_yaml, const char *noise_yaml, int side)
{
	snm_data_info in = { 3, { 1, side, side }, KC, { 100, 10, 10 } };
	memset(f, 0, sizeof *f);
	if (snm_test_pair_new(&f->p, "vibnet", model_yaml, noise, noise_yaml, &in, 5) != 0)
		return -1;
	if (f->p.rc != SNM_OK) {
		fprintf(stderr, "test_vib: create: %s\n", f->p.err.msg);
		return -1;
	}
	f->side = side;
	gc_fill(f->x, (size_t)B * side * side, -0.4, 0.6, 91);
	gc_fill(f->xu, (size_t)B * side * side, -0.4, 0.6, 92);
	gc_fill(f->mean, (size_t)side * side, 0.2, 0.4, 93);
	for (int i = 0; i < B; ++i)
		f->y[i] = i % KC;
	return 0;
}

static void pfix_free(pfix *f)
{
	snm_test_pair_free(&f->p);
}

/* The start of a plugin test: pfix_new, whose failure fails the test (CU_FAIL, the fixture freed,
 * -1 returned); then, where up is not NULL, the regularizer's update list *up, which must hold
 * n_up updates (fatal). */
static int pfix_start(pfix *f, const char *noise, const char *model_yaml, const char *noise_yaml,
                      int side, int n_up, const snm_update **up)
{
	if (pfix_new(f, noise, model_yaml, noise_yaml, side) != 0) {
		CU_FAIL("fixture");
		pfix_free(f);
		return -1;
	}
	if (up != NULL)
		CU_ASSERT_EQUAL_FATAL(snm_noise_updates(f->p.nvt)(f->p.ns, up), n_up);
	return 0;
}

static snm_batch pfix_batch(pfix *f, snm_tape *t)
{
	int d[4] = { B, 1, f->side, f->side };
	snm_batch b = { snm_tape_const(t, 4, d, f->x), f->y, snm_tape_const(t, 4, d, f->xu), f->mean };
	return b;
}

/* update k's objective on a fresh tape, noise stream seeded 3 */
static int pfix_objective(pfix *f, snm_tape *t, int k, snm_objective *o)
{
	snm_progress at = { sizeof at, 0, 1, 0, 1, k };
	gsl_rng *noise = snm_rng_new(3, NULL);
	snm_batch b;
	snm_error e;
	int rc;
	snm_tape_reset(t);
	b = pfix_batch(f, t);
	rc = snm_noise_objective(f->p.nvt, f->p.ns, &f->p.model, t, &b, noise, &at, o, &e);
	if (rc)
		fprintf(stderr, "test_vib: objective %d: %s\n", k, e.msg);
	gsl_rng_free(noise);
	return rc;
}

/* the discriminator MLP <prefix>.f1..f3 of the registry on x */
static snm_tensor *mlp(snm_tape *t, const snm_params *p, const char *prefix, snm_tensor *x)
{
	char w[48], b[48];
	for (int i = 1; i <= 3 && x != NULL; ++i) {
		snprintf(w, sizeof w, "%s.f%d.w", prefix, i);
		snprintf(b, sizeof b, "%s.f%d.b", prefix, i);
		x = snm_linear(t, x, snm_params_find(p, w), snm_params_find(p, b), 0);
		if (i < 3)
			x = snm_relu(t, x);
	}
	return x;
}

static double term(const snm_objective *o, const char *name)
{
	for (int i = 0; i < o->n_terms; ++i)
		if (strcmp(o->term_names[i], name) == 0)
			return o->terms[i]->x[0];
	return NAN;
}

/* vib_hcp with D_a and D_c: three updates d_a, d_c, cls (main), their selections, and each
 * objective's value against the same losses assembled here from the registry's networks:
 * d_c = d_loss(D_c(onehot tile), D_c(softmax(c(x_u)))); cls = CE + alpha_a g(D_a(a(x_u))) +
 * alpha_c g(D_c(softmax(c(x_u)))); d_a's real side is random (its N(0, I) draw): checked to be a
 * d_loss of the right fake side by recomputing it with the same noise stream. */
static void test_hcp_terms(void)
{
	pfix f;
	snm_objective o;
	const snm_update *up = NULL;
	snm_batch b;
	if (pfix_start(&f, "vib_hcp", "{latent: linear, a_dim: 12, hidden: 7}",
	               "{alpha_c: 0.25, alpha_a: 0.5}", 8, 3, &up) != 0)
		return;
	const snm_model_vt *m = f.p.model.vt;
	snm_tape *t = snm_tape_new(0, NULL), *u = snm_tape_new(0, NULL);
	CU_ASSERT_STRING_EQUAL(up[0].name, "d_a");
	CU_ASSERT_STRING_EQUAL(up[1].name, "d_c");
	CU_ASSERT_STRING_EQUAL(up[2].name, "cls");
	CU_ASSERT(up[2].main && !up[0].main && !up[1].main);
	snm_tape_set_hold_stats(u, 1);
	/* d_a */
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 0, &o), SNM_OK);
	{
		gsl_rng *noise = snm_rng_new(3, NULL);
		snm_tensor *a, *real, *ref;
		b = pfix_batch(&f, u);
		a = m->encode(f.p.model.state, u, b.xu, NULL, NULL, NULL);
		real = snm_randn(u, 2, (int[]){ B, 12 }, 1.0f, noise);
		ref = snm_adv_d_loss(u, mlp(u, f.p.params, "vib.disc_a", real), mlp(u, f.p.params, "vib.disc_a", a));
		CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
		SNM_ASSERT_CLOSE(o.loss->x[0], ref->x[0], 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(term(&o, "d_a"), ref->x[0], 1e-6, 1e-5);
		gsl_rng_free(noise);
	}
	/* d_c */
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 1, &o), SNM_OK);
	snm_tape_reset(u);
	b = pfix_batch(&f, u);
	{
		snm_tensor *c = snm_softmax(u, m->classify(f.p.model.state, u, m->encode(f.p.model.state, u, b.xu, NULL, NULL, NULL)));
		snm_tensor *ref = snm_adv_d_loss(u, mlp(u, f.p.params, "vib.disc_c", snm_onehot_tile(u, B, KC)),
		                                 mlp(u, f.p.params, "vib.disc_c", c));
		CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
		SNM_ASSERT_CLOSE(o.loss->x[0], ref->x[0], 1e-6, 1e-5);
	}
	/* cls */
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 2, &o), SNM_OK);
	snm_tape_reset(u);
	b = pfix_batch(&f, u);
	{
		snm_tensor *ce = snm_softmax_ce(u, m->classify(f.p.model.state, u, m->encode(f.p.model.state, u, b.x, NULL, NULL, NULL)), f.y);
		snm_tensor *a = m->encode(f.p.model.state, u, b.xu, NULL, NULL, NULL);
		snm_tensor *ga = snm_adv_g_loss(u, mlp(u, f.p.params, "vib.disc_a", a));
		snm_tensor *gc = snm_adv_g_loss(u, mlp(u, f.p.params, "vib.disc_c",
		                                       snm_softmax(u, m->classify(f.p.model.state, u, a))));
		CU_ASSERT_PTR_NOT_NULL_FATAL(gc);
		SNM_ASSERT_CLOSE(term(&o, "ce"), ce->x[0], 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(term(&o, "g_a"), ga->x[0], 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(term(&o, "g_c"), gc->x[0], 1e-6, 1e-5);
		SNM_ASSERT_CLOSE(o.loss->x[0], ce->x[0] + 0.5 * ga->x[0] + 0.25 * gc->x[0], 1e-6, 1e-5);
	}
	snm_tape_free(t);
	snm_tape_free(u);
	pfix_free(&f);
}

/* [S]: label_noise replaces labelled rows by fixed noisy versions: with the same noise stream the
 * same versions (the cross-entropy, a function of the inputs alone, is bitwise the same), and not
 * the clean batch (the cross-entropy of the same network without label_noise differs: its salt is
 * drawn after every parameter, so the two networks are the same). */
static void test_hcp_copies(void)
{
	pfix f;
	snm_objective o;
	double ce1, ce2, ce0;
	if (pfix_start(&f, "vib_hcp", "{a_dim: 12, hidden: 7}",
	               "{alpha_c: 0, alpha_a: 0, label_noise: 0.3}", 8, 0, NULL) != 0)
		return;
	snm_tape *t = snm_tape_new(0, NULL);
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 0, &o), SNM_OK);
	ce1 = o.loss->x[0];
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 0, &o), SNM_OK);
	ce2 = o.loss->x[0];
	CU_ASSERT_EQUAL(ce1, ce2);
	pfix_free(&f);
	CU_ASSERT_EQUAL_FATAL(pfix_new(&f, "vib_hcp", "{a_dim: 12, hidden: 7}", "{alpha_c: 0, alpha_a: 0}", 8), 0);
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 0, &o), SNM_OK);
	ce0 = o.loss->x[0];
	CU_ASSERT(ce0 != ce1);                 /* some row is a noisy copy (6 rows, 3 in 4 each) */
	pfix_free(&f);
	snm_tape_free(t);
}

/* vib_lp with D_x on (1, 28, 28): six updates in the seed's order with their selections, and the
 * terms that need no random draw against hand-built ones: d_c, adv (g_z + g_c), cls (CE); ae's
 * loss is beta_x mse + alpha_x g_x of its own terms. */
static void test_lp_terms(void)
{
	static const char *const names[6] = { "d_x", "ae", "d_z", "d_c", "adv", "cls" };
	pfix f;
	snm_objective o;
	const snm_update *up = NULL;
	snm_batch b;
	if (pfix_start(&f, "vib_lp", "{classifier: linear, batchnorm: true, a_dim: 16}",
	               "{dx: true, alpha_x: 0.5, alpha_c: 0.75, alpha_z: 1.5, beta_x: 2}", 28, 6,
	               &up) != 0)
		return;
	const snm_model_vt *m = f.p.model.vt;
	snm_tape *t = snm_tape_new(0, NULL), *u = snm_tape_new(0, NULL);
	for (int k = 0; k < 6; ++k)
		CU_ASSERT_STRING_EQUAL(up[k].name, names[k]);
	CU_ASSERT(up[5].main);
	CU_ASSERT_STRING_EQUAL(up[1].params, "-vib.disc");
	CU_ASSERT_STRING_EQUAL(up[4].params, "-vib.disc -vib.dec.");
	CU_ASSERT_STRING_EQUAL(up[5].params, "-vib.");
	/* d_x then ae: ae reuses d_x's z_p; its mse is checked by hand */
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 0, &o), SNM_OK);
	CU_ASSERT(isfinite(term(&o, "d_x")));
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 1, &o), SNM_OK);
	CU_ASSERT(isfinite(term(&o, "mse")) && isfinite(term(&o, "g_x")));
	SNM_ASSERT_CLOSE(o.loss->x[0], 2 * term(&o, "mse") + 0.5 * term(&o, "g_x"), 1e-6, 1e-5);
	/* the decoder's output and x_u + mean are in (0, 1): so is their mean squared difference */
	CU_ASSERT(term(&o, "mse") > 0 && term(&o, "mse") < 1);
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 3, &o), SNM_OK);
	snm_tape_set_hold_stats(u, 1);
	b = pfix_batch(&f, u);
	{
		snm_tensor *c = snm_softmax(u, m->classify(f.p.model.state, u, m->encode(f.p.model.state, u, b.xu, NULL, NULL, NULL)));
		snm_tensor *ref = snm_adv_d_loss(u, mlp(u, f.p.params, "vib.disc_c", snm_onehot_tile(u, B, KC)),
		                                 mlp(u, f.p.params, "vib.disc_c", c));
		CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
		SNM_ASSERT_CLOSE(term(&o, "d_c"), ref->x[0], 1e-6, 1e-5);
	}
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 4, &o), SNM_OK);
	snm_tape_reset(u);
	b = pfix_batch(&f, u);
	{
		snm_tensor *a = m->encode(f.p.model.state, u, b.xu, NULL, NULL, NULL);
		snm_tensor *z = snm_linear(u, a, snm_params_find(f.p.params, "vib.zhead.w"),
		                           snm_params_find(f.p.params, "vib.zhead.b"), 0);
		snm_tensor *gz = snm_adv_g_loss(u, mlp(u, f.p.params, "vib.disc_z", z));
		snm_tensor *gc = snm_adv_g_loss(u, mlp(u, f.p.params, "vib.disc_c",
		                                       snm_softmax(u, m->classify(f.p.model.state, u, a))));
		CU_ASSERT_PTR_NOT_NULL_FATAL(gc);
		SNM_ASSERT_CLOSE(o.loss->x[0], 1.5 * gz->x[0] + 0.75 * gc->x[0], 1e-6, 1e-5);
	}
	CU_ASSERT_EQUAL_FATAL(pfix_objective(&f, t, 5, &o), SNM_OK);
	snm_tape_reset(u);
	b = pfix_batch(&f, u);
	{
		snm_tensor *ce = snm_softmax_ce(u, m->classify(f.p.model.state, u, m->encode(f.p.model.state, u, b.x, NULL, NULL, NULL)), f.y);
		SNM_ASSERT_CLOSE(o.loss->x[0], ce->x[0], 1e-6, 1e-5);
	}
	snm_tape_free(t);
	snm_tape_free(u);
	pfix_free(&f);
}

static CU_TestInfo plugin_tests[] = {
	{ "hcp_terms", test_hcp_terms },
	{ "hcp_stochastic_copies", test_hcp_copies },
	{ "lp_terms", test_lp_terms },
	CU_TEST_INFO_NULL
};

static CU_TestInfo loss_tests[] = {
	{ "adv_values", test_adv_values },
	{ "onehot_tile", test_onehot_tile },
	{ "adv_gradcheck", test_adv_gradcheck },
	CU_TEST_INFO_NULL
};

static CU_TestInfo step_tests[] = {
	{ "discriminator_moves_alone_and_held_discriminator_stays", test_steps_hold },
	{ "no_updates_is_one_update", test_steps_default },
	{ "plans_refused", test_steps_refused },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "adversarial_losses", NULL, NULL, NULL, NULL, loss_tests },
	{ "updates", NULL, NULL, NULL, NULL, step_tests },
	{ "plugins", NULL, NULL, NULL, NULL, plugin_tests },
	CU_SUITE_INFO_NULL
};

int main(void) { return snm_test_run("test_vib", suites); }
