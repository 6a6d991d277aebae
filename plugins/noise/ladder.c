/* ladder.c: the `ladder` noise plugin -- the ladder network of Rasmus et al. (NIPS 2015) as
 * CuriousAI/ladder builds it: noisy and clean passes of a batch-normalised encoder, a top-down
 * decoder of gauss combinators, a denoising cost at every layer (or only the top one: the
 * Gamma-model), supervised or on the unlabelled stream.  ladder.h has the formulas, the options
 * and their sources, the parameters and the order of the random draws; advladder.c builds the
 * adversarial ladder of seed 002 on the same functions. */
#include "ladder.h"

static const char who[] = "noise 'ladder'";

static const snm_option options[] = {
	LADDER_OPTIONS
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	ladder *ld;
	int rc;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, who, err)) != 0)
		return rc;
	if ((ld = malloc(sizeof *ld)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %s", who);
	if ((rc = ladder_init(ld, who, opts, options, model, params, init, err)) != 0) {
		destroy(ld);
		return rc;
	}
	*state = ld;
	return 0;
}

static int wants_unlabelled(void *state)
{
	return ((const ladder *)state)->unlabelled;
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	return ladder_build(state, model, t, b, noise, NULL, NULL, out, err);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, wants_unlabelled,
                                 NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "ladder", "1.0.0",
                  "ladder network (Rasmus et al. 2015; CuriousAI/ladder): denoising costs at every "
                  "layer through a top-down decoder with gauss combinators", &vt, options);
