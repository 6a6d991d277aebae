/* recon.c: the `recon` noise plugin -- joint learning with reconstruction losses through the
 * model's tied decoders.  With y = classify(z), z = encode(x) (recording h_1..h_L),
 * x_R = decode_z(z) (exposing h_1R..h_LR), z_R = decode_y(y), CE = softmax_ce(y, t) and
 * sqerr(a, b) = (1/N) sum (a - b)^2 (PyTorch mse_loss(reduction='sum') / N):
 *
 *   targets: x    recon-one (Eq. 11):      CE + w sqerr(x_R, x)
 *   targets: all  recon-all (Eq. 12):      CE + w (sqerr(x_R, x) + sum_j sqerr(h_jR, h_j))
 *   targets: xz   proposed-base (Eq. 6):   CE + w (sqerr(x_R, x) + sqerr(z_R, z))
 *
 * w is option `weight` (default 0.03, the paper's lambda for MNIST; 0.01 for CIFAR-10).  Eq. 12
 * allows one lambda per layer; the paper uses one value for all, and so does this plugin.
 * Gradients flow into both sides of every reconstruction error (h_j, z included), as in
 * peers/torch_ref.py: nothing is detached.
 *
 * Terms (each UNweighted): "ce", "recon_x", and "recon_h" (targets all: the sum over j) or
 * "recon_z" (targets xz).  No parameters, no randomness. */
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"

enum { TARGET_X = 0, TARGET_ALL, TARGET_XZ };

typedef struct recon {
	int targets;              /* TARGET_* */
	float weight;
	int n_hidden;
	snm_tensor **h, **hr;     /* n_hidden slots each, reused every batch */
} recon;

static const snm_option options[] = {
	{ "targets", SNM_OPT_CHOICE, "x", "x|all|xz",
	  "x: recon-one (Eq. 11), all: recon-all (Eq. 12), xz: proposed-base (Eq. 6)", NULL },
	{ "weight", SNM_OPT_DOUBLE, "0.03", NULL, "lambda, the weight of the reconstruction errors",
	  "[0, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	recon *r = state;
	if (r == NULL)
		return;
	free(r->h);
	free(r->hr);
	free(r);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const char *targets;
	double weight;
	recon *r;
	int rc;
	(void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, "noise 'recon'", err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "targets", &targets, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "weight", &weight, err)) != 0)
		return rc;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'recon'");
	r->targets = !strcmp(targets, "all") ? TARGET_ALL
	           : !strcmp(targets, "xz")  ? TARGET_XZ : TARGET_X;
	r->weight = (float)weight;
	r->n_hidden = model->vt->n_hidden(model->state);
	if (r->targets == TARGET_ALL && r->n_hidden < 1) {
		destroy(r);
		return SNM_FAIL(err, SNM_ECONFIG, "noise 'recon': targets 'all' needs a model with hidden "
		                "layers (this one has none)");
	}
	if (r->n_hidden > 0 && ((r->h = calloc((size_t)r->n_hidden, sizeof *r->h)) == NULL
	                        || (r->hr = calloc((size_t)r->n_hidden, sizeof *r->hr)) == NULL)) {
		destroy(r);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'recon'");
	}
	*state = r;
	return 0;
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	recon *r = state;
	const snm_model_vt *m = model->vt;
	int all = r->targets == TARGET_ALL, rc;
	snm_tensor *z, *y, *ce, *rx, *extra = NULL, *loss;
	(void)noise;
	for (int j = 0; j < r->n_hidden; ++j)
		r->h[j] = r->hr[j] = NULL;
	z = m->encode(model->state, t, b->x, NULL, NULL, all ? r->h : NULL);
	y = m->classify(model->state, t, z);
	ce = snm_softmax_ce(t, y, b->labels);
	rx = snm_sqerr(t, m->decode_z(model->state, t, z, all ? r->hr : NULL), b->x);
	if (all) {
		extra = snm_sqerr(t, r->hr[0], r->h[0]);
		for (int j = 1; j < r->n_hidden; ++j)
			extra = snm_add(t, extra, snm_sqerr(t, r->hr[j], r->h[j]));
	} else if (r->targets == TARGET_XZ) {
		extra = snm_sqerr(t, m->decode_y(model->state, t, y), z);
	}
	loss = snm_add(t, ce, snm_scale(t, extra ? snm_add(t, rx, extra) : rx, r->weight));
	if (loss == NULL) {
		rc = snm_tape_error(t, err);
		return rc != 0 ? rc
		               : SNM_FAIL(err, SNM_EINVAL, "noise 'recon': the model returned no output");
	}
	out->loss = loss;
	out->n_terms = 2;
	out->term_names[0] = "ce";
	out->terms[0] = ce;
	out->term_names[1] = "recon_x";
	out->terms[1] = rx;
	if (extra != NULL) {
		out->term_names[2] = all ? "recon_h" : "recon_z";
		out->terms[2] = extra;
		out->n_terms = 3;
	}
	return 0;
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "recon", "1.0.0",
                  "reconstruction through tied decoders: recon-one, recon-all, proposed-base "
                  "(Eqs. 11, 12, 6)", &vt, options);
