/* nan_noise.c: a regularizer whose loss turns non-finite at its `after`-th call (counting from 0),
 * to test that the trainer stops with SNM_ENUMERIC and keeps the last good checkpoint. */
#include <math.h>
#include <stdlib.h>
#include "snm/plugin.h"

static const snm_option nan_options[] = {
	{ "after", SNM_OPT_INT, "1", NULL, "objective calls before the loss becomes NaN", "[0, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

typedef struct nan_state { long after, calls; } nan_state;

static int nan_create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                      void **state, snm_error *err)
{
	nan_state *s = calloc(1, sizeof *s);
	(void)model; (void)params; (void)init;
	if (s == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (snm_cfg_opt_int(opts, nan_options, "after", &s->after, err)) {
		free(s);
		return err->code;
	}
	*state = s;
	return SNM_OK;
}

static void nan_destroy(void *state) { free(state); }

static int nan_objective(void *state, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                         snm_objective *out, snm_error *err)
{
	nan_state *s = state;
	snm_tensor *y = m->vt->classify(m->state, t, m->vt->encode(m->state, t, b->x, NULL, NULL, NULL));
	snm_tensor *ce = snm_softmax_ce(t, y, b->labels);
	(void)noise;
	out->n_terms = 1;
	out->term_names[0] = "ce";
	out->terms[0] = s->calls++ >= s->after ? snm_scale(t, ce, NAN) : ce;
	out->loss = out->terms[0];
	return out->loss ? SNM_OK : snm_tape_error(t, err);
}

static const snm_noise_vt nan_vt = { sizeof nan_vt, nan_create, nan_destroy, nan_objective, NULL,
                                     NULL, NULL, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "nan", "0.0.1", "test plugin: a loss that turns NaN", &nan_vt, nan_options);
