/* vib.h: what the `vib_hcp` and `vib_lp` noise plugins share -- private to plugins/noise (static
 * functions: each plugin compiles its own copy, nothing is exported).
 *
 *   vib_mlp      a discriminator of the seed's tables A2, A5, A8, A11: FC-500-ReLU, FC-500-ReLU,
 *                FC-1 (the logit; the sigmoid is inside the loss, snm_adv_d_loss / _g_loss),
 *                weights glorot_uniform and biases zero as Keras makes them, registered as
 *                <prefix>.f1.w (500,I), .f1.b, .f2.w (500,500), .f2.b, .f3.w (1,500), .f3.b
 *   vib_no_grad  a forward pass whose result is a constant: gradients off and batch-norm running
 *                statistics held (the seed's fakes for a discriminator's step, made by Keras's
 *                predict, which neither trains nor moves the statistics)
 *   vib_weighted loss = sum_i w_i term_i, reported term by term
 *   vib_copies   the seed's "stochastic encoder" [S]: the labelled set with `copies` fixed noisy
 *                copies of every example beside it (x + sd e, clipped to [0, 1], drawn once --
 *                notes/seed-003-vib.md 1.6); a labelled row is replaced by one of its copies + 1
 *                versions (0: the clean one), chosen from the noise stream.  A copy's noise is a
 *                fixed function of the example (its pixels), the copy's number and a salt drawn
 *                from the init stream at create: the same at every step and across a resume
 *                without any state, as the Keras code's copies made once at load time
 * Parameter names: every parameter of a regularizer here starts with "vib."; the discriminators'
 * with "vib.disc" (vib.disc_c., vib.disc_a., vib.disc_z., vib.disc_x.), so that an update's
 * selection "-vib.disc" holds them all (snm/plugin.h, snm_update). */
#ifndef SNM_PLUGINS_NOISE_VIB_H
#define SNM_PLUGINS_NOISE_VIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "snm/plugin.h"
#include "snm/regularize.h"

#define VIB_HIDDEN 500

typedef struct vib_mlp {
	snm_tensor *w[3], *b[3];
} vib_mlp;

/* Keras's glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)). */
static void vib_glorot(snm_tensor *w, gsl_rng *init, int fan_in, int fan_out)
{
	double l = sqrt(6.0 / (fan_in + fan_out));
	snm_init_uniform(w, init, -l, l);
}

