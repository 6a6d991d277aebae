/* none.c: the `none` noise plugin -- the plain feed-forward objective, no regularizer (the
 * paper's "feed-forward model", Eq. 10, Figure 2(a)):
 *
 *     loss = softmax_ce(classify(encode(x)), t) = -(1/N) sum_n log softmax(y_n)[t_n]
 *
 * One term, "ce".  No options, no parameters, no randomness. */
#include "snm/plugin.h"

static const snm_option options[] = {
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	(void)model, (void)params, (void)init;
	*state = NULL;
	return snm_cfg_check(opts, options, "noise 'none'", err);
}

static void destroy(void *state)
{
	(void)state;
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const snm_model_vt *m = model->vt;
	snm_tensor *z, *y, *ce;
	(void)state, (void)noise;
	z = m->encode(model->state, t, b->x, NULL, NULL, NULL);
	y = m->classify(model->state, t, z);
	ce = snm_softmax_ce(t, y, b->labels);
	if (ce == NULL) {
		int rc = snm_tape_error(t, err);
		return rc != 0 ? rc
		               : SNM_FAIL(err, SNM_EINVAL, "noise 'none': the model returned no output");
	}
	out->loss = ce;
	out->n_terms = 1;
	out->term_names[0] = "ce";
	out->terms[0] = ce;
	return 0;
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "none", "1.0.0",
                  "feed-forward baseline: softmax cross-entropy only (Eq. 10)", &vt, options);
