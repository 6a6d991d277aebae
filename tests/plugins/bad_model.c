/* bad_model.c: a small model (one hidden layer of 4 units, no nonlinearity) that makes the
 * mistake its `mistake` option names, for `snm check`'s training step (src/run/trystep.h) and the
 * trainer to catch, one line each naming the model, never a crash:
 *   none          no mistake
 *   null_state    create succeeds but leaves its state NULL (every method would be handed NULL)
 *   create_silent create fails without saying why
 *   logits        classify gives one logit too many
 *   z_shape       encode gives z of shape (N, 2, 2) instead of (N, Z)
 *   nan_z         encode gives a z of NaNs */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"

static const snm_option options[] = {
	{ "mistake", SNM_OPT_CHOICE, "none", "none|null_state|create_silent|logits|z_shape|nan_z",
	  "the mistake this model makes", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

typedef struct bad { char mistake[16]; snm_tensor *w1, *w2; } bad;

static int create(const snm_cfg *opts, const snm_data_info *in, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const char *mistake;
	int dim = in->d[0] * in->d[1] * in->d[2], k = in->n_classes;
	bad *m;
	*state = NULL;
	if (snm_cfg_opt_str(opts, options, "mistake", &mistake, err))
		return err->code;
	if (strcmp(mistake, "null_state") == 0)
		return SNM_OK;
	if (strcmp(mistake, "create_silent") == 0)
		return SNM_EINVAL;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	snprintf(m->mistake, sizeof m->mistake, "%s", mistake);
	if (strcmp(mistake, "logits") == 0)
		++k;
	m->w1 = snm_params_add(params, "badmodel.w1", 2, (int[]){ 4, dim }, SNM_T_PARAM, err);
	m->w2 = m->w1 ? snm_params_add(params, "badmodel.w2", 2, (int[]){ k, 4 }, SNM_T_PARAM, err) : NULL;
	if (m->w2 == NULL) {
		free(m);
		return err->code;
	}
	snm_init_uniform(m->w1, init, -0.1, 0.1);
	snm_init_uniform(m->w2, init, -0.1, 0.1);
	*state = m;
	return SNM_OK;
}

static void destroy(void *state)
{
	free(state);
}

static int n_hidden(void *state)
{
	(void)state;
	return 0;
}

static snm_tensor *encode(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook, void *ctx,
                          snm_tensor **hidden)
{
	bad *m = state;
	snm_tensor *z = snm_linear(t, x, m->w1, NULL, 0);
	(void)hidden;
	if (z != NULL && hook != NULL)
		z = hook(ctx, t, SNM_HOOK_ARG(0, SNM_HOOK_PRE), z);
	if (z != NULL && strcmp(m->mistake, "z_shape") == 0)
		z = snm_reshape(t, z, 3, (int[]){ z->d[0], 2, 2 });
	if (z != NULL && strcmp(m->mistake, "nan_z") == 0)
		z = snm_scale(t, z, NAN);
	return z;
}

static snm_tensor *classify(void *state, snm_tape *t, snm_tensor *z)
{
	bad *m = state;
	return snm_linear(t, z, m->w2, NULL, 0);
}

static snm_tensor *decode_z(void *state, snm_tape *t, snm_tensor *z, snm_tensor **hidden_r)
{
	bad *m = state;
	(void)hidden_r;
	return snm_linear(t, z, m->w1, NULL, 1);
}

static snm_tensor *decode_y(void *state, snm_tape *t, snm_tensor *y)
{
	bad *m = state;
	return snm_linear(t, y, m->w2, NULL, 1);
}

static const snm_model_vt vt = { sizeof vt, create, destroy, n_hidden, encode, classify, decode_z,
                                 decode_y, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_MODEL, "badmodel", "0.0.1", "test plugin: a model that makes a mistake",
                  &vt, options);
