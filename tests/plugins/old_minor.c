/* old_minor.c: a noise plugin as ABI 1.0 built it -- abi_minor 0 and a vtable that ends before
 * the members 1.1 appended (perturb); loaded, its perturb entry read as absent. */
#include "snm/plugin.h"

typedef struct noise_vt_1_0 {     /* snm_noise_vt of ABI 1.0 */
	uint32_t size;
	int (*create)(const snm_cfg *, const snm_model *, snm_params *, gsl_rng *, void **, snm_error *);
	void (*destroy)(void *);
	int (*objective)(void *, const snm_model *, snm_tape *, const snm_batch *, gsl_rng *,
	                 snm_objective *, snm_error *);
	int (*wants_unlabelled)(void *);
} noise_vt_1_0;

static int om_create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                     void **state, snm_error *err)
{
	(void)opts; (void)model; (void)params; (void)init; (void)err;
	*state = NULL;
	return SNM_OK;
}

static void om_destroy(void *state) { (void)state; }

static int om_objective(void *state, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                        snm_objective *out, snm_error *err)
{
	(void)state; (void)noise;
	out->loss = snm_softmax_ce(t, m->vt->classify(m->state, t, m->vt->encode(m->state, t, b->x, NULL,
	                                                                           NULL, NULL)), b->labels);
	return out->loss ? SNM_OK : snm_tape_error(t, err);
}

static const noise_vt_1_0 om_vt = { sizeof om_vt, om_create, om_destroy, om_objective, NULL };
SNM_EXPORT const snm_plugin snm_plugin_entry = {
	SNM_PLUGIN_ABI_MAJOR, 0, sizeof(snm_plugin), SNM_KIND_NOISE, "oldminor", "0.0.1",
	"a plugin built for ABI 1.0", &om_vt, NULL
};
