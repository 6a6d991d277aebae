/* null_method.c: a current entry and a full-size noise vtable whose objective is NULL; refused
 * (SNM_EPLUGIN) by name of the missing method, instead of a crash at the first training step. */
#include "snm/plugin.h"

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	(void)opts, (void)model, (void)params, (void)init, (void)err;
	*state = NULL;
	return 0;
}

static void destroy(void *state)
{
	(void)state;
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, NULL, NULL, NULL, NULL, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "nullmethod", "1.0.0", "objective missing", &vt, NULL);
