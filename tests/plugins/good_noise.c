/* good_noise.c: a minimal valid regularizer used by the loader tests: the plain cross-entropy. */
#include "snm/plugin.h"

static int tn_create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                     void **state, snm_error *err)
{
	(void)opts; (void)model; (void)params; (void)init; (void)err;
	*state = NULL;
	return SNM_OK;
}

static void tn_destroy(void *state) { (void)state; }

static int tn_objective(void *state, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                        snm_objective *out, snm_error *err)
{
	(void)state; (void)noise;
	snm_tensor *y = m->vt->classify(m->state, t, m->vt->encode(m->state, t, b->x, NULL, NULL, NULL));
	out->loss = snm_softmax_ce(t, y, b->labels);
	out->n_terms = 1;
	out->term_names[0] = "ce";
	out->terms[0] = out->loss;
	return out->loss ? SNM_OK : snm_tape_error(t, err);
}

static const snm_option tn_options[] = {
	{ "strength", SNM_OPT_DOUBLE, "0.5", NULL, "an option for the listing test", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const snm_noise_vt tn_vt = { sizeof tn_vt, tn_create, tn_destroy, tn_objective, NULL,
                                    NULL, NULL, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "testnoise", "0.0.1", "loader test plugin", &tn_vt, tn_options);