static int vib_mlp_make(vib_mlp *d, snm_params *p, const char *prefix, int in, gsl_rng *init,
                        snm_error *err)
{
	const int fan[4] = { in, VIB_HIDDEN, VIB_HIDDEN, 1 };
	char name[48];
	for (int i = 0; i < 3; ++i) {
		snprintf(name, sizeof name, "%s.f%d.w", prefix, i + 1);
		if ((d->w[i] = snm_params_add(p, name, 2, (int[]){ fan[i + 1], fan[i] }, SNM_T_PARAM, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
		vib_glorot(d->w[i], init, fan[i], fan[i + 1]);
		snprintf(name, sizeof name, "%s.f%d.b", prefix, i + 1);
		if ((d->b[i] = snm_params_add(p, name, 1, (int[]){ fan[i + 1] }, SNM_T_PARAM, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
	}
	return SNM_OK;
}

/* The widths of the latent a and of the logits, from the model's parameters in the registry
 * (a regularizer is not told the data's shape): vibnet's enc.a.b and cls.b.  SNM_ECONFIG naming
 * who for another model. */
static int vib_widths(const snm_params *p, const char *who, int *A, int *K, snm_error *err)
{
	const snm_tensor *a = snm_params_find(p, "enc.a.b"), *c = snm_params_find(p, "cls.b");
	if (a == NULL || c == NULL)
		return SNM_FAIL(err, SNM_ECONFIG, "%s needs model 'vibnet' (the seed's encoder and classifier)",
		                who);
	*A = (int)snm_tensor_len(a);
	*K = (int)snm_tensor_len(c);
	return SNM_OK;
}

/* x (N, I) -> logits (N, 1) */
static snm_tensor *vib_mlp_logits(snm_tape *t, const vib_mlp *d, snm_tensor *x)
{
	snm_tensor *h = snm_relu(t, snm_linear(t, x, d->w[0], d->b[0], 0));
	h = snm_relu(t, snm_linear(t, h, d->w[1], d->b[1], 0));
	return snm_linear(t, h, d->w[2], d->b[2], 0);
}

/* Gradients off and statistics held (returns the previous settings in *old, two ints); then
 * vib_no_grad_end(t, old) restores them. */
static void vib_no_grad_begin(snm_tape *t, int *old)
{
	old[0] = snm_tape_set_grad(t, 0);
	old[1] = snm_tape_set_hold_stats(t, 1);
}

static void vib_no_grad_end(snm_tape *t, const int *old)
{
	snm_tape_set_grad(t, old[0]);
	snm_tape_set_hold_stats(t, old[1]);
}

/* out->loss = sum_i w[i] term[i] (terms with w[i] == 0 left out), every term reported by name. */
static void vib_weighted(snm_tape *t, snm_objective *out, int n, const char *const *names,
                         snm_tensor *const *terms, const float *w)
{
	snm_tensor *loss = NULL;
	for (int i = 0; i < n; ++i) {
		snm_tensor *s;
		if (w[i] == 0.0f)
			continue;
		snm_objective_add(out, names[i], terms[i]);
		s = w[i] == 1.0f ? terms[i] : snm_scale(t, terms[i], w[i]);
		loss = loss == NULL ? s : snm_add(t, loss, s);
	}
	out->loss = loss;
}

typedef struct vib_copies {
	double sd;               /* 0: the deterministic encoder [D], nothing done */
	int copies;
	uint32_t salt;
	gsl_rng *r;              /* reseeded for every copy made: it carries nothing across calls */
} vib_copies;

/* Reads label_noise and label_copies; draws the salt from init (after every parameter, so the
 * deterministic runs draw exactly as without the option). */
static int vib_copies_make(vib_copies *c, const snm_cfg *opts, const snm_option *table, gsl_rng *init,
                           snm_error *err)
{
	long n;
	int rc;
	memset(c, 0, sizeof *c);
	if ((rc = snm_cfg_opt_double(opts, table, "label_noise", &c->sd, err))
	    || (rc = snm_cfg_opt_int(opts, table, "label_copies", &n, err)))
		return rc;
	c->copies = (int)n;
	if (c->sd <= 0)
		return SNM_OK;
	c->salt = (uint32_t)gsl_rng_get(init);
	if ((c->r = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	return SNM_OK;
}

static void vib_copies_free(vib_copies *c)
{
	if (c->r != NULL)
		gsl_rng_free(c->r);
}

/* FNV-1a of a row's bytes, the salt and the copy's number */
static uint32_t vib_row_hash(const float *x, size_t n, uint32_t salt, int copy)
{
	const unsigned char *p = (const unsigned char *)x;
	uint32_t h = 2166136261u ^ salt;
	for (size_t i = 0; i < n * sizeof *x; ++i)
		h = (h ^ p[i]) * 16777619u;
	return (h ^ (uint32_t)copy) * 16777619u;
}

/* The labelled inputs as the step trains on them: b->x itself for [D]; for [S] a constant whose
 * row i is example i's version v_i ~ U{0..copies} (noise stream, one draw per row): v = 0 the
 * clean row, else ((x + mean) + sd e clipped to [0, 1]) - mean with e ~ N(0, I) from the
 * generator seeded by the row's hash. */
static snm_tensor *vib_labelled(snm_tape *t, const vib_copies *c, const snm_batch *b, gsl_rng *noise)
{
	snm_tensor *x;
	size_t dim;
	if (c->sd <= 0 || b->x == NULL)
		return b->x;
	if ((x = snm_tape_const(t, b->x->n_d, b->x->d, b->x->x)) == NULL)
		return NULL;
	dim = snm_tensor_cols(x);
	for (int i = 0; i < x->d[0]; ++i) {
		int v = (int)gsl_rng_uniform_int(noise, (unsigned long)c->copies + 1);
		float *row = x->x + (size_t)i * dim;
		if (v == 0)
			continue;
		gsl_rng_set(c->r, vib_row_hash(b->x->x + (size_t)i * dim, dim, c->salt, v));
		for (size_t j = 0; j < dim; ++j) {
			float m = b->mean != NULL ? b->mean[j] : 0.0f;
			float u = row[j] + m + (float)(c->sd * gsl_ran_gaussian(c->r, 1.0));
			row[j] = (u < 0.0f ? 0.0f : u > 1.0f ? 1.0f : u) - m;
		}
	}
	return x;
}

#define VIB_COPIES_OPTIONS \
	{ "label_noise", SNM_OPT_DOUBLE, "0", NULL, \
	  "the seed's stochastic encoder [S]: std of the fixed noisy copies of the labelled set " \
	  "(0.1 in its captions; 0: the deterministic encoder [D])", "[0, inf)" }, \
	{ "label_copies", SNM_OPT_INT, "3", NULL, "[S]: noisy copies of each labelled example", \
	  "[1, 100]" }

#endif
